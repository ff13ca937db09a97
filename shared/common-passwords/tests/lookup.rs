use common_passwords::{is_common_password, ENTRY_COUNT};

const LIST: &str = include_str!("../data/common-passwords.txt");

#[test]
fn every_line_of_the_list_is_found() {
    let mut n = 0;
    for line in LIST.lines() {
        assert!(is_common_password(line), "{line:?} not found");
        n += 1;
    }
    assert_eq!(n, ENTRY_COUNT);
}

#[test]
fn every_line_is_found_upper_cased() {
    for line in LIST.lines() {
        let upper = line.to_uppercase();
        // Upper-casing then lower-casing must round-trip for this to be meaningful.
        if upper.to_lowercase() == line {
            assert!(is_common_password(&upper), "{upper:?} not found");
        }
    }
}

#[test]
fn known_common_passwords() {
    for p in [
        "password",
        "PassWord",
        "PASSWORD",
        "12345678",
        "qwertyuiop",
        "QwertyUIOP",
        "123456",
        "iloveyou",
        "1q2w3e4r5t",
        "1qaz2wsx",
        "пароль",
        "ПАРОЛЬ",
        "ЙцУкЕн",
    ] {
        assert!(is_common_password(p), "{p:?} should be common");
    }
}

#[test]
fn strong_or_unlisted_passwords_are_not_found() {
    for p in [
        "",
        "correct horse battery staple",
        "Tr0ub4dor&3x!",
        "zq8#Lm2$vP9!kW",
        "password-but-longer-than-any-entry-in-the-list-at-all",
        "pässwörd",
        "パスワード",
        "password ",
        " password",
        "passwor",
        "passwordd",
        "\u{0}password",
    ] {
        assert!(!is_common_password(p), "{p:?} should not be common");
    }
}

#[test]
fn random_passwords_are_not_found() {
    // Deterministic xorshift so the test needs no dependencies.
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet: Vec<char> =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*-_ é€"
            .chars()
            .collect();
    for _ in 0..20_000 {
        let mut p = String::new();
        for _ in 0..12 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            p.push(alphabet[(s % alphabet.len() as u64) as usize]);
        }
        assert!(!is_common_password(&p), "{p:?} unexpectedly common");
    }
}

#[test]
fn unicode_lowercasing_is_applied() {
    // Kelvin sign (U+212A) lower-cases to ASCII 'k'; find an entry with a 'k'.
    let entry = LIST
        .lines()
        .find(|l| l.contains('k') && l.is_ascii())
        .unwrap();
    let tricky = entry.replacen('k', "\u{212A}", 1);
    assert!(!tricky.is_ascii());
    assert!(is_common_password(&tricky), "{tricky:?}");
}
