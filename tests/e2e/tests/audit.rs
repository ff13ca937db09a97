//! The audit log over real HTTP: every security event of the flows below leaves one JSON
//! line with the request id and source address in the functions' output (the
//! `cargo lambda watch` log that `make test` keeps), and no line anywhere in that log
//! holds a password, a token (or a part of one) or the signing secret used here.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn base() -> String {
    std::env::var("WRISTBAND_E2E_URL")
        .unwrap_or_else(|_| panic!("WRISTBAND_E2E_URL is not set: run these with `make test`"))
        .trim_end_matches('/')
        .to_owned()
}

fn watch_log() -> String {
    let path = std::env::var("WRISTBAND_E2E_WATCH_LOG").unwrap_or_else(|_| {
        panic!("WRISTBAND_E2E_WATCH_LOG is not set: run these with `make test`")
    });
    String::from_utf8_lossy(&std::fs::read(&path).expect("the watch log")).into_owned()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}

/// Every password and token sent or received, to be looked for in the log.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn password(&mut self, password: &str) {
        self.0.push(password.to_owned());
    }

    /// The whole token, and its payload and signature alone (a log line must not hold
    /// part of a token either).
    fn token(&mut self, token: &str) {
        self.0.push(token.to_owned());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        self.0.push(parts[1].to_owned());
        self.0.push(parts[2].to_owned());
    }
}

struct Api {
    client: Client,
    secrets: Secrets,
}

