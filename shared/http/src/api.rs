//! wristband's own functions and the routes each serves: the one list of API.md's paths.
//! A test holds the copies outside the code (the watch router in Cargo.toml, the routes
//! of template.yaml, the sample events, the function folders) to it. Functions of your
//! own state their routes themselves and need nothing from here.

use crate::routes::Route;

pub const REGISTER: Route = Route::post("/register");
pub const LOGIN: Route = Route::post("/login");
pub const REFRESH: Route = Route::post("/refresh");
pub const PROTECTED: Route = Route::get("/protected");
pub const ME: Route = Route::get("/me");
pub const LOGOUT_DELETE: Route = Route::delete("/logout");
pub const LOGOUT_POST: Route = Route::post("/logout");
pub const LOGOUT_ALL: Route = Route::post("/logout/all");
pub const LIST_SESSIONS: Route = Route::get("/sessions");
pub const END_SESSION: Route = Route::delete("/sessions/{sid}");
pub const PASSWORD: Route = Route::post("/password");
pub const JWKS: Route = Route::get("/.well-known/jwks.json");
pub const OPENID_CONFIGURATION: Route = Route::get("/.well-known/openid-configuration");
pub const INTROSPECT: Route = Route::post("/oauth/introspect");
pub const REVOKE: Route = Route::post("/oauth/revoke");
pub const LOGIN_MFA: Route = Route::post("/login/mfa");
pub const MFA_TOTP: Route = Route::post("/mfa/totp");
pub const MFA_TOTP_CONFIRM: Route = Route::post("/mfa/totp/confirm");
pub const MFA_RECOVERY_CODES: Route = Route::post("/mfa/recovery-codes");
pub const MFA_TOTP_DELETE: Route = Route::delete("/mfa/totp");
pub const PASSKEY_REGISTRATION_OPTIONS: Route = Route::post("/passkeys/registration/options");
pub const PASSKEY_REGISTRATION: Route = Route::post("/passkeys/registration");
pub const LIST_PASSKEYS: Route = Route::get("/passkeys");
pub const DELETE_PASSKEY: Route = Route::delete("/passkeys/{id}");
pub const LOGIN_PASSKEY_OPTIONS: Route = Route::post("/login/passkey/options");
pub const LOGIN_PASSKEY: Route = Route::post("/login/passkey");
pub const GET_ACCOUNT: Route = Route::get("/account");
pub const DELETE_ACCOUNT: Route = Route::delete("/account");
pub const EMAIL_VERIFICATION: Route = Route::post("/email/verification");
pub const EMAIL_VERIFY: Route = Route::post("/email/verify");
pub const CHANGE_EMAIL: Route = Route::put("/email");
pub const PASSWORD_FORGOT: Route = Route::post("/password/forgot");
pub const PASSWORD_RESET: Route = Route::post("/password/reset");
pub const ADMIN_LIST_USERS: Route = Route::get("/admin/users");
pub const ADMIN_SHOW_USER: Route = Route::get("/admin/users/{username}");
pub const ADMIN_DELETE_USER: Route = Route::delete("/admin/users/{username}");
pub const ADMIN_DISABLE_USER: Route = Route::post("/admin/users/{username}/disable");
pub const ADMIN_ENABLE_USER: Route = Route::post("/admin/users/{username}/enable");
pub const ADMIN_LOGOUT_USER: Route = Route::post("/admin/users/{username}/logout-all");

/// A Lambda function of this workspace (its binary's name) and the routes it serves.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    pub name: &'static str,
    pub routes: &'static [Route],
}

