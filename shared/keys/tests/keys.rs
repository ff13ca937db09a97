use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wristband_keys::*;

const ED_PEM: &str = include_str!("../fixtures/ed25519.pem");
const ED_OTHER_PEM: &str = include_str!("../fixtures/ed25519_other.pem");
const ED_PUB_PEM: &str = include_str!("../fixtures/ed25519_pub.pem");
const P256_PEM: &str = include_str!("../fixtures/p256.pem");
const P256_OTHER_PEM: &str = include_str!("../fixtures/p256_other.pem");
const P256_PUB_PEM: &str = include_str!("../fixtures/p256_pub.pem");
const P256_SEC1_PEM: &str = include_str!("../fixtures/p256_sec1.pem");
const P384_PEM: &str = include_str!("../fixtures/p384.pem");
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Claims {
    sub: String,
    exp: u64,
}

fn claims() -> Claims {
    Claims {
        sub: "alice".into(),
        exp: 4_000_000_000,
    }
}

fn ed() -> SigningKey {
    SigningKey::from_pkcs8_pem("ed-1", ED_PEM).unwrap()
}
fn es() -> SigningKey {
    SigningKey::from_pkcs8_pem("es-1", P256_PEM).unwrap()
}
fn hs() -> SigningKey {
    SigningKey::hmac("hs-1", SECRET).unwrap()
}

/// A ring with all three of our keys, as a signing function would hold it.
fn ring() -> VerificationKeys {
    install();
    let mut ring = VerificationKeys::new();
    for key in [ed(), es(), hs()] {
        ring.insert_signing_key(&key).unwrap();
    }
    ring
}

fn decode(ring: &VerificationKeys, token: &str) -> Result<Claims, VerifyError> {
    ring.decode::<Claims>(token, &Validation::default())
        .map(|d| d.claims)
}

/// Signs `claims` with an arbitrary header, as an attacker would.
fn forge(header: &Header, key: &EncodingKey) -> String {
    install();
    jsonwebtoken::encode(header, &claims(), key).unwrap()
}

fn header(alg: Algorithm, kid: &str) -> Header {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    h
}

fn pem_der(pem: &str) -> Vec<u8> {
    let (_, doc) = pkcs8::der::Document::from_pem(pem).unwrap();
    doc.as_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------
// Round trips.

#[test]
fn sign_and_verify_all_three_algorithms() {
    let ring = ring();
    for (key, alg) in [
        (hs(), Algorithm::HS256),
        (ed(), Algorithm::EdDSA),
        (es(), Algorithm::ES256),
    ] {
        assert_eq!(key.algorithm(), alg);
        let token = key.sign(&claims()).unwrap();
        let data = ring
            .decode::<Claims>(&token, &Validation::default())
            .unwrap();
        assert_eq!(data.claims, claims());
        assert_eq!(data.header.alg, alg);
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
    }
}

/// `SigningKey::sign` skips jsonwebtoken's `encode` for asymmetric keys (to avoid
/// re-parsing the key); both signatures are deterministic (RFC 8032, RFC 6979), so the
/// tokens must be identical to what `encode` through the provider produces.
#[test]
fn prepared_signing_matches_jsonwebtoken_encode() {
    install();
    for (key, pem) in [(ed(), ED_PEM), (es(), P256_PEM)] {
        let der = pem_der(pem);
        let encoding = if key.algorithm() == Algorithm::EdDSA {
            EncodingKey::from_ed_der(&der)
        } else {
            EncodingKey::from_ec_der(&der)
        };
        let via_encode = forge(&header(key.algorithm(), key.kid()), &encoding);
        assert_eq!(key.sign(&claims()).unwrap(), via_encode);
    }
}

#[test]
fn tampered_tokens_are_refused() {
    let ring = ring();
    for key in [hs(), ed(), es()] {
        let token = key.sign(&claims()).unwrap();
        let (head, sig) = token.rsplit_once('.').unwrap();
        let other = key
            .sign(&Claims {
                sub: "mallory".into(),
                exp: 4_000_000_000,
            })
            .unwrap();
        let other_payload = other.split('.').nth(1).unwrap();
        let header_b64 = head.split('.').next().unwrap();
        let spliced = format!("{header_b64}.{other_payload}.{sig}");
        assert!(decode(&ring, &spliced).is_err(), "{:?}", key.algorithm());
    }
}

#[test]
fn claims_validation_still_applies() {
    let ring = ring();
    let expired = ed()
        .sign(&Claims {
            sub: "alice".into(),
            exp: 1,
        })
        .unwrap();
    match decode(&ring, &expired) {
        Err(VerifyError::Jwt(e)) => assert_eq!(*e.kind(), ErrorKind::ExpiredSignature),
        other => panic!("{other:?}"),
    }
}

#[test]
fn es256_signatures_are_64_byte_r_s() {
    install();
    let token = es().sign(&claims()).unwrap();
    let sig = token.rsplit('.').next().unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    assert_eq!(raw.len(), 64);
}

#[test]
fn es256_der_signatures_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let ring = ring();
    let token = es().sign(&claims()).unwrap();
    let (message, sig) = token.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let der = URL_SAFE_NO_PAD.encode(sig.to_der().as_bytes());
    assert!(decode(&ring, &format!("{message}.{der}")).is_err());
}

