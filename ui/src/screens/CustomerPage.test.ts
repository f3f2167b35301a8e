import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import CustomerPage from './CustomerPage.svelte';
import { commandError, customer, license, machine, p, page, policy, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

const LONG_POLICY = 'Enterprise site license with priority support and every add-on '.repeat(3).trim();

function twoLicenses() {
  return page([
    license({ id: 'lic-1', customerId: 'cust-1', machinesCount: 2, expiry: '2026-03-01T00:00:00Z' }),
    license({ id: 'lic-2', customerId: 'cust-1', status: 'revoked', machinesCount: 0, policyId: 'pol-2', policyName: LONG_POLICY }),
  ]);
}

describe('Customer page', () => {
  beforeEach(resetPlatform);

  it('shows what is stored about the customer, their licenses with seats, and their machines', async () => {
    p.listPolicies.mockResolvedValue([policy({ floating: true, maxMachines: 3 })]);
    p.searchLicenses.mockResolvedValue(twoLicenses());
    p.listMachines.mockResolvedValue([
      machine({ id: 'm-1', hostname: 'jane-laptop' }),
      machine({ id: 'm-2', hostname: null, name: 'Build box', status: 'deactivated', platform: 'linux' }),
    ]);
    render(CustomerPage, { customer: customer(), onback: vi.fn(), onopenlicense: vi.fn() });

    const detail = screen.getByTestId('customer-detail');
    expect(within(detail).getByRole('heading', { level: 2 })).toHaveTextContent('Jane Roe');
    expect(within(detail).getByTestId('customer-email-value')).toHaveTextContent('jane@example.com');
    expect(within(detail).getByTestId('customer-company')).toHaveTextContent('Roe Instruments');
    expect(within(detail).getByTestId('customer-license-count')).toHaveTextContent('2 (1 active)');

    const rows = await within(detail).findAllByTestId('customer-license-row');
    expect(p.searchLicenses).toHaveBeenCalledWith(expect.objectContaining({ customerId: 'cust-1', cursor: null }));
    expect(rows).toHaveLength(2);
    await vi.waitFor(() => expect(within(rows[0]).getByTestId('customer-license-seats')).toHaveTextContent('2 of 3'));
    expect(rows[1]).toHaveTextContent('revoked');
    // The long policy is cut in the table; the whole text is in the cell's title.
    expect(within(rows[1]).getByTitle(`Acme Editor — ${LONG_POLICY}`)).toBeInTheDocument();

    // Machines are asked for only on licenses that have some.
    const machines = await within(detail).findAllByTestId('customer-machine-row');
    expect(p.listMachines).toHaveBeenCalledTimes(1);
    expect(p.listMachines).toHaveBeenCalledWith('lic-1');
    expect(machines).toHaveLength(2);
    expect(machines[0]).toHaveTextContent('jane-laptop');
    expect(machines[1]).toHaveTextContent('Build box');
    expect(machines[1]).toHaveTextContent('deactivated');
  });

  it('lists machines for at most 25 licenses and says where the others are', async () => {
    const many = Array.from({ length: 30 }, (_, i) => license({ id: `lic-${i}`, customerId: 'cust-1', machinesCount: 1 }));
    p.searchLicenses.mockResolvedValue(page(many));
    p.listMachines.mockImplementation(async (licenseId: string) => [machine({ id: `m-${licenseId}`, licenseId })]);
    render(CustomerPage, { customer: customer({ licenses: 30 }), onback: vi.fn() });
    expect(await screen.findAllByTestId('customer-machine-row')).toHaveLength(25);
    expect(p.listMachines).toHaveBeenCalledTimes(25);
    expect(screen.getByText(/Machines of 5 more licenses are on each license's page/)).toBeInTheDocument();
  });

  it('a customer without licenses: says so and asks for no machines', async () => {
    render(CustomerPage, { customer: customer({ licenses: 0, activeLicenses: 0, company: null }), onback: vi.fn() });
    expect(await screen.findByTestId('customer-licenses-empty')).toHaveTextContent('No licenses.');
    expect(screen.getByTestId('customer-company')).toHaveTextContent('—');
    expect(screen.queryByTestId('customer-license-row')).toBeNull();
    expect(p.listMachines).not.toHaveBeenCalled();
  });

  it('a store error shows in the banner with its advice; the customer stays on the page and Try again loads', async () => {
    p.searchLicenses.mockRejectedValueOnce(commandError('STORE', 'database is locked')).mockResolvedValue(twoLicenses());
    render(CustomerPage, { customer: customer(), onback: vi.fn() });
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'STORE');
    expect(banner).toHaveTextContent(ADVICE.STORE);
    expect(banner).toHaveTextContent('database is locked');
    expect(screen.getByTestId('customer-email-value')).toHaveTextContent('jane@example.com');

    await userEvent.click(screen.getByTestId('customer-retry'));
    expect(await screen.findAllByTestId('customer-license-row')).toHaveLength(2);
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  it('a failure listing machines keeps the licenses on the page', async () => {
    p.searchLicenses.mockResolvedValue(twoLicenses());
    p.listMachines.mockRejectedValue(commandError('STORE', 'disk I/O error'));
    render(CustomerPage, { customer: customer(), onback: vi.fn() });
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('disk I/O error');
    expect(screen.getAllByTestId('customer-license-row')).toHaveLength(2);
  });

  it('Back goes back; a license opens by its id; the issue action passes the customer', async () => {
    p.searchLicenses.mockResolvedValue(twoLicenses());
    const onback = vi.fn();
    const onopenlicense = vi.fn();
    const onissue = vi.fn();
    render(CustomerPage, { customer: customer(), onback, onopenlicense, onissue });
    const opens = await screen.findAllByTestId('customer-license-open');
    await userEvent.click(opens[1]);
    expect(onopenlicense).toHaveBeenCalledWith('lic-2');
    await userEvent.click(screen.getByTestId('customer-issue'));
    expect(onissue).toHaveBeenCalledWith(expect.objectContaining({ id: 'cust-1', email: 'jane@example.com' }));
    await userEvent.click(screen.getByTestId('customer-back'));
    expect(onback).toHaveBeenCalledTimes(1);
  });

  it('offers no issue action for a customer without an email (the form could not find them again)', async () => {
    render(CustomerPage, { customer: customer({ email: null }), onback: vi.fn(), onissue: vi.fn() });
    await screen.findByTestId('customer-licenses-empty');
    expect(screen.queryByTestId('customer-issue')).toBeNull();
  });

  it('has no accessibility violations (axe), headings in order', async () => {
    p.searchLicenses.mockResolvedValue(twoLicenses());
    p.listMachines.mockResolvedValue([machine()]);
    const { container } = render(CustomerPage, { customer: customer(), onback: vi.fn(), onopenlicense: vi.fn(), onissue: vi.fn() });
    await screen.findAllByTestId('customer-machine-row');
    expect(screen.getAllByRole('heading').map((h) => h.tagName)).toEqual(['H2', 'H3', 'H3']);
    await expectNoAxeViolations(container);
  });
});
