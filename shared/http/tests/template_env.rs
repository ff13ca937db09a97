//! template.yaml's environment held to what each function reads (issue 20, item 3). What a
//! function needs is stated once, in its own wiring (`functions/<name>/src/`): a function
//! that builds an issuer signs, one that builds a verifier (or an authenticator) verifies,
//! one that asks for `mfa_key()`, `relying_party()` or `links()` refuses to start without
//! those settings. This test reads those facts from the wiring and checks the template:
//!
//! - every variable a function's configuration requires is set for that function;
//! - no function gets a secret it does not read (a verifier never gets the private key,
//!   only the second factor's functions get its key, only introspect its clients);
//! - the template sets nothing that no code reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root (shared/http/..)")
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Rust sources of a folder, recursively, concatenated.
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&read(&path));
            }
        }
    }
    out
}

/// Each function's binary and the variables the template sets for it (its own and the
/// Globals'), read line by line as the route-table test reads the template.
fn template_environments() -> BTreeMap<String, BTreeSet<String>> {
    let template = read(&root().join("template.yaml"));
    let mut globals = BTreeSet::new();
    let mut per_resource: Vec<(Option<String>, BTreeSet<String>)> = Vec::new();
    let (mut in_globals, mut in_variables) = (false, false);
    let mut variables_indent = 0;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if indent == 0 {
            in_globals = text == "Globals:";
            in_variables = false;
            continue;
        }
        // A resource starts at two spaces of indentation under `Resources:`.
        if indent == 2 && !in_globals && text.ends_with(':') {
            per_resource.push((None, BTreeSet::new()));
            in_variables = false;
            continue;
        }
        if let Some(binary) = text.strip_prefix("Binary: ") {
            if let Some(last) = per_resource.last_mut() {
                last.0 = Some(binary.to_owned());
            }
        }
        if text == "Variables:" {
            in_variables = true;
            variables_indent = indent;
            continue;
        }
        if in_variables {
            if indent <= variables_indent {
                in_variables = false;
            } else if indent == variables_indent + 2 {
                let name = text.split(':').next().unwrap().to_owned();
                if in_globals {
                    globals.insert(name);
                } else if let Some(last) = per_resource.last_mut() {
                    last.1.insert(name);
                }
            }
        }
    }
    per_resource
        .into_iter()
        .filter_map(|(binary, vars)| binary.map(|b| (b, vars.union(&globals).cloned().collect())))
        .collect()
}

/// What a function's wiring says it needs.
#[derive(Debug)]
struct Needs {
    signs: bool,
    verifies: bool,
    /// Publishes the public keys (jwks): never the secret.
    publishes: bool,
    mfa: bool,
    webauthn: bool,
    mail: bool,
    introspection: bool,
}

fn needs(function: &str) -> Needs {
    let src = sources(&root().join("functions").join(function).join("src"));
    let has = |marks: &[&str]| marks.iter().any(|m| src.contains(m));
    Needs {
        signs: has(&[".issuing()"]),
        verifies: has(&[
            ".verifying(",
            "authenticator_from_env",
            "TokenVerifier::public_only",
        ]),
        publishes: has(&["verification_keys()"]),
        mfa: has(&["mfa_key()"]),
        webauthn: has(&["relying_party()"]),
        mail: has(&[".links()", "SesMailer"]),
        introspection: has(&["INTROSPECTION_CLIENTS"]),
    }
}

#[test]
fn each_function_gets_what_it_reads_and_no_secret_it_does_not() {
    let envs = template_environments();
    assert!(
        envs.len() >= 20,
        "functions found in template.yaml: {envs:?}"
    );
    let mut problems = Vec::new();
    for (function, vars) in &envs {
        let needs = needs(function);
        let mut expect = |var: &str, wanted: bool, why: &str| {
            if vars.contains(var) != wanted {
                let verb = if wanted { "lacks" } else { "gets" };
                problems.push(format!(
                    "{function} {verb} {var} ({why}; wiring: {needs:?})"
                ));
            }
        };
        let keys = needs.signs || needs.verifies;
        expect("JWT_SECRET", keys, "the HS256 key signs and verifies");
        expect(
            "JWT_PRIVATE_KEY",
            needs.signs,
            "only functions that sign hold it",
        );
        expect(
            "JWT_PUBLIC_KEYS",
            needs.verifies || needs.publishes,
            "the keys a verifier accepts (earlier ones of a rotation too) and jwks publishes",
        );
        expect("MFA_ENCRYPTION_KEY", needs.mfa, "the second factor's key");
        expect(
            "WEBAUTHN_RP_ID",
            needs.webauthn,
            "the passkeys' relying party",
        );
        expect(
            "WEBAUTHN_ORIGINS",
            needs.webauthn,
            "the passkeys' relying party",
        );
        expect(
            "WEBAUTHN_RP_NAME",
            needs.webauthn,
            "the passkeys' relying party",
        );
        expect("APP_URL", needs.mail, "the base of emailed links");
        expect("MAIL_FROM", needs.mail, "the sender of mail");
        expect(
            "INTROSPECTION_CLIENTS",
            needs.introspection,
            "the clients of /oauth/introspect",
        );
    }
    assert!(
        problems.is_empty(),
        "template.yaml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_template_sets_nothing_that_no_code_reads() {
    let code = sources(&root().join("shared")) + &sources(&root().join("functions"));
    let set: BTreeSet<String> = template_environments().into_values().flatten().collect();
    assert!(set.contains("JWT_ISSUER"), "{set:?}");
    let unread: Vec<&String> = set
        .iter()
        .filter(|var| !code.contains(&format!("\"{var}\"")))
        .collect();
    assert!(
        unread.is_empty(),
        "set in template.yaml, read by no code: {unread:?}"
    );
}