/// P-256 ECDSA is malleable: (r, n - s) is valid too. p256 does not normalize S for P-256
/// (NORMALIZE_S = false), so both verify. Harmless for JWTs as long as nobody uses the
/// signature bytes as a token identifier (use `jti` or a hash of the payload instead).
#[test]
fn es256_high_s_is_accepted_documented_malleability() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let ring = ring();
    let token = es().sign(&claims()).unwrap();
    let (message, sig) = token.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-s).to_bytes()).unwrap();
    assert_ne!(flipped, sig);
    let token2 = format!("{message}.{}", URL_SAFE_NO_PAD.encode(flipped.to_bytes()));
    assert!(decode(&ring, &token2).is_ok());
}

// ---------------------------------------------------------------------------------------
// JWK / JWKS.

#[test]
fn public_jwks_has_the_expected_shape() {
    let jwks: serde_json::Value =
        serde_json::from_str(&public_jwks([&ed(), &es(), &hs()])).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the HMAC key must not be published");
    let okp = &keys[0];
    assert_eq!(okp["kty"], "OKP");
    assert_eq!(okp["crv"], "Ed25519");
    assert_eq!(okp["alg"], "EdDSA");
    assert_eq!(okp["use"], "sig");
    assert_eq!(okp["kid"], "ed-1");
    assert_eq!(okp["x"].as_str().unwrap().len(), 43);
    assert!(okp.get("y").is_none() && okp.get("d").is_none());
    let ec = &keys[1];
    assert_eq!(ec["kty"], "EC");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["x"].as_str().unwrap().len(), 43);
    assert_eq!(ec["y"].as_str().unwrap().len(), 43);
    assert!(ec.get("d").is_none());
}

#[test]
fn public_key_matches_openssl_derived_public_pem() {
    // The fixtures' *_pub.pem were written by `openssl pkey -pubout`: an independent
    // derivation of the public key from the same private key.
    let spki = pem_der(ED_PUB_PEM);
    let Some(PublicKey::Ed25519(raw)) = ed().public_key().cloned() else {
        panic!()
    };
    assert!(spki.ends_with(&raw));
    let spki = pem_der(P256_PUB_PEM);
    let Some(PublicKey::P256 { x, y }) = es().public_key().cloned() else {
        panic!()
    };
    assert!(spki.ends_with(&[&[4u8][..], &x, &y].concat()));
}

#[test]
fn tokens_verify_from_the_jwks_alone() {
    let ring = VerificationKeys::from_jwks(&public_jwks([&ed(), &es()])).unwrap();
    assert_eq!(ring.algorithm_of("ed-1"), Some(Algorithm::EdDSA));
    assert_eq!(ring.algorithm_of("es-1"), Some(Algorithm::ES256));
    for key in [ed(), es()] {
        assert_eq!(
            decode(&ring, &key.sign(&claims()).unwrap()).unwrap(),
            claims()
        );
    }
}

