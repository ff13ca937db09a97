//! The Lambda authorizer's events (issue 21): any event, built from the fuzzer's bytes
//! around one valid cookie-mode access token, is answered without a panic, and allowed
//! only as the credential rules allow (the token in the one Authorization header, or in
//! the access cookie with no other header credential and, for anything but a read, its
//! CSRF value in the one X-CSRF-TOKEN header). Raw bytes that parse as JSON go in as
//! whole events too, and are never allowed.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use wristband_core::config::TokenLocation;
use wristband_core::{Authenticator, Requirements};
use wristband_http::authorizer::authorize;

struct State {
    authenticator: Arc<Authenticator>,
    token: String,
    csrf: String,
    runtime: tokio::runtime::Runtime,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut config = wristband_test_support::test_config();
        config.token_location = TokenLocation::BOTH;
        let pair = wristband_test_support::issued_pair(&config, "alice", &[], true);
        let (authenticator, _) = wristband_test_support::in_memory_authenticator(&config);
        State {
            authenticator,
            csrf: pair.access.csrf.clone().unwrap(),
            token: pair.access_token,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    })
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    method: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    cookies: Vec<&'a str>,
    token_in_header: bool,
    token_in_cookie: bool,
    csrf_header: bool,
    raw: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let state = state();
    let requirements = Requirements::access();
    if let Ok(event) = serde_json::from_slice::<Value>(input.raw) {
        let answer = state
            .runtime
            .block_on(authorize(&state.authenticator, &requirements, event));
        assert!(!answer.is_authorized, "a fuzzer's own event was allowed");
    }

    let mut headers = Map::new();
    for (name, value) in &input.headers {
        headers.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    if input.token_in_header {
        headers.insert(
            "authorization".into(),
            format!("Bearer {}", state.token).into(),
        );
    }
    if input.csrf_header {
        headers.insert("x-csrf-token".into(), state.csrf.clone().into());
    }
    let mut cookies: Vec<String> = input.cookies.iter().map(|c| (*c).to_owned()).collect();
    if input.token_in_cookie {
        cookies.insert(0, format!("access_token_cookie={}", state.token));
    }
    let mut event = json!({"type": "REQUEST", "headers": headers, "cookies": cookies,
                           "requestContext": {"http": {}}});
    if let Some(method) = input.method {
        event["requestContext"]["http"]["method"] = method.into();
    }
    let answer = state
        .runtime
        .block_on(authorize(&state.authenticator, &requirements, event));

    let named = |wanted: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str().unwrap())
            .collect()
    };
    let (auths, csrfs) = (named("authorization"), named("x-csrf-token"));
    let by_header = auths.len() == 1 && auths[0] == format!("Bearer {}", state.token);
    let no_header = auths.len() <= 1 && auths.iter().all(|v| v.trim().is_empty());
    let csrf_ok = csrfs.len() == 1 && csrfs[0] == state.csrf;
    let read = matches!(input.method, Some("GET" | "HEAD" | "OPTIONS"));
    let may = by_header || (input.token_in_cookie && no_header && (read || csrf_ok));
    if answer.is_authorized {
        assert!(may, "allowed against the rules: {input:?}");
    }
    if !input.token_in_header && !input.token_in_cookie {
        assert!(
            !answer.is_authorized,
            "allowed without the token: {input:?}"
        );
    }
});
