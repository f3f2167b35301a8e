import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ProductPage from './ProductPage.svelte';
import { commandError, key, license, p, page, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

const LONG_NAME = 'Maximilian Alexander von Hohenzollern-Sigmaringen the Third of Very Long Names';

function setup() {
  p.listPolicies.mockResolvedValue([
    policy({ id: 'pol-1', name: 'Pro annual', floating: true, maxMachines: 3 }),
    policy({ id: 'pol-2', name: 'Basic', floating: false, maxMachines: 1, durationSeconds: null }),
    policy({ id: 'pol-x', productId: 'prod-other', name: 'Someone else’s' }),
  ]);
  p.searchLicenses.mockResolvedValue(
    page(
      [
        license({ id: 'lic-1', machinesCount: 2 }),
        license({ id: 'lic-2', customerName: LONG_NAME, policyId: 'pol-2', policyName: 'Basic', machinesCount: 1, status: 'suspended' }),
      ],
      120,
      'cursor-2',
    ),
  );
}

describe('Product page', () => {
  beforeEach(resetPlatform);

  it('shows the product, its key by name and short id, its policies and its licenses with counts', async () => {
    setup();
    render(ProductPage, {
      product: product({ url: 'https://acme.test' }),
      keys: [key()],
      onback: vi.fn(),
      onnavigate: vi.fn(),
      onopenlicense: vi.fn(),
    });
    const detail = screen.getByTestId('product-detail');
    expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Acme Editor');
    expect(within(detail).getByTestId('product-page-code')).toHaveTextContent('acme-editor');
    expect(within(detail).getByText('https://acme.test')).toBeInTheDocument();
    expect(within(detail).getByTestId('product-page-key')).toHaveTextContent('Main key kid-aaaa');

    const policies = await within(detail).findAllByTestId('product-policy-row');
    expect(policies.map((r) => r.dataset.policyId)).toEqual(['pol-2', 'pol-1']);
    expect(policies[0]).toHaveTextContent('perpetual');
    expect(policies[0]).toHaveTextContent('node-locked (1)');
    expect(policies[1]).toHaveTextContent('floating, up to 3');
    expect(within(detail).getByTestId('product-policy-count')).toHaveTextContent('(2)');

    expect(p.searchLicenses).toHaveBeenCalledWith(
      expect.objectContaining({ productId: 'prod-1', policyId: null, customerId: null, cursor: null, limit: 50 }),
    );
    const rows = within(detail).getAllByTestId('product-license-row');
    expect(rows).toHaveLength(2);
    expect(within(detail).getByTestId('product-license-count')).toHaveTextContent('(120)');
    expect(rows[0]).toHaveTextContent('2 of 3');
    expect(rows[1]).toHaveTextContent('1 of 1');
    expect(rows[1]).toHaveTextContent('suspended');
    // A long name is cut in the table; its title holds all of it.
    expect(within(rows[1]).getByTitle(LONG_NAME)).toBeInTheDocument();
  });

  it('filters the licenses by policy and loads more pages', async () => {
    setup();
    render(ProductPage, { product: product(), keys: [key()], onback: vi.fn() });
    await screen.findAllByTestId('product-license-row');
    p.searchLicenses.mockResolvedValueOnce(page([license({ id: 'lic-3', customerName: 'Carol' })], 3, 'cursor-b'));
    await userEvent.selectOptions(screen.getByTestId('product-license-policy'), 'pol-2');
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ productId: 'prod-1', policyId: 'pol-2', cursor: null }));
    await vi.waitFor(() => expect(screen.getAllByTestId('product-license-row')).toHaveLength(1));
    expect(screen.getByTestId('product-license-count')).toHaveTextContent('(3)');

    p.searchLicenses.mockResolvedValueOnce(page([license({ id: 'lic-4', customerName: 'Dan' })], 3, null));
    await userEvent.click(screen.getByTestId('product-license-more'));
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ policyId: 'pol-2', cursor: 'cursor-b' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('product-license-row')).toHaveLength(2));
    expect(screen.queryByTestId('product-license-more')).toBeNull();
  });

  it('a product without policies or licenses says so, and offers Policies', async () => {
    const onnavigate = vi.fn();
    render(ProductPage, { product: product(), keys: [key({ status: 'retired' })], onback: vi.fn(), onnavigate });
    expect(await screen.findByTestId('product-policies-empty')).toBeInTheDocument();
    expect(screen.getByTestId('product-licenses-empty')).toHaveTextContent('No licenses of this product yet.');
    expect(screen.getByTestId('product-license-count')).toHaveTextContent('(0)');
    expect(screen.getByTestId('product-page-key')).toHaveTextContent('retired');
    await userEvent.click(screen.getByRole('button', { name: 'Go to Policies' }));
    expect(onnavigate).toHaveBeenCalledWith('policies');
  });

  it('a store error shows in the banner with its advice; what did load stays, Try again loads the rest', async () => {
    setup();
    p.listPolicies.mockReset();
    p.listPolicies.mockRejectedValueOnce(commandError('STORE', 'database is locked')).mockResolvedValue([policy()]);
    render(ProductPage, { product: product(), keys: [], onback: vi.fn() });
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'STORE');
    expect(banner).toHaveTextContent(ADVICE.STORE);
    expect(banner).toHaveTextContent('database is locked');
    // The licenses did load; the key is shown by its id when the key list is not there.
    expect(screen.getAllByTestId('product-license-row')).toHaveLength(2);
    expect(screen.getByTestId('product-page-key')).toHaveTextContent('key-1');

    await userEvent.click(screen.getByTestId('product-retry'));
    expect(await screen.findAllByTestId('product-policy-row')).toHaveLength(1);
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  it('Back goes back; a license opens by id; a policy opens Policies', async () => {
    setup();
    const onback = vi.fn();
    const onnavigate = vi.fn();
    const onopenlicense = vi.fn();
    render(ProductPage, { product: product(), keys: [key()], onback, onnavigate, onopenlicense });
    const opens = await screen.findAllByTestId('product-license-open');
    await userEvent.click(opens[1]);
    expect(onopenlicense).toHaveBeenCalledWith('lic-2');
    await userEvent.click(screen.getAllByTestId('product-policy-open')[0]);
    expect(onnavigate).toHaveBeenCalledWith('policies');
    await userEvent.click(screen.getByTestId('product-back'));
    expect(onback).toHaveBeenCalledTimes(1);
  });

  it('has no accessibility violations (axe), headings in order', async () => {
    setup();
    const { container } = render(ProductPage, {
      product: product({ supportMessage: 'Mail us' }),
      keys: [key()],
      onback: vi.fn(),
      onnavigate: vi.fn(),
      onopenlicense: vi.fn(),
    });
    await screen.findAllByTestId('product-license-row');
    expect(screen.getAllByRole('heading').map((h) => h.tagName)).toEqual(['H2', 'H3', 'H3']);
    await expectNoAxeViolations(container);
  });
});