impl Api {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", base()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let json: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        for name in ["access_token", "refresh_token"] {
            if let Some(token) = json[name].as_str() {
                self.secrets.token(token);
            }
        }
        (status, json)
    }

    async fn login(&mut self, username: &str, password: &str) -> (StatusCode, Value) {
        self.secrets.password(password);
        let body = json!({"username": username, "password": password});
        self.call(Method::POST, "/login", None, Some(body)).await
    }

    async fn tokens(&mut self, username: &str, password: &str) -> (String, String) {
        let (status, json) = self.login(username, password).await;
        assert_eq!(status, 200, "{json}");
        (
            json["access_token"].as_str().unwrap().to_owned(),
            json["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

#[tokio::test]
async fn security_events_are_audited_and_no_secret_reaches_the_log() {
    let mut api = Api {
        client: Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
        secrets: Secrets::default(),
    };
    let name = unique("audit");
    let password = format!("first passphrase {}", unique("p"));
    let new_password = format!("second passphrase {}", unique("p"));
    let wrong = format!("wrong guess {}", unique("w"));
    api.secrets.password(&password);
    api.secrets.password(&new_password);

    let body = json!({"username": name, "password": password});
    let (status, _) = api.call(Method::POST, "/register", None, Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(api.login(&name, &wrong).await.0, 401);
    let (access, refresh) = api.tokens(&name, &password).await;
    assert_eq!(
        api.call(Method::GET, "/protected", Some(&access), None)
            .await
            .0,
        200
    );

    // Refresh, then the spent token again: first within the grace period (a retry), then
    // after it (reuse: the session is revoked). `make test` sets a 1 s grace.
    let (status, json) = api
        .call(Method::POST, "/refresh", Some(&refresh), None)
        .await;
    assert_eq!(status, 200, "{json}");
    let refreshed_access = json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call(Method::POST, "/refresh", Some(&refresh), None)
            .await
            .0,
        401
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        api.call(Method::POST, "/refresh", Some(&refresh), None)
            .await
            .0,
        401
    );
    // Refused tokens: revoked (the family above), forged, expired-looking garbage.
    assert_eq!(
        api.call(Method::GET, "/protected", Some(&refreshed_access), None)
            .await
            .0,
        401
    );
    let last = if access.ends_with('A') { "B" } else { "A" };
    let forged = format!("{}{last}", &access[..access.len() - 1]);
    api.secrets.token(&forged);
    assert_eq!(
        api.call(Method::GET, "/protected", Some(&forged), None)
            .await
            .0,
        401
    );

    // Two sessions; one ends the other; a password change; logout; logout everywhere.
    let (one, one_refresh) = api.tokens(&name, &password).await;
    let (two, _) = api.tokens(&name, &password).await;
    let (_, sessions) = api.call(Method::GET, "/sessions", Some(&one), None).await;
    let other_sid = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other session")["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/sessions/{other_sid}");
    assert_eq!(
        api.call(Method::DELETE, &path, Some(&one), None).await.0,
        204
    );
    assert_eq!(
        api.call(Method::GET, "/protected", Some(&two), None)
            .await
            .0,
        401
    );
    let change = json!({"old_password": password, "new_password": new_password});
    let (status, json) = api
        .call(Method::POST, "/password", Some(&one), Some(change))
        .await;
    assert_eq!(status, 200, "{json}");
    let logout = json!({"refresh_token": one_refresh});
    assert_eq!(
        api.call(Method::DELETE, "/logout", Some(&one), Some(logout))
            .await
            .0,
        200
    );
    let (three, _) = api.tokens(&name, &new_password).await;
    assert_eq!(
        api.call(Method::POST, "/logout/all", Some(&three), None)
            .await
            .0,
        200
    );

    // Throttling, for a name that does not exist.
    let ghost = unique("ghost");
    for _ in 0..5 {
        assert_eq!(api.login(&ghost, &wrong).await.0, 401);
    }
    assert_eq!(api.login(&ghost, &wrong).await.0, 429);

    // The functions print as they answer; give the watch a moment to write it down.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = watch_log();

    let mut secrets = api.secrets.0;
    if let Ok(secret) = std::env::var("JWT_SECRET") {
        secrets.push(secret);
    }
    for (number, line) in log.lines().enumerate() {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "log line {} holds a secret: {line}",
                number + 1
            );
        }
    }

    // Every audit line is one JSON object with an `audit` field. The emulator writes its
    // own progress (`Running ...`, no newline) into the same log when it starts a
    // function instance, so a line may begin with that text: the object starts at `{`.
    let audit_lines: Vec<Value> = log
        .lines()
        .filter(|line| line.contains("\"audit\":"))
        .map(|line| line.find('{').map_or(line, |at| &line[at..]))
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("audit line is not one JSON object ({e}): {line}"))
        })
        .filter(|event| event["audit"].is_string())
        .collect();
    // Every audit line of every function is also a CloudWatch metric (Embedded Metric
    // Format): held to the specification, one count of its event.
    for event in &audit_lines {
        if let Err(why) = wristband_test_support::emf::check(event) {
            panic!("audit line is not valid Embedded Metric Format ({why}): {event}");
        }
        assert_eq!(event["events"], 1, "{event}");
    }
    // The events of our two names, each with the request's context.
    let mut events = BTreeSet::new();
    for event in &audit_lines {
        if event["username"] != name.as_str() && event["username"] != ghost.as_str() {
            continue;
        }
        assert!(event["request_id"].is_string(), "{event}");
        assert!(event["source_ip"].is_string(), "{event}");
        events.insert(event["audit"].as_str().unwrap().to_owned());
    }
    // Token refusals carry no username (the token was not trusted): look for them apart.
    let refusals: BTreeSet<String> = audit_lines
        .iter()
        .filter(|event| event["audit"] == "token_refused")
        .filter_map(|event| event["reason"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "user_registered",
        "login_failed",
        "login_succeeded",
        "login_throttled",
        "token_refreshed",
        "refresh_retry_refused",
        "refresh_reuse_detected",
        "session_ended",
        "password_changed",
        "logged_out",
        "logged_out_everywhere",
    ] {
        assert!(
            events.contains(expected),
            "no {expected} event in {events:?}"
        );
    }
    for reason in ["token_revoked", "invalid_token"] {
        assert!(
            refusals.contains(reason),
            "no token_refused {reason}: {refusals:?}"
        );
    }
}
