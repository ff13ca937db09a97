//! Properties of token verification (issue 9: proptest for the parsers).
//!
//! `TokenVerifier::verify` on arbitrary text and on mutated valid tokens, under HS256 and
//! EdDSA (the fixture key): it never panics, it refuses with `invalid_token` or
//! `token_expired` only, and it accepts a token only when it is exactly the one issued.
//! Case counts are modest so that `cargo test` stays fast; the fuzz targets (`fuzz/`) run
//! the same checks for minutes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use wristband_core::ids::now_secs;
use wristband_core::tokens::Subject;
use wristband_core::{AuthError, Config, TokenIssuer, TokenType, TokenVerifier};

const ED25519_PEM: &str = include_str!("../../keys/fixtures/ed25519.pem");

fn config(alg: &str) -> Config {
    Config::from_lookup(|name| match (alg, name) {
        ("HS256", "JWT_SECRET") => Some("test-secret-test-secret-test-secret-0123".to_owned()),
        ("EdDSA", "JWT_ALGORITHM") => Some("EdDSA".to_owned()),
        ("EdDSA", "JWT_PRIVATE_KEY") => Some(ED25519_PEM.to_owned()),
        (_, "JWT_KID") => Some("prop-kid".to_owned()),
        _ => None,
    })
    .unwrap()
}

struct Keys {
    verifier: TokenVerifier,
    access: String,
    refresh: String,
}

fn keys(alg: &str) -> Keys {
    let config = config(alg);
    let issuer = TokenIssuer::new(&config).unwrap();
    let roles = vec!["user".to_owned()];
    let pair = issuer
        .issue_token_pair(
            Subject {
                username: "alice",
                roles: &roles,
                sid: "sid-1",
                amr: &[],
            },
            true,
            now_secs(),
        )
        .unwrap();
    Keys {
        verifier: TokenVerifier::new(&config).unwrap(),
        access: pair.access_token,
        refresh: pair.refresh_token,
    }
}

/// Built once per test binary: EdDSA key parsing and signing are slow in debug builds.
fn hs256() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| keys("HS256"))
}

fn eddsa() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| keys("EdDSA"))
}

/// A refusal is always one of the two token answers, never a store error or a panic.
fn is_token_refusal(err: &AuthError) -> bool {
    matches!(err, AuthError::Invalid(_) | AuthError::Expired)
}

/// One edit of a token's text.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
    /// Swap two of the three segments.
    SwapSegments(Index, Index),
    /// Flip the case of one ASCII letter.
    FlipCase(Index),
}

/// Characters a mutated token is most interesting with: base64url, the separator,
/// standard base64's `+/=`, whitespace and a non-ASCII character.
fn token_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .collect::<Vec<_>>()
        ),
        1 => proptest::sample::select(vec!['.', '+', '/', '=', ' ', '\n', '\0', 'é']),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), token_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => (any::<Index>(), token_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapSegments(a, b)),
        2 => any::<Index>().prop_map(Edit::FlipCase),
    ]
}

