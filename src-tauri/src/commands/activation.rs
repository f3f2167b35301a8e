//! Machines: offline activation from a request file, by hand, machine files,
//! deactivation and transfer, and what a license check would answer.

use jiff::Timestamp;
use keywright_core::{
    ActivateMachine, ActivationPreview, ExportMachineFile, ExportedFile, Machine,
    SimulateValidation, SimulatedValidation, TransferMachine,
};
use tauri::State;

use crate::state::{Desk, Reply};

#[tauri::command(async)]
pub fn preview_activation(desk: State<'_, Desk>, text: String) -> Reply<ActivationPreview> {
    desk.with(|kw| kw.preview_activation(&text, Timestamp::now()))
}

#[tauri::command(async)]
pub fn activate_from_request(desk: State<'_, Desk>, text: String) -> Reply<Machine> {
    desk.with(|kw| kw.activate_from_request(&text, Timestamp::now()))
}

#[tauri::command(async)]
pub fn activate_machine(desk: State<'_, Desk>, input: ActivateMachine) -> Reply<Machine> {
    desk.with(|kw| kw.activate_machine(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn export_machine_file(desk: State<'_, Desk>, input: ExportMachineFile) -> Reply<ExportedFile> {
    desk.with(|kw| kw.export_machine_file(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn deactivate_machine(desk: State<'_, Desk>, machine_id: String) -> Reply<Machine> {
    desk.with(|kw| kw.deactivate_machine(&machine_id, Timestamp::now()))
}

#[tauri::command(async)]
pub fn transfer_machine(desk: State<'_, Desk>, input: TransferMachine) -> Reply<Machine> {
    desk.with(|kw| kw.transfer_machine(&input, Timestamp::now()))
}

#[tauri::command(async)]
pub fn list_machines(desk: State<'_, Desk>, license_id: String) -> Reply<Vec<Machine>> {
    desk.with(|kw| kw.list_machines(&license_id, Timestamp::now()))
}

#[tauri::command(async)]
pub fn import_deactivation_receipt(desk: State<'_, Desk>, text: String) -> Reply<Machine> {
    desk.with(|kw| kw.import_deactivation_receipt(&text, Timestamp::now()))
}

#[tauri::command(async)]
pub fn simulate_validation(
    desk: State<'_, Desk>,
    input: SimulateValidation,
) -> Reply<SimulatedValidation> {
    desk.with(|kw| kw.simulate_validation(&input))
}
