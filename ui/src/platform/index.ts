// The only module that talks to Tauri. Everything else imports from here, and
// component tests replace this module with vi.mock('…/platform').
import { Channel, invoke, type InvokeArgs } from '@tauri-apps/api/core';
import { open, save } from '@tauri-apps/plugin-dialog';
import { writeText } from '@tauri-apps/plugin-clipboard-manager';
import type {
  ActivateMachine,
  BackupCreated,
  BackupRestored,
  ActivationPreview,
  AppLockState,
  AuditEntry,
  AuditEvent,
  AuditQuery,
  AuditVerification,
  BatchOptions,
  BatchOutcome,
  BatchPreview,
  BatchProgress,
  ClockAccepted,
  CustomerQuery,
  CustomerSummary,
  Dashboard,
  ExportedFile,
  ExportLicenseFile,
  IssueLicense,
  KeyTemplatePreview,
  License,
  LicenseEntitlements,
  SetLicenseEntitlements,
  LicensePage,
  LicenseQuery,
  Machine,
  NewPolicy,
  NewProduct,
  NewSigningKey,
  Policy,
  Product,
  RenewLicense,
  ServerEvent,
  ServerStatus,
  Settings,
  SettingsView,
  SigningKey,
  SimulatedValidation,
  SimulateValidation,
  StoreCopied,
  StoreInfo,
  TableRows,
  ExportMachineFile,
  TransferMachine,
  LicenseEmailDraft,
  MailAccountView,
  MailBatchOutcome,
  MailBatchProgress,
  MailPreview,
  MailTemplate,
  SendLicenseEmail,
  SentEmail,
  SetMailAccount,
  UpdateCheck,
  UpdateProgress,
} from '../bindings';
import { toAppError } from './errors';

export { AppError, toAppError, isCommandError, isErrorCode, ERROR_CODES, GENERIC_MESSAGE } from './errors';

async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw toAppError(err);
  }
}

export function storeInfo(): Promise<StoreInfo> {
  return call<StoreInfo>('store_info');
}

export function listSigningKeys(): Promise<SigningKey[]> {
  return call<SigningKey[]>('list_signing_keys');
}

export function createSigningKey(input: NewSigningKey): Promise<SigningKey> {
  return call<SigningKey>('create_signing_key', { input });
}

export function retireSigningKey(keyId: string): Promise<SigningKey> {
  return call<SigningKey>('retire_signing_key', { keyId });
}

/** Schedules a key's retirement (`retireAt`: a date or RFC 3339), or cancels it (null). */
export function scheduleKeyRetirement(keyId: string, retireAt: string | null): Promise<SigningKey> {
  return call<SigningKey>('schedule_key_retirement', { keyId, retireAt });
}

export function setProductSigningKey(productId: string, signingKeyId: string): Promise<Product> {
  return call<Product>('set_product_signing_key', { productId, signingKeyId });
}

export function listProducts(): Promise<Product[]> {
  return call<Product[]>('list_products');
}

export function createProduct(input: NewProduct): Promise<Product> {
  return call<Product>('create_product', { input });
}

export function listPolicies(): Promise<Policy[]> {
  return call<Policy[]>('list_policies');
}

export function createPolicy(input: NewPolicy): Promise<Policy> {
  return call<Policy>('create_policy', { input });
}

/** What a policy draft's keys would embed for a sample license; signs nothing. */
export function previewKeyTemplate(input: NewPolicy): Promise<KeyTemplatePreview> {
  return call<KeyTemplatePreview>('preview_key_template', { input });
}

/**
 * Tells the shell the first screen is on display. It only logs the startup time, and
 * only when Keywright runs with KEYWRIGHT_TRACE_STARTUP=1 (scripts/bench-app.sh).
 */
export function uiReady(): Promise<void> {
  return call<void>('ui_ready');
}

export function listLicenses(): Promise<License[]> {
  return call<License[]>('list_licenses');
}

export function issueLicense(input: IssueLicense): Promise<License> {
  return call<License>('issue_license', { input });
}

export function exportLicenseFile(input: ExportLicenseFile): Promise<ExportedFile> {
  return call<ExportedFile>('export_license_file', { input });
}

