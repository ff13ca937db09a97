//! `openapi.json` (the committed OpenAPI 3.1 document) against the code, so that neither
//! drifts: its paths and methods are the route table's, its error codes and their statuses
//! are `ApiError`'s, its security schemes name the cookie and header the code reads, and
//! the bodies the endpoints really answer have the documented fields. (schemathesis, in
//! `make test`, then checks live answers against it.)

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, Resp};
use serde_json::{json, Value};
use wristband_http::api;
use wristband_http::credentials::{ACCESS_COOKIE, CSRF_HEADER, REFRESH_COOKIE};
use wristband_http::{ApiError, ErrorResponse};
use wristband_test_support::authenticator::{Key, SoftAuthenticator};
use wristband_test_support::{json_request, request};

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi.json at the workspace root");
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} exists"));
            resolve(doc, target)
        }
        None => value,
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// (path, METHOD) of every operation of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.to_ascii_uppercase(), op));
            }
        }
    }
    out
}

#[test]
fn paths_and_methods_are_the_route_tables() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let routed: BTreeSet<(String, String)> = api::all_routes()
        .iter()
        .map(|r| (r.path.to_owned(), r.method.to_owned()))
        .collect();
    assert_eq!(documented, routed);
}

/// Every error code of `ApiError`, with its status.
fn statuses() -> BTreeMap<&'static str, u16> {
    wristband_test_support::every_api_error()
        .iter()
        .map(|e| (e.code(), e.status().as_u16()))
        .collect()
}

#[test]
fn error_schema_lists_exactly_apierrors_codes() {
    let doc = document();
    let error = &doc["components"]["schemas"]["Error"];
    let codes: Vec<&str> = error["properties"]["error"]["enum"]
        .as_array()
        .expect("an enum of codes")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes, ApiError::CODES);
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
}

/// Each error response of each operation sits under the status its codes have, and every
/// operation documents the errors any request can meet (400, 405, 500, 503).
#[test]
fn error_responses_sit_under_their_codes_status() {
    let doc = document();
    let statuses = statuses();
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        for always in ["400", "405", "500", "503"] {
            assert!(responses.contains_key(always), "{method} {path}: {always}");
        }
        for (status, response) in responses {
            let response = resolve(&doc, response);
            let Some(schema) = response.pointer("/content/application~1json/schema") else {
                assert_eq!(status, "204", "{method} {path} {status} has a JSON body");
                continue;
            };
            let Some(all_of) = schema.get("allOf") else {
                assert!(status.starts_with('2'), "{method} {path} {status}");
                continue;
            };
            assert_eq!(all_of[0]["$ref"], "#/components/schemas/Error");
            for code in all_of[1]["properties"]["error"]["enum"].as_array().unwrap() {
                let code = code.as_str().unwrap();
                let expected = statuses
                    .get(code)
                    .unwrap_or_else(|| panic!("{code} is an ApiError code"));
                assert_eq!(
                    status,
                    &expected.to_string(),
                    "{method} {path}: {code} belongs under {expected}"
                );
            }
        }
        // Token errors come with the contract's headers.
        if let Some(unauthorized) = responses.get("401") {
            let unauthorized = resolve(&doc, unauthorized);
            if unauthorized.to_string().contains("missing_token") {
                assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
            }
        }
    }
}

#[test]
fn security_schemes_name_what_the_code_reads() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["accessCookie"]["in"], "cookie");
    assert_eq!(schemes["accessCookie"]["name"], ACCESS_COOKIE);
    assert_eq!(schemes["refreshCookie"]["in"], "cookie");
    assert_eq!(schemes["refreshCookie"]["name"], REFRESH_COOKIE);
    assert_eq!(schemes["csrfHeader"]["in"], "header");
    assert!(schemes["csrfHeader"]["name"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(CSRF_HEADER));
    // Every cookie-authenticated write also names the CSRF header.
    for (path, method, op) in operations(&doc) {
        for requirement in op["security"]
            .as_array()
            .expect("security on every operation")
        {
            let names: Vec<&String> = requirement.as_object().unwrap().keys().collect();
            let by_cookie = names.iter().any(|n| n.ends_with("Cookie"));
            if by_cookie && method != "GET" {
                assert!(
                    names.iter().any(|n| *n == "csrfHeader"),
                    "{method} {path}: {names:?}"
                );
            }
        }
    }
}

