import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import UpdateSettings from './UpdateSettings.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';
import type { SettingsView } from '../bindings';

function view(checkForUpdates: boolean): SettingsView {
  return {
    settings: { storePath: null, defaultKeyAlgorithm: 'ed25519', defaultRenewBy: '1y', defaultExportTtl: null, lockIdleMinutes: 15, checkForUpdates },
    defaultStorePath: '/home/vendor/.local/share/keywright/keywright.db',
    storeFromEnv: false,
    problem: null,
  };
}

describe('Settings → Updates', () => {
  beforeEach(resetPlatform);

  it('turns the check at start off and on, saved with the other settings', async () => {
    p.setUpdateCheck.mockResolvedValueOnce(view(false)).mockResolvedValueOnce(view(true));
    const { container } = render(UpdateSettings);
    const box = screen.getByTestId('update-check-on-start');
    await vi.waitFor(() => expect(box).toBeEnabled());
    expect(box).toBeChecked();
    await userEvent.click(box);
    expect(p.setUpdateCheck).toHaveBeenLastCalledWith(false);
    expect(await screen.findByTestId('update-settings-status')).toHaveTextContent('will not look for new versions by itself');
    expect(box).not.toBeChecked();
    await userEvent.click(box);
    expect(p.setUpdateCheck).toHaveBeenLastCalledWith(true);
    expect(box).toBeChecked();
    await expectNoAxeViolations(container);
  });

  it('Check now says up to date, or offers the new version', async () => {
    p.checkForUpdate
      .mockResolvedValueOnce({ currentVersion: '0.1.0', update: null })
      .mockResolvedValueOnce({
        currentVersion: '0.1.0',
        update: { version: '0.2.0', currentVersion: '0.1.0', notes: null, date: null },
      });
    const { container } = render(UpdateSettings);
    await userEvent.click(screen.getByTestId('update-check-now'));
    expect(await screen.findByTestId('update-settings-status')).toHaveTextContent('Keywright 0.1.0 is up to date.');
    expect(screen.queryByTestId('update-offer')).toBeNull();
    await userEvent.click(screen.getByTestId('update-check-now'));
    expect(await screen.findByTestId('update-offer')).toHaveTextContent('Keywright 0.2.0 is available (you have 0.1.0).');
    expect(screen.queryByTestId('update-notes')).toBeNull();
    expect(p.installUpdate).not.toHaveBeenCalled();
    await expectNoAxeViolations(container);
  });

  it('a server that cannot be reached is said plainly', async () => {
    p.checkForUpdate.mockRejectedValue(
      commandError(
        'UPDATE_UNREACHABLE',
        'the update server could not be reached (error sending request). Nothing was downloaded or changed; check the internet connection and try again later',
      ),
    );
    const { container } = render(UpdateSettings);
    await userEvent.click(screen.getByTestId('update-check-now'));
    const error = await screen.findByTestId('error-banner');
    expect(error).toHaveAttribute('data-code', 'UPDATE_UNREACHABLE');
    expect(error).toHaveTextContent('The update server could not be reached');
    expect(error).toHaveTextContent('Nothing was downloaded or changed');
    await expectNoAxeViolations(container);
  });

  it('a setting that cannot be saved is put back', async () => {
    p.setUpdateCheck.mockRejectedValue(commandError('IO', '/home/vendor/.config/keywright/settings.json: permission denied'));
    render(UpdateSettings);
    const box = screen.getByTestId('update-check-on-start');
    await vi.waitFor(() => expect(box).toBeEnabled());
    await userEvent.click(box);
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('permission denied');
    expect(box).toBeChecked();
  });
});
