import { beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { vi } from 'vitest';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import BackupScreen from './BackupScreen.svelte';
import { ANCHORED, commandError, p, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

const STRONG = 'plum velvet gravel anthem 42';

const CREATED = {
  file: { path: '/home/vendor/keywright.kwbackup', sha256: 'ab'.repeat(32), bytes: 4096, algorithm: 'argon2id+xchacha20poly1305' },
  storeId: 'store-1',
  keys: 2,
  licenses: 17,
};

describe('Backup screen', () => {
  beforeEach(() => {
    resetPlatform();
    p.checkBackupPassphrase.mockResolvedValue(undefined);
  });

  it('asks for the passphrase twice, hidden, and saves the backup where the user chose', async () => {
    p.saveDialog.mockResolvedValue('/home/vendor/keywright.kwbackup');
    p.createBackup.mockResolvedValue(CREATED);
    const { container } = render(BackupScreen);
    const pass = screen.getByTestId('backup-pass');
    const repeat = screen.getByTestId('backup-repeat');
    expect(pass).toHaveAttribute('type', 'password');
    expect(repeat).toHaveAttribute('type', 'password');
    expect(screen.getByTestId('restore-pass')).toHaveAttribute('type', 'password');
    expect(screen.getByTestId('backup-create')).toBeDisabled();

    await userEvent.type(pass, STRONG);
    expect(await screen.findByTestId('backup-strength')).toHaveTextContent('Strong enough');
    await userEvent.type(repeat, STRONG);
    await userEvent.click(screen.getByTestId('backup-create'));
    expect(p.createBackup).toHaveBeenCalledWith('/home/vendor/keywright.kwbackup', STRONG);
    const done = await screen.findByTestId('backup-created');
    expect(done).toHaveTextContent('17 licenses and 2 private keys');
    // The passphrase does not linger in the form.
    expect(pass).toHaveValue('');
    await expectNoAxeViolations(container);
  });

  it('shows the core strength verdict for a weak passphrase and will not save', async () => {
    p.checkBackupPassphrase.mockRejectedValue(
      commandError('WEAK_PASSPHRASE', 'the passphrase is too easy to guess (strength 1 of 4; 3 needed).'),
    );
    const { container } = render(BackupScreen);
    await userEvent.type(screen.getByTestId('backup-pass'), 'password1');
    await userEvent.type(screen.getByTestId('backup-repeat'), 'password1');
    expect(await screen.findByTestId('backup-strength')).toHaveTextContent('too easy to guess');
    expect(screen.getByTestId('backup-create')).toBeDisabled();
    expect(p.createBackup).not.toHaveBeenCalled();
    await expectNoAxeViolations(container);
  });

  it('says when the two passphrases differ', async () => {
    render(BackupScreen);
    await userEvent.type(screen.getByTestId('backup-pass'), STRONG);
    await userEvent.type(screen.getByTestId('backup-repeat'), STRONG + 'x');
    expect(await screen.findByTestId('backup-mismatch')).toHaveTextContent('differ');
    expect(screen.getByTestId('backup-create')).toBeDisabled();
  });

  it('cancelling the save dialog writes nothing', async () => {
    p.saveDialog.mockResolvedValue(null);
    render(BackupScreen);
    await userEvent.type(screen.getByTestId('backup-pass'), STRONG);
    await userEvent.type(screen.getByTestId('backup-repeat'), STRONG);
    await waitFor(() => expect(screen.getByTestId('backup-create')).toBeEnabled());
    await userEvent.click(screen.getByTestId('backup-create'));
    expect(p.createBackup).not.toHaveBeenCalled();
  });

  it('restores a chosen backup into a new store and tells the user to reopen', async () => {
    p.openDialog.mockResolvedValue('/media/usb/keywright.kwbackup');
    p.saveDialog.mockResolvedValue('/home/vendor/restored.db');
    p.restoreBackup.mockResolvedValue({
      storePath: '/home/vendor/restored.db',
      storeId: 'store-1',
      keychainService: 'keywright/store-1',
      keys: 2,
      licenses: 17,
    });
    const { container } = render(BackupScreen);
    expect(screen.getByTestId('restore-run')).toBeDisabled();
    await userEvent.click(screen.getByTestId('restore-choose'));
    expect(await screen.findByTestId('restore-file')).toHaveTextContent('/media/usb/keywright.kwbackup');
    await userEvent.type(screen.getByTestId('restore-pass'), STRONG);
    await userEvent.click(screen.getByTestId('restore-run'));
    expect(p.restoreBackup).toHaveBeenCalledWith('/media/usb/keywright.kwbackup', STRONG, '/home/vendor/restored.db');
    const result = await screen.findByTestId('restore-result');
    expect(result).toHaveTextContent('17 licenses');
    await expectNoAxeViolations(container);
    // One click moves the window onto the restored store.
    p.openStore.mockResolvedValue({ path: '/home/vendor/restored.db', storeId: 'store-1', keychainService: 'keywright/store-1', audit: ANCHORED });
    await userEvent.click(screen.getByTestId('restore-open'));
    expect(p.openStore).toHaveBeenCalledWith('/home/vendor/restored.db');
    expect(p.reloadWindow).toHaveBeenCalledOnce();
  });

  it('a wrong passphrase or a damaged file gets its own advice', async () => {
    p.openDialog.mockResolvedValue('/media/usb/keywright.kwbackup');
    p.saveDialog.mockResolvedValue('/home/vendor/restored.db');
    p.restoreBackup
      .mockRejectedValueOnce(commandError('BACKUP_PASSPHRASE', 'this passphrase does not open the backup'))
      .mockRejectedValueOnce(commandError('BACKUP_DAMAGED', 'authentication failed'));
    render(BackupScreen);
    await userEvent.click(screen.getByTestId('restore-choose'));
    await userEvent.type(screen.getByTestId('restore-pass'), 'wrong words here');
    await userEvent.click(screen.getByTestId('restore-run'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'BACKUP_PASSPHRASE');
    expect(banner).toHaveTextContent(ADVICE.BACKUP_PASSPHRASE);
    expect(screen.queryByTestId('restore-result')).toBeNull();
    await userEvent.click(screen.getByTestId('restore-run'));
    await waitFor(() => expect(screen.getByTestId('error-banner')).toHaveAttribute('data-code', 'BACKUP_DAMAGED'));
  });
});
