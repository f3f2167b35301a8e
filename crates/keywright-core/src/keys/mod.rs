//! Keys: the signing keys (public half in the store, private half in the vault), the
//! OS keychain itself, and the app lock that guards signing.
//!
//! - `model`: [`SigningKey`], [`KeyAlgorithm`], [`KeyStatus`], [`NewSigningKey`].
//! - `signing_keys`: create, retire, find, and [`Keywright::signer`](crate::Keywright),
//!   the one place a private key is read for signing (clock rule, app lock, the key
//!   on record checked against the keychain's).
//! - [`vault`]: the keychain ([`Keychain`](vault::Keychain)) and a memory vault for tests.
//! - [`applock`]: the lock passphrase's hash in the keychain, and the gate the signer asks.
//! - [`bundle`]: key bundles, the encrypted key source of a server without a keychain.
//! - `sql`: table `signing_keys`.

pub mod applock;
pub mod bundle;
mod model;
mod signing_keys;
pub(crate) mod sql;
pub mod vault;

pub use model::{KeyAlgorithm, KeyStatus, NewSigningKey, SigningKey};
pub(crate) use signing_keys::stored_public;