fn apply(token: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    for edit in edits {
        match *edit {
            Edit::Replace(i, c) if !chars.is_empty() => {
                let i = i.index(chars.len());
                chars[i] = c;
            }
            Edit::Insert(i, c) => {
                let i = i.index(chars.len() + 1);
                chars.insert(i, c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i.index(chars.len()));
            }
            Edit::Truncate(i) => chars.truncate(i.index(chars.len() + 1)),
            Edit::SwapSegments(a, b) => {
                let text: String = chars.iter().collect();
                let mut segments: Vec<&str> = text.split('.').collect();
                let (a, b) = (a.index(segments.len()), b.index(segments.len()));
                segments.swap(a, b);
                chars = segments.join(".").chars().collect();
            }
            Edit::FlipCase(i) if !chars.is_empty() => {
                let i = i.index(chars.len());
                let c = chars[i];
                chars[i] = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Mutations of a valid token: accepted only when the edits cancel out.
fn check_mutated(keys: &Keys, edits: &[Edit]) -> Result<(), TestCaseError> {
    for (token, expected) in [
        (&keys.access, TokenType::Access),
        (&keys.refresh, TokenType::Refresh),
    ] {
        let mutated = apply(token, edits);
        let result = keys.verifier.verify(&mutated, expected);
        if mutated == *token {
            prop_assert!(result.is_ok(), "the unmodified token: {result:?}");
        } else {
            let err = result.expect_err("a modified token was accepted");
            prop_assert!(is_token_refusal(&err), "{err:?} for {mutated:?}");
        }
    }
    Ok(())
}

/// Three base64url segments of arbitrary bytes, or of JSON that looks like a header and
/// claims: reaches the header, kid and claim checks rather than failing at the first dot.
fn token_like() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (
            proptest::sample::select(vec!["HS256", "EdDSA", "ES256", "none", "HS512", "RS256"]),
            proptest::sample::select(vec!["prop-kid", "other", ""]),
        )
            .prop_map(
                |(alg, kid)| format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#).into_bytes()
            ),
    ];
    let claims = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..128),
        "[ -~]{0,80}".prop_map(|inner| format!(
            r#"{{"iss":"wristband-local","aud":"wristband-clients","sub":"x","type":"access","exp":99999999999,"nbf":0,"iat":0,"jti":"j","sid":"s","note":"{inner}"}}"#
        ).into_bytes()),
    ];
    let signature = proptest::collection::vec(any::<u8>(), 0..80);
    (header, claims, signature).prop_map(|(h, c, s)| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(h),
            URL_SAFE_NO_PAD.encode(c),
            URL_SAFE_NO_PAD.encode(s)
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_is_refused_never_a_panic(text in any::<String>()) {
        for keys in [hs256(), eddsa()] {
            for expected in [TokenType::Access, TokenType::Refresh] {
                let err = keys.verifier.verify(&text, expected).expect_err("garbage accepted");
                prop_assert!(is_token_refusal(&err), "{err:?}");
            }
        }
    }

    #[test]
    fn token_shaped_text_is_refused(token in token_like()) {
        for keys in [hs256(), eddsa()] {
            let err = keys.verifier.verify(&token, TokenType::Access).expect_err("forgery accepted");
            prop_assert!(is_token_refusal(&err), "{err:?}");
        }
    }

    #[test]
    fn mutated_hs256_tokens_are_refused(edits in proptest::collection::vec(edit(), 1..4)) {
        check_mutated(hs256(), &edits)?;
    }
}

proptest! {
    // Ed25519 verification is slow in debug builds: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_eddsa_tokens_are_refused(edits in proptest::collection::vec(edit(), 1..4)) {
        check_mutated(eddsa(), &edits)?;
    }
}

/// The last character of a base64url segment carries unused bits (2 of HS256's 32-byte
/// MAC, 4 of Ed25519's 64-byte signature): a lenient decoder would accept several
/// spellings of one signature. Every other character there is refused.
#[test]
fn only_one_spelling_of_each_segment_end_is_accepted() {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for keys in [hs256(), eddsa()] {
        let token = &keys.access;
        let mut accepted = 0;
        let ends: Vec<usize> = token
            .match_indices('.')
            .map(|(i, _)| i - 1)
            .chain([token.len() - 1])
            .collect();
        for end in ends {
            for c in alphabet.chars() {
                let mut spelled = token.clone();
                spelled.replace_range(end..end + 1, c.encode_utf8(&mut [0; 4]));
                match keys.verifier.verify(&spelled, TokenType::Access) {
                    Ok(_) => {
                        assert_eq!(&spelled, token, "another spelling was accepted");
                        accepted += 1;
                    }
                    Err(err) => assert!(is_token_refusal(&err), "{err:?}"),
                }
            }
        }
        assert_eq!(accepted, 3, "the token itself, once per segment end");
    }
}
