import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import UpdateBanner from './UpdateBanner.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';
import type { UpdateCheck, UpdateProgress } from '../bindings';

const NEWER: UpdateCheck = {
  currentVersion: '0.1.0',
  update: {
    version: '0.2.0',
    currentVersion: '0.1.0',
    notes: 'Renewals in bulk.\nFixes the export dialog.',
    date: '2026-12-01T12:00:00Z',
  },
};

describe('the update banner at start', () => {
  beforeEach(resetPlatform);

  it('shows the new version and its notes, installs only when asked, then offers a restart', async () => {
    p.startupUpdateCheck.mockResolvedValue(NEWER);
    let finish: () => void = () => {};
    p.installUpdate.mockImplementation(
      (onProgress: (p: UpdateProgress) => void) =>
        new Promise<void>((resolve) => {
          onProgress({ downloaded: 512 * 1024, total: 1024 * 1024 });
          finish = resolve;
        }),
    );
    p.restartApp.mockResolvedValue(undefined);
    const { container } = render(UpdateBanner);
    const banner = await screen.findByTestId('update-banner');
    expect(banner).toHaveTextContent('Keywright 0.2.0 is available (you have 0.1.0).');
    expect(screen.getByTestId('update-notes')).toHaveTextContent('Renewals in bulk. Fixes the export dialog.');
    expect(banner).toHaveTextContent('Your store and the keys in the keychain are not touched.');
    // Seen is not installed.
    expect(p.installUpdate).not.toHaveBeenCalled();
    await expectNoAxeViolations(container);

    await userEvent.click(screen.getByTestId('update-install'));
    expect(p.installUpdate).toHaveBeenCalledTimes(1);
    expect(await screen.findByTestId('update-progress')).toHaveTextContent('Downloading 50 %');
    expect(screen.getByTestId('update-install')).toBeDisabled();
    finish();
    expect(await screen.findByTestId('update-status')).toHaveTextContent('Keywright 0.2.0 is installed. Restart to use it');
    expect(p.restartApp).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId('update-restart'));
    expect(p.restartApp).toHaveBeenCalledTimes(1);
    await expectNoAxeViolations(container);
  });

  it('says why an install was refused and keeps the offer', async () => {
    p.startupUpdateCheck.mockResolvedValue(NEWER);
    p.installUpdate.mockRejectedValue(
      commandError(
        'UPDATE_REFUSED',
        'the update was not installed: the downloaded file does not match its signature (it was changed or damaged on the way). Keywright keeps running as it is; try again later, or download the new version from the release page yourself',
      ),
    );
    const { container } = render(UpdateBanner);
    await userEvent.click(await screen.findByTestId('update-install'));
    const error = await screen.findByTestId('error-banner');
    expect(error).toHaveAttribute('data-code', 'UPDATE_REFUSED');
    expect(error).toHaveTextContent('did not pass its signature check');
    expect(error).toHaveTextContent('does not match its signature');
    expect(screen.getByTestId('update-install')).toBeEnabled();
    expect(screen.queryByTestId('update-restart')).toBeNull();
    await expectNoAxeViolations(container);
  });

  it('shows nothing when up to date, turned off, or the check failed', async () => {
    for (const answer of [
      () => p.startupUpdateCheck.mockResolvedValue({ currentVersion: '0.1.0', update: null }),
      () => p.startupUpdateCheck.mockResolvedValue(null),
      () => p.startupUpdateCheck.mockRejectedValue(commandError('UPDATE_UNREACHABLE', 'the update server could not be reached')),
    ]) {
      answer();
      const { unmount } = render(UpdateBanner);
      await waitFor(() => expect(p.startupUpdateCheck).toHaveBeenCalled());
      await Promise.resolve();
      expect(screen.queryByTestId('update-banner')).toBeNull();
      expect(screen.queryByTestId('error-banner')).toBeNull();
      unmount();
      p.startupUpdateCheck.mockReset();
    }
  });

  it('Not now hides it', async () => {
    p.startupUpdateCheck.mockResolvedValue(NEWER);
    render(UpdateBanner);
    await userEvent.click(await screen.findByTestId('update-dismiss'));
    expect(screen.queryByTestId('update-banner')).toBeNull();
    expect(p.installUpdate).not.toHaveBeenCalled();
  });
});
