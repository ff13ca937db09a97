//! `VerificationKeys`: the key ring tokens are verified against, and JWKS parsing.
//!
//! The rule this module exists for: **the key decides the algorithm, the token never
//! does.** A token's `kid` selects one key; that key carries the one algorithm it may be
//! used with; the header's `alg` must equal it or the token is refused before any
//! cryptography runs. Key material offered by the token itself (`jwk`, `jku`, `x5u`,
//! `x5c`) is never looked at; a token carrying any of it is refused outright, since our
//! issuer never sets them and their presence signals an attack or a misconfigured client.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, TokenData, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{KeyError, VerifyError};
use crate::keys::{PublicJwk, PublicKey, SigningKey};

/// Tokens longer than this are refused before their header is even decoded: wristband's
/// tokens are a few hundred bytes, and this bounds the base64/JSON work an attacker can
/// cause per request.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

struct Entry {
    alg: Algorithm,
    key: DecodingKey,
    /// For asymmetric keys: what the JWKS publishes. HMAC entries have none.
    public: Option<PublicKey>,
}

/// Verification keys by `kid`, each pinned to one algorithm.
#[derive(Default)]
pub struct VerificationKeys {
    keys: HashMap<String, Entry>,
}

impl std::fmt::Debug for VerificationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Kids and algorithms only: HMAC entries hold secrets.
        let mut map = f.debug_map();
        for (kid, entry) in &self.keys {
            map.entry(kid, &entry.alg);
        }
        map.finish()
    }
}

