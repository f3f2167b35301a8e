//! The desktop shell: opens the store, registers the commands, starts the window.
//! The commands live in [`commands`], one module per domain, each a few lines over
//! keywright-core; the state they share (the store, settings, the activation server,
//! the running batch) in [`state`].

pub mod commands;
mod startup;
pub mod state;
pub mod updates;

use tauri::Manager;

use commands::{
    activation, audit, backup, batch, catalog, customers, keys, licenses, mail, server, settings,
    updates as update_commands,
};
pub use state::{Batch, Desk, Server};

/// Whether the machine has a GPU render node (`/dev/dri/renderD*`).
#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Builds and runs the app.
pub fn run() {
    startup::mark_start();
    // WebKitGTK's DMA-BUF renderer, on a machine without a GPU render node (a VM, a
    // remote desktop, Xvfb), draws into software buffers that made its web process
    // 191 MB instead of 113 (PSS, docs/benchmarks.md); shared memory is plenty for
    // this window's forms and tables. With a GPU, WebKit's default stays. An explicit
    // WEBKIT_DISABLE_DMABUF_RENDERER (0 or 1) always wins.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() && !has_render_node() {
        // Before GTK starts, while this is the only thread.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let opening = std::time::Instant::now();
    let desk = Desk::open_default();
    startup::mark("store_open", opening);
    tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(
            tauri_plugin_log::Builder::new()
                // KEYWRIGHT_LOG=debug|trace for more (the end-to-end test runs at trace
                // and searches the log for the private key).
                .level(
                    std::env::var("KEYWRIGHT_LOG")
                        .ok()
                        .and_then(|level| level.parse().ok())
                        .unwrap_or(log::LevelFilter::Info),
                )
                .target(tauri_plugin_log::Target::new(
                    tauri_plugin_log::TargetKind::LogDir { file_name: None },
                ))
                .max_file_size(1_000_000)
                .rotation_strategy(tauri_plugin_log::RotationStrategy::KeepOne)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        // Its public key and the release's latest.json are in tauri.conf.json.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(desk)
        .manage(updates::PendingUpdate::default())
        .manage(Server::default())
        .manage(Batch::default())
        .manage(mail::MailBatch::default())
        .invoke_handler(tauri::generate_handler![
            keys::list_signing_keys,
            keys::create_signing_key,
            keys::retire_signing_key,
            keys::schedule_key_retirement,
            keys::set_product_signing_key,
            catalog::list_products,
            catalog::create_product,
            catalog::list_policies,
            catalog::create_policy,
            catalog::preview_key_template,
            licenses::list_licenses,
            licenses::issue_license,
            licenses::export_license_file,
            licenses::search_licenses,
            licenses::suspend_license,
            licenses::reinstate_license,
            licenses::revoke_license,
            licenses::renew_license,
            licenses::license_entitlements,
            licenses::set_license_entitlements,
            licenses::export_licenses_csv,
            audit::list_audit,
            audit::list_audit_entries,
            audit::audit_actors,
            audit::export_audit_csv,
            audit::verify_audit,
            audit::accept_clock,
            customers::dashboard,
            customers::list_customers,
            activation::preview_activation,
            activation::activate_from_request,
            activation::activate_machine,
            activation::export_machine_file,
            activation::deactivate_machine,
            activation::transfer_machine,
            activation::list_machines,
            activation::import_deactivation_receipt,
            activation::simulate_validation,
            settings::store_info,
            settings::get_settings,
            settings::save_settings,
            settings::open_store,
            settings::copy_store,
            settings::app_lock_state,
            settings::set_app_lock,
            settings::remove_app_lock,
            settings::unlock_app,
            settings::lock_app,
            server::server_status,
            server::server_start,
            server::server_stop,
            server::server_events,
            backup::create_backup,
            backup::check_backup_passphrase,
            backup::restore_backup,
            batch::batch_preview,
            batch::batch_issue,
            batch::batch_cancel,
            mail::mail_account,
            mail::set_mail_account,
            mail::remove_mail_account,
            mail::send_test_email,
            mail::mail_template,
            mail::set_mail_template,
            mail::preview_mail,
            mail::send_license_email,
            mail::open_license_email_draft,
            mail::batch_send_emails,
            mail::batch_send_cancel,
            startup::ui_ready,
            update_commands::check_for_update,
            update_commands::startup_update_check,
            update_commands::set_update_check,
            update_commands::install_update,
            update_commands::restart_app,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Keywright");
}
