import { beforeEach, describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { vi } from 'vitest';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import AuditScreen from './AuditScreen.svelte';
import { auditEntry, commandError, p, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

const FIRST_PAGE = { action: null, subjectId: null, actor: null, productId: null, since: null, until: null, limit: 100, beforeSeq: null };

describe('Audit log screen', () => {
  beforeEach(resetPlatform);

  it('says when nothing is recorded yet', async () => {
    render(AuditScreen);
    expect(await screen.findByTestId('audit-empty')).toHaveTextContent('Nothing recorded yet');
    expect(p.listAuditEntries).toHaveBeenCalledWith(FIRST_PAGE);
  });

  it('lists events newest first as sentences with names, keeping the raw code and the stored facts', async () => {
    p.listAuditEntries.mockResolvedValue([
      auditEntry(
        { seq: 3, action: 'license.suspend', actor: 'sam' },
        { licenseId: 'lic-1', customer: 'Ada Hopper', product: 'Zapper Pro', policy: 'Yearly' },
      ),
      auditEntry({ seq: 2, action: 'license_file.sign' }, { licenseId: 'lic-1', customer: 'Ada Hopper', key: 'Main key' }),
      auditEntry({ seq: 1, action: 'key.create', subjectType: 'signing_key', subjectId: 'key-1', artifactSha256: null, signingKeyKid: null }, { key: 'Main key' }),
    ]);
    const onopen = vi.fn();
    render(AuditScreen, { onopen });
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows.map((r) => r.getAttribute('data-seq'))).toEqual(['3', '2', '1']);
    expect(rows[0]).toHaveTextContent('Ada Hopper’s Zapper Pro — Yearly license was suspended by sam.');
    expect(rows[0]).toHaveTextContent('license.suspend');
    expect(rows[1]).toHaveTextContent('A license file for Ada Hopper was signed with key Main key (kid-aaaa) by vendor.');
    expect(rows[1]).toHaveAttribute('title', expect.stringContaining('sha256 ab12cd34ef56ab12'));
    expect(rows[1]).toHaveAttribute('title', expect.stringContaining('license lic-1'));
    expect(rows[2]).toHaveTextContent('Signing key Main key was created by vendor.');
    expect(rows[2]).toHaveTextContent('key.create');
    await userEvent.click(within(rows[0]).getByRole('button', { name: 'Zapper Pro — Yearly license' }));
    expect(onopen).toHaveBeenCalledWith({ screen: 'licenses', licenseId: 'lic-1' });
    expect(screen.queryByTestId('audit-more')).toBeNull();
  });

  it('filters by action family and by dates, the "to" day included', async () => {
    render(AuditScreen);
    await userEvent.selectOptions(await screen.findByTestId('audit-filter-action'), 'machine.*');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, action: 'machine.*' });
    const since = screen.getByTestId('audit-since');
    await userEvent.type(since, '2026-11-01');
    since.dispatchEvent(new Event('change'));
    const until = screen.getByTestId('audit-until');
    await userEvent.type(until, '2026-11-30');
    until.dispatchEvent(new Event('change'));
    await vi.waitFor(() =>
      expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, action: 'machine.*', since: '2026-11-01', until: '2026-12-01' }),
    );
    expect(await screen.findByTestId('audit-empty')).toHaveTextContent('No events match these filters');
  });

  it('filters by the person who acted, from the names the log holds', async () => {
    p.auditActors.mockResolvedValue(['ada', 'sam', 'server']);
    render(AuditScreen);
    const person = await screen.findByTestId('audit-filter-actor');
    await vi.waitFor(() => expect(person.querySelectorAll('option')).toHaveLength(4));
    expect(person).toHaveAccessibleName('Person');
    await userEvent.selectOptions(person, 'sam');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, actor: 'sam' });
    await userEvent.selectOptions(screen.getByTestId('audit-filter-action'), 'license.*');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, actor: 'sam', action: 'license.*' });
    await userEvent.selectOptions(person, '');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, action: 'license.*' });
  });

  it('filters by product, with the other filters, and says which products there are', async () => {
    p.listProducts.mockResolvedValue([product({ id: 'prod-z', name: 'Zapper Pro' }), product({ id: 'prod-a', name: 'Anvil' })]);
    render(AuditScreen);
    const which = await screen.findByTestId('audit-filter-product');
    await vi.waitFor(() => expect(which.querySelectorAll('option')).toHaveLength(3));
    expect(which).toHaveAccessibleName('Product');
    expect(within(which).getByRole('option', { name: 'Anvil' })).toHaveValue('prod-a');
    await userEvent.selectOptions(which, 'prod-z');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, productId: 'prod-z' });
    await userEvent.selectOptions(screen.getByTestId('audit-filter-action'), 'license.*');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, productId: 'prod-z', action: 'license.*' });
    await userEvent.selectOptions(which, '');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, action: 'license.*' });
  });

  it('still filters when the products cannot be read', async () => {
    p.listProducts.mockRejectedValue(commandError('STORE', 'the store is locked'));
    render(AuditScreen);
    const which = await screen.findByTestId('audit-filter-product');
    expect(which.querySelectorAll('option')).toHaveLength(1);
    expect(await screen.findByTestId('audit-empty')).toBeInTheDocument();
  });

  it('filters by action and pages to older events', async () => {
    const full = Array.from({ length: 100 }, (_, i) => auditEntry({ seq: 150 - i }));
    p.listAuditEntries.mockResolvedValueOnce(full).mockResolvedValueOnce([auditEntry({ seq: 50 })]).mockResolvedValue([]);
    render(AuditScreen);
    await userEvent.click(await screen.findByTestId('audit-more'));
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, beforeSeq: 51 });
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(101);
    expect(screen.queryByTestId('audit-more')).toBeNull();

    await userEvent.selectOptions(screen.getByTestId('audit-filter-action'), 'license.revoke');
    expect(p.listAuditEntries).toHaveBeenLastCalledWith({ ...FIRST_PAGE, action: 'license.revoke' });
    expect(await screen.findByTestId('audit-empty')).toHaveTextContent('No events match these filters');
  });

  it('verifies the chain and shows OK with the row count, or the broken row', async () => {
    p.verifyAudit
      .mockResolvedValueOnce({
        intact: true,
        rows: 42,
        brokenAt: null,
        message: 'audit chain intact: 42 rows',
        anchored: true,
        problems: [],
        problemCount: 0,
      })
      .mockResolvedValueOnce({
        intact: false,
        rows: 42,
        brokenAt: 7,
        message: 'audit chain broken at row 7: its contents were edited',
        anchored: true,
        problems: [
          'audit chain broken at row 7: its contents were edited',
          'license lic-1 was changed outside Keywright: status is "active" in the store but "suspended" in the log (the log\'s last record of it: row 5, license.suspend)',
        ],
        problemCount: 2,
      });
    render(AuditScreen);
    await userEvent.click(await screen.findByTestId('audit-verify'));
    expect(await screen.findByTestId('audit-verify-result')).toHaveTextContent('Log OK: all 42 rows');
    expect(screen.getByTestId('audit-verify-result')).toHaveTextContent("carries this store's audit key");
    await userEvent.click(screen.getByTestId('audit-verify'));
    expect(await screen.findByTestId('audit-verify-result')).toHaveTextContent('Broken at row 7');
    expect(screen.getByTestId('audit-verify-result')).toHaveTextContent('2 problems');
    const problems = screen.getByTestId('audit-problems');
    expect(problems.querySelectorAll('li')).toHaveLength(2);
    expect(problems).toHaveTextContent('status is "active" in the store but "suspended" in the log');
  });

  it('exports the filtered log as CSV through the save dialog, and not when cancelled', async () => {
    p.saveDialog.mockResolvedValueOnce(null).mockResolvedValueOnce('/tmp/audit.csv');
    p.exportAuditCsv.mockResolvedValue({ path: '/tmp/audit.csv', sha256: 'cafe01', bytes: 99, algorithm: 'csv' });
    render(AuditScreen);
    await userEvent.selectOptions(await screen.findByTestId('audit-filter-action'), 'license.*');
    await userEvent.click(screen.getByTestId('audit-export'));
    expect(p.saveDialog).toHaveBeenCalledWith(
      expect.objectContaining({ filters: [{ name: 'CSV file', extensions: ['csv'] }] }),
    );
    expect(p.exportAuditCsv).not.toHaveBeenCalled();

    await userEvent.click(screen.getByTestId('audit-export'));
    expect(p.exportAuditCsv).toHaveBeenCalledWith('/tmp/audit.csv', { ...FIRST_PAGE, action: 'license.*', limit: null });
    expect(await screen.findByTestId('audit-export-result')).toHaveTextContent('Saved to /tmp/audit.csv (sha256 cafe01)');
  });

  it('shows backend errors with advice, and hostile text stays text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    p.listAuditEntries.mockResolvedValue([auditEntry({ actor: hostile, subjectType: hostile, action: hostile })]);
    p.saveDialog.mockResolvedValue('/readonly/a.csv');
    p.exportAuditCsv.mockRejectedValue(commandError('IO', `cannot write ${hostile}`));
    const { container } = render(AuditScreen);
    const row = await screen.findByTestId('audit-row');
    expect(row).toHaveTextContent(hostile);
    await userEvent.click(screen.getByTestId('audit-export'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'IO');
    expect(banner).toHaveTextContent(ADVICE.IO);
    expect(banner).toHaveTextContent(`cannot write ${hostile}`);
    expect(container.querySelector('img')).toBeNull();
  });

  it('offers a retry when the log cannot be loaded', async () => {
    p.listAuditEntries.mockRejectedValueOnce(commandError('STORE', 'database is locked')).mockResolvedValue([]);
    render(AuditScreen);
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('database is locked');
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('audit-empty')).toBeInTheDocument();
  });
  it('has no accessibility violations (axe)', async () => {
    p.listAuditEntries.mockResolvedValue([auditEntry({ seq: 2 }), auditEntry({ seq: 1, action: 'key.create' })]);
    const { container } = render(AuditScreen);
    await screen.findAllByTestId('audit-row');
    await expectNoAxeViolations(container);
  });
});
