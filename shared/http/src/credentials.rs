//! Where a request's token comes from (`TOKEN_LOCATION`) and the cookie mode's CSRF rule:
//! every endpoint that takes a token, and the guard of users' own functions, come here.
//!
//! - `headers`: `Authorization: Bearer <jwt>`; cookies are ignored.
//! - `cookies`: `access_token_cookie` (or `refresh_token_cookie` for a refresh token);
//!   the `Authorization` header is ignored.
//! - `headers,cookies`: the header when the request has one, else the cookie.
//!
//! A cookie-authenticated `POST`/`PUT`/`PATCH`/`DELETE` must carry `X-CSRF-TOKEN` equal
//! to the token's own `csrf` claim (the value of the readable `csrf_*` cookie set beside
//! it), compared in constant time; else `403 csrf_failed`. Binding the value to the token
//! makes a CSRF value without its token cookie, or a token cookie with another login's
//! CSRF value, useless. Header-authenticated requests need no CSRF value: a browser never
//! adds an `Authorization` header on its own.

use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::Request;
use subtle::ConstantTimeEq;
use wristband_core::config::{CookieSettings, TokenLocation};
use wristband_core::{Authenticator, Claims, Requirements, TokenType};

use crate::error::ApiError;
use crate::request::bearer_token;

/// Flask-JWT-Extended's cookie and header names.
pub const ACCESS_COOKIE: &str = "access_token_cookie";
pub const REFRESH_COOKIE: &str = "refresh_token_cookie";
pub const ACCESS_CSRF_COOKIE: &str = "csrf_access_token";
pub const REFRESH_CSRF_COOKIE: &str = "csrf_refresh_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The refresh token cookie is only sent to `/refresh`.
pub const REFRESH_COOKIE_PATH: &str = "/refresh";

/// How a token reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Header,
    Cookie,
}

/// The request's token for `token_type` and where it was found, `None` when it has none
/// where `location` allows.
pub fn presented_token(
    req: &Request,
    location: TokenLocation,
    token_type: TokenType,
) -> Result<Option<(&str, Source)>, ApiError> {
    if location.headers {
        if let Some(token) = bearer_token(req)? {
            return Ok(Some((token, Source::Header)));
        }
    }
    if location.cookies {
        if let Some(token) = cookie(req, cookie_name(token_type))? {
            return Ok(Some((token, Source::Cookie)));
        }
    }
    Ok(None)
}

/// The first non-empty cookie called `name` of the request's `Cookie` headers (API
/// Gateway's payload 2.0 `cookies` arrive as one such header).
pub fn cookie<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>, ApiError> {
    for value in req.headers().get_all(header::COOKIE) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::invalid_request("Cookie header is not valid text"))?;
        for pair in text.split(';') {
            if let Some((key, value)) = pair.trim().split_once('=') {
                let value = value.trim().trim_matches('"');
                if key.trim() == name && !value.is_empty() {
                    return Ok(Some(value));
                }
            }
        }
    }
    Ok(None)
}

/// With both locations allowed, `presented_token`, refusing a request whose header and
/// cookie hold different tokens (the authorizer's rule: one request, one credential).
pub fn agreeing_token(
    req: &Request,
    location: TokenLocation,
    token_type: TokenType,
) -> Result<Option<(&str, Source)>, ApiError> {
    let found = presented_token(req, location, token_type)?;
    if let (Some((token, Source::Header)), true) = (found, location.cookies) {
        if cookie(req, cookie_name(token_type))?.is_some_and(|other| other != token) {
            return Err(ApiError::invalid_request(
                "The Authorization header and the token cookie hold different tokens",
            ));
        }
    }
    Ok(found)
}

fn cookie_name(token_type: TokenType) -> &'static str {
    match token_type {
        TokenType::Access => ACCESS_COOKIE,
        TokenType::Refresh => REFRESH_COOKIE,
    }
}

/// The request's verified claims (`None` only for an anonymous caller of an optional
/// route) and where the token came from, CSRF rule included.
pub async fn authenticate(
    authenticator: &Authenticator,
    req: &Request,
    requirements: &Requirements,
) -> Result<Option<(Claims, Source)>, ApiError> {
    let presented = presented_token(req, authenticator.token_location(), requirements.token_type)?;
    verify_presented(authenticator, req, requirements, presented).await
}