// What each function serves: its `main` passes this to `serve`.
pub const REGISTER_ROUTES: &[Route] = &[REGISTER];
pub const LOGIN_ROUTES: &[Route] = &[LOGIN];
pub const REFRESH_ROUTES: &[Route] = &[REFRESH];
pub const PROTECTED_ROUTES: &[Route] = &[PROTECTED];
pub const ME_ROUTES: &[Route] = &[ME];
pub const LOGOUT_ROUTES: &[Route] = &[LOGOUT_DELETE, LOGOUT_POST];
pub const LOGOUT_ALL_ROUTES: &[Route] = &[LOGOUT_ALL];
pub const SESSIONS_ROUTES: &[Route] = &[LIST_SESSIONS, END_SESSION];
pub const PASSWORD_ROUTES: &[Route] = &[PASSWORD];
pub const JWKS_ROUTES: &[Route] = &[JWKS, OPENID_CONFIGURATION];
pub const INTROSPECT_ROUTES: &[Route] = &[INTROSPECT];
pub const REVOKE_ROUTES: &[Route] = &[REVOKE];
pub const LOGIN_MFA_ROUTES: &[Route] = &[LOGIN_MFA];
pub const MFA_ROUTES: &[Route] = &[
    MFA_TOTP,
    MFA_TOTP_CONFIRM,
    MFA_RECOVERY_CODES,
    MFA_TOTP_DELETE,
];
pub const PASSKEYS_ROUTES: &[Route] = &[
    PASSKEY_REGISTRATION_OPTIONS,
    PASSKEY_REGISTRATION,
    LIST_PASSKEYS,
    DELETE_PASSKEY,
];
pub const LOGIN_PASSKEY_ROUTES: &[Route] = &[LOGIN_PASSKEY_OPTIONS, LOGIN_PASSKEY];
pub const ACCOUNT_ROUTES: &[Route] = &[GET_ACCOUNT, DELETE_ACCOUNT];
pub const EMAIL_ROUTES: &[Route] = &[EMAIL_VERIFICATION, EMAIL_VERIFY, CHANGE_EMAIL];
pub const PASSWORD_RESET_ROUTES: &[Route] = &[PASSWORD_FORGOT, PASSWORD_RESET];
pub const ADMIN_ROUTES: &[Route] = &[
    ADMIN_LIST_USERS,
    ADMIN_SHOW_USER,
    ADMIN_DELETE_USER,
    ADMIN_DISABLE_USER,
    ADMIN_ENABLE_USER,
    ADMIN_LOGOUT_USER,
];

/// Every function that serves routes of API.md.
pub const FUNCTIONS: &[Function] = &[
    function("register", REGISTER_ROUTES),
    function("login", LOGIN_ROUTES),
    function("refresh", REFRESH_ROUTES),
    function("protected", PROTECTED_ROUTES),
    function("me", ME_ROUTES),
    function("logout", LOGOUT_ROUTES),
    function("logout-all", LOGOUT_ALL_ROUTES),
    function("sessions", SESSIONS_ROUTES),
    function("password", PASSWORD_ROUTES),
    function("admin", ADMIN_ROUTES),
    function("jwks", JWKS_ROUTES),
    function("introspect", INTROSPECT_ROUTES),
    function("revoke", REVOKE_ROUTES),
    function("account", ACCOUNT_ROUTES),
    function("email", EMAIL_ROUTES),
    function("password-reset", PASSWORD_RESET_ROUTES),
    function("login-mfa", LOGIN_MFA_ROUTES),
    function("mfa", MFA_ROUTES),
    function("passkeys", PASSKEYS_ROUTES),
    function("login-passkey", LOGIN_PASSKEY_ROUTES),
];

/// Serves every other path (API Gateway's `$default` route): 404 `not_found`.
pub const NOT_FOUND_FUNCTION: &str = "not-found";

/// The Lambda authorizer: not a route, API Gateway calls it before protected routes.
pub const AUTHORIZER_FUNCTION: &str = "authorizer";

const fn function(name: &'static str, routes: &'static [Route]) -> Function {
    Function { name, routes }
}

/// Every route of every function, in table order: as one list a single function could
/// serve (the tests' and the fuzz target's view of the whole API).
pub fn all_routes() -> &'static [Route] {
    static ALL: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        FUNCTIONS
            .iter()
            .flat_map(|f| f.routes.iter().copied())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_served_by_one_function() {
        let mut seen = std::collections::BTreeSet::new();
        for route in all_routes() {
            assert!(seen.insert(*route), "{route:?} listed twice");
        }
    }
}
