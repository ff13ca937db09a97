//! The documents: docs/api.md is the contract, and openapi.json (held to the code by
//! openapi.rs) describes nothing it does not; no document of the repository points
//! outside it.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root (tests/contract/..)")
        .to_owned()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// (METHOD, path) of every operation the contract spells in backticks as `METHOD /path`,
/// the way its prose writes them: a line break inside the backticks is a space
/// (`GET` at a line's end, the path on the next), a query string is not part of the path
/// (`GET /admin/users?after=<username>`), and `.../rest` right after such a path is its
/// sibling with the same method (`POST /admin/users/{username}/disable`, `.../enable`).
fn spelled_operations(contract: &str) -> BTreeSet<(String, String)> {
    let text = contract.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = BTreeSet::new();
    let mut last: Option<(String, String)> = None;
    // Odd pieces are inside backticks (code fences come in pairs of three, which keeps
    // the parity).
    for span in text.split('`').skip(1).step_by(2) {
        if let Some(rest) = span.strip_prefix(".../") {
            if let Some((method, path)) = &last {
                let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
                out.insert((method.clone(), format!("{parent}/{rest}")));
            }
            continue;
        }
        let Some((method, path)) = span.split_once(' ') else {
            continue;
        };
        if !METHODS.contains(&method) || !path.starts_with('/') || path.contains(' ') {
            continue;
        }
        let path = path.split('?').next().unwrap_or(path);
        let operation = (method.to_owned(), path.to_owned());
        out.insert(operation.clone());
        last = Some(operation);
    }
    out
}

#[test]
fn the_contracts_spelling_of_operations_is_read() {
    let spelled = spelled_operations(
        "`GET /a?after=<x>`, `GET\n/a/{id}`, `POST /a/{id}/on`, `.../off`,\n`.../reset`; \
         ```json\n{\"x\": 1}\n``` `DELETE /b` and `POST /not a path`",
    );
    let want: BTreeSet<(String, String)> = [
        ("GET", "/a"),
        ("GET", "/a/{id}"),
        ("POST", "/a/{id}/on"),
        ("POST", "/a/{id}/off"),
        ("POST", "/a/{id}/reset"),
        ("DELETE", "/b"),
    ]
    .iter()
    .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
    .collect();
    assert_eq!(spelled, want);
}

#[test]
fn every_openapi_operation_and_error_code_is_in_the_contract() {
    let contract = read("docs/api.md");
    let spelled_out = spelled_operations(&contract);
    let openapi: Value = serde_json::from_str(&read("openapi.json")).unwrap();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            // `METHOD /path` (as the prose spells it), or a row of the path that names the
            // method too (`DELETE /logout` (also `POST`)).
            let spelled = spelled_out.contains(&(method.clone(), path.clone()));
            let in_a_row = contract.lines().any(|line| {
                line.contains(&format!(" {path}`")) && line.contains(&format!("`{method}"))
            });
            assert!(
                spelled || in_a_row,
                "{method} {path} is in openapi.json but not in docs/api.md"
            );
        }
    }
    let codes = openapi["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        .as_array()
        .unwrap();
    for code in codes {
        let code = code.as_str().unwrap();
        // In the error table (`code`), or named with its status (`401 code`).
        assert!(
            contract.contains(&format!("`{code}`")) || contract.contains(&format!(" {code}`")),
            "error code {code} is in openapi.json but not in docs/api.md"
        );
    }
}

/// Every Markdown file git would track here (the project's documents), not tools' caches.
fn documents() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.')
                    && !["target", "node_modules", "corpus"].contains(&name.as_str())
                {
                    walk(&path, out);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &mut out);
    out
}

/// `path` with `.` and `..` folded, or `None` when `..` climbs above its start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn no_document_points_outside_the_repository() {
    let root = root();
    let documents = documents();
    assert!(documents.len() >= 10, "{documents:?}");
    for document in documents {
        let text = std::fs::read_to_string(&document).unwrap();
        let name = document.strip_prefix(&root).unwrap().display().to_string();
        assert!(!text.contains("../shared"), "{name} points to ../shared");
        // Markdown links: `](target)`.
        for piece in text.split("](").skip(1) {
            let Some(target) = piece.split(')').next() else {
                continue;
            };
            let target = target.split('#').next().unwrap().trim();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            assert!(!target.starts_with('/'), "{name}: absolute link {target}");
            let relative = document
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .join(target);
            let Some(inside) = normalise(&relative) else {
                panic!("{name}: {target} leaves the repository");
            };
            assert!(
                root.join(&inside).exists(),
                "{name}: {target} does not exist"
            );
        }
    }
}
