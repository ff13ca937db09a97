//! Compiles `data/common-passwords.txt` into a static open-addressing hash table.
//!
//! Output (`$OUT_DIR/table.rs` + `$OUT_DIR/blob.bin`):
//! * `BLOB`: all entries concatenated (UTF-8 bytes, no separators), via `include_bytes!`.
//! * `SLOTS`: `[u32; SLOT_COUNT]`, each slot `0` (empty) or `(offset << 8) | len`
//!   into `BLOB`. Linear probing from `hash & MASK`; `MAX_PROBE` is the longest
//!   probe sequence of any stored entry, so a lookup inspects at most
//!   `MAX_PROBE + 1` slots whatever the input (worst-case O(1), no flooding).
//!
//! Everything is plain integers/bytes: no pointers, so no load-time relocations
//! and no runtime initialisation.
use std::{env, fmt::Write as _, fs, path::PathBuf};

// Must match `fnv1a` in src/lib.rs.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 32)
}

const EXPECTED_ENTRIES: usize = 10_000;
const SLOT_BITS: u32 = 15; // 32768 slots (128 KiB), load factor 0.31, max probe 8

fn main() {
    let src = "data/common-passwords.txt";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = fs::read_to_string(src).expect("read data/common-passwords.txt (UTF-8)");

    let mut entries: Vec<&str> = Vec::with_capacity(EXPECTED_ENTRIES);
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        assert!(
            !line.is_empty() && !line.contains('\r'),
            "line {}: empty or CR",
            i + 1
        );
        assert_eq!(line, line.to_lowercase(), "line {}: not lower-case", i + 1);
        assert!(line.len() <= 255, "line {}: longer than 255 bytes", i + 1);
        assert!(seen.insert(line), "line {}: duplicate {line:?}", i + 1);
        entries.push(line);
    }
    assert_eq!(
        entries.len(),
        EXPECTED_ENTRIES,
        "expected exactly 10,000 entries"
    );

    let slot_count = 1usize << SLOT_BITS;
    let mask = slot_count - 1;
    let mut blob: Vec<u8> = Vec::new();
    let mut slots = vec![0u32; slot_count];
    let mut max_probe = 0usize;
    let mut max_len = 0usize;
    for e in &entries {
        let offset = blob.len();
        blob.extend_from_slice(e.as_bytes());
        assert!(offset < (1 << 24), "blob too large for 24-bit offsets");
        let packed = ((offset as u32) << 8) | e.len() as u32;
        let mut i = fnv1a(e.as_bytes()) as usize & mask;
        let mut probe = 0;
        while slots[i] != 0 {
            i = (i + 1) & mask;
            probe += 1;
        }
        slots[i] = packed;
        max_probe = max_probe.max(probe);
        max_len = max_len.max(e.len());
    }

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::write(out.join("blob.bin"), &blob).unwrap();
    let mut rs = String::new();
    writeln!(
        rs,
        "pub(crate) const ENTRY_COUNT: usize = {};",
        entries.len()
    )
    .unwrap();
    writeln!(rs, "pub(crate) const MASK: usize = {mask};").unwrap();
    writeln!(rs, "pub(crate) const MAX_PROBE: usize = {max_probe};").unwrap();
    writeln!(rs, "pub(crate) const MAX_LEN: usize = {max_len};").unwrap();
    writeln!(rs, "pub(crate) static BLOB: &[u8; {}] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/blob.bin\"));", blob.len()).unwrap();
    write!(rs, "pub(crate) static SLOTS: [u32; {slot_count}] = [").unwrap();
    for s in &slots {
        write!(rs, "{s},").unwrap();
    }
    rs.push_str("];\n");
    fs::write(out.join("table.rs"), rs).unwrap();
}
