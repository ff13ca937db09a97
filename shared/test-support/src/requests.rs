//! Requests exactly as `lambda_http` builds them from API Gateway events.

use lambda_http::Request;

/// The source IP of test requests.
pub const TEST_SOURCE_IP: &str = "203.0.113.7";

/// A request exactly as `lambda_http` builds it from an API Gateway HTTP API (payload 2.0)
/// event, so tests go through the same deserialisation as production.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    event_request(method, path, headers, body, false, TEST_SOURCE_IP)
}

/// Like [`request`], from another source address.
pub fn request_from(
    source_ip: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Request {
    event_request(method, path, headers, body, false, source_ip)
}

/// Like [`request`], with the body base64-encoded as API Gateway sends binary bodies.
pub fn base64_request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    base64_bytes_request(method, path, headers, body.as_bytes())
}

/// A base64-encoded body of any bytes (the only way bytes that are not UTF-8 reach a
/// function from API Gateway).
pub fn base64_bytes_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    event_request(method, path, headers, &encoded, true, TEST_SOURCE_IP)
}

/// A request whose header `name` is given several times (an event's list value).
pub fn repeated_header_request(method: &str, path: &str, name: &str, values: &[&str]) -> Request {
    let headers = serde_json::Map::from_iter([(
        name.to_ascii_lowercase(),
        serde_json::Value::from(values.to_vec()),
    )]);
    event_request_with(method, path, headers, "", false, TEST_SOURCE_IP, &[])
}

fn event_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    is_base64: bool,
    source_ip: &str,
) -> Request {
    // Payload 2.0 carries the request's cookies in `cookies`, not in the headers.
    let header_map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("cookie"))
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::from(*v)))
        .collect();
    let cookies: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';').map(|c| c.trim().to_owned()))
        .filter(|c| !c.is_empty())
        .collect();
    event_request_with(
        method, path, header_map, body, is_base64, source_ip, &cookies,
    )
}

fn event_request_with(
    method: &str,
    path: &str,
    header_map: serde_json::Map<String, serde_json::Value>,
    body: &str,
    is_base64: bool,
    source_ip: &str,
    cookies: &[String],
) -> Request {
    let user_agent = header_map
        .get("user-agent")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let mut path_parameters = serde_json::Map::new();
    if let Some(sid) = path.strip_prefix("/sessions/") {
        path_parameters.insert("sid".into(), sid.into());
    }
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "cookies": cookies,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent
            },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1795327200000u64
        },
        "body": if body.is_empty() { serde_json::Value::Null } else { body.into() },
        "isBase64Encoded": is_base64
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// A JSON request.
pub fn json_request(method: &str, path: &str, body: &serde_json::Value) -> Request {
    request(
        method,
        path,
        &[("content-type", "application/json")],
        &body.to_string(),
    )
}

/// A request with `Authorization: Bearer <token>`.
pub fn bearer_request(method: &str, path: &str, token: &str, body: &str) -> Request {
    let auth = format!("Bearer {token}");
    request(
        method,
        path,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ],
        body,
    )
}
