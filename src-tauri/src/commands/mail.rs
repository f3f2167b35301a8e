//! Email (issue 19): the SMTP account (the password goes to the keychain and never
//! comes back), templates and their preview, sending a license or writing its `.eml`
//! draft (opened in the system's mail client), and sending a batch's orders on a
//! connection of its own with progress and Cancel.

use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use keywright_core::mail::{
    LicenseEmailDraft, MailAccountView, MailBatchOutcome, MailBatchProgress, MailPreview,
    MailTemplate, RetryPolicy, SendLicenseEmail, SentEmail, SetMailAccount,
};
use keywright_core::{CommandError, Error, ErrorCode, ExportedFile};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::state::{Desk, Reply};

/// The batch send running now: its Cancel flag, and whether one runs.
#[derive(Default)]
pub struct MailBatch {
    cancel: AtomicBool,
    running: AtomicBool,
}

#[tauri::command(async)]
pub fn mail_account(desk: State<'_, Desk>) -> Reply<MailAccountView> {
    desk.with(|kw| kw.mail_account())
}

#[tauri::command(async)]
pub fn set_mail_account(desk: State<'_, Desk>, input: SetMailAccount) -> Reply<MailAccountView> {
    desk.with(|kw| {
        kw.set_mail_account(&input, Timestamp::now())?;
        kw.mail_account()
    })
}

#[tauri::command(async)]
pub fn remove_mail_account(desk: State<'_, Desk>) -> Reply<MailAccountView> {
    desk.with(|kw| {
        kw.remove_mail_account(Timestamp::now())?;
        kw.mail_account()
    })
}

#[tauri::command(async)]
pub fn send_test_email(desk: State<'_, Desk>, to: Option<String>) -> Reply<String> {
    desk.with(|kw| kw.send_test_email(to.as_deref(), Timestamp::now()))
}

#[tauri::command(async)]
pub fn mail_template(desk: State<'_, Desk>, product_id: String) -> Reply<MailTemplate> {
    desk.with(|kw| kw.mail_template(&product_id))
}

#[tauri::command(async)]
pub fn set_mail_template(
    desk: State<'_, Desk>,
    product_id: String,
    template: Option<MailTemplate>,
) -> Reply<MailTemplate> {
    desk.with(|kw| {
        kw.set_mail_template(&product_id, template.as_ref(), Timestamp::now())?;
        kw.mail_template(&product_id)
    })
}

#[tauri::command(async)]
pub fn preview_mail(
    desk: State<'_, Desk>,
    template: MailTemplate,
    license_id: Option<String>,
) -> Reply<MailPreview> {
    desk.with(|kw| kw.preview_mail(&template, license_id.as_deref()))
}

#[tauri::command(async)]
pub fn send_license_email(desk: State<'_, Desk>, input: SendLicenseEmail) -> Reply<SentEmail> {
    desk.with(|kw| kw.send_license_email(&input, Timestamp::now()))
}

/// Writes the license's `.eml` draft and opens it in the system's mail client.
#[tauri::command(async)]
pub fn open_license_email_draft(
    app: AppHandle,
    desk: State<'_, Desk>,
    input: LicenseEmailDraft,
) -> Reply<ExportedFile> {
    if !input.path.trim().to_ascii_lowercase().ends_with(".eml") {
        return Err(Error::bad_input("a draft is saved as an .eml file").into());
    }
    let written = desk.with(|kw| kw.write_license_email_draft(&input, Timestamp::now()))?;
    app.opener()
        .open_path(written.path.clone(), None::<&str>)
        .map_err(|e| {
            CommandError::from(Error::new(
                ErrorCode::Io,
                format!(
                    "the draft is saved ({}) but no mail client opened it: {e}",
                    written.path
                ),
            ))
        })?;
    Ok(written)
}

/// Sends every order of a batch CSV its message, on a connection of its own.
#[tauri::command(async)]
pub fn batch_send_emails(
    desk: State<'_, Desk>,
    batch: State<'_, MailBatch>,
    path: String,
    on_progress: Channel<MailBatchProgress>,
) -> Reply<MailBatchOutcome> {
    let csv = std::fs::read(&path).map_err(|e| {
        CommandError::from(Error::new(
            ErrorCode::Io,
            format!("cannot read the CSV {path}: {e}"),
        ))
    })?;
    if batch
        .running
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err(Error::conflict("a batch is already being sent").into());
    }
    batch.cancel.store(false, Ordering::SeqCst);
    let result = desk.job(|kw| {
        kw.send_batch_emails(
            &csv,
            &RetryPolicy::default(),
            Timestamp::now(),
            &batch.cancel,
            &mut |p| {
                // A closed window only stops the bar, not the sending.
                let _ = on_progress.send(p.clone());
            },
        )
    });
    batch.running.store(false, Ordering::SeqCst);
    result
}

/// The running batch send stops after the order it is sending.
#[tauri::command(async)]
pub fn batch_send_cancel(batch: State<'_, MailBatch>) {
    batch.cancel.store(true, Ordering::SeqCst);
}
