import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicensesScreen from './LicensesScreen.svelte';
import { commandError, key, license, p, page, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

function withPolicies() {
  p.listProducts.mockResolvedValue([product(), product({ id: 'prod-2', name: 'Zeta Tool' })]);
  p.listPolicies.mockResolvedValue([policy(), policy({ id: 'pol-2', productId: 'prod-2', name: 'Basic' })]);
}

describe('Licenses screen', () => {
  beforeEach(resetPlatform);

  it('without policies, shows the empty state and points to Policies', async () => {
    const onnavigate = vi.fn();
    render(LicensesScreen, { onnavigate });
    expect(await screen.findByText(/No licenses yet/)).toBeInTheDocument();
    expect(screen.getByTestId('license-issue')).toBeDisabled();
    await userEvent.click(screen.getByTestId('license-new'));
    await userEvent.click(screen.getByRole('button', { name: 'Go to Policies' }));
    expect(onnavigate).toHaveBeenCalledWith('policies');
  });

  it('lists licenses and opens the detail with the exact key on click and on Enter', async () => {
    withPolicies();
    const a = license();
    const b = license({ id: 'lic-2', key: 'key/b.sig', customerName: null, customerEmail: null, expiry: '2026-01-01T00:00:00Z', createdAt: '2024-01-01T00:00:00Z' });
    p.searchLicenses.mockResolvedValue(page([a, b]));
    render(LicensesScreen, { onnavigate: vi.fn() });

    const rows = await screen.findAllByTestId('license-row');
    expect(rows.map((r) => r.getAttribute('data-license-id'))).toEqual(['lic-1', 'lic-2']);
    expect(rows[0]).toHaveTextContent('Jane Roe');
    expect(rows[0]).toHaveTextContent('jane@example.com');
    expect(rows[0]).toHaveTextContent('Acme Editor — Pro annual');
    expect(rows[0]).toHaveTextContent('never');
    expect(screen.queryByTestId('license-detail')).toBeNull();

    await userEvent.click(rows[0]);
    const detail = screen.getByTestId('license-detail');
    const keyEl = within(detail).getByTestId('license-key');
    expect(keyEl.textContent).toBe(a.key);
    expect(keyEl.children).toHaveLength(0);

    rows[1].focus();
    await userEvent.keyboard('{Enter}');
    expect(screen.getByTestId('license-key').textContent).toBe('key/b.sig');

    await userEvent.click(screen.getByTestId('license-copy'));
    expect(p.copyText).toHaveBeenCalledWith('key/b.sig');
  });

  it('issues a license with the IssueLicense shape and selects the new one', async () => {
    withPolicies();
    const issued = license({ id: 'lic-new', key: 'key/NEW.SIG', policyId: 'pol-2', customerName: 'Bob', customerEmail: 'bob@corp.test' });
    p.searchLicenses.mockResolvedValueOnce(page([])).mockResolvedValueOnce(page([issued]));
    p.issueLicense.mockResolvedValue(issued);
    render(LicensesScreen, { onnavigate: vi.fn() });

    const select = (await screen.findByTestId('license-policy')) as HTMLSelectElement;
    expect(select.value).toBe('');
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      'Choose…',
      'Acme Editor — Pro annual',
      'Zeta Tool — Basic',
    ]);
    await userEvent.selectOptions(select, 'pol-2');
    await userEvent.type(screen.getByTestId('license-customer-name'), 'Bob');
    await userEvent.type(screen.getByTestId('license-customer-email'), 'bob@corp.test');
    await userEvent.click(screen.getByTestId('license-issue'));

    expect(p.issueLicense).toHaveBeenCalledWith({
      policyId: 'pol-2',
      customerName: 'Bob',
      customerEmail: 'bob@corp.test',
      customerCompany: null,
      metadata: null,
    });
    const detail = await screen.findByTestId('license-detail');
    expect(within(detail).getByTestId('license-key').textContent).toBe('key/NEW.SIG');
    expect(screen.getByTestId('license-row')).toHaveAttribute('aria-selected', 'true');
  });

  it('rejects a malformed email without calling the backend', async () => {
    withPolicies();
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.selectOptions(await screen.findByTestId('license-policy'), 'pol-1');
    await userEvent.type(screen.getByTestId('license-customer-email'), 'not-an-email');
    await userEvent.click(screen.getByTestId('license-issue'));
    expect(screen.getByText(/Enter an email address like/)).toBeInTheDocument();
    expect(p.issueLicense).not.toHaveBeenCalled();
  });

  it('exports through the save dialog, and does nothing when cancelled', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license({ customerName: 'Jane/Roe' })]));
    p.saveDialog.mockResolvedValueOnce(null).mockResolvedValueOnce('/tmp/jane.lic');
    p.exportLicenseFile.mockResolvedValue({ path: '/tmp/jane.lic', sha256: 'ab12cd34', bytes: 812, algorithm: 'aes-256-gcm+ed25519' });
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));

    await userEvent.click(screen.getByTestId('license-export'));
    expect(p.saveDialog).toHaveBeenCalledWith(
      expect.objectContaining({
        defaultPath: 'Jane_Roe.lic',
        filters: [{ name: 'License file', extensions: ['lic'] }],
      }),
    );
    expect(p.exportLicenseFile).not.toHaveBeenCalled();
    expect(screen.queryByTestId('license-export-result')).toBeNull();

    await userEvent.click(screen.getByTestId('license-export'));
    expect(p.exportLicenseFile).toHaveBeenCalledWith({ licenseId: 'lic-1', path: '/tmp/jane.lic', ttl: null, encrypt: null, algorithm: null, include: [] });
    expect(await screen.findByTestId('license-export-result')).toHaveTextContent('Saved to /tmp/jane.lic (sha256 ab12cd34)');
  });

  it('writes the ticked related objects into the file, in Keygen order', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license()]));
    p.saveDialog.mockResolvedValue('/tmp/with-included.lic');
    p.exportLicenseFile.mockResolvedValue({ path: '/tmp/with-included.lic', sha256: 'ab12cd34', bytes: 2048, algorithm: 'aes-256-gcm+ed25519' });
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));
    expect(screen.getByRole('group', { name: 'Include in the file' })).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('license-export-include-entitlements'));
    await userEvent.click(screen.getByTestId('license-export-include-product'));
    await userEvent.click(screen.getByTestId('license-export-include-owner'));
    await userEvent.click(screen.getByTestId('license-export-include-owner')); // and off again
    await userEvent.click(screen.getByTestId('license-export'));
    expect(p.exportLicenseFile).toHaveBeenCalledWith(expect.objectContaining({ include: ['product', 'entitlements'] }));
  });

  it('exports the licenses the current filter matches as CSV', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license()], 120));
    p.saveDialog.mockResolvedValueOnce('/tmp/licenses.csv');
    p.exportLicensesCsv.mockResolvedValue({ path: '/tmp/licenses.csv', sha256: 'ff00', bytes: 4096, algorithm: 'csv' });
    render(LicensesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('license-row');
    await userEvent.selectOptions(screen.getByTestId('license-filter-status'), 'suspended');
    await userEvent.click(screen.getByTestId('license-export-csv'));
    expect(p.saveDialog).toHaveBeenCalledWith(expect.objectContaining({ filters: [{ name: 'CSV', extensions: ['csv'] }] }));
    expect(p.exportLicensesCsv).toHaveBeenCalledWith(
      expect.objectContaining({ status: 'suspended', productId: null, text: null, cursor: null }),
      '/tmp/licenses.csv',
    );
    expect(await screen.findByTestId('license-csv-exported')).toHaveTextContent('Saved /tmp/licenses.csv (4096 bytes)');
  });

  it('shows an export failure with its advice, and hostile customer names stay text', async () => {
    withPolicies();
    const hostile = '<img src=x onerror=alert(1)>';
    p.searchLicenses.mockResolvedValue(page([license({ customerName: hostile })]));
    p.saveDialog.mockResolvedValue('/readonly/x.lic');
    p.exportLicenseFile.mockRejectedValue(commandError('IO', 'permission denied: /readonly/x.lic'));
    const { container } = render(LicensesScreen, { onnavigate: vi.fn() });
    const row = await screen.findByTestId('license-row');
    expect(within(row).getByText(hostile)).toBeInTheDocument();
    await userEvent.click(row);
    await userEvent.click(screen.getByTestId('license-export'));

    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'IO');
    expect(banner).toHaveTextContent(ADVICE.IO);
    expect(banner).toHaveTextContent('permission denied: /readonly/x.lic');
    expect(container.querySelector('img')).toBeNull();
  });

  it('asks for the first page newest first, shows the total, and loads the next page', async () => {
    withPolicies();
    const first = [license(), license({ id: 'lic-2' })];
    p.searchLicenses
      .mockResolvedValueOnce(page(first, 3, 'cursor-1'))
      .mockResolvedValueOnce(page([license({ id: 'lic-3' })], 3));
    render(LicensesScreen, { onnavigate: vi.fn() });

    expect(await screen.findByTestId('license-total')).toHaveTextContent('Showing 2 of 3 licenses');
    expect(p.searchLicenses).toHaveBeenCalledWith({
      text: null,
      productId: null,
      policyId: null,
      customerId: null,
      status: null,
      expiringWithinDays: null,
      sort: 'created_desc',
      limit: 50,
      cursor: null,
    });
    await userEvent.click(screen.getByTestId('license-next'));
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ cursor: 'cursor-1' }));
    const rows = await screen.findAllByTestId('license-row');
    expect(rows.map((r) => r.getAttribute('data-license-id'))).toEqual(['lic-1', 'lic-2', 'lic-3']);
    expect(screen.queryByTestId('license-next')).toBeNull();
    expect(screen.getByTestId('license-total')).toHaveTextContent('Showing 3 of 3 licenses');
  });

  it('says 10,000+ when the core stopped counting, and "more match" once past it', async () => {
    withPolicies();
    const first = Array.from({ length: 50 }, (_, i) => license({ id: `lic-${i}` }));
    p.searchLicenses.mockResolvedValueOnce(page(first, 10000, 'cursor-1', false));
    render(LicensesScreen, { onnavigate: vi.fn() });
    expect(await screen.findByTestId('license-total')).toHaveTextContent('Showing 50 of 10,000+ licenses');
    cleanup();

    // Paged past the cap (a cap of 40 here keeps the table small).
    const more = Array.from({ length: 60 }, (_, i) => license({ id: `lic-${i}` }));
    p.searchLicenses.mockResolvedValueOnce(page(more, 40, 'cursor-2', false));
    render(LicensesScreen, { onnavigate: vi.fn() });
    expect(await screen.findByTestId('license-total')).toHaveTextContent('Showing 60 licenses; more match');
    cleanup();

    // A broad text is not counted: its last page says every match is shown.
    p.searchLicenses.mockResolvedValueOnce(page(more, 60, null, false));
    render(LicensesScreen, { onnavigate: vi.fn() });
    expect(await screen.findByTestId('license-total')).toHaveTextContent('Showing all 60 matching licenses');
  });

  it('searches after typing stops, filters and sorts, and says when nothing matches', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValueOnce(page([license()])).mockResolvedValue(page([]));
    render(LicensesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('license-row');

    await userEvent.type(screen.getByTestId('license-search'), 'ada@');
    // One search for the whole word, not one per keystroke.
    await vi.waitFor(() => expect(p.searchLicenses).toHaveBeenCalledTimes(2));
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ text: 'ada@', cursor: null }));
    expect(await screen.findByTestId('license-no-match')).toHaveTextContent('No licenses match');

    await userEvent.selectOptions(screen.getByTestId('license-filter-product'), 'prod-2');
    await userEvent.selectOptions(screen.getByTestId('license-filter-status'), 'suspended');
    await userEvent.selectOptions(screen.getByTestId('license-filter-expiring'), '30');
    await userEvent.selectOptions(screen.getByTestId('license-sort'), 'expiry_asc');
    expect(p.searchLicenses).toHaveBeenLastCalledWith({
      text: 'ada@',
      productId: 'prod-2',
      policyId: null,
      customerId: null,
      status: 'suspended',
      expiringWithinDays: 30,
      sort: 'expiry_asc',
      limit: 50,
      cursor: null,
    });

    await userEvent.click(screen.getByRole('button', { name: 'Clear search and filters' }));
    expect(p.searchLicenses).toHaveBeenLastCalledWith(
      expect.objectContaining({ text: null, productId: null, status: null, expiringWithinDays: null }),
    );
  });

  it('focuses the search box on /, but not while typing elsewhere', async () => {
    withPolicies();
    render(LicensesScreen, { onnavigate: vi.fn() });
    const search = await screen.findByTestId('license-search');
    await userEvent.keyboard('/');
    expect(search).toHaveFocus();
    expect(search).toHaveValue('');
    screen.getByTestId('license-customer-name').focus();
    await userEvent.keyboard('a/b');
    expect(screen.getByTestId('license-customer-name')).toHaveValue('a/b');
  });

  it('shows a search failure with its advice', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValueOnce(page([license()])).mockRejectedValue(commandError('BAD_INPUT', 'search text is too long'));
    render(LicensesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('license-row');
    await userEvent.selectOptions(screen.getByTestId('license-sort'), 'customer_asc');
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'BAD_INPUT');
    expect(banner).toHaveTextContent('search text is too long');
  });

  it('suspends and reinstates, updating the badge in the detail and the row', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license()]));
    p.suspendLicense.mockResolvedValue(license({ status: 'suspended', updatedAt: '2025-02-01T10:00:00Z' }));
    p.reinstateLicense.mockResolvedValue(license({ status: 'active' }));
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));

    await userEvent.click(screen.getByTestId('license-suspend'));
    expect(p.suspendLicense).toHaveBeenCalledWith('lic-1');
    expect(await screen.findByTestId('license-status')).toHaveTextContent('suspended');
    expect(screen.getByTestId('license-row')).toHaveTextContent('suspended');
    expect(screen.queryByTestId('license-suspend')).toBeNull();

    await userEvent.click(screen.getByTestId('license-reinstate'));
    expect(p.reinstateLicense).toHaveBeenCalledWith('lic-1');
    expect(await screen.findByTestId('license-suspend')).toBeInTheDocument();
    expect(screen.getByTestId('license-status')).toHaveTextContent('active');
  });

  it('revokes only after confirming, and then offers no more actions', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license()]));
    p.revokeLicense.mockResolvedValue(license({ status: 'revoked' }));
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));

    await userEvent.click(screen.getByTestId('license-revoke'));
    await userEvent.click(screen.getByTestId('license-revoke-cancel'));
    expect(p.revokeLicense).not.toHaveBeenCalled();

    await userEvent.click(screen.getByTestId('license-revoke'));
    await userEvent.click(screen.getByTestId('license-revoke-confirm'));
    expect(p.revokeLicense).toHaveBeenCalledWith('lic-1');
    expect(await screen.findByTestId('license-status')).toHaveTextContent('revoked');
    expect(screen.getByText(/Revoked licenses are final/)).toBeInTheDocument();
    for (const id of ['license-suspend', 'license-reinstate', 'license-revoke', 'license-renew']) {
      expect(screen.queryByTestId(id)).toBeNull();
    }
  });

  it('renews by a typed duration, says the key keeps its expiry, and shows a conflict', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license({ expiry: '2026-01-04T10:00:00Z' })]));
    p.renewLicense
      .mockResolvedValueOnce(license({ expiry: '2026-07-04T10:00:00Z' }))
      .mockRejectedValueOnce(commandError('CONFLICT', 'the license for <img src=x onerror=alert(1)> is revoked'));
    const { container } = render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));

    expect(screen.getByText(/the key's embedded expiry does not change/)).toBeInTheDocument();
    const by = screen.getByTestId('license-renew-by');
    await userEvent.clear(by);
    await userEvent.click(screen.getByTestId('license-renew'));
    expect(screen.getByText(/Enter a duration like 1y/)).toBeInTheDocument();
    expect(p.renewLicense).not.toHaveBeenCalled();

    await userEvent.clear(by);
    await userEvent.type(by, '6mo');
    await userEvent.click(screen.getByTestId('license-renew'));
    expect(p.renewLicense).toHaveBeenCalledWith({ licenseId: 'lic-1', by: '6mo' });
    expect(await screen.findByText(/Renewed the license/)).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('license-renew'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'CONFLICT');
    expect(banner).toHaveTextContent('<img src=x onerror=alert(1)> is revoked');
    expect(container.querySelector('img')).toBeNull();
  });

  it("sends every period to the backend and shows its refusal under the field", async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license({ expiry: '2026-01-04T10:00:00Z' })]));
    const refusal = 'duration "1Mo" has an unknown unit "Mo" (did you mean 1mo?); units are s, m or min (minutes), h, d, w, mo or M (months), y, and their case matters';
    p.renewLicense.mockImplementation(async ({ by }) => {
      if (by === '1Mo') throw commandError('BAD_INPUT', refusal);
      return license({ expiry: '2026-02-04T10:00:00Z' });
    });
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));
    const by = screen.getByTestId('license-renew-by');
    expect(screen.getByText(/mo or M = months, m or min = minutes/)).toBeInTheDocument();

    // Every unit the backend reads reaches it, as typed (`90 min`, `1M` = a month).
    for (const text of ['90 min', '1M', '2w']) {
      await userEvent.clear(by);
      await userEvent.type(by, text);
      await userEvent.click(screen.getByTestId('license-renew'));
      expect(p.renewLicense).toHaveBeenLastCalledWith({ licenseId: 'lic-1', by: text });
      expect(by).not.toHaveAttribute('aria-invalid');
    }

    // The backend's own words, next to the field; no banner.
    await userEvent.clear(by);
    await userEvent.type(by, '1Mo');
    await userEvent.click(screen.getByTestId('license-renew'));
    expect(await screen.findByText(refusal)).toHaveAttribute('id', 'license-renew-error');
    expect(by).toHaveAttribute('aria-invalid', 'true');
    expect(by).toHaveAccessibleDescription(/did you mean 1mo\?/);
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  it('offers no renewal for a perpetual license', async () => {
    withPolicies();
    p.searchLicenses.mockResolvedValue(page([license({ expiry: null })]));
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));
    expect(screen.getByText(/never expires, so there is nothing to renew/)).toBeInTheDocument();
    expect(screen.queryByTestId('license-renew')).toBeNull();
  });
  it('has no accessibility violations (axe) with a license selected', async () => {
    withPolicies();
    p.listSigningKeys.mockResolvedValue([key()]);
    p.searchLicenses.mockResolvedValue(page([license(), license({ id: 'lic-2', expiry: '2027-01-01T00:00:00Z' })], 3, 'next'));
    const { container } = render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click((await screen.findAllByTestId('license-row'))[1]);
    await screen.findByTestId('license-detail');
    await expectNoAxeViolations(container);
  });
  describe('export options', () => {
    function withKeys(algorithm: 'ed25519' | 'rsa-2048' | 'ecdsa-p256') {
      // Product 1 signs with key-1, product 2 with key-2 (of the algorithm under test).
      p.listSigningKeys.mockResolvedValue([key(), key({ id: 'key-2', kid: 'kid-2', algorithm })]);
      p.listProducts.mockResolvedValue([product(), product({ id: 'prod-2', name: 'Zeta Tool', signingKeyId: 'key-2' })]);
      p.listPolicies.mockResolvedValue([policy(), policy({ id: 'pol-2', productId: 'prod-2', name: 'Basic' })]);
    }

    function algorithmOptions() {
      return Array.from((screen.getByTestId('license-export-algorithm') as HTMLSelectElement).options).map((o) => [o.value, o.textContent]);
    }

    it('offers the file algorithms of the policy\'s product key', async () => {
      withKeys('rsa-2048');
      p.searchLicenses.mockResolvedValue(page([license(), license({ id: 'lic-2', policyId: 'pol-2', productId: 'prod-2' })]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      const rows = await screen.findAllByTestId('license-row');

      await userEvent.click(rows[0]);
      expect(algorithmOptions()).toEqual([
        ['', "Keygen's default for this policy"],
        ['base64+ed25519', 'base64+ed25519'],
        ['aes-256-gcm+ed25519', 'aes-256-gcm+ed25519'],
      ]);
      expect(screen.getByTestId('license-export-ttl')).toHaveAttribute('placeholder', 'policy default');

      await userEvent.click(rows[1]);
      expect(algorithmOptions().map(([v]) => v)).toEqual([
        '',
        'base64+rsa-pss-sha256',
        'aes-256-gcm+rsa-pss-sha256',
        'base64+rsa-sha256',
        'aes-256-gcm+rsa-sha256',
      ]);
    });

    it('offers ECDSA P-256 file algorithms for a P-256 key', async () => {
      withKeys('ecdsa-p256');
      p.searchLicenses.mockResolvedValue(page([license({ id: 'lic-2', policyId: 'pol-2', productId: 'prod-2' })]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));
      expect(algorithmOptions().map(([v]) => v)).toEqual(['', 'base64+ecdsa-p256', 'aes-256-gcm+ecdsa-p256']);
    });

    it('passes the chosen algorithm and TTL to the export', async () => {
      withKeys('ed25519');
      p.searchLicenses.mockResolvedValue(page([license()]));
      p.saveDialog.mockResolvedValue('/tmp/jane.lic');
      p.exportLicenseFile.mockResolvedValue({ path: '/tmp/jane.lic', sha256: 'ab12', bytes: 800, algorithm: 'base64+ed25519' });
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));

      await userEvent.selectOptions(screen.getByTestId('license-export-algorithm'), 'base64+ed25519');
      await userEvent.type(screen.getByTestId('license-export-ttl'), ' 1y ');
      await userEvent.click(screen.getByTestId('license-export'));
      expect(p.exportLicenseFile).toHaveBeenLastCalledWith({
        licenseId: 'lic-1',
        path: '/tmp/jane.lic',
        ttl: '1y',
        encrypt: null,
        algorithm: 'base64+ed25519',
        include: [],
      });
      expect(await screen.findByTestId('license-export-result')).toHaveTextContent('Saved to /tmp/jane.lic');

      await userEvent.clear(screen.getByTestId('license-export-ttl'));
      await userEvent.type(screen.getByTestId('license-export-ttl'), 'none');
      await userEvent.selectOptions(screen.getByTestId('license-export-algorithm'), '');
      await userEvent.click(screen.getByTestId('license-export'));
      expect(p.exportLicenseFile).toHaveBeenLastCalledWith(expect.objectContaining({ ttl: 'none', algorithm: null }));
    });

    it("sends the lifetime as typed and shows the backend's refusal under the field", async () => {
      withKeys('ed25519');
      p.searchLicenses.mockResolvedValue(page([license()]));
      p.saveDialog.mockResolvedValue('/tmp/jane.lic');
      const refusal = 'file TTL: duration "8000y" is longer than 100 years, the limit (100y = 3155695200s)';
      p.exportLicenseFile.mockImplementation(async ({ ttl }) => {
        if (ttl === '8000y') throw commandError('BAD_INPUT', refusal);
        return { path: '/tmp/jane.lic', sha256: 'ab12', bytes: 800, algorithm: 'aes-256-gcm+ed25519' };
      });
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));
      const ttl = screen.getByTestId('license-export-ttl');
      await userEvent.type(ttl, '90min');
      await userEvent.click(screen.getByTestId('license-export'));
      expect(p.exportLicenseFile).toHaveBeenLastCalledWith(expect.objectContaining({ ttl: '90min' }));

      await userEvent.clear(ttl);
      await userEvent.type(ttl, '8000y');
      await userEvent.click(screen.getByTestId('license-export'));
      expect(await screen.findByText(refusal)).toHaveAttribute('id', 'license-export-ttl-error');
      expect(ttl).toHaveAttribute('aria-invalid', 'true');
      expect(screen.queryByTestId('error-banner')).toBeNull();
    });

    it('still exports with the policy default when the key list fails', async () => {
      withPolicies();
      p.listSigningKeys.mockRejectedValue(commandError('STORE', 'locked'));
      p.searchLicenses.mockResolvedValue(page([license()]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));
      expect(algorithmOptions()).toEqual([['', "Keygen's default for this policy"]]);
      expect(screen.queryByTestId('error-banner')).toBeNull();
    });
  });

  it('focuses the policy select when asked to issue (N / Ctrl+N from the shell)', async () => {
    withPolicies();
    render(LicensesScreen, { onnavigate: vi.fn(), focusIssue: 1 });
    const select = await screen.findByTestId('license-policy');
    await vi.waitFor(() => expect(select).toHaveFocus());
  });

  it('without policies, a focus request lands on "Go to Policies"', async () => {
    render(LicensesScreen, { onnavigate: vi.fn(), focusIssue: 1 });
    const button = await screen.findByRole('button', { name: 'Go to Policies' });
    await vi.waitFor(() => expect(button).toHaveFocus());
  });

  describe('list first', () => {
    it('opens on the list; "New license" opens the form in a sheet that keeps input when closed', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license()]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await screen.findByTestId('license-row');
      // The form is not in the way: the sheet is closed.
      expect(screen.queryByRole('dialog')).toBeNull();

      await userEvent.click(screen.getByTestId('license-new'));
      const sheet = screen.getByRole('dialog', { name: 'New license' });
      await vi.waitFor(() => expect(within(sheet).getByTestId('license-policy')).toHaveFocus());
      await userEvent.type(within(sheet).getByTestId('license-customer-name'), 'Ada Hopper');
      await expectNoAxeViolations(document.body);

      await userEvent.click(within(sheet).getByRole('button', { name: 'Close New license' }));
      expect(screen.queryByRole('dialog')).toBeNull();
      await userEvent.click(screen.getByTestId('license-new'));
      expect(screen.getByTestId('license-customer-name')).toHaveValue('Ada Hopper');
    });

    it('Esc closes the sheet', async () => {
      withPolicies();
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-new'));
      const sheet = screen.getByRole('dialog');
      await vi.waitFor(() => expect(within(sheet).getByTestId('license-policy')).toHaveFocus());
      await userEvent.keyboard('{Escape}');
      await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    });

    it('a focus request (N) opens the sheet', async () => {
      withPolicies();
      const { rerender } = render(LicensesScreen, { onnavigate: vi.fn(), focusIssue: 0 });
      await screen.findByText(/No licenses yet/);
      expect(screen.queryByRole('dialog')).toBeNull();
      await rerender({ onnavigate: vi.fn(), focusIssue: 1 });
      expect(await screen.findByRole('dialog', { name: 'New license' })).toBeInTheDocument();
    });

    it('issuing closes the sheet and shows the license page; "All licenses" goes back to the list', async () => {
      withPolicies();
      const issued = license({ id: 'lic-new', key: 'key/NEW.SIG', customerName: 'Bob' });
      p.searchLicenses.mockResolvedValueOnce(page([])).mockResolvedValue(page([issued]));
      p.issueLicense.mockResolvedValue(issued);
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-new'));
      await userEvent.selectOptions(screen.getByTestId('license-policy'), 'pol-1');
      await userEvent.click(screen.getByTestId('license-issue'));

      const detail = await screen.findByTestId('license-detail');
      expect(screen.queryByRole('dialog')).toBeNull();
      expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Bob · Acme Editor — Pro annual');
      // The list waits behind the page, with its search kept.
      expect(screen.getByTestId('license-search').closest('[hidden]')).not.toBeNull();

      await userEvent.click(screen.getByTestId('license-back'));
      expect(screen.queryByTestId('license-detail')).toBeNull();
      expect(screen.getByTestId('license-search').closest('[hidden]')).toBeNull();
    });

    it('keeps the form and shows the error in the sheet when issuing fails', async () => {
      withPolicies();
      p.issueLicense.mockRejectedValue(commandError('KEYCHAIN_UNAVAILABLE', 'no keyring'));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-new'));
      await userEvent.selectOptions(screen.getByTestId('license-policy'), 'pol-1');
      await userEvent.type(screen.getByTestId('license-customer-name'), 'Ada');
      await userEvent.click(screen.getByTestId('license-issue'));

      const sheet = screen.getByRole('dialog', { name: 'New license' });
      expect(await within(sheet).findByTestId('error-banner')).toHaveAttribute('data-code', 'KEYCHAIN_UNAVAILABLE');
      expect(screen.getAllByTestId('error-banner')).toHaveLength(1);
      expect(within(sheet).getByTestId('license-customer-name')).toHaveValue('Ada');
    });

    it('sorts by a column header, marking it with aria-sort', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license()]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await screen.findByTestId('license-row');
      await userEvent.click(screen.getByTestId('license-sort-customer'));
      expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ sort: 'customer_asc' }));
      expect(screen.getByTestId('license-sort-customer').closest('th')).toHaveAttribute('aria-sort', 'ascending');
      await userEvent.click(screen.getByTestId('license-sort-created'));
      expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ sort: 'created_desc' }));
      await userEvent.click(screen.getByTestId('license-sort-created'));
      expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ sort: 'created_asc' }));
    });

    it('puts the whole text of a truncated cell in its title', async () => {
      withPolicies();
      const long = 'A very long customer name that cannot fit in its column at all'.repeat(3);
      p.searchLicenses.mockResolvedValue(page([license({ customerName: long })]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      const row = await screen.findByTestId('license-row');
      expect(row.querySelector('td')).toHaveAttribute('title', long);
    });

    it('Esc on a license page goes back to the list, onto its row', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license(), license({ id: 'lic-2' })]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      const rows = await screen.findAllByTestId('license-row');
      rows[1].focus();
      await userEvent.keyboard('{Enter}');
      expect(screen.getByTestId('license-detail')).toBeInTheDocument();
      await userEvent.keyboard('{Escape}');
      expect(screen.queryByTestId('license-detail')).toBeNull();
      await vi.waitFor(() => expect(screen.getAllByTestId('license-row')[1]).toHaveFocus());
    });

    it('↑ and ↓ move between rows', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license(), license({ id: 'lic-2' })]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      const rows = await screen.findAllByTestId('license-row');
      rows[0].focus();
      await userEvent.keyboard('{ArrowDown}');
      expect(rows[1]).toHaveFocus();
      await userEvent.keyboard('{ArrowUp}');
      expect(rows[0]).toHaveFocus();
    });
  });

  describe('forgiving', () => {
    it('a suspend offers Undo in a toast, which reinstates', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license()]));
      p.suspendLicense.mockResolvedValue(license({ status: 'suspended' }));
      p.reinstateLicense.mockResolvedValue(license({ status: 'active' }));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));
      await userEvent.click(screen.getByTestId('license-suspend'));

      const toast = await screen.findByTestId('license-undo-toast');
      expect(toast).toHaveTextContent('Suspended the license.');
      await expectNoAxeViolations(document.body);
      await userEvent.click(within(toast).getByRole('button', { name: 'Undo' }));
      expect(p.reinstateLicense).toHaveBeenCalledWith('lic-1');
      await vi.waitFor(() => expect(screen.getByTestId('license-status')).toHaveTextContent('active'));
      expect(screen.queryByTestId('license-undo-toast')).toBeNull();
      expect(screen.getByText('Undone: the license is active again.')).toBeInTheDocument();
    });

    it('revoke says in plain words what it will do before doing it', async () => {
      withPolicies();
      p.searchLicenses.mockResolvedValue(page([license()]));
      render(LicensesScreen, { onnavigate: vi.fn() });
      await userEvent.click(await screen.findByTestId('license-row'));
      await userEvent.click(screen.getByTestId('license-revoke'));
      expect(screen.getByTestId('license-revoke-warning')).toHaveTextContent(/stop validating/);
      expect(screen.getByTestId('license-revoke-warning')).toHaveTextContent(/never be reinstated or renewed/);
      expect(p.revokeLicense).not.toHaveBeenCalled();
    });
  });
});
