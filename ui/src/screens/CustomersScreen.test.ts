import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import CustomersScreen from './CustomersScreen.svelte';
import { commandError, license, p, page, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';
import type { CustomerSummary } from '../bindings';

function customer(overrides: Partial<CustomerSummary> = {}): CustomerSummary {
  return {
    id: 'cust-1',
    name: 'Jane Roe',
    email: 'jane@example.com',
    company: 'Roe Instruments',
    createdAt: '2025-01-04T10:00:00Z',
    licenses: 2,
    activeLicenses: 1,
    ...overrides,
  };
}

describe('Customers screen', () => {
  beforeEach(resetPlatform);

  it('says when there are no customers yet', async () => {
    render(CustomersScreen);
    expect(await screen.findByTestId('customer-empty')).toHaveTextContent('No customers yet');
    expect(p.listCustomers).toHaveBeenCalledWith({ text: null, limit: 100 });
  });

  it('lists customers with license counts and opens their licenses on click and Enter', async () => {
    p.listCustomers.mockResolvedValue([customer(), customer({ id: 'cust-2', name: null, email: 'bob@corp.test', licenses: 1, activeLicenses: 0 })]);
    p.searchLicenses.mockResolvedValue(page([license({ customerId: 'cust-1' }), license({ id: 'lic-2', status: 'revoked' })]));
    render(CustomersScreen);
    const rows = await screen.findAllByTestId('customer-row');
    expect(rows[0]).toHaveTextContent('Jane Roe');
    expect(rows[0]).toHaveTextContent('jane@example.com');
    expect(rows[0]).toHaveTextContent('Roe Instruments');
    expect(rows[0]).toHaveTextContent('21');

    await userEvent.click(rows[0]);
    expect(p.searchLicenses).toHaveBeenCalledWith(expect.objectContaining({ customerId: 'cust-1', cursor: null }));
    const detail = await screen.findByTestId('customer-detail');
    expect(within(detail).getByRole('heading')).toHaveTextContent('Licenses of Jane Roe');
    expect(within(detail).getByTestId('customer-company')).toHaveTextContent('Roe Instruments');
    const licenseRows = within(detail).getAllByTestId('customer-license-row');
    expect(licenseRows).toHaveLength(2);
    expect(licenseRows[1]).toHaveTextContent('revoked');

    rows[1].focus();
    await userEvent.keyboard('{Enter}');
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ customerId: 'cust-2' }));
    expect(await screen.findByRole('heading', { name: 'Licenses of bob@corp.test' })).toBeInTheDocument();
  });

  it('searches by name or email after typing stops', async () => {
    p.listCustomers.mockResolvedValueOnce([customer()]).mockResolvedValue([]);
    render(CustomersScreen);
    await screen.findByTestId('customer-row');
    await userEvent.type(screen.getByTestId('customer-search'), 'zed');
    await vi.waitFor(() => expect(p.listCustomers).toHaveBeenCalledTimes(2));
    expect(p.listCustomers).toHaveBeenLastCalledWith({ text: 'zed', limit: 100 });
    expect(await screen.findByTestId('customer-empty')).toHaveTextContent('No customers match');
  });

  it('shows a backend error with advice; hostile names stay text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    p.listCustomers.mockResolvedValue([customer({ name: hostile })]);
    p.searchLicenses.mockRejectedValue(commandError('STORE', 'database is locked'));
    const { container } = render(CustomersScreen);
    const row = await screen.findByTestId('customer-row');
    expect(row).toHaveTextContent(hostile);
    await userEvent.click(row);
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'STORE');
    expect(banner).toHaveTextContent(ADVICE.STORE);
    expect(container.querySelector('img')).toBeNull();
  });
  it('has no accessibility violations (axe)', async () => {
    p.listCustomers.mockResolvedValue([customer(), customer({ id: 'cust-2', name: null })]);
    const { container } = render(CustomersScreen);
    await screen.findAllByTestId('customer-row');
    await expectNoAxeViolations(container);
  });
});