export function searchLicenses(query: LicenseQuery): Promise<LicensePage> {
  return call<LicensePage>('search_licenses', { query });
}

export function suspendLicense(licenseId: string): Promise<License> {
  return call<License>('suspend_license', { licenseId });
}

export function reinstateLicense(licenseId: string): Promise<License> {
  return call<License>('reinstate_license', { licenseId });
}

export function revokeLicense(licenseId: string): Promise<License> {
  return call<License>('revoke_license', { licenseId });
}

export function renewLicense(input: RenewLicense): Promise<License> {
  return call<License>('renew_license', { input });
}

export function listAudit(query: AuditQuery): Promise<AuditEvent[]> {
  return call<AuditEvent[]>('list_audit', { query });
}

export function listAuditEntries(query: AuditQuery): Promise<AuditEntry[]> {
  return call<AuditEntry[]>('list_audit_entries', { query });
}

/** Who has acted in the log (the audit screen's person filter), at most 200 names. */
export function auditActors(): Promise<string[]> {
  return call<string[]>('audit_actors');
}

export function exportAuditCsv(path: string, query: AuditQuery): Promise<ExportedFile> {
  return call<ExportedFile>('export_audit_csv', { path, query });
}

/** Accepts this computer's clock although the audit log has a newer row; audited. */
export function acceptClock(reason: string): Promise<ClockAccepted> {
  return call('accept_clock', { reason });
}

export function verifyAudit(): Promise<AuditVerification> {
  return call<AuditVerification>('verify_audit');
}

export function dashboard(): Promise<Dashboard> {
  return call<Dashboard>('dashboard');
}

export function listCustomers(query: CustomerQuery): Promise<CustomerSummary[]> {
  return call<CustomerSummary[]>('list_customers', { query });
}

/** Reads an activation request (its text) and says who asks and whether activating would work. */
export function previewActivation(text: string): Promise<ActivationPreview> {
  return call<ActivationPreview>('preview_activation', { text });
}

/** Activates the machine an activation request (its text) names. */
export function activateFromRequest(text: string): Promise<Machine> {
  return call<Machine>('activate_from_request', { text });
}

export function activateMachine(input: ActivateMachine): Promise<Machine> {
  return call<Machine>('activate_machine', { input });
}

export function exportMachineFile(input: ExportMachineFile): Promise<ExportedFile> {
  return call<ExportedFile>('export_machine_file', { input });
}

export function deactivateMachine(machineId: string): Promise<Machine> {
  return call<Machine>('deactivate_machine', { machineId });
}

export function transferMachine(input: TransferMachine): Promise<Machine> {
  return call<Machine>('transfer_machine', { input });
}

export function listMachines(licenseId: string): Promise<Machine[]> {
  return call<Machine[]>('list_machines', { licenseId });
}

/** Imports a deactivation receipt (its text); resolves to the machine it freed. */
export function importDeactivationReceipt(text: string): Promise<Machine> {
  return call<Machine>('import_deactivation_receipt', { text });
}

export function simulateValidation(input: SimulateValidation): Promise<SimulatedValidation> {
  return call<SimulatedValidation>('simulate_validation', { input });
}

/** Reads a CSV file (by path) and says row by row what issuing it would do; writes nothing. */
export function previewBatch(path: string): Promise<BatchPreview> {
  return call<BatchPreview>('batch_preview', { path });
}

/** Issues what a CSV orders that the store does not hold yet; reports progress as it goes. */
export function issueBatch(
  path: string,
  options: BatchOptions,
  onProgress: (progress: BatchProgress) => void,
): Promise<BatchOutcome> {
  const channel = new Channel<BatchProgress>();
  channel.onmessage = onProgress;
  return call<BatchOutcome>('batch_issue', { path, options, onProgress: channel });
}

/** Asks the running batch to stop after the chunk it is committing. */
export function cancelBatch(): Promise<void> {
  return call<void>('batch_cancel');
}

/** Writes every license matching the query's filters as CSV. */
export function exportLicensesCsv(query: LicenseQuery, path: string): Promise<ExportedFile> {
  return call<ExportedFile>('export_licenses_csv', { query, path });
}

