// The platform layer itself: the only test that mocks Tauri, to check the
// command names, the argument shape, and error normalisation.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({
  invoke: (...args: unknown[]) => invoke(...args),
  Channel: class {
    onmessage: (message: unknown) => void = () => {};
  },
}));
vi.mock('@tauri-apps/plugin-dialog', () => ({ save: vi.fn(), open: vi.fn() }));
vi.mock('@tauri-apps/plugin-clipboard-manager', () => ({ writeText: vi.fn() }));

import {
  checkBackupPassphrase,
  createBackup,
  restoreBackup,
  cancelBatch,
  exportLicensesCsv,
  issueBatch,
  previewBatch,
  activateFromRequest,
  activateMachine,
  deactivateMachine,
  exportMachineFile,
  importDeactivationReceipt,
  listMachines,
  previewActivation,
  simulateValidation,
  transferMachine,
  AppError,
  createPolicy,
  exportAuditCsv,
  exportLicenseFile,
  listAudit,
  listLicenses,
  renewLicense,
  revokeLicense,
  searchLicenses,
  storeInfo,
  suspendLicense,
  toAppError,
  verifyAudit,
  GENERIC_MESSAGE,
} from './index';

describe('platform layer', () => {
  beforeEach(() => invoke.mockReset());

  it('sends the batch commands, with progress over a channel', async () => {
    invoke.mockResolvedValue({});
    await previewBatch('/tmp/orders.csv');
    expect(invoke).toHaveBeenLastCalledWith('batch_preview', { path: '/tmp/orders.csv' });
    const seen: unknown[] = [];
    await issueBatch('/tmp/orders.csv', { outDir: null, allOrNothing: true }, (p) => seen.push(p));
    const [command, args] = invoke.mock.lastCall as [string, { path: string; options: unknown; onProgress: { onmessage: (m: unknown) => void } }];
    expect(command).toBe('batch_issue');
    expect(args.path).toBe('/tmp/orders.csv');
    expect(args.options).toEqual({ outDir: null, allOrNothing: true });
    args.onProgress.onmessage({ done: 500, total: 1000 });
    expect(seen).toEqual([{ done: 500, total: 1000 }]);
    await cancelBatch();
    expect(invoke).toHaveBeenLastCalledWith('batch_cancel', undefined);
    const q = { text: null, productId: null, policyId: null, customerId: null, status: null, expiringWithinDays: null, sort: 'created_desc' as const, limit: null, cursor: null };
    await exportLicensesCsv(q, '/tmp/l.csv');
    expect(invoke).toHaveBeenLastCalledWith('export_licenses_csv', { query: q, path: '/tmp/l.csv' });
  });

  it('sends the machine commands with the argument names the backend expects', async () => {
    invoke.mockResolvedValue({});
    await previewActivation('REQ');
    expect(invoke).toHaveBeenLastCalledWith('preview_activation', { text: 'REQ' });
    await activateFromRequest('REQ');
    expect(invoke).toHaveBeenLastCalledWith('activate_from_request', { text: 'REQ' });
    const activate = { licenseId: 'l', fingerprint: 'f', name: null, hostname: null, platform: null, osUser: null, appVersion: null };
    await activateMachine(activate);
    expect(invoke).toHaveBeenLastCalledWith('activate_machine', { input: activate });
    const exp = { machineId: 'm', path: '/m.lic', ttl: null, encrypt: null };
    await exportMachineFile(exp);
    expect(invoke).toHaveBeenLastCalledWith('export_machine_file', { input: exp });
    await deactivateMachine('m');
    expect(invoke).toHaveBeenLastCalledWith('deactivate_machine', { machineId: 'm' });
    const transfer = { machineId: 'm', fingerprint: 'g', name: null, hostname: null, platform: null };
    await transferMachine(transfer);
    expect(invoke).toHaveBeenLastCalledWith('transfer_machine', { input: transfer });
    await listMachines('l');
    expect(invoke).toHaveBeenLastCalledWith('list_machines', { licenseId: 'l' });
    await importDeactivationReceipt('RCPT');
    expect(invoke).toHaveBeenLastCalledWith('import_deactivation_receipt', { text: 'RCPT' });
    const sim = { licenseId: 'l', machineId: null, fingerprint: null, at: '2027-01-01', fileIssuedAt: null, requiredEntitlements: [] };
    await simulateValidation(sim);
    expect(invoke).toHaveBeenLastCalledWith('simulate_validation', { input: sim });
  });

  it('sends the backup commands with the argument names the backend expects', async () => {
    invoke.mockResolvedValue({});
    await createBackup('/b.kwbackup', 'pass words');
    expect(invoke).toHaveBeenLastCalledWith('create_backup', { path: '/b.kwbackup', passphrase: 'pass words' });
    await checkBackupPassphrase('pass words');
    expect(invoke).toHaveBeenLastCalledWith('check_backup_passphrase', { passphrase: 'pass words' });
    await restoreBackup('/b.kwbackup', 'pass words', '/new.db');
    expect(invoke).toHaveBeenLastCalledWith('restore_backup', {
      path: '/b.kwbackup',
      passphrase: 'pass words',
      storePath: '/new.db',
    });
  });

  it('calls commands by name, wrapping input under `input`', async () => {
    invoke.mockResolvedValue([]);
    await listLicenses();
    expect(invoke).toHaveBeenLastCalledWith('list_licenses', undefined);
    const input = { licenseId: 'l', path: '/p.lic', ttl: null, encrypt: null, algorithm: null, include: ['entitlements'] };
    await exportLicenseFile(input);
    expect(invoke).toHaveBeenLastCalledWith('export_license_file', { input });
  });

  it('passes license ids as `licenseId` and queries under `query`', async () => {
    invoke.mockResolvedValue({});
    await suspendLicense('lic-1');
    expect(invoke).toHaveBeenLastCalledWith('suspend_license', { licenseId: 'lic-1' });
    await revokeLicense('lic-2');
    expect(invoke).toHaveBeenLastCalledWith('revoke_license', { licenseId: 'lic-2' });
    await renewLicense({ licenseId: 'lic-1', by: '1y' });
    expect(invoke).toHaveBeenLastCalledWith('renew_license', { input: { licenseId: 'lic-1', by: '1y' } });
    const query = {
      text: 'ada',
      productId: null,
      policyId: null,
      customerId: null,
      status: null,
      expiringWithinDays: 30,
      sort: 'expiry_asc' as const,
      limit: 50,
      cursor: null,
    };
    await searchLicenses(query);
    expect(invoke).toHaveBeenLastCalledWith('search_licenses', { query });
  });

  it('calls the audit commands with their argument names', async () => {
    invoke.mockResolvedValue([]);
    const query = { action: 'license.*', subjectId: null, actor: null, productId: null, since: null, until: null, limit: 100, beforeSeq: null };
    await listAudit(query);
    expect(invoke).toHaveBeenLastCalledWith('list_audit', { query });
    await exportAuditCsv('/tmp/a.csv', query);
    expect(invoke).toHaveBeenLastCalledWith('export_audit_csv', { path: '/tmp/a.csv', query });
    await verifyAudit();
    expect(invoke).toHaveBeenLastCalledWith('verify_audit', undefined);
  });

  it('turns {code, message} rejections into AppError and anything else into INTERNAL', async () => {
    invoke.mockRejectedValueOnce({ code: 'STORE_TOO_NEW', message: 'store version 9 > 3' });
    const err = await storeInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'STORE_TOO_NEW', message: 'store version 9 > 3' });

    invoke.mockRejectedValueOnce('thread panicked at core.rs');
    const bad = { productId: 'p', name: 'n', scheme: null, duration: null, maxMachines: null, floating: false, fileTtl: null, encrypt: true, entitlements: [], keyTemplate: null, unsignedKey: false, expirationStrategy: null, strict: false, offlineGrace: null, allowTransfer: null, requireHeartbeat: false, heartbeatDuration: null, heartbeatCullStrategy: null, heartbeatResurrectionStrategy: null, heartbeatBasis: null };
    await expect(createPolicy(bad)).rejects.toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });

    expect(toAppError({ code: 'NOPE', message: 'x' })).toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });
    expect(toAppError(new Error('boom'))).toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });
    expect(toAppError(null)).toMatchObject({ code: 'INTERNAL' });
  });
});
