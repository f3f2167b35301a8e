import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('./platform', async () => (await import('./test/platform-mock')).createPlatformMock());

import App from './App.svelte';
import { auditEvent, dashboardData, key, license, names, p, page, policy, product, resetPlatform } from './test/fixtures';
import { expectNoAxeViolations } from './test/axe';
import { ADVICE } from './lib/advice';

describe('App shell', () => {
  beforeEach(resetPlatform);

  it('shows the store path and switches screens from the nav', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    render(App);
    expect(await screen.findByTestId('store-path')).toHaveTextContent('/home/vendor/.local/share/keywright/store.db');
    expect(screen.getByText('Private keys live in the OS keychain.')).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('nav-keys'));
    expect(screen.getByRole('heading', { level: 1, name: 'Signing keys' })).toBeInTheDocument();
    expect(screen.getByTestId('nav-keys')).toHaveAttribute('aria-current', 'page');

    for (const [id, heading] of [
      ['nav-products', 'Products'],
      ['nav-policies', 'Policies'],
      ['nav-licenses', 'Licenses'],
      ['nav-activation', 'Activate a machine'],
      ['nav-customers', 'Customers'],
      ['nav-audit', 'Audit log'],
      ['nav-dashboard', 'Dashboard'],
    ] as const) {
      await userEvent.click(screen.getByTestId(id));
      expect(screen.getByRole('heading', { level: 1, name: heading })).toBeInTheDocument();
      expect(screen.getByTestId(id)).toHaveAttribute('aria-current', 'page');
    }
  });

  it('opens on the dashboard once a signing key exists', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: 'Dashboard' })).toBeInTheDocument();
    expect(screen.getByTestId('nav-dashboard')).toHaveAttribute('aria-current', 'page');
  });

  it('maps a non-conforming rejection to INTERNAL without leaking it', async () => {
    // Simulates what the platform layer does with a rejection that is not {code, message}.
    const { toAppError } = await import('./platform/errors');
    p.storeInfo.mockRejectedValue(toAppError({ weird: true, toString: () => 'panic at src/lib.rs:12' }));
    render(App);
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'INTERNAL');
    expect(banner).toHaveTextContent(ADVICE.INTERNAL);
    expect(banner.textContent).not.toMatch(/object Object|panic|lib\.rs/);
    expect(screen.queryByTestId('store-path')).toBeNull();
  });
  describe('first run', () => {
    it('opens the guided start on an empty store, with the nav still there', async () => {
      render(App);
      expect(await screen.findByRole('heading', { level: 1, name: 'Welcome to Keywright' })).toBeInTheDocument();
      expect(screen.getByTestId('firstrun-key-name')).toHaveValue('Main signing key');
      for (const id of ['nav-keys', 'nav-products', 'nav-policies', 'nav-licenses']) {
        expect(screen.getByTestId(id)).toBeVisible();
        expect(screen.getByTestId(id)).not.toHaveAttribute('aria-current');
      }
    });

    it('leaves the guided start when a nav item is clicked (the end-to-end path)', async () => {
      render(App);
      await screen.findByTestId('firstrun-key-name');
      await userEvent.click(screen.getByTestId('nav-keys'));
      expect(screen.getByRole('heading', { level: 1, name: 'Signing keys' })).toBeInTheDocument();
      expect(screen.queryByTestId('firstrun')).toBeNull();
      expect(screen.getByTestId('nav-keys')).toHaveAttribute('aria-current', 'page');
      expect(await screen.findByTestId('key-name')).toBeInTheDocument();

      await userEvent.click(screen.getByTestId('nav-products'));
      expect(screen.getByRole('heading', { level: 1, name: 'Products' })).toBeInTheDocument();
      expect(screen.queryByTestId('firstrun')).toBeNull();
    });

    it('does not take over when the user clicked the nav before the key list answered', async () => {
      let answer: (keys: never[]) => void = () => {};
      p.listSigningKeys.mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
      render(App);
      await userEvent.click(screen.getByTestId('nav-policies'));
      answer([]);
      await new Promise((r) => setTimeout(r, 0));
      expect(screen.getByRole('heading', { level: 1, name: 'Policies' })).toBeInTheDocument();
      expect(screen.queryByTestId('firstrun')).toBeNull();
    });

    it('"Skip" goes to the signing keys screen', async () => {
      render(App);
      await userEvent.click(await screen.findByTestId('firstrun-skip'));
      expect(screen.getByRole('heading', { level: 1, name: 'Signing keys' })).toBeInTheDocument();
      expect(screen.queryByTestId('firstrun')).toBeNull();
    });

    it('ends on Licenses with "Issue your first license"', async () => {
      p.createSigningKey.mockResolvedValue(key());
      p.createProduct.mockResolvedValue(product());
      p.createPolicy.mockResolvedValue(policy());
      render(App);
      await userEvent.click(await screen.findByTestId('firstrun-key-create'));
      await userEvent.type(await screen.findByTestId('firstrun-product-name'), 'Acme Editor');
      await userEvent.click(screen.getByTestId('firstrun-product-create'));
      await userEvent.click(await screen.findByTestId('firstrun-policy-create'));
      await userEvent.click(await screen.findByTestId('firstrun-done'));
      expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
      expect(screen.getByTestId('nav-licenses')).toHaveAttribute('aria-current', 'page');
    });
  });

  describe('keyboard', () => {
    beforeEach(() => {
      p.listSigningKeys.mockResolvedValue([key()]);
      p.listProducts.mockResolvedValue([product()]);
      p.listPolicies.mockResolvedValue([policy(), policy({ id: 'pol-2', name: 'Basic' })]);
    });

    it('N opens Licenses and focuses the policy select', async () => {
      render(App);
      await screen.findByRole('heading', { level: 1, name: 'Dashboard' });
      await userEvent.keyboard('n');
      expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
      await vi.waitFor(() => expect(screen.getByTestId('license-policy')).toHaveFocus());
    });

    it('Ctrl+N works from inside a text field; plain N there is just typing', async () => {
      render(App);
      await userEvent.click(await screen.findByTestId('nav-keys'));
      const name = screen.getByTestId('key-name');
      await userEvent.type(name, 'Main n');
      expect(name).toHaveValue('Main n');
      expect(screen.getByRole('heading', { level: 1, name: 'Signing keys' })).toBeInTheDocument();

      await userEvent.keyboard('{Control>}n{/Control}');
      expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
      await vi.waitFor(() => expect(screen.getByTestId('license-policy')).toHaveFocus());
    });

    it('N during the guided start leaves it for Licenses', async () => {
      p.listSigningKeys.mockResolvedValue([]);
      render(App);
      await screen.findByTestId('firstrun-key-create');
      screen.getByTestId('firstrun-key-create').focus();
      await userEvent.keyboard('n');
      expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
      expect(screen.queryByTestId('firstrun')).toBeNull();
    });

    it('reaching Licenses from the nav does not steal focus to the form', async () => {
      render(App);
      await userEvent.keyboard('n');
      await vi.waitFor(() => expect(screen.getByTestId('license-policy')).toHaveFocus());
      // The sheet is modal: the nav takes no click until it is closed.
      await userEvent.keyboard('{Escape}');
      await userEvent.click(screen.getByTestId('nav-keys'));
      await userEvent.click(screen.getByTestId('nav-licenses'));
      await screen.findByTestId('license-policy');
      await new Promise((r) => setTimeout(r, 0));
      expect(screen.getByTestId('license-policy')).not.toHaveFocus();
    });

    it('the nav works from the keyboard', async () => {
      render(App);
      await screen.findByRole('heading', { level: 1, name: 'Dashboard' });
      screen.getByTestId('nav-audit').focus();
      await userEvent.keyboard('{Enter}');
      expect(screen.getByRole('heading', { level: 1, name: 'Audit log' })).toBeInTheDocument();
      screen.getByTestId('nav-customers').focus();
      await userEvent.keyboard(' ');
      expect(screen.getByRole('heading', { level: 1, name: 'Customers' })).toBeInTheDocument();
    });
  });
});

