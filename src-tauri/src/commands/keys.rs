//! Signing keys, and which one signs for a product.

use jiff::Timestamp;
use keywright_core::{NewSigningKey, Product, SigningKey};
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn list_signing_keys(desk: State<'_, Desk>) -> Reply<Vec<SigningKey>> {
    desk.with(|kw| kw.list_signing_keys())
}

#[tauri::command(async)]
pub fn create_signing_key(desk: State<'_, Desk>, input: NewSigningKey) -> Reply<SigningKey> {
    desk.with(|kw| kw.create_signing_key(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn retire_signing_key(desk: State<'_, Desk>, key_id: String) -> Reply<SigningKey> {
    desk.with(|kw| kw.retire_signing_key(&key_id, Timestamp::now()))
}

/// Schedules (`retire_at` a date or RFC 3339) or cancels (None) a key's retirement.
#[tauri::command(async)]
pub fn schedule_key_retirement(
    desk: State<'_, Desk>,
    key_id: String,
    retire_at: Option<String>,
) -> Reply<SigningKey> {
    desk.with(|kw| kw.schedule_key_retirement(&key_id, retire_at.as_deref(), Timestamp::now()))
}

#[tauri::command(async)]
pub fn set_product_signing_key(
    desk: State<'_, Desk>,
    product_id: String,
    signing_key_id: String,
) -> Reply<Product> {
    desk.with(|kw| kw.set_product_signing_key(&product_id, &signing_key_id, Timestamp::now()))
}
