//! Cookie mode (API.md "Browser clients (cookies)"): Flask-JWT-Extended's cookies set by
//! /login and /refresh, cookie-authenticated requests, the double-submit CSRF rule bound
//! to the token, logout clearing the cookies, and the modes that ignore one location; on
//! the in-memory stores and on DynamoDB Local.

mod common;

use std::collections::HashMap;

use common::{tokens_of, Backend, Harness, Resp, Tokens};
use serde_json::json;
use wristband_core::config::{SameSite, TokenLocation};
use wristband_core::TokenType;
use wristband_test_support::{json_request, request};

on_both_backends!(
    login_and_refresh_set_the_four_cookies_with_their_attributes,
    csrf_cookies_hold_the_tokens_own_csrf_claims,
    cookie_authenticated_get_needs_no_csrf,
    state_changing_cookie_requests_need_the_matching_csrf_header,
    another_logins_csrf_value_is_useless,
    refresh_by_cookie_needs_the_refresh_csrf_value,
    logout_by_cookie_clears_the_cookies_and_ends_the_session,
    header_authenticated_writes_need_no_csrf,
    headers_only_mode_ignores_cookies,
    cookies_only_mode_ignores_the_authorization_header,
    samesite_and_secure_are_configurable,
);

async fn cookie_app(backend: Backend, location: TokenLocation) -> Harness {
    backend
        .app_with(|c| {
            c.token_location = location;
        })
        .await
}

/// A `Set-Cookie` header, parsed: name, value and attributes (lower-cased names).
#[derive(Debug)]
struct SetCookie {
    name: String,
    value: String,
    attrs: HashMap<String, String>,
}

impl SetCookie {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

fn set_cookies(r: &Resp) -> HashMap<String, SetCookie> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let attrs = parts
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_ascii_lowercase(), v.to_owned()),
                    None => (p.to_ascii_lowercase(), String::new()),
                })
                .collect();
            (
                name.to_owned(),
                SetCookie {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    attrs,
                },
            )
        })
        .collect()
}

/// What a browser holds after a login or refresh.
#[derive(Clone, Debug)]
struct Jar {
    access: String,
    refresh: String,
    csrf_access: String,
    csrf_refresh: String,
}

impl Jar {
    fn of(r: &Resp) -> Self {
        assert_eq!(r.status, 200, "{r:?}");
        let c = set_cookies(r);
        let get = |name: &str| {
            c.get(name)
                .unwrap_or_else(|| panic!("{name} set"))
                .value
                .clone()
        };
        Self {
            access: get("access_token_cookie"),
            refresh: get("refresh_token_cookie"),
            csrf_access: get("csrf_access_token"),
            csrf_refresh: get("csrf_refresh_token"),
        }
    }

    /// The Cookie header a browser sends to `path` (the refresh cookie only to /refresh).
    fn cookie_header(&self, path: &str) -> String {
        let mut cookies = vec![
            format!("access_token_cookie={}", self.access),
            format!("csrf_access_token={}", self.csrf_access),
            format!("csrf_refresh_token={}", self.csrf_refresh),
        ];
        if path == "/refresh" {
            cookies.push(format!("refresh_token_cookie={}", self.refresh));
        }
        cookies.join("; ")
    }
}

/// Registers a fresh user and logs in: the cookies and the body's tokens.
async fn browser_login(h: &Harness) -> (Jar, Tokens) {
    let (name, _) = h.user_with_tokens().await;
    let r = h.login(&name, common::PASSWORD).await;
    (Jar::of(&r), tokens_of(&r))
}