export function licenseEntitlements(licenseId: string): Promise<LicenseEntitlements> {
  return call<LicenseEntitlements>('license_entitlements', { licenseId });
}

export function setLicenseEntitlements(input: SetLicenseEntitlements): Promise<LicenseEntitlements> {
  return call<LicenseEntitlements>('set_license_entitlements', { input });
}

export type FileFilter = { name: string; extensions: string[] };

/** Opens the native folder picker; resolves to the folder, or null if cancelled. */
export async function openFolderDialog(options: { title?: string }): Promise<string | null> {
  try {
    const chosen = await open({ ...options, multiple: false, directory: true });
    return typeof chosen === 'string' ? chosen : null;
  } catch (err) {
    throw toAppError(err, 'The folder dialog could not be opened.');
  }
}

export type SaveDialogOptions = {
  title?: string;
  defaultPath?: string;
  filters?: FileFilter[];
};

/** Opens the native save dialog; resolves to the chosen path, or null if cancelled. */
export async function saveDialog(options: SaveDialogOptions): Promise<string | null> {
  try {
    return await save(options);
  } catch (err) {
    throw toAppError(err, 'The save dialog could not be opened.');
  }
}

export type OpenDialogOptions = {
  title?: string;
  defaultPath?: string;
  filters?: FileFilter[];
};

/** Opens the native open dialog for one file; resolves to its path, or null if cancelled. */
export async function openDialog(options: OpenDialogOptions): Promise<string | null> {
  try {
    const chosen = await open({ ...options, multiple: false, directory: false });
    return typeof chosen === 'string' ? chosen : null;
  } catch (err) {
    throw toAppError(err, 'The open dialog could not be opened.');
  }
}

/** Writes an encrypted backup of the store and its private keys to `path`. */
export function createBackup(path: string, passphrase: string): Promise<BackupCreated> {
  return call<BackupCreated>('create_backup', { path, passphrase });
}

/** Rejects with WEAK_PASSPHRASE (and a hint) when the passphrase is too easy to guess. */
export function checkBackupPassphrase(passphrase: string): Promise<void> {
  return call<void>('check_backup_passphrase', { passphrase });
}

/** Restores a backup into a new store at `storePath`, its keys into this machine's keychain. */
export function restoreBackup(path: string, passphrase: string, storePath: string): Promise<BackupRestored> {
  return call<BackupRestored>('restore_backup', { path, passphrase, storePath });
}

export async function copyText(text: string): Promise<void> {
  try {
    await writeText(text);
  } catch (err) {
    throw toAppError(err, 'Could not copy to the clipboard.');
  }
}

export function getSettings(): Promise<SettingsView> {
  return call<SettingsView>('get_settings');
}

/** Saves the form defaults (the store location changes only through openStore). */
export function saveSettings(settings: Settings): Promise<SettingsView> {
  return call<SettingsView>('save_settings', { settings });
}

/**
 * Opens or creates the store at `path` (a file, or a `postgres://` URL; null = the
 * default location) and remembers it. A PostgreSQL store's `password` goes to the OS
 * keychain once it connects; null = the one saved for that URL.
 */
export function openStore(path: string | null, password: string | null = null): Promise<StoreInfo> {
  return call<StoreInfo>('open_store', { path, password });
}

/**
 * Copies the open store to `to` (a new file, or an empty PostgreSQL database with its
 * `password`), reporting each table as it is done; the audit log is verified on both sides.
 */
export function copyStore(
  to: string,
  password: string | null,
  onProgress: (table: TableRows) => void,
): Promise<StoreCopied> {
  const channel = new Channel<TableRows>();
  channel.onmessage = onProgress;
  return call<StoreCopied>('copy_store', { to, password, onProgress: channel });
}

/** Reloads the window (after switching stores, every screen starts over). */
export function reloadWindow(): void {
  window.location.reload();
}

export function appLockState(): Promise<AppLockState> {
  return call<AppLockState>('app_lock_state');
}

/** Sets or changes the app lock passphrase; changing needs the current one. */
export function setAppLock(current: string | null, passphrase: string): Promise<AppLockState> {
  return call<AppLockState>('set_app_lock', { current, passphrase });
}

