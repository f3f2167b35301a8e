//! RSA-2048 operations beyond what the `rsa` crate's verifiers do: PSS verification
//! with any salt length (Keygen signs with the maximum, 222 bytes, while `rsa` only
//! checks one given length) and the public-key "decrypt" of PKCS#1 v1.5 type-1
//! blocks (`RSA_2048_PKCS1_ENCRYPT`). Both use only the raw public operation
//! `s^e mod n` and then check the padding exactly as RFC 8017 specifies.

use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::error::FormatError;

/// RSA modulus size of every Keygen RSA scheme.
pub(crate) const RSA_BITS: usize = 2048;
/// RSA-2048 signature (and modulus) length in bytes.
pub(crate) const RSA_LEN: usize = RSA_BITS / 8;

const H_LEN: usize = 32;

/// `sig^e mod n`, left-padded to the modulus length. The signature must be exactly
/// as long as the modulus and smaller than it (RFC 8017 RSAVP1).
fn public_op(key: &RsaPublicKey, sig: &[u8]) -> Result<Vec<u8>, FormatError> {
    let k = key.size();
    if k != RSA_LEN || sig.len() != k {
        return Err(FormatError::SignatureInvalid);
    }
    let s = BigUint::from_bytes_be(sig);
    if &s >= key.n() {
        return Err(FormatError::SignatureInvalid);
    }
    let m = rsa::hazmat::rsa_encrypt(key, &s).map_err(|_| FormatError::SignatureInvalid)?;
    let bytes = m.to_bytes_be();
    if bytes.len() > k {
        return Err(FormatError::SignatureInvalid);
    }
    let mut em = vec![0u8; k - bytes.len()];
    em.extend_from_slice(&bytes);
    Ok(em)
}

/// MGF1 with SHA-256, XORed into `out`.
fn mgf1_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in out.chunks_mut(H_LEN).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        // At most 256 bytes of mask: the counter fits easily.
        h.update((counter as u32).to_be_bytes());
        let mask = h.finalize();
        for (o, m) in chunk.iter_mut().zip(mask.iter()) {
            *o ^= m;
        }
    }
}

/// RSASSA-PSS-VERIFY (SHA-256, MGF1-SHA-256) accepting any salt length: the salt
/// length is read from the position of the 0x01 separator (OpenSSL's "auto").
pub(crate) fn verify_pss(
    key: &RsaPublicKey,
    message: &[u8],
    sig: &[u8],
) -> Result<(), FormatError> {
    let em_full = public_op(key, sig)?;
    let mod_bits = key.n().bits();
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    // For 2048-bit keys em_len == k, so nothing is skipped; kept general.
    let (lead, em) = em_full.split_at(em_full.len() - em_len);
    if lead.iter().any(|&b| b != 0) || em_len < H_LEN + 2 || em[em_len - 1] != 0xbc {
        return Err(FormatError::SignatureInvalid);
    }
    let (masked_db, rest) = em.split_at(em_len - H_LEN - 1);
    let h = &rest[..H_LEN];
    let unused_bits = 8 * em_len - em_bits;
    if masked_db[0] & !(0xffu8 >> unused_bits) != 0 {
        return Err(FormatError::SignatureInvalid);
    }
    let mut db = masked_db.to_vec();
    mgf1_xor(&mut db, h);
    db[0] &= 0xff >> unused_bits;
    let sep = db
        .iter()
        .position(|&b| b != 0)
        .ok_or(FormatError::SignatureInvalid)?;
    if db[sep] != 0x01 {
        return Err(FormatError::SignatureInvalid);
    }
    let salt = &db[sep + 1..];
    let m_hash = Sha256::digest(message);
    let mut hasher = Sha256::new();
    hasher.update([0u8; 8]);
    hasher.update(m_hash);
    hasher.update(salt);
    if hasher.finalize()[..] == *h {
        Ok(())
    } else {
        Err(FormatError::SignatureInvalid)
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256.
pub(crate) fn verify_pkcs1(
    key: &RsaPublicKey,
    message: &[u8],
    sig: &[u8],
) -> Result<(), FormatError> {
    if key.size() != RSA_LEN || sig.len() != RSA_LEN {
        return Err(FormatError::SignatureInvalid);
    }
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), sig)
        .map_err(|_| FormatError::SignatureInvalid)
}

/// Recovers the data of a PKCS#1 v1.5 type-1 block "encrypted" with the private key:
/// `00 01 FF…FF 00 data`, at least 8 bytes of `FF`.
pub(crate) fn public_decrypt_type1(key: &RsaPublicKey, sig: &[u8]) -> Result<Vec<u8>, FormatError> {
    let em = public_op(key, sig)?;
    if em[0] != 0x00 || em[1] != 0x01 {
        return Err(FormatError::SignatureInvalid);
    }
    let body = &em[2..];
    let sep = body
        .iter()
        .position(|&b| b != 0xff)
        .ok_or(FormatError::SignatureInvalid)?;
    if sep < 8 || body[sep] != 0x00 {
        return Err(FormatError::SignatureInvalid);
    }
    Ok(body[sep + 1..].to_vec())
}

#[cfg(feature = "sign")]
pub(crate) use signing::*;

#[cfg(feature = "sign")]
mod signing {
    use rsa::traits::PublicKeyParts as _;
    use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
    use sha2::{Digest, Sha256};

    use super::H_LEN;
    use crate::error::FormatError;

    fn failed(_: rsa::Error) -> FormatError {
        FormatError::BadSigningKey("RSA signing failed")
    }

    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, maximum salt length (222 bytes at 2048 bits),
    /// with blinding.
    pub(crate) fn sign_pss(
        key: &RsaPrivateKey,
        message: &[u8],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Vec<u8>, FormatError> {
        let em_len = (key.n().bits() - 1).div_ceil(8);
        let salt = em_len - H_LEN - 2;
        key.sign_with_rng(
            rng,
            Pss::new_with_salt::<Sha256>(salt),
            &Sha256::digest(message),
        )
        .map_err(failed)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256, with blinding.
    pub(crate) fn sign_pkcs1(
        key: &RsaPrivateKey,
        message: &[u8],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Vec<u8>, FormatError> {
        key.sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
            .map_err(failed)
    }

    /// PKCS#1 v1.5 type-1 private-key "encryption" of `data` (no DigestInfo), what
    /// OpenSSL's `RSA_private_encrypt` does and Keygen's `RSA_2048_PKCS1_ENCRYPT` uses.
    pub(crate) fn private_encrypt_type1(
        key: &RsaPrivateKey,
        data: &[u8],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Vec<u8>, FormatError> {
        key.sign_with_rng(rng, Pkcs1v15Sign::new_unprefixed(), data)
            .map_err(failed)
    }
}
