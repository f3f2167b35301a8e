//! Unsigned, human-typable license keys (the key of a license whose policy has no
//! scheme), and their normalization for lookup.
//!
//! Two styles:
//! - [`HumanKeyStyle::Keygen`]: Keygen's own, five groups of six uppercase hex digits
//!   and `V3`, e.g. `6DFB15-6597FC-B7DBB6-E34DAB-9D77C0-V3` (120 random bits);
//! - [`HumanKeyStyle::Segmented`]: an optional prefix and `groups` groups of
//!   `group_len` characters over [`HUMAN_ALPHABET`], e.g. `ZP-A3K2P-X9M4Q-R7T2W-Y5N8H`.
//!
//! [`HUMAN_ALPHABET`] has 28 characters: the digits `2`–`9` and the letters without
//! `B`, `I`, `L`, `O`, `S`, `Z`. `0`/`O`, `1`/`I`/`L` are all left out; `B`, `S`, `Z`
//! are left out in favour of the digits they are mistaken for (`8`, `5`, `2`), so
//! [`normalize_human_key`] maps a typed `B`, `S`, `Z` back to `8`, `5`, `2`.
//! A style must give at least [`MIN_ENTROPY_BITS`] random bits (21 characters or
//! more; each carries log2(28) ≈ 4.81 bits).

use crate::error::FormatError;

/// The characters of [`HumanKeyStyle::Segmented`] keys.
pub const HUMAN_ALPHABET: &str = "23456789ACDEFGHJKMNPQRTUVWXY";

/// The least entropy a key style may have, in bits.
pub const MIN_ENTROPY_BITS: f64 = 100.0;

/// Longest prefix and longest key body a [`HumanKeyStyle::Segmented`] style may have.
const MAX_PREFIX: usize = 16;
const MAX_CHARS: usize = 256;

/// How a human-typable key looks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HumanKeyStyle {
    /// Keygen's format: `XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXXX-V3`, uppercase hex.
    Keygen,
    /// `PREFIX-` (optional) then `groups` groups of `group_len` characters of
    /// [`HUMAN_ALPHABET`], joined by `-`.
    Segmented {
        /// Up to 16 characters of `A`–`Z` and `0`–`9`, e.g. a product code.
        prefix: Option<String>,
        /// Number of random groups.
        groups: u8,
        /// Characters per group.
        group_len: u8,
    },
}

impl HumanKeyStyle {
    /// Random bits in a key of this style.
    pub fn entropy_bits(&self) -> f64 {
        match self {
            HumanKeyStyle::Keygen => 120.0,
            HumanKeyStyle::Segmented {
                groups, group_len, ..
            } => {
                let chars = f64::from(*groups) * f64::from(*group_len);
                chars * (HUMAN_ALPHABET.len() as f64).log2()
            }
        }
    }

    /// Checks the style: a prefix of `A`–`Z`, `0`–`9` (at most 16), at least one
    /// group of at least one character, at most 256 characters, and at least
    /// [`MIN_ENTROPY_BITS`]. Error [`FormatError::KeyStyle`] saying which rule.
    pub fn validate(&self) -> Result<(), FormatError> {
        let HumanKeyStyle::Segmented {
            prefix,
            groups,
            group_len,
        } = self
        else {
            return Ok(());
        };
        if let Some(prefix) = prefix {
            if prefix.is_empty()
                || prefix.len() > MAX_PREFIX
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(FormatError::KeyStyle(format!(
                    "the prefix must be 1 to {MAX_PREFIX} characters of A-Z and 0-9"
                )));
            }
        }
        if *groups == 0 || *group_len == 0 {
            return Err(FormatError::KeyStyle(
                "groups and group length must be at least 1".into(),
            ));
        }
        if usize::from(*groups) * usize::from(*group_len) > MAX_CHARS {
            return Err(FormatError::KeyStyle(format!(
                "at most {MAX_CHARS} random characters"
            )));
        }
        let bits = self.entropy_bits();
        if bits < MIN_ENTROPY_BITS {
            return Err(FormatError::KeyStyle(format!(
                "{groups} groups of {group_len} characters give {bits:.1} bits of entropy; \
                 at least {MIN_ENTROPY_BITS} are required (21 characters or more)"
            )));
        }
        Ok(())
    }
}

