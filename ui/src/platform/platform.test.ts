// The platform layer itself: the only test that mocks Tauri, to check the
// command names, the argument shape, and error normalisation.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock('@tauri-apps/plugin-dialog', () => ({ save: vi.fn() }));
vi.mock('@tauri-apps/plugin-clipboard-manager', () => ({ writeText: vi.fn() }));

import { AppError, createPolicy, exportLicenseFile, listLicenses, storeInfo, toAppError, GENERIC_MESSAGE } from './index';

describe('platform layer', () => {
  beforeEach(() => invoke.mockReset());

  it('calls commands by name, wrapping input under `input`', async () => {
    invoke.mockResolvedValue([]);
    await listLicenses();
    expect(invoke).toHaveBeenLastCalledWith('list_licenses', undefined);
    const input = { licenseId: 'l', path: '/p.lic', ttl: null, encrypt: null };
    await exportLicenseFile(input);
    expect(invoke).toHaveBeenLastCalledWith('export_license_file', { input });
  });

  it('turns {code, message} rejections into AppError and anything else into INTERNAL', async () => {
    invoke.mockRejectedValueOnce({ code: 'STORE_TOO_NEW', message: 'store version 9 > 3' });
    const err = await storeInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'STORE_TOO_NEW', message: 'store version 9 > 3' });

    invoke.mockRejectedValueOnce('thread panicked at core.rs');
    const bad = { productId: 'p', name: 'n', scheme: null, duration: null, maxMachines: null, floating: false, fileTtl: null, encrypt: true, entitlements: [] };
    await expect(createPolicy(bad)).rejects.toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });

    expect(toAppError({ code: 'NOPE', message: 'x' })).toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });
    expect(toAppError(new Error('boom'))).toMatchObject({ code: 'INTERNAL', message: GENERIC_MESSAGE });
    expect(toAppError(null)).toMatchObject({ code: 'INTERNAL' });
  });
});
