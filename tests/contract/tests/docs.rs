//! The documents: docs/api.md is the contract, and openapi.json (held to the code by
//! openapi.rs) describes nothing it does not; no document of the repository points
//! outside it.

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

#[test]
fn every_openapi_operation_and_error_code_is_in_the_contract() {
    let contract = read("docs/api.md");
    let openapi: Value = serde_json::from_str(&read("openapi.json")).unwrap();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            // `METHOD /path`, or a row of the path that names the method too
            // (`DELETE /logout` (also `POST`)).
            let spelled = format!("`{method} {path}`");
            let in_a_row = contract.lines().any(|line| {
                line.contains(&format!(" {path}`")) && line.contains(&format!("`{method}"))
            });
            assert!(
                contract.contains(&spelled) || in_a_row,
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