/// A new random key of `style`. Error [`FormatError::KeyStyle`] when the style is
/// invalid or too weak (see [`HumanKeyStyle::validate`]).
#[cfg(feature = "sign")]
pub fn human_key(
    style: &HumanKeyStyle,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<String, FormatError> {
    style.validate()?;
    match style {
        HumanKeyStyle::Keygen => {
            let mut raw = [0u8; 15];
            rng.fill_bytes(&mut raw);
            let hex = hex::encode_upper(raw);
            let mut out = String::with_capacity(37);
            for group in hex.as_bytes().chunks(6) {
                // Hex digits are ASCII.
                out.push_str(&String::from_utf8_lossy(group));
                out.push('-');
            }
            out.push_str("V3");
            Ok(out)
        }
        HumanKeyStyle::Segmented {
            prefix,
            groups,
            group_len,
        } => {
            let alphabet = HUMAN_ALPHABET.as_bytes();
            // Rejection sampling: 252 = 9 × 28, so every character is equally likely.
            let limit = (256 / alphabet.len() * alphabet.len()) as u8;
            let mut next_char = || loop {
                let mut b = [0u8; 1];
                rng.fill_bytes(&mut b);
                if b[0] < limit {
                    return char::from(alphabet[usize::from(b[0]) % alphabet.len()]);
                }
            };
            let mut parts: Vec<String> = prefix.iter().cloned().collect();
            for _ in 0..*groups {
                parts.push((0..*group_len).map(|_| next_char()).collect());
            }
            Ok(parts.join("-"))
        }
    }
}

/// The form of a typed key to compare and look up: uppercase, whitespace removed,
/// dash-like characters made `-`. Keygen-style keys (hex groups ending in `V3`) get
/// `O` → `0` and `I`, `L` → `1`; anything else gets `B` → `8`, `S` → `5`, `Z` → `2`
/// (the letters [`HUMAN_ALPHABET`] leaves out for those digits). Normalize both the
/// stored key and the typed one: the result is for comparison, not for display.
pub fn normalize_human_key(text: &str) -> String {
    let base: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '_' => '-',
            c => c,
        })
        .flat_map(char::to_uppercase)
        .collect();
    let keygen: String = base
        .chars()
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    if is_keygen_style(&keygen) {
        return keygen;
    }
    base.chars()
        .map(|c| match c {
            'B' => '8',
            'S' => '5',
            'Z' => '2',
            c => c,
        })
        .collect()
}

/// `XXXXXX-XXXXXX-XXXXXX-XXXXXX-XXXXXX-V3` with uppercase hex digits.
fn is_keygen_style(text: &str) -> bool {
    let Some(body) = text.strip_suffix("-V3") else {
        return false;
    };
    let groups: Vec<&str> = body.split('-').collect();
    groups.len() == 5
        && groups.iter().all(|g| {
            g.len() == 6
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_no_look_alikes() {
        assert_eq!(HUMAN_ALPHABET.len(), 28);
        for c in "01OILBSZ".chars() {
            assert!(!HUMAN_ALPHABET.contains(c), "{c}");
        }
        let mut sorted: Vec<char> = HUMAN_ALPHABET.chars().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 28);
    }

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize_human_key(" 6dfb15-6597fc-b7dbb6-e34dab-9d77c0-v3\n"),
            "6DFB15-6597FC-B7DBB6-E34DAB-9D77C0-V3"
        );
        // Keygen style: O/I/L read as 0/1; B stays (it is a hex digit).
        assert_eq!(
            normalize_human_key("6DFB15-6597FC-B7DBB6-E34DAB-9D77CO-V3"),
            "6DFB15-6597FC-B7DBB6-E34DAB-9D77C0-V3"
        );
        assert_eq!(
            normalize_human_key("IDFB15\u{2013}6597FC-B7DBB6-E34DAB-9D77C0-V3"),
            "1DFB15-6597FC-B7DBB6-E34DAB-9D77C0-V3"
        );
        // Segmented: B/S/Z read as 8/5/2, spaces and dashes unified.
        assert_eq!(
            normalize_human_key("zp-a3k2p x9m4q_r7t2w"),
            "2P-A3K2PX9M4Q-R7T2W"
        );
        assert_eq!(
            normalize_human_key("ab5-s8z2"),
            normalize_human_key("A85-5822")
        );
        assert_eq!(normalize_human_key("ß"), "SS".replace('S', "5"));
    }

    #[test]
    fn style_rules() {
        let seg = |prefix: Option<&str>, groups, group_len| HumanKeyStyle::Segmented {
            prefix: prefix.map(str::to_owned),
            groups,
            group_len,
        };
        assert!(HumanKeyStyle::Keygen.validate().is_ok());
        assert!(seg(None, 3, 7).validate().is_ok()); // 21 chars: 100.9 bits
        assert!(seg(None, 4, 5).validate().is_err()); // 20 chars: 96.1 bits
        assert!(seg(Some("ZP"), 5, 5).validate().is_ok());
        for bad in [
            seg(Some(""), 5, 5),
            seg(Some("zp"), 5, 5),
            seg(Some("Z-P"), 5, 5),
            seg(Some("ABCDEFGHIJKLMNOPQ"), 5, 5),
            seg(None, 0, 30),
            seg(None, 30, 0),
            seg(None, 255, 255),
        ] {
            assert!(
                matches!(bad.validate(), Err(FormatError::KeyStyle(_))),
                "{bad:?}"
            );
        }
        let err = seg(None, 4, 5).validate().unwrap_err().to_string();
        assert!(err.contains("96.1 bits") && err.contains("100"), "{err}");
    }
}
