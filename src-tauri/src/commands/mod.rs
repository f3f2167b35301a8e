//! The commands the window calls, one module per domain. Each is a few lines over
//! keywright-core through the managed state ([`crate::state`]); none returns private
//! key material (the core's types cannot hold it).

pub mod activation;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod catalog;
pub mod customers;
pub mod keys;
pub mod licenses;
pub mod mail;
pub mod server;
pub mod settings;
pub mod updates;
