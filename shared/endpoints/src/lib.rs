//! wristband's issuing and session endpoints over HTTP: each request parsed once into its
//! service's typed input (credentials checked by the one Authenticator), the output
//! turned into a reply. The functions' `main` passes these to `wristband_http::serve`
//! with their routes from `wristband_http::api`.

use wristband_core::{ApiError, Claims, Requirements};
use wristband_http::api;
use wristband_http::credentials::{self, IssuedCookies, Source};
use wristband_http::request::{client_info, query_param, Fields};
use wristband_http::routes::{path_param, path_param_decoded};
use wristband_http::{Reply, Request, Route, StatusCode};
use wristband_services::services::{
    account, admin, email, login, login_mfa, login_passkey, logout, logout_all, mfa, passkeys,
    password, password_reset, refresh, register, sessions, TokenResponse,
};
use wristband_services::App;

/// The caller's claims, from where `TOKEN_LOCATION` allows, CSRF rule included.
async fn claims(app: &App, req: &Request, requirements: &Requirements) -> Result<Claims, ApiError> {
    Ok(credentials(app, req, requirements).await?.0)
}

async fn credentials(
    app: &App,
    req: &Request,
    requirements: &Requirements,
) -> Result<(Claims, Source), ApiError> {
    credentials::require(app.authenticator()?, req, requirements).await
}

/// `/login` and `/refresh`: the JSON body, and in cookie mode the four cookies.
fn token_reply(app: &App, tokens: TokenResponse) -> Result<Reply, ApiError> {
    let cookies = match (&tokens.csrf, app.config.token_location.cookies) {
        (Some(csrf), true) => credentials::set_token_cookies(
            &app.config.cookies,
            &IssuedCookies {
                access_token: &tokens.access_token,
                access_csrf: &csrf.access,
                refresh_token: &tokens.refresh_token,
                refresh_csrf: &csrf.refresh,
                max_age: app.issuer()?.refresh_ttl(),
            },
        ),
        _ => Vec::new(),
    };
    Ok(Reply::ok(&tokens)?.with_cookies(cookies))
}

fn required(fields: &Fields, name: &str) -> Result<String, ApiError> {
    fields.required_str(name).map(str::to_owned)
}

pub async fn register(app: &App, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    let input = register::Input {
        username: required(&fields, "username")?,
        password: required(&fields, "password")?,
        email: fields.optional_str("email")?.map(str::to_owned),
        client: client_info(&req)?,
    };
    Reply::with_status(StatusCode::CREATED, register::register(app, input).await?)
}

pub async fn login(app: &App, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    let input = login::Input {
        username: required(&fields, "username")?,
        password: required(&fields, "password")?,
        client: client_info(&req)?,
    };
    token_reply(app, login::login(app, input).await?)
}

pub async fn refresh(app: &App, req: Request) -> Result<Reply, ApiError> {
    let refresh = claims(app, &req, &Requirements::refresh()).await?;
    token_reply(
        app,
        refresh::refresh(app, refresh::Input { refresh }).await?,
    )
}

pub async fn logout(app: &App, req: Request) -> Result<Reply, ApiError> {
    let (access, source) = credentials(app, &req, &Requirements::access()).await?;
    let fields = Fields::from_request(&req)?;
    let input = logout::Input {
        access,
        refresh_token: fields.optional_str("refresh_token")?.map(str::to_owned),
        end_session: source == Source::Cookie,
    };
    let reply = Reply::ok(logout::logout(app, input).await?)?;
    Ok(if app.config.token_location.cookies {
        reply.with_cookies(credentials::clear_token_cookies(&app.config.cookies))
    } else {
        reply
    })
}

pub async fn logout_all(app: &App, req: Request) -> Result<Reply, ApiError> {
    let access = claims(app, &req, &Requirements::access()).await?;
    Reply::ok(logout_all::logout_all(app, logout_all::Input { access }).await?)
}

