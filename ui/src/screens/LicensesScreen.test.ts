import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicensesScreen from './LicensesScreen.svelte';
import { commandError, license, p, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';

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
    await userEvent.click(screen.getByRole('button', { name: 'Go to Policies' }));
    expect(onnavigate).toHaveBeenCalledWith('policies');
  });

  it('lists licenses and opens the detail with the exact key on click and on Enter', async () => {
    withPolicies();
    const a = license();
    const b = license({ id: 'lic-2', key: 'key/b.sig', customerName: null, customerEmail: null, expiry: '2026-01-01T00:00:00Z', createdAt: '2024-01-01T00:00:00Z' });
    p.listLicenses.mockResolvedValue([a, b]);
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
    p.listLicenses.mockResolvedValueOnce([]).mockResolvedValueOnce([issued]);
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
    p.listLicenses.mockResolvedValue([license({ customerName: 'Jane/Roe' })]);
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
    expect(p.exportLicenseFile).toHaveBeenCalledWith({ licenseId: 'lic-1', path: '/tmp/jane.lic', ttl: null, encrypt: null });
    expect(await screen.findByTestId('license-export-result')).toHaveTextContent('Saved to /tmp/jane.lic (sha256 ab12cd34)');
  });

  it('shows an export failure with its advice, and hostile customer names stay text', async () => {
    withPolicies();
    const hostile = '<img src=x onerror=alert(1)>';
    p.listLicenses.mockResolvedValue([license({ customerName: hostile })]);
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
});
