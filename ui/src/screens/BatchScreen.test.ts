import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import BatchScreen from './BatchScreen.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';
import type { BatchOutcome, BatchPreview, BatchProgress, BatchRow } from '../bindings';

function row(overrides: Partial<BatchRow> = {}): BatchRow {
  return {
    line: 2,
    orderId: 'A-1',
    customerName: 'Ada Lovelace',
    customerEmail: 'ada@example.com',
    customerCompany: 'Analytical Ltd',
    policyId: 'pol-1',
    policyName: 'Yearly',
    productName: 'Zapper Pro',
    quantity: 2,
    alreadyIssued: 0,
    toIssue: 2,
    metadata: {},
    errors: [],
    note: null,
    ...overrides,
  };
}

function preview(rows: BatchRow[]): BatchPreview {
  return {
    rows,
    metadataColumns: [],
    badRows: rows.filter((r) => r.errors.length > 0).length,
    toIssue: rows.reduce((n, r) => n + r.toIssue, 0),
    alreadyIssued: rows.reduce((n, r) => n + r.alreadyIssued, 0),
  };
}

const GOOD_AND_BAD = preview([
  row(),
  row({ line: 3, orderId: 'A-2', customerName: 'Bob', customerEmail: 'bob@example.com', customerCompany: null, policyId: null, policyName: null, productName: null, quantity: 1, toIssue: 0, errors: ['unknown policy "Nope"'] }),
]);

function outcome(overrides: Partial<BatchOutcome> = {}): BatchOutcome {
  return {
    preview: GOOD_AND_BAD,
    issued: [],
    alreadyIssued: 0,
    cancelled: false,
    refused: false,
    licenseFiles: 0,
    emailDrafts: 0,
    message: '2 licenses issued, 0 already held, 1 bad rows skipped',
    ...overrides,
  };
}

async function openCsv() {
  p.openDialog.mockResolvedValue('/home/vendor/orders.csv');
  p.previewBatch.mockResolvedValue(GOOD_AND_BAD);
  render(BatchScreen);
  await userEvent.click(screen.getByTestId('batch-open'));
  return screen.findByTestId('batch-table');
}

describe('Batch screen', () => {
  beforeEach(resetPlatform);

  it('opens a CSV through the native dialog and previews every row with line numbers', async () => {
    await openCsv();
    expect(p.openDialog).toHaveBeenCalledWith(expect.objectContaining({ filters: [{ name: 'CSV', extensions: ['csv', 'txt'] }] }));
    expect(p.previewBatch).toHaveBeenCalledWith('/home/vendor/orders.csv');
    expect(screen.getByTestId('batch-summary')).toHaveTextContent('2 rows: 2 licenses to issue, 0 already issued, 1 bad row.');
    const rows = screen.getAllByTestId('batch-row');
    expect(rows[0]).toHaveTextContent('Ada Lovelace <ada@example.com>');
    expect(rows[0]).toHaveTextContent('Analytical Ltd');
    expect(rows[0]).toHaveTextContent('Zapper Pro — Yearly');
    expect(rows[1]).toHaveAttribute('data-bad', 'true');
    expect(within(rows[1]).getByTestId('batch-row-errors')).toHaveTextContent('Line 3: unknown policy "Nope"');

    await userEvent.click(screen.getByTestId('batch-only-bad'));
    expect(screen.getAllByTestId('batch-row')).toHaveLength(1);
  });

  it('does nothing when the open dialog is cancelled', async () => {
    p.openDialog.mockResolvedValue(null);
    render(BatchScreen);
    await userEvent.click(screen.getByTestId('batch-open'));
    expect(p.previewBatch).not.toHaveBeenCalled();
    expect(screen.getByTestId('batch-empty')).toBeInTheDocument();
  });

  it('issues with a folder, shows progress, and cancels', async () => {
    await openCsv();
    p.openFolderDialog.mockResolvedValue('/home/vendor/out');
    await userEvent.click(screen.getByTestId('batch-folder'));
    expect(screen.getByTestId('batch-folder-path')).toHaveTextContent('/home/vendor/out');

    let report: (p: BatchProgress) => void = () => {};
    let finish: (o: BatchOutcome) => void = () => {};
    p.issueBatch.mockImplementation((_path, _options, onProgress) => {
      report = onProgress;
      return new Promise((resolve) => (finish = resolve));
    });
    p.cancelBatch.mockResolvedValue(undefined);
    await userEvent.click(screen.getByTestId('batch-issue'));
    expect(p.issueBatch).toHaveBeenCalledWith('/home/vendor/orders.csv', { outDir: '/home/vendor/out', allOrNothing: false }, expect.any(Function));

    report({ done: 500, total: 1000 });
    const bar = await screen.findByTestId('batch-progress');
    await vi.waitFor(() => expect(bar).toHaveAttribute('value', '500'));
    expect(bar).toHaveAttribute('max', '1000');
    expect(screen.getByText('Issuing: 500 of 1000')).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('batch-cancel'));
    expect(p.cancelBatch).toHaveBeenCalled();
    expect(screen.getByTestId('batch-cancel')).toHaveTextContent('Cancelling…');

    p.previewBatch.mockResolvedValue(preview([row({ alreadyIssued: 1, toIssue: 1 })]));
    finish(outcome({ cancelled: true, message: '1 licenses issued, 0 already held; cancelled: run the same file again to issue the rest' }));
    const result = await screen.findByTestId('batch-result');
    expect(result).toHaveTextContent('Cancelled. Everything issued so far is kept');
    expect(screen.queryByTestId('batch-progress')).toBeNull();
    await vi.waitFor(() => expect(screen.getByTestId('batch-summary')).toHaveTextContent('1 licenses to issue, 1 already issued'));
  });

  it('all-or-nothing with a bad row disables Issue', async () => {
    await openCsv();
    expect(screen.getByTestId('batch-issue')).toBeEnabled();
    await userEvent.click(screen.getByTestId('batch-all-or-nothing'));
    expect(screen.getByTestId('batch-issue')).toBeDisabled();
    expect(screen.getByText('Fix the bad rows (or untick all-or-nothing) to issue.')).toBeInTheDocument();
  });

  it('shows a file the core cannot read with its advice; hostile cells stay text', async () => {
    p.openDialog.mockResolvedValue('/home/vendor/latin1.csv');
    p.previewBatch.mockRejectedValue(commandError('BAD_INPUT', 'line 3 is not UTF-8 (byte 0xE9 at column 4)'));
    const { container } = render(BatchScreen);
    await userEvent.click(screen.getByTestId('batch-open'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'BAD_INPUT');
    expect(banner).toHaveTextContent('line 3 is not UTF-8');
    expect(banner).toHaveTextContent(ADVICE.BAD_INPUT);

    const hostile = '<img src=x onerror=alert(1)>';
    p.previewBatch.mockResolvedValue(preview([row({ customerName: hostile, customerEmail: null })]));
    await userEvent.click(screen.getByTestId('batch-open'));
    expect(await screen.findByTestId('batch-row')).toHaveTextContent(hostile);
    expect(container.querySelector('img')).toBeNull();
  });

  it('has no accessibility violations (axe), with a preview and while issuing', async () => {
    const table = await openCsv();
    expect(table).toBeInTheDocument();
    p.issueBatch.mockImplementation((_path, _options, onProgress) => {
      onProgress({ done: 10, total: 20 });
      return new Promise(() => {});
    });
    await userEvent.click(screen.getByTestId('batch-issue'));
    await screen.findByTestId('batch-progress');
    await expectNoAxeViolations(document.body);
  });
});
