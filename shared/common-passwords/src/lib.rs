//! Case-insensitive membership test against the 10,000 most common passwords.
//!
//! The list (`data/common-passwords.txt`, see `data/common-passwords.SOURCE.md`)
//! is turned into a static hash table by `build.rs`; the table is read-only
//! data in the binary (no pointers, no relocations, no lazy init), so it costs
//! nothing at process start and is paged in on first use.
#![forbid(unsafe_code)]

mod table {
    include!(concat!(env!("OUT_DIR"), "/table.rs"));
}
use table::{BLOB, MASK, MAX_LEN, MAX_PROBE, SLOTS};

/// Number of entries compiled into the table (always 10,000).
pub const ENTRY_COUNT: usize = table::ENTRY_COUNT;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

// Must match `fnv1a` in build.rs (there applied to already lower-cased bytes).
#[inline]
fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h = FNV_OFFSET;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h ^ (h >> 32)
}

/// Probe the table; `eq` compares a stored (lower-case) entry with the input.
#[inline]
fn probe(hash: u64, eq: impl Fn(&[u8]) -> bool) -> bool {
    let mut i = hash as usize & MASK;
    for _ in 0..=MAX_PROBE {
        let slot = SLOTS[i];
        if slot == 0 {
            return false;
        }
        let (off, len) = ((slot >> 8) as usize, (slot & 0xff) as usize);
        if eq(&BLOB[off..off + len]) {
            return true;
        }
        i = (i + 1) & MASK;
    }
    false
}

/// `true` if `password`, lower-cased with Unicode [`str::to_lowercase`], is one
/// of the 10,000 most common passwords.
///
/// ASCII input is handled without allocating; other input is lower-cased into
/// a `String` first. At most `MAX_PROBE + 1` table slots are inspected.
pub fn is_common_password(password: &str) -> bool {
    if password.is_ascii() {
        // Lower-casing ASCII never changes the length.
        if password.is_empty() || password.len() > MAX_LEN {
            return false;
        }
        let bytes = password.as_bytes();
        let h = fnv1a(bytes.iter().map(u8::to_ascii_lowercase));
        // Stored entries are lower-case; non-ASCII entries can never match.
        probe(h, |entry| entry.eq_ignore_ascii_case(bytes))
    } else {
        // Lower-casing never reduces the number of chars, and every stored
        // entry has at most MAX_LEN chars: cheap rejection before allocating.
        if password.chars().nth(MAX_LEN).is_some() {
            return false;
        }
        let lower = password.to_lowercase();
        if lower.len() > MAX_LEN {
            return false;
        }
        let h = fnv1a(lower.bytes());
        probe(h, |entry| entry == lower.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_constants_are_sane() {
        assert_eq!(ENTRY_COUNT, 10_000);
        const { assert!(MAX_PROBE < 64) };
        assert_eq!(SLOTS.iter().filter(|&&s| s != 0).count(), ENTRY_COUNT);
    }
}
