//! The HTTP side of the services: each request parsed once into the service's typed input
//! (credentials checked by the one Authenticator), the output turned into a reply.

use lambda_http::http::StatusCode;
use wristband_core::{Claims, Requirements};
use wristband_http::credentials::{self, IssuedCookies, Source};
use wristband_http::request::{client_info, Fields};
use wristband_http::routes::{self, path_param};
use wristband_http::{ApiError, Endpoint, Reply, Request};

use crate::app::App;
use crate::services::{
    login, logout, logout_all, password, refresh, register, sessions, TokenResponse,
};

/// The endpoints this crate serves (protected and me are guard-only functions of their own).
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::Register,
    Endpoint::Login,
    Endpoint::Refresh,
    Endpoint::Logout,
    Endpoint::LogoutAll,
    Endpoint::ListSessions,
    Endpoint::EndSession,
    Endpoint::Password,
];

impl App {
    /// Dispatches to the endpoint's adapter (tests and multi-endpoint functions).
    pub async fn call(&self, endpoint: Endpoint, req: Request) -> Result<Reply, ApiError> {
        match endpoint {
            Endpoint::Register => register(self, req).await,
            Endpoint::Login => login(self, req).await,
            Endpoint::Refresh => refresh(self, req).await,
            Endpoint::Logout => logout(self, req).await,
            Endpoint::LogoutAll => logout_all(self, req).await,
            Endpoint::ListSessions | Endpoint::EndSession => sessions(self, endpoint, req).await,
            Endpoint::Password => change_password(self, req).await,
            Endpoint::Protected | Endpoint::Me | Endpoint::Jwks | Endpoint::OpenIdConfiguration => {
                Err(ApiError::NotFound("No such path"))
            }
        }
    }

    /// The caller's claims, from where `TOKEN_LOCATION` allows, CSRF rule included.
    async fn claims(&self, req: &Request, requirements: &Requirements) -> Result<Claims, ApiError> {
        Ok(self.credentials(req, requirements).await?.0)
    }

    async fn credentials(
        &self,
        req: &Request,
        requirements: &Requirements,
    ) -> Result<(Claims, Source), ApiError> {
        credentials::require(self.authenticator()?, req, requirements).await
    }

    /// `/login` and `/refresh`: the JSON body, and in cookie mode the four cookies.
    fn token_reply(&self, tokens: TokenResponse) -> Result<Reply, ApiError> {
        let cookies = match (&tokens.csrf, self.config.token_location.cookies) {
            (Some(csrf), true) => credentials::set_token_cookies(
                &self.config.cookies,
                &IssuedCookies {
                    access_token: &tokens.access_token,
                    access_csrf: &csrf.access,
                    refresh_token: &tokens.refresh_token,
                    refresh_csrf: &csrf.refresh,
                    max_age: self.issuer()?.refresh_ttl(),
                },
            ),
            _ => Vec::new(),
        };
        Ok(Reply::ok(&tokens)?.with_cookies(cookies))
    }
}

fn required(fields: &Fields, name: &str) -> Result<String, ApiError> {
    fields.required_str(name).map(str::to_owned)
}

pub async fn register(app: &App, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    let input = register::Input {
        username: required(&fields, "username")?,
        password: required(&fields, "password")?,
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
    app.token_reply(login::login(app, input).await?)
}

pub async fn refresh(app: &App, req: Request) -> Result<Reply, ApiError> {
    let refresh = app.claims(&req, &Requirements::refresh()).await?;
    app.token_reply(refresh::refresh(app, refresh::Input { refresh }).await?)
}

pub async fn logout(app: &App, req: Request) -> Result<Reply, ApiError> {
    let (access, source) = app.credentials(&req, &Requirements::access()).await?;
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
    let access = app.claims(&req, &Requirements::access()).await?;
    Reply::ok(logout_all::logout_all(app, logout_all::Input { access }).await?)
}

pub async fn sessions(app: &App, endpoint: Endpoint, req: Request) -> Result<Reply, ApiError> {
    let access = app.claims(&req, &Requirements::access()).await?;
    if endpoint == Endpoint::ListSessions {
        return Reply::ok(sessions::list(app, access).await?);
    }
    let sid = path_param(&req, routes::of(Endpoint::EndSession), "sid")
        .ok_or(ApiError::NotFound("No such session"))?;
    sessions::end(app, sessions::EndInput { access, sid }).await?;
    Ok(Reply::no_content())
}

pub async fn change_password(app: &App, req: Request) -> Result<Reply, ApiError> {
    let access = app.claims(&req, &Requirements::access().fresh()).await?;
    let fields = Fields::from_request(&req)?;
    let input = password::Input {
        access,
        old_password: required(&fields, "old_password")?,
        new_password: required(&fields, "new_password")?,
    };
    Reply::ok(password::change_password(app, input).await?)
}
