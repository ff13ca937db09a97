//! Random ids and the clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::BoxError;

/// Bytes of randomness in every id wristband issues (token ids, session ids).
const ID_BYTES: usize = 16;

/// Length of every id wristband issues: 16 bytes in unpadded base64url. A longer id in a
/// request was never issued by us, so it is refused before any store sees it (DynamoDB
/// refuses keys over 1024 bytes with an error, not a miss).
pub const ID_CHARS: usize = (ID_BYTES * 4).div_ceil(3);

/// 128 random bits, base64url: token ids and session ids.
pub fn random_id() -> Result<String, BoxError> {
    let mut bytes = [0u8; ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| BoxError::from(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `id` could be one of ours by its length (cheap bound before a store lookup).
pub fn is_plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= ID_CHARS
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the epoch (login throttling waits).
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_bounded_length() {
        let id = random_id().unwrap();
        assert_eq!(id.len(), ID_CHARS);
        assert_eq!(ID_CHARS, 22);
        assert!(is_plausible_id(&id));
        assert!(!is_plausible_id(&"x".repeat(ID_CHARS + 1)));
        assert!(!is_plausible_id(""));
    }
}
