//! The dashboard and the customer list.

use jiff::Timestamp;
use keywright_core::{CustomerQuery, CustomerSummary, Dashboard};
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn dashboard(desk: State<'_, Desk>) -> Reply<Dashboard> {
    desk.with(|kw| kw.dashboard(Timestamp::now()))
}

#[tauri::command(async)]
pub fn list_customers(desk: State<'_, Desk>, query: CustomerQuery) -> Reply<Vec<CustomerSummary>> {
    desk.with(|kw| kw.list_customers(&query))
}
