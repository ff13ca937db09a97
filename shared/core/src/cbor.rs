//! A small CBOR (RFC 8949) decoder for what WebAuthn hands a relying party: attestation
//! objects and COSE keys. Definite lengths only (CTAP2's canonical form), at most
//! [`MAX_DEPTH`] levels, and no length is trusted beyond the bytes that are there: a
//! hostile input costs at most its own size in memory and time.

/// Nesting limit: WebAuthn's structures are three levels deep.
pub const MAX_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Unsigned(u64),
    /// `-1 - n` for the encoded `n`, as an `i128` so every encoded value fits.
    Negative(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
    /// `undefined`, other simple values and floats: kept only as "something".
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CborError {
    /// The input ended inside an item.
    Truncated,
    /// Indefinite lengths, reserved additional information, invalid UTF-8 text.
    Unsupported,
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CborError::Truncated => "truncated CBOR",
            CborError::Unsupported => "unsupported CBOR",
            CborError::TooDeep => "CBOR nested too deeply",
        })
    }
}

impl std::error::Error for CborError {}

impl Value {
    /// The value under an integer key of a map (COSE keys use integers).
    pub fn get_int(&self, key: i64) -> Option<&Value> {
        let Value::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| k.as_int() == Some(i128::from(key)))
            .map(|(_, v)| v)
    }

    /// The value under a text key of a map (attestation objects use text).
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        let Value::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Unsigned(n) => Some(i128::from(*n)),
            Value::Negative(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Decodes one item from the start of `input`: the value and how many bytes it took.
pub fn decode_prefix(input: &[u8]) -> Result<(Value, usize), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.pos))
}

/// Decodes `input` as exactly one item: trailing bytes are an error.
pub fn decode(input: &[u8]) -> Result<Value, CborError> {
    let (value, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(CborError::Unsupported);
    }
    Ok(value)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        Ok(self.take(1)?[0])
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// The argument of a head whose additional information is `info`.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed()?)),
            27 => u64::from_be_bytes(self.fixed()?),
            // 28-30 reserved, 31 indefinite length: neither is CTAP2 canonical CBOR.
            _ => return Err(CborError::Unsupported),
        })
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A count of items that must each take at least one more byte.
    fn count(&mut self, info: u8, bytes_per_item: usize) -> Result<usize, CborError> {
        let n = self.argument(info)?;
        let n = usize::try_from(n).map_err(|_| CborError::Truncated)?;
        if n.saturating_mul(bytes_per_item) > self.remaining() {
            return Err(CborError::Truncated);
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        Ok(match major {
            0 => Value::Unsigned(self.argument(info)?),
            1 => Value::Negative(-1 - i128::from(self.argument(info)?)),
            2 => {
                let n = self.count(info, 1)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.count(info, 1)?;
                let text =
                    std::str::from_utf8(self.take(n)?).map_err(|_| CborError::Unsupported)?;
                Value::Text(text.to_owned())
            }
            4 => {
                let n = self.count(info, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let n = self.count(info, 2)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Value::Map(entries)
            }
            // A tag: its number is dropped, the tagged item kept.
            6 => {
                self.argument(info)?;
                self.item(depth + 1)?
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                0..=19 | 23 => Value::Other,
                24 => {
                    self.byte()?;
                    Value::Other
                }
                25 => {
                    self.take(2)?;
                    Value::Other
                }
                26 => {
                    self.take(4)?;
                    Value::Other
                }
                27 => {
                    self.take(8)?;
                    Value::Other
                }
                _ => return Err(CborError::Unsupported),
            },
        })
    }
}

/// An encoder for the same subset: what tests build authenticator answers with, and what
/// the property tests round-trip.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Unsigned(n) => head(0, *n, out),
        // Values below -2^64 cannot be encoded: clamp (only reachable by a caller's bug).
        Value::Negative(n) => head(1, u64::try_from(-1 - n).unwrap_or(u64::MAX), out),
        Value::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            head(3, t.len() as u64, out);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            head(4, items.len() as u64, out);
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(entries) => {
            head(5, entries.len() as u64, out);
            for (k, v) in entries {
                encode_into(k, out);
                encode_into(v, out);
            }
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Other => out.push(0xf7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_8949_appendix_a_examples() {
        assert_eq!(decode(&[0x00]).unwrap(), Value::Unsigned(0));
        assert_eq!(decode(&[0x18, 0x64]).unwrap(), Value::Unsigned(100));
        assert_eq!(
            decode(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(decode(&[0x20]).unwrap(), Value::Negative(-1));
        assert_eq!(decode(&[0x38, 0x63]).unwrap(), Value::Negative(-100));
        assert_eq!(
            decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Negative(-18446744073709551616)
        );
        assert_eq!(
            decode(&[0x44, 1, 2, 3, 4]).unwrap(),
            Value::Bytes(vec![1, 2, 3, 4])
        );
        assert_eq!(
            decode(&[0x62, 0xc3, 0xbc]).unwrap(),
            Value::Text("\u{fc}".into())
        );
        assert_eq!(
            decode(&[0xa2, 0x01, 0x02, 0x03, 0x04]).unwrap(),
            Value::Map(vec![
                (Value::Unsigned(1), Value::Unsigned(2)),
                (Value::Unsigned(3), Value::Unsigned(4))
            ])
        );
        assert_eq!(decode(&[0xf5]).unwrap(), Value::Bool(true));
        assert_eq!(decode(&[0xf6]).unwrap(), Value::Null);
        // Indefinite lengths are not CTAP2 canonical.
        assert_eq!(
            decode(&[0x5f, 0x41, 0x01, 0xff]),
            Err(CborError::Unsupported)
        );
        assert_eq!(decode(&[0x9f, 0xff]), Err(CborError::Unsupported));
    }

    #[test]
    fn lengths_beyond_the_input_are_refused_before_allocating() {
        // A byte string claiming 2^64-1 bytes, an array claiming 2^32 items.
        assert_eq!(
            decode(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        assert_eq!(
            decode(&[0x9a, 0xff, 0xff, 0xff, 0xff, 0x00]),
            Err(CborError::Truncated)
        );
        assert_eq!(decode(&[0x62, 0xff, 0xfe]), Err(CborError::Unsupported));
        assert_eq!(decode(&[0x00, 0x00]), Err(CborError::Unsupported));
        assert_eq!(decode(&[]), Err(CborError::Truncated));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = vec![0x81; 10_000];
        assert_eq!(decode(&deep), Err(CborError::TooDeep));
        let mut ok = vec![0x81; MAX_DEPTH];
        ok.push(0x00);
        assert!(decode(&ok).is_ok());
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(Value::Unsigned),
            any::<u64>().prop_map(|n| Value::Negative(-1 - i128::from(n))),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner), 0..8).prop_map(Value::Map),
            ]
        })
    }

    proptest! {
        #[test]
        fn encoding_round_trips(v in value()) {
            let bytes = encode(&v);
            prop_assert_eq!(decode(&bytes).unwrap(), v.clone());
            let (prefix, used) = decode_prefix(&[bytes.as_slice(), &[0xff, 0x00]].concat()).unwrap();
            prop_assert_eq!(prefix, v);
            prop_assert_eq!(used, bytes.len());
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok((_, used)) = decode_prefix(&bytes) {
                prop_assert!(used <= bytes.len());
            }
        }
    }
}