/// The properties of a documented success body, required ones first.
fn documented_fields(doc: &Value, schema: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let schema = &doc["components"]["schemas"][schema];
    let all = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} has properties"))
        .keys()
        .cloned()
        .collect();
    let required = schema["required"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (all, required)
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

#[track_caller]
fn assert_documented(doc: &Value, schema: &str, body: &Value) {
    let (all, required) = documented_fields(doc, schema);
    let got = keys(body);
    assert!(
        got.is_subset(&all),
        "{schema}: undocumented fields {:?}",
        got.difference(&all).collect::<Vec<_>>()
    );
    assert!(
        required.is_subset(&got),
        "{schema}: missing required {:?}",
        required.difference(&got).collect::<Vec<_>>()
    );
}

/// The real answers of the endpoints (cookie mode, so the `csrf` claim is there too)
/// have the documented fields: the types behind them cannot drift from the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_bodies_have_the_documented_fields() {
    let doc = document();
    let h = Backend::InMemory
        .app_with(|c| c.token_location = wristband_core::TokenLocation::BOTH)
        .await;
    let name = common::unique_user();
    let r = h.register(&name, common::PASSWORD).await;
    assert_eq!(r.status, 201);
    assert_documented(&doc, "Registered", &r.json);
    let r = h.login(&name, common::PASSWORD).await;
    assert_documented(&doc, "TokenResponse", &r.json);
    let tokens = common::tokens_of(&r);

    let r = h.protected(&tokens.access).await;
    assert_documented(&doc, "Protected", &r.json);
    assert_documented(&doc, "Claims", &r.json["claims"]);
    let r = h.with_token("GET", "/me", &tokens.access, "").await;
    assert_documented(&doc, "Me", &r.json);
    let r = h.with_token("GET", "/sessions", &tokens.access, "").await;
    assert_documented(&doc, "SessionList", &r.json);
    assert_documented(&doc, "Session", &r.json["sessions"][0]);
    let r = h.refresh(&tokens.refresh).await;
    assert_documented(&doc, "TokenResponse", &r.json);
    let tokens = common::tokens_of(&r);

    let errors: Vec<Resp> = vec![
        h.call(request("GET", "/me", &[], "")).await,
        h.call(request("PUT", "/login", &[], "")).await,
        h.login(&name, "wrong password").await,
    ];
    for r in &errors {
        assert_documented(&doc, "Error", &r.json);
        assert!(ApiError::CODES.contains(&r.error()), "{r:?}");
    }
    let r = h.logout(&tokens.access, "").await;
    assert_documented(&doc, "Message", &r.json);
}

/// `value` against a schema of the document, nested objects included: `$ref`, `type`,
/// `const`, `enum`, required properties, undocumented ones where `additionalProperties`
/// is false, array items and their bounds.
fn assert_conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
            other => vec![other.as_str().unwrap()],
        };
        let is = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let number = is == "integer" && types.contains(&"number");
        assert!(
            types.contains(&is) || number,
            "{at}: {is}, documented {types:?}"
        );
    }
    if let Some(constant) = schema.get("const") {
        assert_eq!(value, constant, "{at}");
    }
    if let Some(values) = schema.get("enum") {
        assert!(values.as_array().unwrap().contains(value), "{at}: {value}");
    }
    if let Value::Object(fields) = value {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(fields.contains_key(name), "{at}: missing required {name}");
        }
        for (name, field) in fields {
            match schema["properties"].get(name) {
                Some(property) => assert_conforms(doc, property, field, &format!("{at}.{name}")),
                None => assert_ne!(
                    schema.get("additionalProperties"),
                    Some(&Value::Bool(false)),
                    "{at}: undocumented field {name}"
                ),
            }
        }
    }
    if let Value::Array(items) = value {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            assert!(items.len() as u64 <= max, "{at}: more than {max} items");
        }
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            assert!(items.len() as u64 >= min, "{at}: fewer than {min} items");
        }
        for (i, item) in items.iter().enumerate() {
            if let Some(schema) = schema.get("items") {
                assert_conforms(doc, schema, item, &format!("{at}[{i}]"));
            }
        }
    }
}

/// The passkey endpoints' real answers, with a software authenticator, conform to their
/// schemas, the WebAuthn options inside them included: schemathesis reaches neither a
/// registration nor a passkey login without an authenticator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_bodies_conform_to_their_schemas() {
    let doc = document();
    let conforms = |schema: &str, body: &Value| {
        let reference = json!({ "$ref": format!("#/components/schemas/{schema}") });
        assert_conforms(&doc, &reference, body, schema);
    };
    let h = Backend::InMemory.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let mut auth = SoftAuthenticator::new(Key::es256(), common::TEST_RP_ID, common::TEST_ORIGIN);

    let path = "/passkeys/registration/options";
    let r = h.with_token("POST", path, &tokens.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    conforms("PasskeyCreationOptions", &r.json);
    let credential = auth.register(&r.json["publicKey"]);
    let body = json!({"credential": credential, "name": "Laptop"}).to_string();
    let r = h
        .with_token("POST", "/passkeys/registration", &tokens.access, &body)
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    conforms("PasskeyRegistered", &r.json);
    let id = r.json["id"].as_str().unwrap().to_owned();
    // Options with the account's passkey excluded.
    let r = h.with_token("POST", path, &tokens.access, "").await;
    conforms("PasskeyCreationOptions", &r.json);
    assert_eq!(
        r.json["publicKey"]["excludeCredentials"][0]["id"],
        id.as_str()
    );

    let body = json!({"username": "anyone"});
    let r = h
        .call(json_request("POST", "/login/passkey/options", &body))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    conforms("PasskeyRequestOptions", &r.json);
    let assertion = auth.assert(&r.json["publicKey"]);
    let body = json!({"challenge_id": r.json["challenge_id"], "credential": assertion});
    let r = h.call(json_request("POST", "/login/passkey", &body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    conforms("TokenResponse", &r.json);
    // Spent: the same challenge again is the documented refusal.
    let r = h.call(json_request("POST", "/login/passkey", &body)).await;
    assert_eq!(r.status, 401, "{r:?}");
    conforms("Error", &r.json);

    let r = h.with_token("GET", "/passkeys", &tokens.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    conforms("PasskeyList", &r.json);
    assert!(r.json["passkeys"][0]["last_used_at"].is_u64(), "{r:?}");

    let r = h
        .with_token("DELETE", &format!("/passkeys/{id}"), &tokens.access, "")
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = h
        .with_token("DELETE", &format!("/passkeys/{id}"), &tokens.access, "")
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    conforms("Error", &r.json);
    let r = h.with_token("GET", "/passkeys", &tokens.access, "").await;
    conforms("PasskeyList", &r.json);
}
