//! The UI's TypeScript types are generated from these Rust types and committed as
//! `ui/src/bindings.ts`. This test fails when the two drift apart; regenerate with
//! `UPDATE_BINDINGS=1 cargo test -p keywright-core --test bindings`.

use keywright_core::audit::{AuditEntry, AuditEvent, AuditQuery, AuditVerification, SubjectNames};
use keywright_core::*;
use ts_rs::TS;

fn generated() -> String {
    let decls = [
        ErrorCode::decl(),
        CommandError::decl(),
        StoreInfo::decl(),
        keywright_core::store::StoreCopied::decl(),
        keywright_core::store::TableRows::decl(),
        KeyAlgorithm::decl(),
        KeyStatus::decl(),
        SigningKey::decl(),
        NewSigningKey::decl(),
        Product::decl(),
        NewProduct::decl(),
        Scheme::decl(),
        HeartbeatCullStrategy::decl(),
        HeartbeatResurrectionStrategy::decl(),
        HeartbeatBasis::decl(),
        Policy::decl(),
        NewPolicy::decl(),
        SetPolicyHeartbeat::decl(),
        KeyTemplatePreview::decl(),
        LicenseStatus::decl(),
        License::decl(),
        RenewLicense::decl(),
        LicenseSort::decl(),
        LicenseQuery::decl(),
        LicensePage::decl(),
        IssueLicense::decl(),
        ExportLicenseFile::decl(),
        ExportedFile::decl(),
        AuditEvent::decl(),
        SubjectNames::decl(),
        AuditEntry::decl(),
        AuditQuery::decl(),
        AuditVerification::decl(),
        audit::anchor::AnchorState::decl(),
        audit::anchor::AuditStatus::decl(),
        clock::ClockRow::decl(),
        clock::ClockAccepted::decl(),
        ProductSummary::decl(),
        DayCount::decl(),
        Attention::decl(),
        RetiringKey::decl(),
        Dashboard::decl(),
        CustomerQuery::decl(),
        CustomerSummary::decl(),
        MachineStatus::decl(),
        HeartbeatStatus::decl(),
        Machine::decl(),
        ActivationRequestInfo::decl(),
        ActivationPreview::decl(),
        ActivateMachine::decl(),
        ExportMachineFile::decl(),
        TransferMachine::decl(),
        SimulateValidation::decl(),
        SimulatedValidation::decl(),
        Settings::decl(),
        SettingsView::decl(),
        applock::AppLockState::decl(),
        online::ServerEvent::decl(),
        online::ServerStatus::decl(),
        BackupCreated::decl(),
        BackupRestored::decl(),
        batch::BatchRow::decl(),
        batch::BatchPreview::decl(),
        batch::BatchOptions::decl(),
        batch::BatchProgress::decl(),
        batch::BatchIssued::decl(),
        batch::BatchOutcome::decl(),
        ExpirationStrategy::decl(),
        LicenseEntitlements::decl(),
        SetLicenseEntitlements::decl(),
        mail::MailSecurity::decl(),
        mail::MailAccount::decl(),
        mail::SetMailAccount::decl(),
        mail::MailAccountView::decl(),
        mail::MailTemplate::decl(),
        mail::MailPreview::decl(),
        mail::SendLicenseEmail::decl(),
        mail::LicenseEmailDraft::decl(),
        mail::SentEmail::decl(),
        mail::MailSendStatus::decl(),
        mail::MailSendResult::decl(),
        mail::MailBatchProgress::decl(),
        mail::MailBatchOutcome::decl(),
        AvailableUpdate::decl(),
        UpdateCheck::decl(),
        UpdateProgress::decl(),
    ];
    let mut out = String::from(
        "// Generated from keywright-core's types by ts-rs. Do not edit: change the Rust types and run\n\
         // UPDATE_BINDINGS=1 cargo test -p keywright-core --test bindings\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/bindings.ts");
    let want = generated();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/bindings.ts is out of date with the Rust types; run \
         UPDATE_BINDINGS=1 cargo test -p keywright-core --test bindings"
    );
}