/// `GET /sessions` and `DELETE /sessions/{sid}`.
pub async fn sessions(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    let access = claims(app, &req, &Requirements::access()).await?;
    if *route == api::LIST_SESSIONS {
        return Reply::ok(sessions::list(app, access).await?);
    }
    let sid =
        path_param(&req, &api::END_SESSION, "sid").ok_or(ApiError::NotFound("No such session"))?;
    sessions::end(app, sessions::EndInput { access, sid }).await?;
    Ok(Reply::no_content())
}

pub async fn change_password(app: &App, req: Request) -> Result<Reply, ApiError> {
    let access = claims(app, &req, &Requirements::access().fresh()).await?;
    let fields = Fields::from_request(&req)?;
    let input = password::Input {
        access,
        old_password: required(&fields, "old_password")?,
        new_password: required(&fields, "new_password")?,
    };
    Reply::ok(password::change_password(app, input).await?)
}

/// `GET /account` and `DELETE /account`.
pub async fn account(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    if *route == api::GET_ACCOUNT {
        let access = claims(app, &req, &Requirements::access()).await?;
        return Reply::ok(account::get(app, access).await?);
    }
    let access = claims(app, &req, &Requirements::access().fresh()).await?;
    let fields = Fields::from_request(&req)?;
    let input = account::DeleteInput {
        access,
        password: required(&fields, "password")?,
    };
    account::delete(app, input).await?;
    Ok(Reply::no_content())
}

/// `POST /email/verification`, `POST /email/verify` and `PUT /email`.
pub async fn email(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    if *route == api::EMAIL_VERIFY {
        let fields = Fields::from_request(&req)?;
        let input = email::VerifyInput {
            token: required(&fields, "token")?,
        };
        return Reply::ok(email::verify(app, input).await?);
    }
    if *route == api::CHANGE_EMAIL {
        let access = claims(app, &req, &Requirements::access().fresh()).await?;
        let fields = Fields::from_request(&req)?;
        let input = email::ChangeInput {
            access,
            email: required(&fields, "email")?,
            password: required(&fields, "password")?,
            client: client_info(&req)?,
        };
        return Reply::with_status(StatusCode::ACCEPTED, email::change(app, input).await?);
    }
    let access = claims(app, &req, &Requirements::access()).await?;
    let input = email::RequestInput {
        access,
        client: client_info(&req)?,
    };
    match email::request_verification(app, input).await? {
        email::Verification::Sent(message) => Reply::with_status(StatusCode::ACCEPTED, message),
        email::Verification::AlreadyVerified(verified) => Reply::ok(verified),
    }
}

/// `POST /password/forgot` and `POST /password/reset`.
pub async fn password_reset(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    if *route == api::PASSWORD_FORGOT {
        let input = password_reset::ForgotInput {
            email: required(&fields, "email")?,
            client: client_info(&req)?,
        };
        return Reply::with_status(
            StatusCode::ACCEPTED,
            password_reset::forgot(app, input).await?,
        );
    }
    let input = password_reset::ResetInput {
        token: required(&fields, "token")?,
        new_password: required(&fields, "new_password")?,
    };
    Reply::ok(password_reset::reset(app, input).await?)
}

/// The role `/admin/users` asks of a token (API.md "Administration").
pub const ADMIN_ROLE: &str = "admin";