/// The standard JWK path: jsonwebtoken's own `JwkSet` + `DecodingKey::from_jwk`, only
/// the verification itself goes through our provider.
#[test]
fn tokens_verify_with_jsonwebtokens_own_jwk_parser() {
    install();
    let set: JwkSet = serde_json::from_str(&public_jwks([&ed(), &es()])).unwrap();
    for key in [ed(), es()] {
        let token = key.sign(&claims()).unwrap();
        let jwk = set.find(key.kid()).unwrap();
        let decoding = DecodingKey::from_jwk(jwk).unwrap();
        let data =
            jsonwebtoken::decode::<Claims>(&token, &decoding, &Validation::new(key.algorithm()))
                .unwrap();
        assert_eq!(data.claims, claims());
        // And our KeyUtils agree with our JWK: jsonwebtoken derives the same thumbprint
        // from the private key as from the published JWK.
        let alg = key.algorithm();
        let der = pem_der(if alg == Algorithm::EdDSA {
            ED_PEM
        } else {
            P256_PEM
        });
        let encoding = if alg == Algorithm::EdDSA {
            EncodingKey::from_ed_der(&der)
        } else {
            EncodingKey::from_ec_der(&der)
        };
        let from_private = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, alg).unwrap();
        use jsonwebtoken::jwk::ThumbprintHash::SHA256;
        assert_eq!(
            from_private.thumbprint(SHA256).unwrap(),
            jwk.thumbprint(SHA256).unwrap()
        );
    }
}

/// Tokens signed by PyJWT (`interop/pyjwt_interop.py`) from the same fixture PEMs, with
/// random-nonce ECDSA: checks the other direction of interoperability.
#[test]
fn tokens_signed_by_pyjwt_verify() {
    let ring = VerificationKeys::from_jwks(&public_jwks([&ed(), &es()])).unwrap();
    let tokens: Vec<String> =
        serde_json::from_str(include_str!("../fixtures/pyjwt_tokens.json")).unwrap();
    assert_eq!(tokens.len(), 2);
    for token in tokens {
        assert_eq!(decode(&ring, &token).unwrap(), claims());
    }
}

#[test]
fn jwks_policy() {
    let ed_jwk = serde_json::to_value(ed().public_jwk().unwrap()).unwrap();
    let es_jwk = serde_json::to_value(es().public_jwk().unwrap()).unwrap();
    let with = |base: &serde_json::Value, k: &str, v: serde_json::Value| {
        let mut j = base.clone();
        j[k] = v;
        j
    };
    let without = |base: &serde_json::Value, k: &str| {
        let mut j = base.clone();
        j.as_object_mut().unwrap().remove(k);
        j
    };
    let load = |keys: Vec<serde_json::Value>| {
        VerificationKeys::from_jwks(&serde_json::json!({ "keys": keys }).to_string())
    };
    let rsa = serde_json::json!({"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"});
    let p384 = serde_json::json!({"kty":"EC","crv":"P-384","kid":"p","x":"AA","y":"AA"});
    let x25519 = serde_json::json!({"kty":"OKP","crv":"X25519","kid":"x","x":"AA"});

    // Skipped, not fatal: key types we do not understand, and encryption keys.
    let ring = load(vec![
        rsa,
        p384,
        x25519,
        with(&ed_jwk, "use", "enc".into()),
        es_jwk.clone(),
    ])
    .unwrap();
    assert_eq!(ring.len(), 1);
    // `alg` may be absent: the curve implies it.
    let ring = load(vec![without(&ed_jwk, "alg")]).unwrap();
    assert_eq!(ring.algorithm_of("ed-1"), Some(Algorithm::EdDSA));

    // Fatal.
    let fatal = [
        vec![with(&ed_jwk, "d", "AAAA".into())],
        vec![
            serde_json::json!({"kty":"oct","kid":"h","k":"c2VjcmV0"}),
            ed_jwk.clone(),
        ],
        vec![without(&es_jwk, "kid")],
        vec![with(&es_jwk, "alg", "ES384".into())],
        vec![with(&ed_jwk, "alg", "ES256".into())],
        vec![with(&es_jwk, "y", es_jwk["x"].clone())], // off the curve
        vec![without(&es_jwk, "y")],
        vec![with(&ed_jwk, "x", "AQ".into())], // 1 byte
        vec![with(
            &ed_jwk,
            "x",
            format!("{}=", ed_jwk["x"].as_str().unwrap()).into(),
        )],
        vec![ed_jwk.clone(), ed_jwk.clone()], // duplicate kid
        vec![],
        // Identity point: a weak key that would accept forged signatures under lax rules.
        vec![with(
            &ed_jwk,
            "x",
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        )],
    ];
    for (i, keys) in fatal.into_iter().enumerate() {
        assert!(load(keys).is_err(), "case {i} should be refused");
    }
    assert!(VerificationKeys::from_jwks("{\"keys\": {}}").is_err());
}

