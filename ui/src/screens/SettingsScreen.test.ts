import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import SettingsScreen from './SettingsScreen.svelte';
import KeysScreen from './KeysScreen.svelte';
import { ANCHORED, commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const DEFAULT_PATH = '/home/vendor/.local/share/keywright/keywright.db';

function view(overrides: Record<string, unknown> = {}) {
  return {
    settings: { storePath: null, defaultKeyAlgorithm: 'ed25519' as const, defaultRenewBy: '1y', defaultExportTtl: null, lockIdleMinutes: 15, checkForUpdates: true },
    defaultStorePath: DEFAULT_PATH,
    storeFromEnv: false,
    problem: null,
    ...overrides,
  };
}

describe('SettingsScreen', () => {
  beforeEach(() => {
    resetPlatform();
    p.storeInfo.mockResolvedValue({ path: DEFAULT_PATH, storeId: 'store-1', keychainService: 'keywright/store-1', audit: ANCHORED });
  });

  it('shows where the store and its keys live, with no accessibility violations', async () => {
    const { container } = render(SettingsScreen, { onstorechanged: vi.fn() });
    expect(await screen.findByTestId('settings-store-path')).toHaveTextContent(DEFAULT_PATH);
    expect(screen.getByText('keywright/store-1')).toBeInTheDocument();
    expect(screen.queryByTestId('settings-default-store')).toBeNull();
    expect(screen.queryByTestId('settings-store-env')).toBeNull();
    await expectNoAxeViolations(container);
  });

  it('opens another store, remembers it, then reloads the window', async () => {
    const onstorechanged = vi.fn();
    p.openDialog.mockResolvedValue('/data/other.db');
    p.openStore.mockResolvedValue({ path: '/data/other.db', storeId: 'store-2', keychainService: 'keywright/store-2', audit: ANCHORED });
    render(SettingsScreen, { onstorechanged });
    await userEvent.click(await screen.findByTestId('settings-open-store'));
    expect(p.openStore).toHaveBeenCalledWith('/data/other.db');
    expect(onstorechanged).toHaveBeenCalledOnce();
  });

  it('keeps the current store and says why when the other one cannot be opened', async () => {
    const onstorechanged = vi.fn();
    p.saveDialog.mockResolvedValue('/data/notes.txt');
    p.openStore.mockRejectedValue(commandError('STORE', 'cannot open the store at /data/notes.txt: file is not a database'));
    render(SettingsScreen, { onstorechanged });
    await userEvent.click(await screen.findByTestId('settings-new-store'));
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('file is not a database');
    expect(onstorechanged).not.toHaveBeenCalled();
  });

  it('offers the default location when another store is open, and says when the environment chose it', async () => {
    p.storeInfo.mockResolvedValue({ path: '/data/other.db', storeId: 'store-2', keychainService: 'keywright/store-2', audit: ANCHORED });
    p.getSettings.mockResolvedValue(view({ storeFromEnv: true }));
    p.openStore.mockResolvedValue({ path: DEFAULT_PATH, storeId: 'store-1', keychainService: 'keywright/store-1', audit: ANCHORED });
    const onstorechanged = vi.fn();
    render(SettingsScreen, { onstorechanged });
    expect(await screen.findByTestId('settings-store-env')).toHaveTextContent('KEYWRIGHT_STORE');
    await userEvent.click(screen.getByTestId('settings-default-store'));
    expect(p.openStore).toHaveBeenCalledWith(null);
    expect(onstorechanged).toHaveBeenCalledOnce();
  });

  it('saves the defaults, and checks them first', async () => {
    p.saveSettings.mockImplementation(async (settings) => view({ settings }));
    render(SettingsScreen, { onstorechanged: vi.fn() });
    const renew = await screen.findByTestId('settings-renew-by');
    await userEvent.clear(renew);
    await userEvent.click(screen.getByTestId('settings-save'));
    expect(screen.getByText('Enter a period like 1y, 6mo or 30d.')).toBeInTheDocument();
    expect(p.saveSettings).not.toHaveBeenCalled();

    await userEvent.clear(renew);
    await userEvent.type(renew, '6mo');
    await userEvent.type(screen.getByTestId('settings-export-ttl'), '30d');
    await userEvent.selectOptions(screen.getByTestId('settings-key-algorithm'), 'rsa-2048');
    await userEvent.click(screen.getByTestId('settings-save'));
    expect(p.saveSettings).toHaveBeenCalledWith({
      storePath: null,
      defaultKeyAlgorithm: 'rsa-2048',
      defaultRenewBy: '6mo',
      defaultExportTtl: '30d',
      lockIdleMinutes: 15,
      checkForUpdates: true,
    });
    expect(await screen.findByTestId('settings-status')).toHaveTextContent('Saved.');
  });

  it("leaves durations to the backend and shows its refusal under the field", async () => {
    const refusal = 'default renewal period: duration "200y" is longer than 100 years, the limit (100y = 3155695200s)';
    p.saveSettings.mockImplementation(async (settings) => {
      if (settings.defaultRenewBy === '200y') throw commandError('BAD_INPUT', refusal);
      if (settings.defaultExportTtl === '30D') throw commandError('BAD_INPUT', 'default file lifetime: duration "30D" has an unknown unit "D" (did you mean 30d?)');
      return view({ settings });
    });
    render(SettingsScreen, { onstorechanged: vi.fn() });
    const renew = await screen.findByTestId('settings-renew-by');
    expect(renew).toHaveAccessibleDescription(/mo or M = months, m or min = minutes; at most 100y/);
    await userEvent.clear(renew);
    await userEvent.type(renew, '90 min');
    await userEvent.click(screen.getByTestId('settings-save'));
    expect(p.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ defaultRenewBy: '90 min' }));

    await userEvent.clear(renew);
    await userEvent.type(renew, '200y');
    await userEvent.click(screen.getByTestId('settings-save'));
    expect(await screen.findByText(refusal)).toHaveAttribute('id', 'settings-renew-by-error');
    expect(renew).toHaveAttribute('aria-invalid', 'true');

    await userEvent.clear(renew);
    await userEvent.type(renew, '1M');
    await userEvent.type(screen.getByTestId('settings-export-ttl'), '30D');
    await userEvent.click(screen.getByTestId('settings-save'));
    expect(await screen.findByText(/did you mean 30d\?/)).toHaveAttribute('id', 'settings-export-ttl-error');
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  it('says so when the saved settings could not be read', async () => {
    p.getSettings.mockResolvedValue(view({ problem: 'settings.json is not a valid settings file' }));
    render(SettingsScreen, { onstorechanged: vi.fn() });
    expect(await screen.findByTestId('settings-problem')).toHaveTextContent('not a valid settings file');
  });

  it('the Keys screen starts with the algorithm chosen in Settings', async () => {
    p.getSettings.mockResolvedValue(view({ settings: { storePath: null, defaultKeyAlgorithm: 'ecdsa-p256', defaultRenewBy: '1y', defaultExportTtl: null, lockIdleMinutes: 15, checkForUpdates: true } }));
    render(KeysScreen);
    await vi.waitFor(() => expect(screen.getByTestId('key-algorithm')).toHaveValue('ecdsa-p256'));
  });

  it('turns the app lock on only with a long, repeated passphrase', async () => {
    p.setAppLock.mockResolvedValue({ enabled: true, unlocked: true, idleMinutes: 15 });
    const { container } = render(SettingsScreen, { onstorechanged: vi.fn() });
    expect(await screen.findByTestId('settings-lock-state')).toHaveTextContent('Off.');
    await userEvent.type(screen.getByTestId('settings-lock-new'), 'short');
    await userEvent.type(screen.getByTestId('settings-lock-confirm'), 'short');
    await userEvent.click(screen.getByTestId('settings-lock-set'));
    expect(screen.getByTestId('settings-lock-error')).toHaveTextContent('at least 8');
    await userEvent.clear(screen.getByTestId('settings-lock-new'));
    await userEvent.type(screen.getByTestId('settings-lock-new'), 'long enough phrase');
    await userEvent.click(screen.getByTestId('settings-lock-set'));
    expect(screen.getByTestId('settings-lock-error')).toHaveTextContent('differ');
    await userEvent.clear(screen.getByTestId('settings-lock-confirm'));
    await userEvent.type(screen.getByTestId('settings-lock-confirm'), 'long enough phrase');
    await userEvent.click(screen.getByTestId('settings-lock-set'));
    expect(p.setAppLock).toHaveBeenCalledWith(null, 'long enough phrase');
    expect(await screen.findByTestId('settings-lock-state')).toHaveTextContent('On — unlocked now.');
    // The passphrase fields are emptied, never kept on screen.
    expect(screen.getByTestId('settings-lock-new')).toHaveValue('');
    await expectNoAxeViolations(container);
  });

  it('changes, locks and removes the lock with the current passphrase, and shows refusals', async () => {
    p.appLockState.mockResolvedValue({ enabled: true, unlocked: true, idleMinutes: 15 });
    p.lockApp.mockResolvedValue({ enabled: true, unlocked: false, idleMinutes: 15 });
    p.removeAppLock.mockRejectedValueOnce(commandError('SIGNING_LOCKED', 'that is not the app lock passphrase'));
    p.removeAppLock.mockResolvedValueOnce({ enabled: false, unlocked: true, idleMinutes: 15 });
    render(SettingsScreen, { onstorechanged: vi.fn() });
    await userEvent.click(await screen.findByTestId('settings-lock-now'));
    expect(await screen.findByTestId('settings-lock-state')).toHaveTextContent('On — locked.');
    await userEvent.click(screen.getByTestId('settings-lock-remove'));
    expect(screen.getByTestId('settings-lock-error')).toHaveTextContent('current passphrase');
    expect(p.removeAppLock).not.toHaveBeenCalled();
    await userEvent.type(screen.getByTestId('settings-lock-current'), 'wrong one!');
    await userEvent.click(screen.getByTestId('settings-lock-remove'));
    expect(await screen.findByTestId('settings-lock-error')).toHaveTextContent('not the app lock passphrase');
    await userEvent.type(screen.getByTestId('settings-lock-current'), 'right one!');
    await userEvent.click(screen.getByTestId('settings-lock-remove'));
    expect(p.removeAppLock).toHaveBeenLastCalledWith('right one!');
    expect(await screen.findByTestId('settings-lock-state')).toHaveTextContent('Off.');
  });
});
