//! The route table (`wristband_http::api`) is stated once; the copies outside the code
//! (the watch router in Cargo.toml, template.yaml's routes, the sample events and the
//! function folders) are checked against it here, so they cannot drift.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wristband_http::api::{AUTHORIZER_FUNCTION, FUNCTIONS, NOT_FOUND_FUNCTION};

/// The one route of template.yaml that no Rust function serves: the sample of a route in
/// another language behind wristband's Lambda authorizer.
const AUTHORIZER_SAMPLE: (&str, &str) = ("/hello", "HelloFunction");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root (shared/http/..)")
        .to_owned()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// (path, function) pairs the code says exist, plus the catch-all.
fn expected(catch_all: &[&str]) -> BTreeSet<(String, String)> {
    FUNCTIONS
        .iter()
        .flat_map(|f| {
            f.routes
                .iter()
                .map(|r| (r.path.to_owned(), f.name.to_owned()))
        })
        .chain(
            catch_all
                .iter()
                .map(|p| ((*p).to_owned(), NOT_FOUND_FUNCTION.to_owned())),
        )
        .collect()
}

#[test]
fn watch_router_matches_the_route_table() {
    let manifest = read("Cargo.toml");
    let section = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("a watch router section");
    let router: BTreeSet<(String, String)> = section
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| {
            let (path, function) = l.split_once(" = ")?;
            Some((
                path.trim().trim_matches('"').to_owned(),
                function.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    assert_eq!(router, expected(&["/", "/{*rest}"]));
}

#[test]
fn template_routes_match_the_route_table() {
    let template = read("template.yaml");
    let mut routes = BTreeSet::new();
    let mut resource = String::new();
    let mut binary: Option<String> = None;
    let mut binaries = BTreeSet::new();
    for line in template.lines() {
        // A resource starts at two spaces of indentation under `Resources:`.
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            resource = line.trim().trim_end_matches(':').to_owned();
            binary = None;
        }
        if let Some(name) = line.trim().strip_prefix("Binary: ") {
            binary = Some(name.to_owned());
            binaries.insert(name.to_owned());
        }
        if let Some(path) = line.trim().strip_prefix("Path: ") {
            let owner = binary.clone().unwrap_or_else(|| resource.clone());
            routes.insert((path.to_owned(), owner));
        }
    }
    let mut want = expected(&["$default"]);
    want.insert((
        AUTHORIZER_SAMPLE.0.to_owned(),
        AUTHORIZER_SAMPLE.1.to_owned(),
    ));
    assert_eq!(routes, want);
    // Every function of the workspace is deployed, the authorizer included.
    assert_eq!(binaries, function_folders());
}

fn function_folders() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn function_folders_are_the_route_table_functions() {
    let mut want: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
    want.insert(NOT_FOUND_FUNCTION.to_owned());
    want.insert(AUTHORIZER_FUNCTION.to_owned());
    assert_eq!(function_folders(), want);
}

#[test]
fn every_sample_event_is_for_its_function_and_route() {
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("events")).expect("events/") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let raw_path = event["rawPath"].as_str().expect("rawPath");
        if event["type"] == "REQUEST" {
            // An authorizer event, for a route behind the authorizer.
            assert!(name.starts_with(AUTHORIZER_FUNCTION), "{name}");
            assert_eq!(raw_path, AUTHORIZER_SAMPLE.0, "{name}");
            covered.insert(AUTHORIZER_FUNCTION.to_owned());
            continue;
        }
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .expect("requestContext.http.method");
        assert_eq!(event["version"], "2.0", "{name}: payload format 2.0");
        let function = FUNCTIONS
            .iter()
            .find(|f| f.routes.iter().any(|r| matches(r.path, raw_path)));
        match function {
            Some(function) => {
                assert!(
                    name.starts_with(function.name),
                    "{name} is for {raw_path}, served by {}",
                    function.name
                );
                assert!(
                    function
                        .routes
                        .iter()
                        .any(|r| r.method == method && matches(r.path, raw_path)),
                    "{name}: {method} {raw_path}"
                );
                covered.insert(function.name.to_owned());
            }
            None => {
                assert!(name.starts_with(NOT_FOUND_FUNCTION), "{name}: {raw_path}");
                covered.insert(NOT_FOUND_FUNCTION.to_owned());
            }
        }
    }
    assert_eq!(
        covered,
        function_folders(),
        "one event per function at least"
    );
}

/// `/sessions/{sid}` matches `/sessions/abc`.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

/// API Gateway answers CORS in AWS: the same rules as the functions' local answers
/// (credentials for the listed origins, `X-CSRF-TOKEN` allowed for cookie mode).
#[test]
fn template_cors_allows_credentials_and_the_csrf_header() {
    let template = read("template.yaml");
    let cors = template
        .split("CorsConfiguration:")
        .nth(1)
        .expect("a CorsConfiguration")
        .split("\n\n")
        .next()
        .unwrap();
    assert!(cors.contains("AllowCredentials: true"), "{cors}");
    for header in ["- authorization", "- content-type", "- x-csrf-token"] {
        assert!(cors.contains(header), "{header} in {cors}");
    }
    assert!(!cors.contains('*'), "no wildcard with credentials: {cors}");
    for variable in ["TOKEN_LOCATION: !Ref", "COOKIE_SAMESITE: !Ref"] {
        assert!(template.contains(variable), "{variable}");
    }
}