// ---------------------------------------------------------------------------------------
// Key loading.

#[test]
fn pem_loading_refusals() {
    assert!(matches!(
        SigningKey::from_pkcs8_pem("k", P256_SEC1_PEM),
        Err(KeyError::PemLabel(l)) if l == "EC PRIVATE KEY"
    ));
    assert!(matches!(
        SigningKey::from_pkcs8_pem("k", P384_PEM),
        Err(KeyError::UnsupportedKeyType)
    ));
    assert!(matches!(
        SigningKey::from_pkcs8_pem("k", ED_PUB_PEM),
        Err(KeyError::PemLabel(_))
    ));
    assert!(SigningKey::from_pkcs8_pem("k", "not a pem").is_err());
    assert!(matches!(
        SigningKey::hmac("k", b"short"),
        Err(KeyError::ShortSecret)
    ));
    // Debug output never shows key material.
    let dbg = format!("{:?} {:?}", hs(), ring());
    assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
}

// ---------------------------------------------------------------------------------------
// Refusals: the key decides the algorithm, the token never does.

#[test]
fn unknown_kid_is_refused() {
    let ring = ring();
    let token = SigningKey::from_pkcs8_pem("nobody", ED_PEM)
        .unwrap()
        .sign(&claims())
        .unwrap();
    assert!(matches!(decode(&ring, &token), Err(VerifyError::UnknownKid(k)) if k == "nobody"));
}

#[test]
fn missing_kid_is_refused() {
    let ring = ring();
    let token = forge(
        &Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(SECRET),
    );
    assert!(matches!(
        decode(&ring, &token),
        Err(VerifyError::MissingKid)
    ));
}

#[test]
fn stranger_key_under_a_known_kid_is_refused() {
    let ring = ring();
    for (pem, kid) in [(ED_OTHER_PEM, "ed-1"), (P256_OTHER_PEM, "es-1")] {
        let stranger = SigningKey::from_pkcs8_pem(kid, pem).unwrap();
        match decode(&ring, &stranger.sign(&claims()).unwrap()) {
            Err(VerifyError::Jwt(e)) => assert_eq!(*e.kind(), ErrorKind::InvalidSignature),
            other => panic!("{other:?}"),
        }
    }
    let stranger = SigningKey::hmac("hs-1", &[9; 32]).unwrap();
    assert!(decode(&ring, &stranger.sign(&claims()).unwrap()).is_err());
}

#[test]
fn embedded_key_headers_are_refused() {
    let ring = ring();
    let attacker = SigningKey::from_pkcs8_pem("ed-1", ED_OTHER_PEM).unwrap();
    let attacker_der = pem_der(ED_OTHER_PEM);
    let attacker_jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(attacker.public_jwk().unwrap()).unwrap())
            .unwrap();

    let mut h = header(Algorithm::EdDSA, "ed-1");
    h.jwk = Some(attacker_jwk);
    let token = forge(&h, &EncodingKey::from_ed_der(&attacker_der));
    assert!(matches!(
        decode(&ring, &token),
        Err(VerifyError::ForbiddenHeader("jwk"))
    ));

    // Even with no kid at all, an embedded key is not a way in.
    h.kid = None;
    let token = forge(&h, &EncodingKey::from_ed_der(&attacker_der));
    assert!(decode(&ring, &token).is_err());

    for field in ["jku", "x5u", "x5c", "crit"] {
        let mut h = header(Algorithm::EdDSA, "ed-1");
        match field {
            "jku" => h.jku = Some("https://attacker.example/jwks.json".into()),
            "x5u" => h.x5u = Some("https://attacker.example/cert.pem".into()),
            "x5c" => h.x5c = Some(vec!["MIIB".into()]),
            _ => h.crit = Some(vec!["exp".into()]),
        }
        let token = forge(&h, &EncodingKey::from_ed_der(&attacker_der));
        assert!(
            matches!(decode(&ring, &token), Err(VerifyError::ForbiddenHeader(f)) if f == field),
            "{field}"
        );
    }
}