impl VerificationKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an asymmetric public key; its algorithm follows from its type.
    pub fn insert_public(&mut self, kid: &str, key: &PublicKey) -> Result<(), KeyError> {
        self.insert(kid, key.algorithm(), key.decoding_key(), Some(key.clone()))
    }

    /// Adds an HS256 secret (at least 32 bytes).
    pub fn insert_hmac(&mut self, kid: &str, secret: &[u8]) -> Result<(), KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::ShortSecret);
        }
        self.insert(
            kid,
            Algorithm::HS256,
            DecodingKey::from_secret(secret),
            None,
        )
    }

    /// Adds what verifies `key`'s tokens: its public half, or for HMAC its secret.
    pub fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), KeyError> {
        match (key.public_key(), key.hmac_secret()) {
            (Some(public), _) => self.insert_public(key.kid(), public),
            (None, Some(secret)) => self.insert_hmac(key.kid(), secret),
            (None, None) => Err(KeyError::UnsupportedKeyType),
        }
    }

    fn insert(
        &mut self,
        kid: &str,
        alg: Algorithm,
        key: DecodingKey,
        public: Option<PublicKey>,
    ) -> Result<(), KeyError> {
        // Replacing a key silently would make "which key verified this?" ambiguous.
        if self.keys.contains_key(kid) {
            return Err(KeyError::DuplicateKid(kid.to_owned()));
        }
        self.keys.insert(kid.to_owned(), Entry { alg, key, public });
        Ok(())
    }

    /// Adds every key of `other` (e.g. the earlier keys of a rotation beside the current
    /// one); a kid present in both is an error.
    pub fn extend(&mut self, other: VerificationKeys) -> Result<(), KeyError> {
        for (kid, entry) in other.keys {
            self.insert(&kid, entry.alg, entry.key, entry.public)?;
        }
        Ok(())
    }

    /// The public JWKs of the asymmetric keys, sorted by kid (HMAC secrets are never
    /// published).
    pub fn public_jwks(&self) -> Vec<PublicJwk> {
        let mut jwks: Vec<PublicJwk> = self
            .keys
            .iter()
            .filter_map(|(kid, e)| e.public.as_ref().map(|p| p.to_jwk(kid)))
            .collect();
        jwks.sort_by(|a, b| a.kid.cmp(&b.kid));
        jwks
    }

    /// The algorithms of the keys, without repeats, sorted by name.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = self.keys.values().map(|e| e.alg).collect();
        algs.sort_by_key(|a| format!("{a:?}"));
        algs.dedup();
        algs
    }

    /// The algorithm pinned to `kid`, if that kid is known.
    pub fn algorithm_of(&self, kid: &str) -> Option<Algorithm> {
        self.keys.get(kid).map(|e| e.alg)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `token` and validates its claims.
    ///
    /// `validation` supplies the claim rules (exp, aud, iss, leeway, ...); its
    /// `algorithms` field is ignored and replaced by the selected key's algorithm.
    pub fn decode<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<TokenData<T>, VerifyError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::TooLong);
        }
        let header = jsonwebtoken::decode_header(token).map_err(VerifyError::MalformedHeader)?;

        let forbidden = [
            ("jwk", header.jwk.is_some()),
            ("jku", header.jku.is_some()),
            ("x5u", header.x5u.is_some()),
            ("x5c", header.x5c.is_some()),
            // RFC 7515 §4.1.11: a recipient must refuse `crit` extensions it does not
            // understand, and we understand none.
            ("crit", header.crit.is_some()),
        ];
        if let Some((name, _)) = forbidden.iter().find(|(_, present)| *present) {
            return Err(VerifyError::ForbiddenHeader(name));
        }

        let kid = header.kid.as_deref().ok_or(VerifyError::MissingKid)?;
        let entry = self
            .keys
            .get(kid)
            .ok_or_else(|| VerifyError::UnknownKid(kid.to_owned()))?;
        if header.alg != entry.alg {
            return Err(VerifyError::AlgorithmMismatch {
                header: header.alg,
                key: entry.alg,
            });
        }

        // jsonwebtoken re-checks that the header alg is in `algorithms` and that the
        // provider's algorithm family matches the key's: a second, independent lock.
        let mut validation = validation.clone();
        validation.algorithms = vec![entry.alg];
        Ok(jsonwebtoken::decode(token, &entry.key, &validation)?)
    }

    /// Parses a JWKS document (`{"keys":[...]}`) into verification keys.
    ///
    /// Policy (RFC 7517 §5 says to ignore keys one does not understand; everything that
    /// *is* understood must be consistent, or the whole document is refused, because a
    /// half-loaded key set fails confusingly at request time):
    ///
    /// * skipped: `kty` other than `OKP`/`EC`/`oct`; curves other than Ed25519/P-256;
    ///   `use` other than `"sig"`; `key_ops` without `"verify"`.
    /// * refused (error): any entry with private parts (`d`, or any `oct` key: a secret in
    ///   a published document is a leak, and verifying against a leaked key proves
    ///   nothing); a supported key without `kid`; an `alg` that contradicts the curve;
    ///   bad base64, wrong lengths, points not on the curve, weak Ed25519 keys; duplicate
    ///   kids; a document with no usable key at all.
    /// * `alg` may be absent: the curve implies it (Ed25519 → EdDSA, P-256 → ES256).
    /// * Other members (`x5c`, `x5t`, ...) are ignored.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let doc: RawJwks = serde_json::from_str(json)?;
        let mut ring = VerificationKeys::new();
        for (index, jwk) in doc.keys.iter().enumerate() {
            let entry_err = |reason| KeyError::JwksEntry { index, reason };
            if jwk.d.is_some() || jwk.kty == "oct" {
                return Err(entry_err("private or symmetric key material in a JWKS"));
            }
            if !jwk.is_for_signatures() {
                continue;
            }
            let key = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
                ("OKP", Some("Ed25519")) => {
                    if jwk.y.is_some() {
                        return Err(entry_err("OKP key with a y coordinate"));
                    }
                    PublicKey::ed25519(&b64(&jwk.x).ok_or_else(|| entry_err("bad x"))?)
                        .map_err(|_| entry_err("invalid Ed25519 public key"))?
                }
                ("EC", Some("P-256")) => {
                    let x = b64(&jwk.x).ok_or_else(|| entry_err("bad x"))?;
                    let y = b64(&jwk.y).ok_or_else(|| entry_err("bad y"))?;
                    PublicKey::p256(&x, &y).map_err(|_| entry_err("invalid P-256 public key"))?
                }
                // Unknown kty, or a curve we do not do (X25519, Ed448, P-384, ...).
                _ => continue,
            };
            if let Some(alg) = &jwk.alg {
                if alg != crate::keys::alg_name(key.algorithm()) {
                    return Err(entry_err("alg does not match the key's curve"));
                }
            }
            let kid = jwk.kid.as_deref().ok_or_else(|| entry_err("missing kid"))?;
            ring.insert_public(kid, &key)?;
        }
        if ring.is_empty() {
            return Err(KeyError::JwksEntry {
                index: doc.keys.len(),
                reason: "no usable Ed25519 or P-256 signature key in the JWKS",
            });
        }
        Ok(ring)
    }
}

/// The members of a JWK this crate reads; everything else is ignored by serde.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<serde_json::Value>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl RawJwk {
    fn is_for_signatures(&self) -> bool {
        self.key_use.as_deref().is_none_or(|u| u == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|op| op == "verify"))
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<RawJwk>,
}

/// base64url without padding, as RFC 7515 §2 requires; padded input is refused.
fn b64(value: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value.as_deref()?).ok()
}