/// `/admin/users` and `/admin/users/{username}[/disable|/enable|/logout-all]`: an access
/// token with the `admin` role (`403 insufficient_scope` without it).
pub async fn admin(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    let access = claims(app, &req, &Requirements::access().any_role([ADMIN_ROLE])).await?;
    if *route == api::ADMIN_LIST_USERS {
        let input = admin::ListInput {
            after: query_param(&req, "after")?,
        };
        return Reply::ok(admin::list(app, input).await?);
    }
    let username =
        path_param_decoded(&req, route, "username").ok_or(ApiError::NotFound("No such user"))?;
    let input = admin::Input {
        actor: access.sub,
        username,
    };
    match *route {
        api::ADMIN_SHOW_USER => Reply::ok(admin::show(app, &input.username).await?),
        api::ADMIN_DISABLE_USER => Reply::ok(admin::disable(app, input).await?),
        api::ADMIN_ENABLE_USER => Reply::ok(admin::enable(app, input).await?),
        api::ADMIN_LOGOUT_USER => Reply::ok(admin::logout_all(app, input).await?),
        api::ADMIN_DELETE_USER => {
            admin::delete(app, input).await?;
            Ok(Reply::no_content())
        }
        _ => Err(ApiError::NotFound("No such path")),
    }
}

/// `POST /login/mfa`: the second step of a login.
pub async fn login_mfa(app: &App, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    let input = login_mfa::Input {
        mfa_token: required(&fields, "mfa_token")?,
        code: required(&fields, "code")?,
        client: client_info(&req)?,
    };
    token_reply(app, login_mfa::login_mfa(app, input).await?)
}

/// `POST /mfa/totp`, `POST /mfa/totp/confirm`, `POST /mfa/recovery-codes`, `DELETE
/// /mfa/totp`: fresh access tokens only.
pub async fn mfa(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    let access = claims(app, &req, &Requirements::access().fresh()).await?;
    if *route == api::MFA_TOTP {
        return Reply::ok(mfa::enrol(app, access).await?);
    }
    let fields = Fields::from_request(&req)?;
    let input = mfa::CodeInput {
        access,
        code: required(&fields, "code")?,
    };
    if *route == api::MFA_TOTP_CONFIRM {
        Reply::ok(mfa::confirm(app, input).await?)
    } else if *route == api::MFA_RECOVERY_CODES {
        Reply::ok(mfa::regenerate(app, input).await?)
    } else {
        Reply::ok(mfa::remove(app, input).await?)
    }
}

/// `POST /passkeys/registration/options`, `POST /passkeys/registration`, `DELETE
/// /passkeys/{id}` (fresh access tokens) and `GET /passkeys`.
pub async fn passkeys(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    if *route == api::LIST_PASSKEYS {
        let access = claims(app, &req, &Requirements::access()).await?;
        return Reply::ok(passkeys::list(app, access).await?);
    }
    let access = claims(app, &req, &Requirements::access().fresh()).await?;
    if *route == api::PASSKEY_REGISTRATION_OPTIONS {
        return Reply::ok(passkeys::registration_options(app, access).await?);
    }
    if *route == api::PASSKEY_REGISTRATION {
        let fields = Fields::from_request(&req)?;
        let input = passkeys::RegisterInput {
            access,
            credential: fields.required_object("credential")?.clone(),
            name: fields.optional_str("name")?.map(str::to_owned),
        };
        return Reply::with_status(StatusCode::CREATED, passkeys::register(app, input).await?);
    }
    let id = path_param(&req, &api::DELETE_PASSKEY, "id")
        .ok_or(ApiError::NotFound("No such passkey"))?;
    passkeys::delete(app, passkeys::DeleteInput { access, id }).await?;
    Ok(Reply::no_content())
}

/// `POST /login/passkey/options` (an optional `username`, never looked at) and `POST
/// /login/passkey`.
pub async fn login_passkey(app: &App, route: &Route, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    if *route == api::LOGIN_PASSKEY_OPTIONS {
        // Checked for its type like any field, then ignored: the answer is the same for
        // every name.
        fields.optional_str("username")?;
        return Reply::ok(login_passkey::options(app).await?);
    }
    let input = login_passkey::Input {
        challenge_id: required(&fields, "challenge_id")?,
        credential: fields.required_object("credential")?.clone(),
        mfa_token: fields.optional_str("mfa_token")?.map(str::to_owned),
        client: client_info(&req)?,
    };
    token_reply(app, login_passkey::login(app, input).await?)
}
