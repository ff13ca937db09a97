//! Routes are data the caller owns: a function states the (method, path) pairs it serves
//! and [`crate::serve`] answers exactly those: 404 for any other path, 405 with `Allow`
//! for another method on one of its paths, the CORS preflight for `OPTIONS`.
//!
//! ```
//! use wristband_http::Route;
//! const ROUTES: &[Route] = &[Route::get("/orders"), Route::post("/orders")];
//! ```
//!
//! wristband's own functions' routes are one list, [`crate::api`].

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;

/// One route: a method and a path as API Gateway spells its route keys (`{name}` is a
/// path parameter matching one non-empty segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
}

impl Route {
    pub const fn new(method: &'static str, path: &'static str) -> Self {
        Self { method, path }
    }
    pub const fn get(path: &'static str) -> Self {
        Self::new("GET", path)
    }
    pub const fn post(path: &'static str) -> Self {
        Self::new("POST", path)
    }
    pub const fn put(path: &'static str) -> Self {
        Self::new("PUT", path)
    }
    pub const fn patch(path: &'static str) -> Self {
        Self::new("PATCH", path)
    }
    pub const fn delete(path: &'static str) -> Self {
        Self::new("DELETE", path)
    }
}

/// What a request is, among `routes`.
#[derive(Debug, PartialEq, Eq)]
pub enum Matched {
    /// The route of its path and method.
    Route(&'static Route),
    /// A path of `routes` with another method: the `Allow` value (the path's methods, in
    /// the order `routes` lists them, joined by ", "). `OPTIONS` lands here too.
    OtherMethod(String),
}

/// The route `req` is for among `routes`, or 404 `not_found` when none has its path.
/// The path is API Gateway's matched route key when it is one of `routes`' paths
/// (`ANY /sessions/{sid}`), else the request path matched against their templates.
pub fn match_route(routes: &'static [Route], req: &Request) -> Result<Matched, ApiError> {
    let path = route_key_path(routes, req)
        .or_else(|| {
            let path = req.uri().path();
            routes
                .iter()
                .find(|r| path_param_of(r.path, path).is_some())
                .map(|r| r.path)
        })
        .ok_or(ApiError::NotFound("No such path"))?;
    let method = req.method().as_str();
    let same_path = || routes.iter().filter(move |r| r.path == path);
    if let Some(route) = same_path().find(|r| r.method == method) {
        return Ok(Matched::Route(route));
    }
    let mut allow: Vec<&str> = Vec::new();
    for route in same_path() {
        if !allow.contains(&route.method) {
            allow.push(route.method);
        }
    }
    Ok(Matched::OtherMethod(allow.join(", ")))
}

fn route_key_path(routes: &'static [Route], req: &Request) -> Option<&'static str> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    let (_, template) = ctx.route_key.as_deref()?.split_once(' ')?;
    routes.iter().find(|r| r.path == template).map(|r| r.path)
}

/// The `{name}` parameter of the request: from API Gateway's path parameters, else cut
/// from the path by the route's template.
pub fn path_param(req: &Request, route: &Route, name: &str) -> Option<String> {
    if let Some(value) = req.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(value.to_owned());
    }
    path_param_of(route.path, req.uri().path())?
        .filter(|(param, _)| *param == name)
        .map(|(_, value)| value.to_owned())
}

/// [`path_param`], percent-decoded (`a%40b` is `a@b`, as `encodeURIComponent` writes it);
/// `None` also when the decoded bytes are not UTF-8. For parameters whose values never
/// hold a `%` (usernames), so that decoding a value API Gateway decoded already changes
/// nothing a valid value can be.
pub fn path_param_decoded(req: &Request, route: &Route, name: &str) -> Option<String> {
    let raw = path_param(req, route, name)?;
    percent_encoding::percent_decode_str(&raw)
        .decode_utf8()
        .ok()
        .map(|value| value.into_owned())
}

/// Whether `path` matches `template`: `Some(None)` for a template without a parameter,
/// `Some(Some((name, value)))` for one with a (single, non-empty segment) parameter.
pub fn path_param_of<'a>(
    template: &'static str,
    path: &'a str,
) -> Option<Option<(&'static str, &'a str)>> {
    let mut found = None;
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(found),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {
                found = Some((&t[1..t.len() - 1], p));
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates_exactly() {
        assert_eq!(path_param_of("/login", "/login"), Some(None));
        assert_eq!(path_param_of("/login", "/login/"), None);
        assert_eq!(path_param_of("/login", "/logi"), None);
        assert_eq!(
            path_param_of("/sessions/{sid}", "/sessions/abc"),
            Some(Some(("sid", "abc")))
        );
        assert_eq!(path_param_of("/sessions/{sid}", "/sessions/"), None);
        assert_eq!(path_param_of("/sessions/{sid}", "/sessions/a/b"), None);
        assert_eq!(path_param_of("/sessions/{sid}", "/sessions"), None);
    }

    fn request(method: &str, path: &str) -> Request {
        let mut req = Request::new(lambda_http::Body::Empty);
        *req.method_mut() = method.parse().unwrap();
        *req.uri_mut() = path.parse().unwrap();
        req
    }

    const ORDERS: &[Route] = &[
        Route::get("/orders"),
        Route::post("/orders"),
        Route::delete("/orders/{id}"),
    ];

    #[test]
    fn a_request_matches_only_the_callers_routes() {
        assert_eq!(
            match_route(ORDERS, &request("POST", "/orders")).unwrap(),
            Matched::Route(&ORDERS[1])
        );
        assert_eq!(
            match_route(ORDERS, &request("DELETE", "/orders/7")).unwrap(),
            Matched::Route(&ORDERS[2])
        );
        assert_eq!(
            match_route(ORDERS, &request("PUT", "/orders")).unwrap(),
            Matched::OtherMethod("GET, POST".into())
        );
        assert_eq!(
            match_route(ORDERS, &request("GET", "/orders/7")).unwrap(),
            Matched::OtherMethod("DELETE".into())
        );
        for path in ["/login", "/orders/", "/orders/7/x", "/"] {
            assert_eq!(
                match_route(ORDERS, &request("GET", path))
                    .unwrap_err()
                    .code(),
                "not_found",
                "{path}"
            );
        }
        assert!(match_route(&[], &request("GET", "/orders")).is_err());
    }

    #[test]
    fn a_decoded_parameter_is_decoded_once() {
        let route = Route::get("/users/{username}");
        let param = |path: &str| path_param_decoded(&request("GET", path), &route, "username");
        assert_eq!(param("/users/a%40b.c").as_deref(), Some("a@b.c"));
        assert_eq!(param("/users/Ann").as_deref(), Some("Ann"));
        assert_eq!(param("/users/%2561").as_deref(), Some("%61"));
        assert_eq!(param("/users/%FF"), None);
        assert_eq!(param("/users/"), None);
    }
}