/// The classic confusion attack: HS256 "signed" with the public key as the HMAC secret,
/// in every form an attacker could obtain it, under the asymmetric key's kid.
#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let ring = ring();
    for (key, pub_pem) in [(ed(), ED_PUB_PEM), (es(), P256_PUB_PEM)] {
        let jwk = serde_json::to_string(&key.public_jwk().unwrap()).unwrap();
        let raw = match key.public_key().unwrap() {
            PublicKey::Ed25519(raw) => raw.to_vec(),
            PublicKey::P256 { x, y } => [&[4u8][..], x, y].concat(),
        };
        let x = key.public_jwk().unwrap().x;
        let candidates: Vec<Vec<u8>> = vec![
            raw.clone(),
            pub_pem.as_bytes().to_vec(),
            pem_der(pub_pem),
            jwk.into_bytes(),
            x.into_bytes(),
        ];
        for secret in candidates {
            let token = forge(
                &header(Algorithm::HS256, key.kid()),
                &EncodingKey::from_secret(&secret),
            );
            assert!(
                matches!(
                    decode(&ring, &token),
                    Err(VerifyError::AlgorithmMismatch {
                        header: Algorithm::HS256,
                        ..
                    })
                ),
                "{:?}",
                key.algorithm()
            );
        }

        // Second lock, below the key ring: even a caller that hands jsonwebtoken an
        // asymmetric DecodingKey and allows HS256 gets a refusal from the provider.
        let token = forge(
            &header(Algorithm::HS256, key.kid()),
            &EncodingKey::from_secret(&raw),
        );
        let decoding = key.public_key().unwrap().decoding_key();
        let err =
            jsonwebtoken::decode::<Claims>(&token, &decoding, &Validation::new(Algorithm::HS256))
                .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::InvalidKeyFormat);
    }
}

#[test]
fn header_alg_never_chooses() {
    let ring = ring();
    // An EdDSA token presented under the ES256 key's kid: refused before any crypto.
    let token = SigningKey::from_pkcs8_pem("es-1", ED_PEM)
        .unwrap()
        .sign(&claims())
        .unwrap();
    assert!(matches!(
        decode(&ring, &token),
        Err(VerifyError::AlgorithmMismatch {
            header: Algorithm::EdDSA,
            key: Algorithm::ES256
        })
    ));
    // HS384/HS512 with the HS256 secret: same kid, different alg.
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = forge(&header(alg, "hs-1"), &EncodingKey::from_secret(SECRET));
        assert!(matches!(
            decode(&ring, &token),
            Err(VerifyError::AlgorithmMismatch { .. })
        ));
    }
    // Even if the caller's Validation lists other algorithms, the key's alg is used.
    let token = forge(
        &header(Algorithm::HS256, "ed-1"),
        &EncodingKey::from_secret(SECRET),
    );
    let mut lax = Validation::new(Algorithm::HS256);
    lax.algorithms = vec![Algorithm::HS256, Algorithm::EdDSA];
    assert!(ring.decode::<Claims>(&token, &lax).is_err());
}

#[test]
fn alg_none_and_garbage_are_refused() {
    let ring = ring();
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"ed-1"}"#);
    let body = URL_SAFE_NO_PAD.encode(r#"{"sub":"alice","exp":4000000000}"#);
    assert!(matches!(
        decode(&ring, &format!("{head}.{body}.")),
        Err(VerifyError::MalformedHeader(_))
    ));
    assert!(decode(&ring, "").is_err());
    assert!(decode(&ring, "a.b").is_err());
    let long = format!("{}.{}.{}", "a".repeat(MAX_TOKEN_LEN), "b", "c");
    assert!(matches!(decode(&ring, &long), Err(VerifyError::TooLong)));
}

#[test]
fn verify_only_provider_refuses_asymmetric_signing() {
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner};
    let p: &CryptoProvider = &provider::VERIFY_ONLY_PROVIDER;
    let der = pem_der(ED_PEM);
    let signer: jsonwebtoken::errors::Result<Box<dyn JwtSigner>> =
        (p.signer_factory)(&Algorithm::EdDSA, &EncodingKey::from_ed_der(&der));
    assert!(signer.is_err());
    assert!((p.signer_factory)(&Algorithm::HS256, &EncodingKey::from_secret(SECRET)).is_ok());
}
