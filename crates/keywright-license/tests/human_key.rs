//! Unsigned human-typable keys: format, alphabet, entropy bound, uniqueness.
#![cfg(feature = "sign")]

use std::collections::HashSet;

use keywright_license::issue::{
    human_key, normalize_human_key, HumanKeyStyle, HUMAN_ALPHABET, MIN_ENTROPY_BITS,
};
use keywright_license::FormatError;
use rand_core::OsRng;

fn segmented(prefix: Option<&str>, groups: u8, group_len: u8) -> HumanKeyStyle {
    HumanKeyStyle::Segmented {
        prefix: prefix.map(str::to_owned),
        groups,
        group_len,
    }
}

/// `^[0-9A-F]{6}(-[0-9A-F]{6}){4}-V3$`
fn is_keygen_format(key: &str) -> bool {
    let parts: Vec<&str> = key.split('-').collect();
    parts.len() == 6
        && parts[5] == "V3"
        && parts[..5].iter().all(|p| {
            p.len() == 6
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

#[test]
fn keygen_style() {
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let key = human_key(&HumanKeyStyle::Keygen, &mut OsRng).unwrap();
        assert!(is_keygen_format(&key), "{key}");
        assert_eq!(key.len(), 37);
        assert_eq!(normalize_human_key(&key.to_lowercase()), key);
        assert!(seen.insert(key));
    }
    assert!(is_keygen_format("6DFB15-6597FC-B7DBB6-E34DAB-9D77C0-V3"));
    assert_eq!(HumanKeyStyle::Keygen.entropy_bits(), 120.0);
}

#[test]
fn segmented_style() {
    let style = segmented(Some("ZP"), 5, 5);
    assert!(style.entropy_bits() >= MIN_ENTROPY_BITS);
    let mut seen = HashSet::new();
    let mut used = HashSet::new();
    for _ in 0..10_000 {
        let key = human_key(&style, &mut OsRng).unwrap();
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert_eq!(parts[0], "ZP");
        for group in &parts[1..] {
            assert_eq!(group.len(), 5, "{key}");
            for c in group.chars() {
                assert!(HUMAN_ALPHABET.contains(c), "{key}");
                used.insert(c);
            }
        }
        // Normalizing is stable for generated keys (only the prefix's Z changes,
        // the same way for the stored and the typed key).
        let typed = key.to_lowercase().replace('-', " - ");
        assert_eq!(normalize_human_key(&typed), normalize_human_key(&key));
        assert!(seen.insert(key));
    }
    // 200,000 characters drawn: every one of the 28 shows up.
    assert_eq!(used.len(), HUMAN_ALPHABET.len());

    let bare = human_key(&segmented(None, 3, 7), &mut OsRng).unwrap();
    assert_eq!(bare.len(), 23);
    assert_eq!(bare.split('-').count(), 3);
}

#[test]
fn weak_styles_are_refused() {
    for (groups, group_len) in [(4, 5), (1, 20), (2, 10), (1, 1)] {
        let style = segmented(None, groups, group_len);
        assert!(style.entropy_bits() < MIN_ENTROPY_BITS);
        let err = human_key(&style, &mut OsRng).unwrap_err();
        assert!(matches!(err, FormatError::KeyStyle(_)), "{err}");
        assert!(err.to_string().contains("bits of entropy"), "{err}");
    }
    // 21 characters is the least that passes.
    for (groups, group_len) in [(1, 21), (3, 7), (7, 3)] {
        assert!(human_key(&segmented(None, groups, group_len), &mut OsRng).is_ok());
    }
    assert!(human_key(&segmented(Some("bad prefix"), 5, 5), &mut OsRng).is_err());
}
