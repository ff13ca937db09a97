//! The route table: every path wristband serves, its methods and the function behind it.
//! Stated once here; a test holds the copies (the watch router in Cargo.toml, the routes
//! of template.yaml, the sample events) against it.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// What a request asks for, once its path is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Login,
    Refresh,
    Protected,
    Me,
    Logout,
    LogoutAll,
    ListSessions,
    EndSession,
    Password,
    Jwks,
    OpenIdConfiguration,
}

/// One path of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    /// As API Gateway and the watch router spell it (`{sid}` is a path parameter).
    pub path: &'static str,
    /// The Lambda function (workspace binary) that serves it.
    pub function: &'static str,
    /// The `Allow` header: the methods this path answers.
    pub allow: &'static str,
}

impl Route {
    pub fn allows(&self, method: &str) -> bool {
        self.allow.split(", ").any(|m| m == method)
    }
}

/// Every path of API.md that a function of this workspace serves.
pub const ROUTES: &[Route] = &[
    route(Endpoint::Register, "/register", "register", "POST"),
    route(Endpoint::Login, "/login", "login", "POST"),
    route(Endpoint::Refresh, "/refresh", "refresh", "POST"),
    route(Endpoint::Protected, "/protected", "protected", "GET"),
    route(Endpoint::Me, "/me", "me", "GET"),
    route(Endpoint::Logout, "/logout", "logout", "DELETE, POST"),
    route(Endpoint::LogoutAll, "/logout/all", "logout-all", "POST"),
    route(Endpoint::ListSessions, "/sessions", "sessions", "GET"),
    route(
        Endpoint::EndSession,
        "/sessions/{sid}",
        "sessions",
        "DELETE",
    ),
    route(Endpoint::Password, "/password", "password", "POST"),
    route(Endpoint::Jwks, "/.well-known/jwks.json", "jwks", "GET"),
    route(
        Endpoint::OpenIdConfiguration,
        "/.well-known/openid-configuration",
        "jwks",
        "GET",
    ),
];

/// Serves every other path (API Gateway's `$default` route): 404 `not_found`.
pub const NOT_FOUND_FUNCTION: &str = "not-found";

/// The Lambda authorizer: not a route, API Gateway calls it before protected routes.
pub const AUTHORIZER_FUNCTION: &str = "authorizer";

const fn route(
    endpoint: Endpoint,
    path: &'static str,
    function: &'static str,
    allow: &'static str,
) -> Route {
    Route {
        endpoint,
        path,
        function,
        allow,
    }
}

/// The route of `endpoint`.
pub fn of(endpoint: Endpoint) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.endpoint == endpoint)
        .expect("every endpoint has a route")
}

/// The route a request is for: API Gateway's matched route key when it has one
/// (`ANY /sessions/{sid}`), else the request path matched against the table.
pub fn route_of(req: &Request) -> Option<&'static Route> {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some((_, template)) = ctx.route_key.as_deref().and_then(|k| k.split_once(' ')) {
            if let Some(route) = ROUTES.iter().find(|r| r.path == template) {
                return Some(route);
            }
        }
    }
    let path = req.uri().path();
    ROUTES
        .iter()
        .find(|r| path_param_of(r.path, path).is_some())
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

/// Whether `path` matches `template`: `Some(None)` for a template without a parameter,
/// `Some(Some((name, value)))` for one with a (single, non-empty segment) parameter.
fn path_param_of<'a>(
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

    #[test]
    fn every_endpoint_has_one_route() {
        for route in ROUTES {
            assert_eq!(of(route.endpoint), route);
        }
    }
}
