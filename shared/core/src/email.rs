//! Email addresses as accounts hold them: checked once, at the edge, and lower-cased.

/// The longest address accepted (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Why an address was refused; `Display` is the sentence a client reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("email must not be empty")]
    Empty,
    #[error("email must be at most 254 characters")]
    TooLong,
    #[error("email must have exactly one @ with text on both sides")]
    Shape,
    #[error("email must not contain spaces or control characters")]
    Forbidden,
}

/// API.md's rule: at most 254 characters, one `@` with a non-empty part on each side, no
/// spaces or control characters. The answer is lower-cased: addresses compare
/// case-insensitively, and the stored form is the compared form.
pub fn normalise_email(raw: &str) -> Result<String, AddressError> {
    // Checked as stored: lower-casing may lengthen a few characters.
    let address = raw.to_lowercase();
    let raw = address.as_str();
    if raw.is_empty() {
        return Err(AddressError::Empty);
    }
    if raw.chars().count() > MAX_EMAIL_CHARS {
        return Err(AddressError::TooLong);
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AddressError::Forbidden);
    }
    let mut parts = raw.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) if !local.is_empty() && !domain.is_empty() => {}
        _ => return Err(AddressError::Shape),
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rule_of_api_md() {
        assert_eq!(
            normalise_email("Ann@Example.COM").unwrap(),
            "ann@example.com"
        );
        assert_eq!(normalise_email(""), Err(AddressError::Empty));
        assert_eq!(normalise_email("a@b@c"), Err(AddressError::Shape));
        assert_eq!(normalise_email("@b"), Err(AddressError::Shape));
        assert_eq!(normalise_email("a@"), Err(AddressError::Shape));
        assert_eq!(normalise_email("ab"), Err(AddressError::Shape));
        assert_eq!(normalise_email("a b@c"), Err(AddressError::Forbidden));
        assert_eq!(normalise_email("a\u{0}@c"), Err(AddressError::Forbidden));
        assert_eq!(normalise_email("a\u{a0}@c"), Err(AddressError::Forbidden));
        let longest = format!("{}@example.com", "a".repeat(MAX_EMAIL_CHARS - 12));
        assert!(normalise_email(&longest).is_ok());
        assert_eq!(
            normalise_email(&format!("a{longest}")),
            Err(AddressError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn accepted_addresses_are_lower_case_fixed_points(raw in "\\PC{0,300}") {
            if let Ok(address) = normalise_email(&raw) {
                prop_assert_eq!(normalise_email(&address), Ok(address.clone()));
                prop_assert_eq!(address.matches('@').count(), 1);
                prop_assert!(!address.chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert!(address.chars().count() <= MAX_EMAIL_CHARS);
                prop_assert_eq!(address.to_lowercase(), address.clone());
            }
        }

        #[test]
        fn case_never_makes_two_addresses(local in "[a-zA-Z0-9.+_-]{1,40}", domain in "[a-zA-Z0-9.-]{1,40}") {
            let upper = format!("{}@{}", local.to_uppercase(), domain.to_uppercase());
            let lower = format!("{}@{}", local.to_lowercase(), domain.to_lowercase());
            prop_assert_eq!(normalise_email(&upper).unwrap(), normalise_email(&lower).unwrap());
        }
    }
}
