//! One module per subcommand: its clap enum (or arguments), what it saves and whether
//! it writes the store (for `main`'s checks), and its `run`, which calls keywright-core
//! and turns the answer into an [`Output`](crate::output::Output).

pub(crate) mod activation;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod batch;
pub(crate) mod deactivation;
pub(crate) mod key;
pub(crate) mod license;
pub(crate) mod machine;
pub(crate) mod mail;
pub(crate) mod policy;
pub(crate) mod product;
pub(crate) mod server;
pub(crate) mod store;
pub(crate) mod verify;

/// 16 bytes from the OS random number generator, for activation requests and
/// deactivation receipts.
fn nonce() -> [u8; 16] {
    use rand_core::RngCore as _;
    let mut nonce = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut nonce);
    nonce
}
