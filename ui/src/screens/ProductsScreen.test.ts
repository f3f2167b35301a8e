import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ProductsScreen from './ProductsScreen.svelte';
import { commandError, key, license, p, page, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

describe('Products screen', () => {
  beforeEach(resetPlatform);

  it('rotates a product to another active key', async () => {
    p.listSigningKeys.mockResolvedValue([
      key({ id: 'old', name: 'Old key', status: 'retired' }),
      key({ id: 'new', name: 'New key', kid: 'kid-new', createdAt: '2026-01-01T00:00:00Z' }),
    ]);
    p.listProducts.mockResolvedValue([product({ signingKeyId: 'old' })]);
    p.setProductSigningKey.mockResolvedValue(product({ signingKeyId: 'new' }));
    render(ProductsScreen, { onnavigate: vi.fn() });
    const row = await screen.findByTestId('product-row');
    expect(within(row).getByText(/choose another key/)).toBeInTheDocument();
    await userEvent.selectOptions(within(row).getByTestId('product-set-key'), 'new');
    await userEvent.click(within(row).getByTestId('product-set-key-apply'));
    expect(p.setProductSigningKey).toHaveBeenCalledWith('prod-1', 'new');
  });

  it('without keys, asks for a signing key first and navigates there', async () => {
    const onnavigate = vi.fn();
    render(ProductsScreen, { onnavigate });
    expect(await screen.findByText(/No products yet/)).toBeInTheDocument();
    expect(screen.queryByTestId('product-key')).toBeNull();
    expect(screen.getByTestId('product-create')).toBeDisabled();
    await userEvent.click(screen.getByTestId('product-new'));
    await userEvent.click(screen.getByRole('button', { name: 'Go to Signing keys' }));
    expect(onnavigate).toHaveBeenCalledWith('keys');
  });

  it('preselects the newest active key and sends optional fields as null', async () => {
    p.listSigningKeys.mockResolvedValue([
      key({ id: 'old', name: 'Old', createdAt: '2024-01-01T00:00:00Z' }),
      key({ id: 'newest', name: 'Newest', createdAt: '2025-06-01T00:00:00Z' }),
      key({ id: 'retired', name: 'Retired', status: 'retired', createdAt: '2025-12-01T00:00:00Z' }),
    ]);
    const created = product({ name: 'Acme Editor', signingKeyId: 'newest' });
    p.listProducts.mockResolvedValueOnce([]).mockResolvedValueOnce([created]);
    p.createProduct.mockResolvedValue(created);
    render(ProductsScreen, { onnavigate: vi.fn() });

    const select = (await screen.findByTestId('product-key')) as HTMLSelectElement;
    await vi.waitFor(() => expect(select.value).toBe('newest'));
    expect(Array.from(select.options).map((o) => o.value)).toEqual(['newest', 'old']);

    await userEvent.type(screen.getByTestId('product-name'), 'Acme Editor');
    await userEvent.type(screen.getByTestId('product-support'), 'Contact support@acme.test');
    await userEvent.click(screen.getByTestId('product-create'));

    expect(p.createProduct).toHaveBeenCalledWith({
      name: 'Acme Editor',
      code: null,
      url: null,
      supportMessage: 'Contact support@acme.test',
      signingKeyId: 'newest',
    });
    expect(await screen.findAllByTestId('product-row')).toHaveLength(1);
  });

  it('renders hostile and very long names as inert, exact text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const long = 'Ωmega & "quotes" <b>not bold</b> 🚀 '.repeat(400).slice(0, 10240);
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([
      product({ id: 'a', name: hostile, supportMessage: hostile }),
      product({ id: 'b', name: long, createdAt: '2024-01-01T00:00:00Z' }),
    ]);
    const { container } = render(ProductsScreen, { onnavigate: vi.fn() });

    const names = await screen.findAllByTestId('product-row-name');
    expect(names[0].textContent).toBe(hostile);
    expect(names[1].textContent).toBe(long);
    expect(names[1].textContent).toHaveLength(10240);
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
  });

  it('shows a conflict from the backend with advice and message', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.createProduct.mockRejectedValue(commandError('CONFLICT', 'a product with code "acme" already exists'));
    render(ProductsScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('product-key');
    await userEvent.type(screen.getByTestId('product-name'), 'Acme');
    await userEvent.type(screen.getByTestId('product-code'), 'acme');
    await userEvent.click(screen.getByTestId('product-create'));

    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'CONFLICT');
    expect(banner).toHaveTextContent(ADVICE.CONFLICT);
    expect(banner).toHaveTextContent('a product with code "acme" already exists');
    // The form keeps what was typed so the user can fix it.
    expect(screen.getByTestId('product-name')).toHaveValue('Acme');
  });
  it('has no accessibility violations (axe)', async () => {
    p.listSigningKeys.mockResolvedValue([key(), key({ id: 'key-2', kid: 'kid-2', name: 'Second' })]);
    p.listProducts.mockResolvedValue([product({ url: 'https://acme.test', supportMessage: 'Mail us' })]);
    const { container } = render(ProductsScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('product-row');
    await expectNoAxeViolations(container);
  });

  it('opens on the list; "New product" opens the form in a sheet, a conflict shows there and keeps the input', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([product()]);
    p.createProduct.mockRejectedValue(commandError('CONFLICT', 'a product with code acme-editor exists'));
    render(ProductsScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('product-row');
    expect(screen.queryByRole('dialog')).toBeNull();
    await userEvent.click(screen.getByTestId('product-new'));
    const sheet = screen.getByRole('dialog', { name: 'New product' });
    await vi.waitFor(() => expect(within(sheet).getByTestId('product-name')).toHaveFocus());
    await userEvent.type(within(sheet).getByTestId('product-name'), 'Acme Editor');
    await userEvent.click(within(sheet).getByTestId('product-create'));
    expect(await within(sheet).findByTestId('error-banner')).toHaveAttribute('data-code', 'CONFLICT');
    expect(within(sheet).getByTestId('product-name')).toHaveValue('Acme Editor');
    await expectNoAxeViolations(document.body);
  });

  it('a "new" request (N on this screen) opens the sheet; creating closes it', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.createProduct.mockResolvedValue(product());
    const { rerender } = render(ProductsScreen, { onnavigate: vi.fn(), newRequest: 0 });
    await screen.findByText(/No products yet/);
    await rerender({ onnavigate: vi.fn(), newRequest: 1 });
    const sheet = await screen.findByRole('dialog', { name: 'New product' });
    await userEvent.type(within(sheet).getByTestId('product-name'), 'Acme Editor');
    await userEvent.click(within(sheet).getByTestId('product-create'));
    await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.getByRole('status')).toHaveTextContent('Created product');
  });

  describe("a product's page", () => {
    function twoProducts() {
      p.listSigningKeys.mockResolvedValue([key()]);
      p.listProducts.mockResolvedValue([
        product({ id: 'prod-1', name: 'Acme Editor', createdAt: '2025-01-02T10:00:00Z' }),
        product({ id: 'prod-2', name: 'Zapper Pro', code: 'zapper', createdAt: '2025-01-01T10:00:00Z' }),
      ]);
      p.listPolicies.mockResolvedValue([policy({ id: 'pol-9', productId: 'prod-2', name: 'Yearly' })]);
      p.searchLicenses.mockResolvedValue(page([license({ id: 'lic-5', productId: 'prod-2', productName: 'Zapper Pro', policyName: 'Yearly' })]));
    }

    it('opens from the name in place of the list; Back returns to the list with the name focused', async () => {
      twoProducts();
      const onopenlicense = vi.fn();
      render(ProductsScreen, { onnavigate: vi.fn(), onopenlicense });
      const opens = await screen.findAllByTestId('product-open');
      expect(opens[1]).toHaveTextContent('Zapper Pro');
      await userEvent.click(opens[1]);
      const detail = await screen.findByTestId('product-detail');
      expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Zapper Pro');
      expect(screen.getAllByTestId('product-row')[0]).not.toBeVisible();
      await vi.waitFor(() => expect(detail).toHaveFocus());
      expect(p.searchLicenses).toHaveBeenCalledWith(expect.objectContaining({ productId: 'prod-2' }));
      expect(await within(detail).findAllByTestId('product-policy-row')).toHaveLength(1);
      await userEvent.click(within(detail).getByTestId('product-license-open'));
      expect(onopenlicense).toHaveBeenCalledWith('lic-5');

      await userEvent.click(within(detail).getByTestId('product-back'));
      expect(screen.queryByTestId('product-detail')).toBeNull();
      expect(screen.getAllByTestId('product-row')[1]).toBeVisible();
      expect(screen.getAllByTestId('product-open')[1]).toHaveFocus();
    });

    it('Esc goes back, unless the New product sheet is open', async () => {
      twoProducts();
      render(ProductsScreen, { onnavigate: vi.fn() });
      await userEvent.click((await screen.findAllByTestId('product-open'))[0]);
      await screen.findByTestId('product-detail');
      await userEvent.click(screen.getByTestId('product-new'));
      const sheet = screen.getByRole('dialog', { name: 'New product' });
      await vi.waitFor(() => expect(within(sheet).getByTestId('product-name')).toHaveFocus());
      await userEvent.keyboard('{Escape}');
      expect(screen.getByTestId('product-detail')).toBeInTheDocument();
      await userEvent.click(within(sheet).getByTestId('product-sheet-close'));
      await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
      screen.getByTestId('product-detail').focus();
      await userEvent.keyboard('{Escape}');
      expect(screen.queryByTestId('product-detail')).toBeNull();
      expect(screen.getAllByTestId('product-open')[0]).toHaveFocus();
    });

    it('opens a product asked for by id (the palette, an activity link)', async () => {
      twoProducts();
      render(ProductsScreen, { onnavigate: vi.fn(), openProduct: { id: 'prod-2' } });
      const detail = await screen.findByTestId('product-detail');
      expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Zapper Pro');
    });

    it('has no accessibility violations (axe)', async () => {
      twoProducts();
      const { container } = render(ProductsScreen, { onnavigate: vi.fn(), onopenlicense: vi.fn(), openProduct: { id: 'prod-2' } });
      await screen.findAllByTestId('product-license-row');
      await expectNoAxeViolations(container);
    });
  });
});
