//! `GET /me`: the worked example of protecting a function of your own with wristband.
//! The handler asks the guard for the caller's claims first; everything after it runs
//! only for a valid, unrevoked access token.

use serde_json::json;
use wristband_http::{ApiError, Guard, Reply, Request, Requirements};

/// What this route asks of its caller: any access token. Also try
/// `.fresh()`, `.optional()` or `.any_role(["admin"])`.
pub fn requirements() -> Requirements {
    Requirements::access()
}

pub async fn handle(guard: &Guard, req: Request) -> Result<Reply, ApiError> {
    let claims = guard.require(&req).await?;
    Reply::ok(json!({
        "sub": claims.sub,
        "sid": claims.sid,
        "jti": claims.jti,
        "roles": claims.roles,
        "amr": claims.amr,
        "fresh": claims.is_fresh(),
        "exp": claims.exp,
    }))
}
