import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ErrorBanner from './ErrorBanner.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { toAppError } from '../platform';
import { expectNoAxeViolations } from '../test/axe';

describe('a refused signature while the app lock is on', () => {
  beforeEach(resetPlatform);

  it('offers to unlock right where the error shows, and says when the passphrase is wrong', async () => {
    p.unlockApp.mockRejectedValueOnce(commandError('SIGNING_LOCKED', 'that is not the app lock passphrase'));
    p.unlockApp.mockResolvedValueOnce({ enabled: true, unlocked: true, idleMinutes: 15 });
    const error = toAppError(commandError('SIGNING_LOCKED', 'signing is locked: enter the app lock passphrase to sign'));
    const { container } = render(ErrorBanner, { error });
    expect(screen.getByTestId('error-banner')).toHaveTextContent('Signing is locked');
    await userEvent.type(screen.getByTestId('unlock-passphrase'), 'guess guess');
    await userEvent.click(screen.getByTestId('unlock-submit'));
    expect(await screen.findByTestId('unlock-message')).toHaveTextContent('not the app lock passphrase');
    expect(screen.getByTestId('unlock-passphrase')).toHaveValue('');
    await userEvent.type(screen.getByTestId('unlock-passphrase'), 'correct horse');
    await userEvent.click(screen.getByTestId('unlock-submit'));
    expect(p.unlockApp).toHaveBeenLastCalledWith('correct horse');
    expect(await screen.findByTestId('unlock-message')).toHaveTextContent('Unlocked. Try again.');
    await expectNoAxeViolations(container);
  });

  it('other errors offer no unlock', () => {
    render(ErrorBanner, { error: toAppError(commandError('STORE', 'disk full')) });
    expect(screen.queryByTestId('unlock-form')).toBeNull();
  });
});