/// [`require`] for a request whose token sources must agree ([`agreeing_token`]).
pub async fn require_agreeing(
    authenticator: &Authenticator,
    req: &Request,
    requirements: &Requirements,
) -> Result<(Claims, Source), ApiError> {
    require_with(authenticator, req, requirements, agreeing_token).await
}

/// Where a request's token is looked for: [`presented_token`] or [`agreeing_token`].
type Finder = for<'r> fn(
    &'r Request,
    TokenLocation,
    TokenType,
) -> Result<Option<(&'r str, Source)>, ApiError>;

async fn require_with(
    authenticator: &Authenticator,
    req: &Request,
    requirements: &Requirements,
    find: Finder,
) -> Result<(Claims, Source), ApiError> {
    let required = Requirements {
        optional: false,
        ..requirements.clone()
    };
    let presented = find(req, authenticator.token_location(), required.token_type)?;
    verify_presented(authenticator, req, &required, presented)
        .await?
        .ok_or(ApiError::MissingToken)
}

async fn verify_presented(
    authenticator: &Authenticator,
    req: &Request,
    requirements: &Requirements,
    presented: Option<(&str, Source)>,
) -> Result<Option<(Claims, Source)>, ApiError> {
    let Some((token, source)) = presented else {
        authenticator.authenticate(None, requirements).await?;
        return Ok(None);
    };
    let claims = authenticator
        .require(Some(token), requirements)
        .await
        .map_err(ApiError::from)?;
    if source == Source::Cookie && is_state_changing(req.method()) {
        check_csrf(req, &claims)?;
    }
    Ok(Some((claims, source)))
}

/// [`authenticate`] for routes that always need a token.
pub async fn require(
    authenticator: &Authenticator,
    req: &Request,
    requirements: &Requirements,
) -> Result<(Claims, Source), ApiError> {
    require_with(authenticator, req, requirements, presented_token).await
}

/// Flask-JWT-Extended's `JWT_CSRF_METHODS` (`POST`, `PUT`, `PATCH`, `DELETE`), and, failing
/// closed, every other method that is not a read (`GET`, `HEAD`, `OPTIONS`): an extension
/// method or a lower-cased one cannot pass a cookie through without the CSRF value.
fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `X-CSRF-TOKEN` (exactly one) equal to the token's `csrf` claim, in constant time.
fn check_csrf(req: &Request, claims: &Claims) -> Result<(), ApiError> {
    let mut values = req.headers().get_all(CSRF_HEADER).iter();
    let (Some(sent), None) = (values.next(), values.next()) else {
        return Err(ApiError::CsrfFailed);
    };
    let Some(expected) = claims.csrf.as_deref() else {
        // A token issued without a CSRF value cannot authenticate a cookie write.
        return Err(ApiError::CsrfFailed);
    };
    if bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::CsrfFailed)
    }
}

/// The CSRF values of a freshly issued pair, for the readable cookies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCookies<'a> {
    pub access_token: &'a str,
    pub access_csrf: &'a str,
    pub refresh_token: &'a str,
    pub refresh_csrf: &'a str,
    /// Lifetime of all four cookies, seconds: the refresh token's, so an expired access
    /// token still reaches the server (and answers `token_expired`, the cue to refresh).
    pub max_age: u64,
}

/// The four `Set-Cookie` values of `/login` and `/refresh`.
pub fn set_token_cookies(
    settings: &CookieSettings,
    issued: &IssuedCookies<'_>,
) -> Vec<HeaderValue> {
    let age = issued.max_age;
    [
        (ACCESS_COOKIE, issued.access_token, "/", true),
        (
            REFRESH_COOKIE,
            issued.refresh_token,
            REFRESH_COOKIE_PATH,
            true,
        ),
        (ACCESS_CSRF_COOKIE, issued.access_csrf, "/", false),
        (REFRESH_CSRF_COOKIE, issued.refresh_csrf, "/", false),
    ]
    .into_iter()
    .filter_map(|(name, value, path, http_only)| {
        set_cookie(settings, name, value, path, age, http_only)
    })
    .collect()
}

