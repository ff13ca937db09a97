//! `GET /sessions` and `DELETE /sessions/{sid}`: the caller's own sessions only.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::ids::{is_plausible_id, now_secs};
use wristband_core::ApiError;
use wristband_core::Claims;

use crate::app::App;

#[derive(Debug, Serialize)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub sid: String,
    pub created_at: u64,
    pub last_refreshed_at: u64,
    pub expires_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    /// The session of the token that asked.
    pub current: bool,
}

/// The caller's live sessions, most recently used first, at most the cap (logins racing
/// each other may briefly leave more; the next login ends them).
pub async fn list(app: &App, access: Claims) -> Result<SessionList, ApiError> {
    let mut sessions = app.sessions()?.list(&access.sub, now_secs()).await?;
    sessions.sort_by(|a, b| b.recency().cmp(&a.recency()));
    sessions.truncate(app.config.max_sessions_per_user.max(1));
    Ok(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.sid == access.sid,
                sid: s.sid,
                created_at: s.created_at,
                last_refreshed_at: s.last_refreshed_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                source_ip: s.source_ip,
            })
            .collect(),
    })
}

pub struct EndInput {
    pub access: Claims,
    pub sid: String,
}

/// 404 for a sid that is not the caller's, and for one longer than any we issue (before
/// the store sees it).
pub async fn end(app: &App, input: EndInput) -> Result<(), ApiError> {
    let not_found = || ApiError::NotFound("No such session");
    if !is_plausible_id(&input.sid) {
        return Err(not_found());
    }
    let Some(session) = app
        .sessions()?
        .get(&input.access.sub, &input.sid, now_secs())
        .await?
    else {
        return Err(not_found());
    };
    app.ender()?.end_sessions(&[session]).await?;
    audit::record(Event::SessionEnded)
        .username(&input.access.sub)
        .sid(&input.sid)
        .detail("by", "owner")
        .emit();
    Ok(())
}