/// A request with the jar's cookies and, when given, `X-CSRF-TOKEN`.
async fn with_cookies(
    h: &Harness,
    method: &str,
    path: &str,
    jar: &Jar,
    csrf: Option<&str>,
) -> Resp {
    let cookie = jar.cookie_header(path);
    let mut headers = vec![
        ("cookie", cookie.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(csrf) = csrf {
        headers.push(("x-csrf-token", csrf));
    }
    h.call(request(method, path, &headers, "")).await
}

async fn login_and_refresh_set_the_four_cookies_with_their_attributes(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (name, _) = h.user_with_tokens().await;
    let r = h.login(&name, common::PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The body keeps the contract's shape: cookies are set *also*.
    let tokens = tokens_of(&r);
    assert_eq!(r.json["token_type"], "Bearer");
    let c = set_cookies(&r);
    assert_eq!(c.len(), 4, "{c:?}");
    let refresh_ttl = h.app.config.refresh_ttl.as_secs().to_string();
    for (cookie, path, http_only) in [
        ("access_token_cookie", "/", true),
        ("refresh_token_cookie", "/refresh", true),
        ("csrf_access_token", "/", false),
        ("csrf_refresh_token", "/", false),
    ] {
        let sc = &c[cookie];
        assert_eq!(sc.name, cookie);
        assert_eq!(sc.attr("path"), Some(path), "{sc:?}");
        assert_eq!(sc.attr("httponly").is_some(), http_only, "{sc:?}");
        assert_eq!(sc.attr("secure"), Some(""), "{sc:?}");
        assert_eq!(sc.attr("samesite"), Some("Lax"), "{sc:?}");
        assert_eq!(sc.attr("max-age"), Some(refresh_ttl.as_str()), "{sc:?}");
        assert!(sc.attr("domain").is_none(), "host-only: {sc:?}");
    }
    assert_eq!(c["access_token_cookie"].value, tokens.access);
    assert_eq!(c["refresh_token_cookie"].value, tokens.refresh);

    // /refresh sets a new set of four, for the rotated pair.
    let jar = Jar::of(&r);
    let r = with_cookies(&h, "POST", "/refresh", &jar, Some(&jar.csrf_refresh)).await;
    let rotated = Jar::of(&r);
    assert_eq!(set_cookies(&r).len(), 4);
    assert_eq!(rotated.access, tokens_of(&r).access);
    assert_ne!(rotated.access, jar.access);
    assert_ne!(rotated.refresh, jar.refresh);
    assert_ne!(rotated.csrf_access, jar.csrf_access);
    assert_ne!(rotated.csrf_refresh, jar.csrf_refresh);
}

async fn csrf_cookies_hold_the_tokens_own_csrf_claims(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (jar, tokens) = browser_login(&h).await;
    let access = h.claims(&tokens.access, TokenType::Access);
    let refresh = h.claims(&tokens.refresh, TokenType::Refresh);
    assert_eq!(access.csrf.as_deref(), Some(jar.csrf_access.as_str()));
    assert_eq!(refresh.csrf.as_deref(), Some(jar.csrf_refresh.as_str()));
    assert_ne!(jar.csrf_access, jar.csrf_refresh);
    assert!(jar.csrf_access.len() >= 22, "128 random bits");
}

async fn cookie_authenticated_get_needs_no_csrf(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (jar, _) = browser_login(&h).await;
    let r = with_cookies(&h, "GET", "/protected", &jar, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json["message"].as_str().unwrap().starts_with("Hello, "));
    let r = with_cookies(&h, "GET", "/me", &jar, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["fresh"], true);
    let r = with_cookies(&h, "GET", "/sessions", &jar, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let current: Vec<_> = r.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current.len(), 1, "{r:?}");
}

async fn state_changing_cookie_requests_need_the_matching_csrf_header(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (jar, _) = browser_login(&h).await;
    // No header, a wrong one, the refresh token's value: 403 csrf_failed, nothing done.
    for csrf in [None, Some("not-the-value"), Some(jar.csrf_refresh.as_str())] {
        let r = with_cookies(&h, "POST", "/logout/all", &jar, csrf).await;
        r.assert_error(403, "csrf_failed");
        assert_eq!(r.message(), "Missing or invalid CSRF token");
        let r = with_cookies(&h, "GET", "/me", &jar, None).await;
        assert_eq!(r.status, 200, "still logged in after {csrf:?}: {r:?}");
    }
    // Two X-CSRF-TOKEN headers are refused too (API Gateway would join them).
    let cookie = jar.cookie_header("/logout/all");
    let twice = format!("{0}, {0}", jar.csrf_access);
    let r = h
        .call(request(
            "POST",
            "/logout/all",
            &[("cookie", &cookie), ("x-csrf-token", &twice)],
            "",
        ))
        .await;
    r.assert_error(403, "csrf_failed");
    // The right value: done.
    let r = with_cookies(&h, "POST", "/logout/all", &jar, Some(&jar.csrf_access)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = with_cookies(&h, "GET", "/me", &jar, None).await;
    r.assert_error(401, "token_revoked");
}

async fn another_logins_csrf_value_is_useless(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (victim, _) = browser_login(&h).await;
    let (attacker, _) = browser_login(&h).await;
    // The victim's token cookie with the attacker's own (valid) CSRF value.
    let r = with_cookies(
        &h,
        "DELETE",
        "/logout",
        &victim,
        Some(&attacker.csrf_access),
    )
    .await;
    r.assert_error(403, "csrf_failed");
    // A CSRF value without its token cookie authenticates nothing.
    let r = h
        .call(request(
            "POST",
            "/logout/all",
            &[
                (
                    "cookie",
                    &format!("csrf_access_token={}", victim.csrf_access),
                ),
                ("x-csrf-token", &victim.csrf_access),
            ],
            "",
        ))
        .await;
    r.assert_error(401, "missing_token");
    let r = with_cookies(&h, "GET", "/me", &victim, None).await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn refresh_by_cookie_needs_the_refresh_csrf_value(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (jar, _) = browser_login(&h).await;
    let r = with_cookies(&h, "POST", "/refresh", &jar, None).await;
    r.assert_error(403, "csrf_failed");
    let r = with_cookies(&h, "POST", "/refresh", &jar, Some(&jar.csrf_access)).await;
    r.assert_error(403, "csrf_failed");
    let r = with_cookies(&h, "POST", "/refresh", &jar, Some(&jar.csrf_refresh)).await;
    let rotated = Jar::of(&r);
    let r = with_cookies(&h, "GET", "/me", &rotated, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["fresh"], false);
    // The access cookie alone (as browsers send it everywhere but /refresh) buys nothing.
    let r = with_cookies(&h, "POST", "/refresh", &rotated, None).await;
    r.assert_error(403, "csrf_failed");
    let cookie = rotated.cookie_header("/protected");
    let r = h
        .call(request(
            "POST",
            "/refresh",
            &[("cookie", &cookie), ("x-csrf-token", &rotated.csrf_refresh)],
            "",
        ))
        .await;
    r.assert_error(401, "missing_token");
}

async fn logout_by_cookie_clears_the_cookies_and_ends_the_session(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (jar, _) = browser_login(&h).await;
    let r = with_cookies(&h, "DELETE", "/logout", &jar, Some(&jar.csrf_access)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({"message": "Access token revoked"}));
    let c = set_cookies(&r);
    assert_eq!(c.len(), 4, "{c:?}");
    for (name, path) in [
        ("access_token_cookie", "/"),
        ("refresh_token_cookie", "/refresh"),
        ("csrf_access_token", "/"),
        ("csrf_refresh_token", "/"),
    ] {
        assert_eq!(c[name].value, "", "{name}");
        assert_eq!(c[name].attr("max-age"), Some("0"), "{name}");
        assert_eq!(c[name].attr("path"), Some(path), "{name}");
    }
    let r = with_cookies(&h, "GET", "/protected", &jar, None).await;
    r.assert_error(401, "token_revoked");
    // The refresh cookie (which the browser could not send to /logout) is dead too.
    let r = with_cookies(&h, "POST", "/refresh", &jar, Some(&jar.csrf_refresh)).await;
    r.assert_error(401, "token_revoked");
}

async fn header_authenticated_writes_need_no_csrf(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let (_, tokens) = browser_login(&h).await;
    let r = h.refresh(&tokens.refresh).await;
    assert_eq!(r.status, 200, "{r:?}");
    let tokens = tokens_of(&r);
    let r = h
        .with_token("POST", "/logout/all", &tokens.access, "")
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn headers_only_mode_ignores_cookies(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::HEADERS).await;
    let (name, tokens) = h.user_with_tokens().await;
    let r = h.login(&name, common::PASSWORD).await;
    assert_eq!(r.status, 200);
    assert!(set_cookies(&r).is_empty(), "{r:?}");
    assert_eq!(h.claims(&tokens.access, TokenType::Access).csrf, None);
    let cookie = format!("access_token_cookie={}", tokens.access);
    let r = h
        .call(request("GET", "/protected", &[("cookie", &cookie)], ""))
        .await;
    r.assert_error(401, "missing_token");
    let r = h
        .call(request(
            "POST",
            "/refresh",
            &[(
                "cookie",
                &format!("refresh_token_cookie={}", tokens.refresh),
            )],
            "",
        ))
        .await;
    r.assert_error(401, "missing_token");
    let r = h.logout(&tokens.access, "").await;
    assert_eq!(r.status, 200);
    assert!(set_cookies(&r).is_empty(), "{r:?}");
}

async fn cookies_only_mode_ignores_the_authorization_header(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::COOKIES).await;
    let (jar, tokens) = browser_login(&h).await;
    h.protected(&tokens.access)
        .await
        .assert_error(401, "missing_token");
    let r = with_cookies(&h, "GET", "/protected", &jar, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    // With both present the cookie is used, so the CSRF rule applies.
    let auth = format!("Bearer {}", tokens.access);
    let cookie = jar.cookie_header("/logout/all");
    let r = h
        .call(request(
            "POST",
            "/logout/all",
            &[("authorization", &auth), ("cookie", &cookie)],
            "",
        ))
        .await;
    r.assert_error(403, "csrf_failed");
}

async fn samesite_and_secure_are_configurable(backend: Backend) {
    let h = backend
        .app_with(|c| {
            c.token_location = TokenLocation::COOKIES;
            c.cookies.same_site = SameSite::Strict;
            c.cookies.secure = false;
        })
        .await;
    let (name, _) = h.user_with_tokens().await;
    let body = json!({"username": name, "password": common::PASSWORD});
    let r = h.call(json_request("POST", "/login", &body)).await;
    let c = set_cookies(&r);
    assert_eq!(c.len(), 4);
    for sc in c.values() {
        assert_eq!(sc.attr("samesite"), Some("Strict"), "{sc:?}");
        assert!(sc.attr("secure").is_none(), "{sc:?}");
    }
}
