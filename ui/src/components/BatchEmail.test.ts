import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import BatchEmail from './BatchEmail.svelte';
import type { MailBatchProgress, MailSendResult } from '../bindings';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

function result(overrides: Partial<MailSendResult> = {}): MailSendResult {
  return { line: 2, orderId: 'A-1', email: 'ada@example.com', status: 'sent', message: null, attempts: 1, ...overrides };
}

describe('Email the customers of a batch', () => {
  beforeEach(resetPlatform);

  it('shows progress, then each recipient’s result', async () => {
    let report: (p: MailBatchProgress) => void = () => {};
    let finish: () => void = () => {};
    const rows = [
      result(),
      result({ line: 3, orderId: 'A-2', email: 'bob@example.com', attempts: 2 }),
      result({ line: 4, orderId: 'A-3', email: 'cy@example.com', status: 'failed', message: '550 no such user' }),
      result({ line: 5, orderId: 'A-4', email: 'dee@example.com', status: 'alreadySent' }),
    ];
    p.sendBatchEmails.mockImplementation((_path: string, onProgress: (p: MailBatchProgress) => void) => {
      report = onProgress;
      return new Promise((resolve) => {
        finish = () => resolve({ results: rows, sent: 2, failed: 1, cancelled: false });
      });
    });
    const { container } = render(BatchEmail, { path: '/orders.csv' });
    await userEvent.click(screen.getByTestId('batch-email-send'));
    expect(p.sendBatchEmails).toHaveBeenCalledWith('/orders.csv', expect.any(Function));
    report({ done: 1, total: 4, last: rows[0] });
    expect(await screen.findByText('Sending: 1 of 4')).toBeInTheDocument();
    expect(screen.getAllByTestId('batch-email-row')).toHaveLength(1);
    finish();
    expect(await screen.findByTestId('batch-email-summary')).toHaveTextContent('2 sent, 1 failed.');
    const cells = screen.getAllByTestId('batch-email-row').map((r) => r.textContent);
    expect(cells[1]).toContain('(2 attempts)');
    expect(cells[2]).toContain('Failed: 550 no such user');
    expect(cells[3]).toContain('Already sent');
    await expectNoAxeViolations(container);
  });

  it('cancels the run, which keeps what was sent', async () => {
    let finish: () => void = () => {};
    p.sendBatchEmails.mockImplementation(
      () => new Promise((resolve) => (finish = () => resolve({ results: [result()], sent: 1, failed: 0, cancelled: true }))),
    );
    p.cancelBatchEmails.mockResolvedValue(undefined);
    render(BatchEmail, { path: '/orders.csv' });
    await userEvent.click(screen.getByTestId('batch-email-send'));
    await userEvent.click(screen.getByTestId('batch-email-cancel'));
    expect(p.cancelBatchEmails).toHaveBeenCalledOnce();
    finish();
    expect(await screen.findByTestId('batch-email-summary')).toHaveTextContent('cancelled: send again to finish the rest');
    expect(screen.queryByTestId('batch-email-cancel')).toBeNull();
  });

  it('says why a run could not start', async () => {
    p.sendBatchEmails.mockRejectedValue(commandError('MAIL_UNREACHABLE', 'cannot reach the SMTP server smtp.example.com:587'));
    render(BatchEmail, { path: '/orders.csv' });
    await userEvent.click(screen.getByTestId('batch-email-send'));
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('cannot reach the SMTP server');
  });
});