describe('the audit anchor found at open', () => {
  beforeEach(resetPlatform);

  it('says so above every screen when the log does not match its anchor, and can be dismissed', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.storeInfo.mockResolvedValue({
      path: '/home/vendor/store.db',
      storeId: 'store-1',
      keychainService: 'keywright/store-1',
      audit: { state: 'tampered', message: 'rows 40 to 42 were deleted from the end of the audit log' },
    });
    render(App);
    const banner = await screen.findByTestId('audit-banner');
    expect(banner).toHaveTextContent(ADVICE.AUDIT_TAMPERED);
    expect(banner).toHaveTextContent('rows 40 to 42 were deleted');
    await userEvent.click(screen.getByRole('button', { name: 'Dismiss error' }));
    expect(screen.queryByTestId('audit-banner')).toBeNull();
  });

  it('shows nothing when the log matches its anchor', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    render(App);
    await screen.findByTestId('store-path');
    expect(screen.queryByTestId('audit-banner')).toBeNull();
  });

  describe('command palette', () => {
    it('Ctrl+K opens it; typing finds a customer; Enter opens the customer, whose license opens its page', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      p.listPolicies.mockResolvedValue([policy()]);
      p.listProducts.mockResolvedValue([product()]);
      const ada = { id: 'cus-1', name: 'Ada Hopper', email: 'ada@example.com', company: null, createdAt: '2025-01-01T00:00:00Z', licenses: 1, activeLicenses: 1 };
      p.listCustomers.mockResolvedValue([ada]);
      const lic = license({ id: 'lic-9', customerName: 'Ada Hopper', key: 'key/ADA.SIG' });
      p.searchLicenses.mockResolvedValue(page([lic]));
      render(App);
      await screen.findByRole('heading', { level: 1, name: 'Dashboard' });

      await userEvent.keyboard('{Control>}k{/Control}');
      const palette = screen.getByRole('dialog', { name: 'Find or run' });
      const input = within(palette).getByRole('combobox');
      await vi.waitFor(() => expect(input).toHaveFocus());
      await expectNoAxeViolations(palette);
      await userEvent.type(input, 'ada');
      await vi.waitFor(() => expect(within(palette).getAllByTestId('palette-item')[0]).toHaveAttribute('data-group', 'Customers'));
      expect(input).toHaveAttribute('aria-activedescendant', 'palette-c-cus-1');
      await userEvent.keyboard('{Enter}');

      expect(screen.queryByRole('dialog')).toBeNull();
      expect(screen.getByRole('heading', { level: 1, name: 'Customers' })).toBeInTheDocument();
      const detail = await screen.findByTestId('customer-detail');
      expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Ada Hopper');
      await userEvent.click(await within(detail).findByTestId('customer-license-open'));
      expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
      expect(await screen.findByTestId('license-detail')).toHaveTextContent('key/ADA.SIG');
    });

    it('↓ moves through screens and actions; Enter runs one; Esc closes', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      render(App);
      await screen.findByRole('heading', { level: 1, name: 'Dashboard' });
      await userEvent.keyboard('{Control>}k{/Control}');
      const input = screen.getByRole('combobox');
      await userEvent.type(input, 'back');
      const items = screen.getAllByTestId('palette-item');
      expect(items.map((i) => i.textContent?.replace(/\s+/g, ' ').trim())).toEqual(['Actions Back up the store', 'Screens Backup']);
      await userEvent.keyboard('{ArrowDown}');
      expect(items[1]).toHaveAttribute('aria-selected', 'true');
      await userEvent.keyboard('{Enter}');
      expect(screen.getByRole('heading', { level: 1, name: 'Backup' })).toBeInTheDocument();

      await userEvent.keyboard('{Control>}k{/Control}');
      await vi.waitFor(() => expect(within(screen.getByRole('dialog')).getByRole('combobox')).toHaveFocus());
      await userEvent.keyboard('{Escape}');
      await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    });
  });

  it('a renewals bar on the dashboard opens Licenses filtered to those expiring', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.dashboard.mockResolvedValue({
      perProduct: [{ productId: 'prod-1', productName: 'Acme Editor', issued: 1, active: 1, suspended: 0, revoked: 0, expiring30d: 1, seatsUsed: 0, seatsLimit: 1, unlimited: 0 }],
      issuedPerDay: [], issuedPerWeek: [], activationsPerDay: [],
      attention: { expiredWithMachines: 0, suspendedWithMachines: 0, expiring7d: 0, productsWithoutPolicy: [], clockBehind: null, keysRetiring: [] },
      recent: [],
      recentNames: [],
    });
    render(App);
    const bars = await screen.findAllByTestId('dashboard-renewal');
    await userEvent.click(bars[1]);
    expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
    expect(screen.getByTestId('license-filter-expiring')).toHaveValue('60');
    await vi.waitFor(() => expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ expiringWithinDays: 60 })));
  });
});

