import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import DashboardScreen from './DashboardScreen.svelte';
import { auditEvent, commandError, names, p, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';
import type { ProductSummary } from '../bindings';

function summary(overrides: Partial<ProductSummary> = {}): ProductSummary {
  return {
    productId: 'prod-1',
    productName: 'Acme Editor',
    issued: 10,
    active: 7,
    suspended: 2,
    revoked: 1,
    expiring30d: 3,
    ...overrides,
  };
}

function days(counts: number[]) {
  return counts.map((count, i) => ({ day: `2026-11-${String(i + 1).padStart(2, '0')}`, count }));
}

describe('Dashboard screen', () => {
  beforeEach(resetPlatform);

  it('without products, points to Products', async () => {
    const onnavigate = vi.fn();
    render(DashboardScreen, { onnavigate });
    expect(await screen.findByTestId('dashboard-empty')).toHaveTextContent('No products yet');
    await userEvent.click(screen.getByRole('button', { name: 'Go to Products' }));
    expect(onnavigate).toHaveBeenCalledWith('products');
  });

  it('shows counts per product, totals, a bar per day and recent events', async () => {
    p.dashboard.mockResolvedValue({
      perProduct: [summary(), summary({ productId: 'prod-2', productName: 'Zeta', issued: 1, active: 1, suspended: 0, revoked: 0, expiring30d: 0 })],
      issuedPerDay: days([0, 2, 0, 4]), issuedPerWeek: [],
      recent: [auditEvent({ seq: 9, action: 'license.revoke' })],
      recentNames: [names({ licenseId: 'lic-1', customer: 'Ada Hopper', product: 'Zapper Pro', policy: 'Yearly' })],
    });
    const onnavigate = vi.fn();
    const onopen = vi.fn();
    render(DashboardScreen, { onnavigate, onopen });
    const rows = await screen.findAllByTestId('dashboard-product');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('Acme Editor');
    expect(rows[0]).toHaveTextContent('Acme Editor107213');
    expect(screen.getByTestId('dashboard-total-issued')).toHaveTextContent('11');
    expect(screen.getByTestId('dashboard-total-expiring')).toHaveTextContent('3');

    const bars = screen.getAllByTestId('dashboard-bar');
    expect(bars.map((b) => b.getAttribute('data-count'))).toEqual(['0', '2', '0', '4']);
    expect(Number(bars[3].getAttribute('height'))).toBeGreaterThan(Number(bars[1].getAttribute('height')));
    expect(bars[0].getAttribute('height')).toBe('0');
    expect(bars[1]).toHaveTextContent('2026-11-02: 2');
    expect(screen.getByTestId('dashboard-chart')).toHaveAttribute('role', 'img');
    expect(screen.getByTestId('dashboard-chart').getAttribute('style')).toBeNull();

    // Recent activity reads as a sentence; its names lead to the license's page.
    const recent = screen.getByTestId('dashboard-recent');
    expect(recent).toHaveTextContent('Ada Hopper’s Zapper Pro — Yearly license was revoked by vendor.');
    expect(recent).toHaveAttribute('title', 'license.revoke');
    await userEvent.click(within(recent).getByRole('button', { name: 'Zapper Pro — Yearly license' }));
    expect(onopen).toHaveBeenCalledWith({ screen: 'licenses', licenseId: 'lic-1' });
    await userEvent.click(screen.getByRole('button', { name: 'Open the audit log' }));
    expect(onnavigate).toHaveBeenCalledWith('audit');
  });

  it('shows a load failure with its advice and retries; hostile names stay text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    p.dashboard
      .mockRejectedValueOnce(commandError('STORE', 'database is locked'))
      .mockResolvedValue({ perProduct: [summary({ productName: hostile })], issuedPerDay: days([1]), issuedPerWeek: [], recent: [auditEvent({ actor: hostile })], recentNames: [] });
    const { container } = render(DashboardScreen, { onnavigate: vi.fn() });
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'STORE');
    expect(banner).toHaveTextContent(ADVICE.STORE);
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('dashboard-product')).toHaveTextContent(hostile);
    expect(screen.getByTestId('dashboard-recent')).toHaveTextContent(hostile);
    expect(container.querySelector('img')).toBeNull();
  });
  it('has no accessibility violations (axe)', async () => {
    p.dashboard.mockResolvedValue({ perProduct: [summary()], issuedPerDay: days([0, 2, 1]), issuedPerWeek: [{ day: '2026-11-16', count: 3 }], recent: [auditEvent()], recentNames: [] });
    const { container } = render(DashboardScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('dashboard-product');
    await expectNoAxeViolations(container);
  });

  it('shows renewals coming up by month from the store\'s counts; a bar opens the filtered list', async () => {
    p.dashboard.mockResolvedValue({ perProduct: [summary()], issuedPerDay: days([1]), issuedPerWeek: [], recent: [], recentNames: [] });
    p.searchLicenses.mockImplementation(async (q) => ({
      items: [],
      total: ({ 30: 2, 60: 2, 90: 7 } as Record<number, number>)[q.expiringWithinDays ?? 0] ?? 0,
      totalExact: true,
      nextCursor: null,
    }));
    const onexpiring = vi.fn();
    const { container } = render(DashboardScreen, { onnavigate: vi.fn(), onexpiring });
    await vi.waitFor(() => expect(screen.getAllByTestId('dashboard-renewal')).toHaveLength(3));
    const bars = screen.getAllByTestId('dashboard-renewal');
    expect(bars.map((b) => b.getAttribute('data-count'))).toEqual(['2', '0', '5']);
    expect(bars[2]).toHaveAccessibleName('61–90 days: 5 licenses expire; open the list');
    await userEvent.click(bars[2]);
    expect(onexpiring).toHaveBeenCalledWith(90);
    expect(container.querySelector('[style]')).toBeNull();
    await expectNoAxeViolations(container);
  });

  it('a store with products but no license yet teaches the next step', async () => {
    p.dashboard.mockResolvedValue({ perProduct: [summary({ issued: 0, active: 0, suspended: 0, revoked: 0, expiring30d: 0 })], issuedPerDay: days([0]), issuedPerWeek: [], recent: [], recentNames: [] });
    const onnavigate = vi.fn();
    render(DashboardScreen, { onnavigate });
    expect(await screen.findByTestId('dashboard-first-steps')).toHaveTextContent('Next: issue your first license.');
    await userEvent.click(screen.getByRole('button', { name: 'Go to Licenses' }));
    expect(onnavigate).toHaveBeenCalledWith('licenses');
  });

  it('charts licenses issued per week with a labelled axis and exact values', async () => {
    const weeks = Array.from({ length: 12 }, (_, i) => ({ day: `2026-09-${String(7 + i).padStart(2, '0')}`, count: i === 11 ? 8 : i % 3 }));
    p.dashboard.mockResolvedValue({ perProduct: [summary()], issuedPerDay: days([1]), issuedPerWeek: weeks, recent: [], recentNames: [] });
    render(DashboardScreen, { onnavigate: vi.fn() });
    const chart = await screen.findByTestId('dashboard-weeks');
    expect(chart).toHaveAccessibleName(/Licenses issued per week The last 12 weeks.*: 18 licenses\./);
    const bars = screen.getAllByTestId('dashboard-week');
    expect(bars).toHaveLength(12);
    expect(bars[11]).toHaveTextContent('Week of 2026-09-18: 8');
    // The y axis: 0, half and the peak; every other week labelled under its bar.
    const labels = Array.from(chart.querySelectorAll('text')).map((t) => t.textContent);
    expect(labels.slice(0, 3)).toEqual(['0', '4', '8']);
    expect(labels).toContain('Sep 7');
    expect(chart.getAttribute('style')).toBeNull();
  });
});
