import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ErrorBanner from './ErrorBanner.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { toAppError } from '../platform';
import { expectNoAxeViolations } from '../test/axe';

const BEHIND = toAppError(
  commandError(
    'CLOCK_BEHIND',
    "this computer's clock says 2026-12-03T10:00:00.000Z, earlier than audit row 41 (license.issue by sam, dated 2036-12-01T09:00:00.000Z)",
  ),
);

describe('a signature refused because the clock is behind the audit log', () => {
  beforeEach(resetPlatform);

  it('names the row and offers to accept this clock with a reason, right where the refusal shows', async () => {
    p.acceptClock.mockRejectedValueOnce(commandError('SIGNING_LOCKED', 'signing is locked: enter the app lock passphrase to sign'));
    p.acceptClock.mockResolvedValueOnce({
      seq: 42,
      clock: '2026-12-03T10:00:05.000Z',
      futureRow: { seq: 41, at: '2036-12-01T09:00:00.000Z', action: 'license.issue', actor: 'sam' },
    });
    const { container } = render(ErrorBanner, { error: BEHIND });
    expect(screen.getByTestId('error-banner')).toHaveTextContent('audit row 41');
    expect(screen.getByTestId('error-banner')).toHaveTextContent('accept this clock below, with a reason');
    // No reason, no button.
    expect(screen.getByTestId('clock-accept')).toBeDisabled();
    await userEvent.type(screen.getByTestId('clock-reason'), '   ');
    expect(screen.getByTestId('clock-accept')).toBeDisabled();
    await userEvent.clear(screen.getByTestId('clock-reason'));
    await userEvent.type(screen.getByTestId('clock-reason'), 'the date was ten years ahead on Monday');
    // Locked: the refusal says so, the reason stays for the next try.
    await userEvent.click(screen.getByTestId('clock-accept'));
    expect(await screen.findByTestId('clock-message')).toHaveTextContent('signing is locked');
    expect(screen.getByTestId('clock-reason')).toHaveValue('the date was ten years ahead on Monday');
    await userEvent.click(screen.getByTestId('clock-accept'));
    expect(p.acceptClock).toHaveBeenLastCalledWith('the date was ten years ahead on Monday');
    expect(await screen.findByTestId('clock-message')).toHaveTextContent('audit row 42 records it');
    expect(screen.getByTestId('clock-message')).toHaveTextContent('Row 41, dated 2036-12-01T09:00:00.000Z, no longer holds signing back');
    await expectNoAxeViolations(container);
  });

  it('other errors offer no clock acceptance', () => {
    render(ErrorBanner, { error: toAppError(commandError('STORE', 'disk full')) });
    expect(screen.queryByTestId('clock-accept-form')).toBeNull();
  });
});
