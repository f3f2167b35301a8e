import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import CustomersScreen from './CustomersScreen.svelte';
import { commandError, customer, license, machine, p, page, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

describe('Customers screen', () => {
  beforeEach(resetPlatform);

  it('says when there are no customers yet', async () => {
    render(CustomersScreen);
    expect(await screen.findByTestId('customer-empty')).toHaveTextContent('No customers yet');
    expect(p.listCustomers).toHaveBeenCalledWith({ text: null, limit: 100 });
  });

  it('lists customers with license counts; a click or Enter opens their page in place of the list', async () => {
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
    expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Jane Roe');
    expect(within(detail).getByTestId('customer-company')).toHaveTextContent('Roe Instruments');
    const licenseRows = await within(detail).findAllByTestId('customer-license-row');
    expect(licenseRows).toHaveLength(2);
    expect(licenseRows[1]).toHaveTextContent('revoked');
    // The page takes the list's place.
    expect(screen.getByTestId('customer-search')).not.toBeVisible();
    expect(rows[0]).not.toBeVisible();
    await vi.waitFor(() => expect(detail).toHaveFocus());

    await userEvent.click(within(detail).getByTestId('customer-back'));
    expect(screen.queryByTestId('customer-detail')).toBeNull();
    expect(rows[1]).toBeVisible();
    rows[1].focus();
    await userEvent.keyboard('{Enter}');
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ customerId: 'cust-2' }));
    expect(await screen.findByRole('heading', { level: 2, name: 'bob@corp.test' })).toBeInTheDocument();
  });

  it('Back and Esc return to the list with its search kept and the row focused', async () => {
    p.listCustomers.mockResolvedValueOnce([customer()]).mockResolvedValue([customer({ id: 'cust-2', name: 'Zed Zulu' })]);
    render(CustomersScreen);
    await screen.findByTestId('customer-row');
    await userEvent.type(screen.getByTestId('customer-search'), 'zed');
    await vi.waitFor(() => expect(screen.getByTestId('customer-row')).toHaveTextContent('Zed Zulu'));
    await userEvent.click(screen.getByTestId('customer-row'));
    await screen.findByTestId('customer-licenses-empty');

    await userEvent.keyboard('{Escape}');
    expect(screen.queryByTestId('customer-detail')).toBeNull();
    expect(screen.getByTestId('customer-search')).toHaveValue('zed');
    await vi.waitFor(() => expect(screen.getByTestId('customer-row')).toHaveFocus());
    expect(p.listCustomers).toHaveBeenCalledTimes(2);

    await userEvent.keyboard('{Enter}');
    await userEvent.click(await screen.findByTestId('customer-back'));
    expect(screen.getByTestId('customer-search')).toHaveValue('zed');
    expect(screen.getByTestId('customer-row')).toHaveFocus();
  });

  it('opens a customer chosen elsewhere, and one known by id (an activity link)', async () => {
    const ada = customer({ id: 'cust-9', name: 'Ada Hopper', email: 'ada@example.com' });
    p.listCustomers.mockResolvedValue([customer(), ada]);
    const onopenlicense = vi.fn();
    p.searchLicenses.mockResolvedValue(page([license({ id: 'lic-7', customerId: 'cust-9' })]));
    const ref = { id: 'cust-9', name: 'Ada Hopper' };
    const { rerender } = render(CustomersScreen, { openCustomerRef: ref, onopenlicense });
    const detail = await screen.findByTestId('customer-detail');
    expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Ada Hopper');
    expect(p.listCustomers).toHaveBeenCalledWith({ text: 'Ada Hopper', limit: 500 });
    await userEvent.click(await within(detail).findByTestId('customer-license-open'));
    expect(onopenlicense).toHaveBeenCalledWith('lic-7');

    await rerender({ openCustomer: customer(), openCustomerRef: ref, onopenlicense });
    await vi.waitFor(() => expect(screen.getByTestId('customer-detail')).toHaveTextContent('Jane Roe'));
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
  it("has no accessibility violations (axe), on the list and on a customer's page", async () => {
    p.listCustomers.mockResolvedValue([customer(), customer({ id: 'cust-2', name: null })]);
    p.searchLicenses.mockResolvedValue(page([license({ customerId: 'cust-1', machinesCount: 1 })]));
    p.listMachines.mockResolvedValue([machine()]);
    const { container } = render(CustomersScreen, { onopenlicense: vi.fn(), onissue: vi.fn() });
    await screen.findAllByTestId('customer-row');
    await expectNoAxeViolations(container);
    await userEvent.click(screen.getAllByTestId('customer-row')[0]);
    await screen.findByTestId('customer-machine-row');
    await expectNoAxeViolations(container);
  });

  it('says so when a customer asked for by id is not listed', async () => {
    p.listCustomers.mockResolvedValue([customer()]);
    render(CustomersScreen, { openCustomerRef: { id: 'gone', name: 'Gone Person' } });
    await vi.waitFor(() => expect(screen.getByTestId('customer-notice')).toHaveTextContent('Gone Person is not among the customers listed'));
    expect(screen.queryByTestId('customer-detail')).toBeNull();
  });
});
