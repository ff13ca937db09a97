//! Sessions per account over real HTTP: the login past MAX_SESSIONS_PER_USER (the stack
//! runs with the default, 100) ends the least recently used session: its token is
//! refused, and a `session_evicted` audit line names it. Its own test binary, run after
//! audit.rs: that suite reads the whole watch log, and 101 logins beside it would
//! interleave the emulator's output with its lines.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;
use wristband_e2e::{base, client, register, sessions, unique, var};

fn sid_of(token: &str) -> String {
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_101st_login_evicts_and_audits_the_oldest_session() {
    let (base, client) = (base(), client());
    let name = unique("cap");
    let credentials = register(&name).await;
    let (first, newest) = sessions(&credentials, 101).await;

    let r = client
        .get(format!("{base}/protected"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "token_revoked");
    let r = client
        .get(format!("{base}/sessions"))
        .bearer_auth(&newest)
        .send()
        .await
        .unwrap();
    let sessions: Value = r.json().await.unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 100);

    let log = std::fs::read(var("WRISTBAND_E2E_WATCH_LOG")).expect("the watch log");
    let evicted: Vec<Value> = String::from_utf8_lossy(&log)
        .lines()
        // An audit line is one JSON object (its keys in any order: the metric block
        // `_aws` comes first); the emulator may print before it on the same line.
        .filter(|line| line.contains("\"audit\":\"session_evicted\""))
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["username"] == name.as_str())
        .collect();
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0]["sid"], sid_of(&first).as_str());
    assert_eq!(evicted[0]["reason"], "session_cap");
    assert!(evicted[0]["request_id"].is_string());
}
