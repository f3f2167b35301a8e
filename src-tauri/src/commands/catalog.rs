//! Products and their policies.

use jiff::Timestamp;
use keywright_core::{KeyTemplatePreview, NewPolicy, NewProduct, Policy, Product};
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn list_products(desk: State<'_, Desk>) -> Reply<Vec<Product>> {
    desk.with(|kw| kw.list_products())
}

#[tauri::command(async)]
pub fn create_product(desk: State<'_, Desk>, input: NewProduct) -> Reply<Product> {
    desk.with(|kw| kw.create_product(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn list_policies(desk: State<'_, Desk>) -> Reply<Vec<Policy>> {
    desk.with(|kw| kw.list_policies())
}

#[tauri::command(async)]
pub fn create_policy(desk: State<'_, Desk>, input: NewPolicy) -> Reply<Policy> {
    desk.with(|kw| kw.create_policy(&input, Timestamp::now()))
}

/// What a policy draft's keys would embed for a sample license (its key template
/// rendered, or Keygen's default dataset; a sample key when unsigned). Signs nothing.
#[tauri::command(async)]
pub fn preview_key_template(desk: State<'_, Desk>, input: NewPolicy) -> Reply<KeyTemplatePreview> {
    desk.with(|kw| kw.preview_key_template(&input, Timestamp::now()))
}
