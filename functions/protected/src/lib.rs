//! `GET /protected`: wristband's demo route, a guard and a greeting.

use serde_json::json;
use wristband_http::{ApiError, Guard, Reply, Request, Requirements};

/// Any valid access token.
pub fn requirements() -> Requirements {
    Requirements::access()
}

pub async fn handle(guard: &Guard, req: Request) -> Result<Reply, ApiError> {
    let claims = guard.require(&req).await?;
    Reply::ok(json!({
        "message": format!("Hello, {}! This is a protected route.", claims.sub),
        "claims": claims,
    }))
}