export function removeAppLock(current: string): Promise<AppLockState> {
  return call<AppLockState>('remove_app_lock', { current });
}

export function unlockApp(passphrase: string): Promise<AppLockState> {
  return call<AppLockState>('unlock_app', { passphrase });
}

export function lockApp(): Promise<AppLockState> {
  return call<AppLockState>('lock_app');
}

export function serverStatus(): Promise<ServerStatus> {
  return call<ServerStatus>('server_status');
}

/** Starts the activation server on `listen` (IP:port) over the open store. */
export function serverStart(listen: string): Promise<ServerStatus> {
  return call<ServerStatus>('server_start', { listen });
}

export function serverStop(): Promise<ServerStatus> {
  return call<ServerStatus>('server_stop');
}

/** The newest requests the activation server answered, newest first. */
export function serverEvents(limit: number): Promise<ServerEvent[]> {
  return call<ServerEvent[]>('server_events', { limit });
}

// Email (issue 19). The SMTP password goes to the keychain through setMailAccount and
// is never read back: mailAccount says only whether one is saved.

export function mailAccount(): Promise<MailAccountView> {
  return call<MailAccountView>('mail_account');
}

export function setMailAccount(input: SetMailAccount): Promise<MailAccountView> {
  return call<MailAccountView>('set_mail_account', { input });
}

export function removeMailAccount(): Promise<MailAccountView> {
  return call<MailAccountView>('remove_mail_account');
}

/** Sends a short message through the account (to the sender when `to` is null); the recipient. */
export function sendTestEmail(to: string | null): Promise<string> {
  return call<string>('send_test_email', { to });
}

export function mailTemplate(productId: string): Promise<MailTemplate> {
  return call<MailTemplate>('mail_template', { productId });
}

/** Saves a product's template (null = back to the default); the template now in force. */
export function setMailTemplate(productId: string, template: MailTemplate | null): Promise<MailTemplate> {
  return call<MailTemplate>('set_mail_template', { productId, template });
}

/** The template rendered for a license, or for sample values when `licenseId` is null. */
export function previewMail(template: MailTemplate, licenseId: string | null): Promise<MailPreview> {
  return call<MailPreview>('preview_mail', { template, licenseId });
}

export function sendLicenseEmail(input: SendLicenseEmail): Promise<SentEmail> {
  return call<SentEmail>('send_license_email', { input });
}

/** Writes the license's .eml draft (its file attached) and opens it in the mail client. */
export function openLicenseEmailDraft(input: LicenseEmailDraft): Promise<ExportedFile> {
  return call<ExportedFile>('open_license_email_draft', { input });
}

/** Emails every order of a batch CSV; orders already sent are skipped. */
export function sendBatchEmails(path: string, onProgress: (progress: MailBatchProgress) => void): Promise<MailBatchOutcome> {
  const channel = new Channel<MailBatchProgress>();
  channel.onmessage = onProgress;
  return call<MailBatchOutcome>('batch_send_emails', { path, onProgress: channel });
}

/** Asks the running batch send to stop after the order it is sending. */
export function cancelBatchEmails(): Promise<void> {
  return call<void>('batch_send_cancel');
}

/** Asks the update server whether a newer Keywright exists (Settings → Updates). */
export function checkForUpdate(): Promise<UpdateCheck> {
  return call<UpdateCheck>('check_for_update');
}

/** The check made when the window opens; null when Settings turned it off. */
export function startupUpdateCheck(): Promise<UpdateCheck | null> {
  return call<UpdateCheck | null>('startup_update_check');
}

/** Turns the check at start on or off. */
export function setUpdateCheck(enabled: boolean): Promise<SettingsView> {
  return call<SettingsView>('set_update_check', { enabled });
}

/** Downloads the update the last check found, verifies its signature, installs it. */
export function installUpdate(onProgress: (progress: UpdateProgress) => void): Promise<void> {
  const channel = new Channel<UpdateProgress>();
  channel.onmessage = onProgress;
  return call<void>('install_update', { onProgress: channel });
}

/** Restarts Keywright, so an installed update runs. */
export function restartApp(): Promise<void> {
  return call<void>('restart_app');
}