/// The four cookies, cleared (`Max-Age=0`), for `/logout`.
pub fn clear_token_cookies(settings: &CookieSettings) -> Vec<HeaderValue> {
    [
        (ACCESS_COOKIE, "/", true),
        (REFRESH_COOKIE, REFRESH_COOKIE_PATH, true),
        (ACCESS_CSRF_COOKIE, "/", false),
        (REFRESH_CSRF_COOKIE, "/", false),
    ]
    .into_iter()
    .filter_map(|(name, path, http_only)| set_cookie(settings, name, "", path, 0, http_only))
    .collect()
}

fn set_cookie(
    settings: &CookieSettings,
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    http_only: bool,
) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path={path}; Max-Age={max_age}");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if settings.secure {
        text.push_str("; Secure");
    }
    text.push_str("; SameSite=");
    text.push_str(settings.same_site.as_str());
    // JWTs and our ids are base64url: always a valid header value.
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use wristband_core::config::SameSite;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri("/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let r = req(
            "GET",
            &[(
                "cookie",
                "xaccess_token_cookie=no; access_token_cookie=a.b.c; csrf_access_token=v",
            )],
        );
        assert_eq!(cookie(&r, ACCESS_COOKIE).unwrap(), Some("a.b.c"));
        assert_eq!(cookie(&r, ACCESS_CSRF_COOKIE).unwrap(), Some("v"));
        assert_eq!(cookie(&r, REFRESH_COOKIE).unwrap(), None);
        let cleared = req("GET", &[("cookie", "access_token_cookie=")]);
        assert_eq!(cookie(&cleared, ACCESS_COOKIE).unwrap(), None);
    }

    #[test]
    fn location_decides_which_credential_counts() {
        let both = req(
            "GET",
            &[
                ("authorization", "Bearer from.header.x"),
                ("cookie", "access_token_cookie=from.cookie.x"),
            ],
        );
        let cookie_only = req("GET", &[("cookie", "access_token_cookie=from.cookie.x")]);
        let header_only = req("GET", &[("authorization", "Bearer from.header.x")]);
        fn found(r: &Request, l: TokenLocation) -> Option<(&str, Source)> {
            presented_token(r, l, TokenType::Access).unwrap()
        }
        assert_eq!(
            found(&both, TokenLocation::BOTH),
            Some(("from.header.x", Source::Header))
        );
        assert_eq!(
            found(&cookie_only, TokenLocation::BOTH),
            Some(("from.cookie.x", Source::Cookie))
        );
        assert_eq!(found(&cookie_only, TokenLocation::HEADERS), None);
        assert_eq!(found(&header_only, TokenLocation::COOKIES), None);
        assert_eq!(
            found(&both, TokenLocation::COOKIES),
            Some(("from.cookie.x", Source::Cookie))
        );
        // The refresh cookie is a different cookie.
        assert_eq!(
            presented_token(&cookie_only, TokenLocation::COOKIES, TokenType::Refresh).unwrap(),
            None
        );
    }

    #[test]
    fn set_and_clear_cookie_attributes() {
        let settings = CookieSettings {
            same_site: SameSite::Strict,
            secure: true,
        };
        let set = set_token_cookies(
            &settings,
            &IssuedCookies {
                access_token: "a.a.a",
                access_csrf: "ca",
                refresh_token: "r.r.r",
                refresh_csrf: "cr",
                max_age: 60,
            },
        );
        let set: Vec<&str> = set.iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(
            set,
            [
                "access_token_cookie=a.a.a; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict",
                "refresh_token_cookie=r.r.r; Path=/refresh; Max-Age=60; HttpOnly; Secure; SameSite=Strict",
                "csrf_access_token=ca; Path=/; Max-Age=60; Secure; SameSite=Strict",
                "csrf_refresh_token=cr; Path=/; Max-Age=60; Secure; SameSite=Strict",
            ]
        );
        let insecure = CookieSettings {
            same_site: SameSite::Lax,
            secure: false,
        };
        let cleared = clear_token_cookies(&insecure);
        assert_eq!(cleared.len(), 4);
        assert_eq!(
            cleared[1].to_str().unwrap(),
            "refresh_token_cookie=; Path=/refresh; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }
}
