//! Logs for CloudWatch: one line per event, JSON when Lambda's advanced logging controls
//! ask for it (`AWS_LAMBDA_LOG_FORMAT=JSON`), inside the runtime's per-invocation span
//! (which carries the request id). Level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`
//! (a plain level: error, warn, info, debug, trace), else info.
//!
//! Our own small initialiser instead of `lambda_http`'s `tracing` feature: that one brings
//! tracing-subscriber's env-filter and with it the regex engine (~300 KB per binary).

use tracing::level_filters::LevelFilter;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    // Err only if a subscriber is set already (tests): keep that one.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
