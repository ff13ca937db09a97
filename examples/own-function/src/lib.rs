//! `GET /orders` for the role `ops`, `POST /orders` for a fresh token: a function of
//! your own, protected by wristband without editing it. The routes are yours; `serve`
//! answers exactly them (404 elsewhere, 405 with `Allow`, CORS, the contract's errors).

use std::sync::Arc;

use serde_json::json;
use wristband_core::{Authenticator, Requirements};
use wristband_http::{ApiError, Guard, Reply, Request, Route, StatusCode};

pub const LIST_ORDERS: Route = Route::get("/orders");
pub const PLACE_ORDER: Route = Route::post("/orders");
pub const ROUTES: &[Route] = &[LIST_ORDERS, PLACE_ORDER];

/// What each route asks of its caller, checked by the one Authenticator (signature,
/// claims, revocation).
pub struct Guards {
    pub read: Guard,
    pub write: Guard,
}

impl Guards {
    pub fn new(authenticator: Arc<Authenticator>) -> Self {
        Self {
            read: Guard::new(
                authenticator.clone(),
                Requirements::access().any_role(["ops"]),
            ),
            write: Guard::new(authenticator, Requirements::access().fresh()),
        }
    }
}

pub async fn handle(guards: &Guards, route: &Route, req: Request) -> Result<Reply, ApiError> {
    if *route == LIST_ORDERS {
        let claims = guards.read.require(&req).await?;
        Reply::ok(json!({ "orders": [], "seen_by": claims.sub }))
    } else {
        let claims = guards.write.require(&req).await?;
        Reply::with_status(StatusCode::CREATED, json!({ "placed_by": claims.sub }))
    }
}