describe('customer and product pages', () => {
  beforeEach(resetPlatform);

  const ada = { id: 'cus-1', name: 'Ada Hopper', email: 'ada@example.com', company: 'Hopper Labs', createdAt: '2025-01-01T00:00:00Z', licenses: 1, activeLicenses: 1 };

  it('the palette opens a product on its page; its license opens on Licenses', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([product(), product({ id: 'prod-2', name: 'Zapper Pro', code: 'zapper' })]);
    p.listPolicies.mockResolvedValue([policy({ productId: 'prod-2', name: 'Yearly' })]);
    const lic = license({ id: 'lic-9', productId: 'prod-2', productName: 'Zapper Pro', policyName: 'Yearly', key: 'key/ZAP.SIG' });
    p.searchLicenses.mockResolvedValue(page([lic]));
    render(App);
    await screen.findByRole('heading', { level: 1, name: 'Dashboard' });
    await userEvent.keyboard('{Control>}k{/Control}');
    await userEvent.type(screen.getByRole('combobox'), 'zap');
    const item = await vi.waitFor(() => {
      const found = screen.getAllByTestId('palette-item').find((i) => i.getAttribute('data-group') === 'Products');
      expect(found).toHaveTextContent('Zapper Pro');
      return found as HTMLElement;
    });
    await userEvent.click(item);

    expect(screen.getByRole('heading', { level: 1, name: 'Products' })).toBeInTheDocument();
    const detail = await screen.findByTestId('product-detail');
    expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Zapper Pro');
    await userEvent.click(await within(detail).findByTestId('product-license-open'));
    expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
    expect(await screen.findByTestId('license-detail')).toHaveTextContent('key/ZAP.SIG');
    await expectNoAxeViolations(document.body);
  });

  it("names in an activity sentence open the customer's and the product's pages", async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([product()]);
    p.listCustomers.mockResolvedValue([ada]);
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [{ productId: 'prod-1', productName: 'Acme Editor', issued: 1, active: 1, suspended: 0, revoked: 0, expiring30d: 0, seatsUsed: 0, seatsLimit: 1, unlimited: 0 }],
        recent: [auditEvent({ seq: 2, action: 'license.issue' }), auditEvent({ seq: 1, action: 'product.create', subjectType: 'product', subjectId: 'prod-1' })],
        recentNames: [
          names({ licenseId: 'lic-1', customerId: 'cus-1', customer: 'Ada Hopper', productId: 'prod-1', product: 'Acme Editor', policy: 'Pro annual' }),
          names({ productId: 'prod-1', product: 'Acme Editor' }),
        ],
      }),
    );
    render(App);
    const recent = await screen.findAllByTestId('dashboard-recent');
    await userEvent.click(within(recent[0]).getByRole('button', { name: 'Ada Hopper' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Customers' })).toBeInTheDocument();
    const customerPage = await screen.findByTestId('customer-detail');
    expect(customerPage).toHaveTextContent('Hopper Labs');
    expect(p.listCustomers).toHaveBeenCalledWith({ text: 'Ada Hopper', limit: 500 });

    await userEvent.click(screen.getByTestId('nav-dashboard'));
    const again = await screen.findAllByTestId('dashboard-recent');
    await userEvent.click(within(again[1]).getByRole('button', { name: 'Acme Editor' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Products' })).toBeInTheDocument();
    expect(await screen.findByTestId('product-detail')).toHaveTextContent('acme-editor');
  });

  it('"Issue a license for this customer" opens New license filled in with them', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([policy()]);
    p.listCustomers.mockResolvedValue([ada]);
    render(App);
    await userEvent.click(await screen.findByTestId('nav-customers'));
    await userEvent.click(await screen.findByTestId('customer-row'));
    await userEvent.click(await screen.findByTestId('customer-issue'));

    expect(screen.getByRole('heading', { level: 1, name: 'Licenses' })).toBeInTheDocument();
    const sheet = await screen.findByRole('dialog', { name: 'New license' });
    expect(within(sheet).getByTestId('license-customer-name')).toHaveValue('Ada Hopper');
    expect(within(sheet).getByTestId('license-customer-email')).toHaveValue('ada@example.com');
    p.issueLicense.mockResolvedValue(license({ customerName: 'Ada Hopper', customerEmail: 'ada@example.com' }));
    await userEvent.click(within(sheet).getByTestId('license-issue'));
    expect(p.issueLicense).toHaveBeenCalledWith(expect.objectContaining({ policyId: 'pol-1', customerName: 'Ada Hopper', customerEmail: 'ada@example.com' }));
  });
});
