import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import DashboardScreen from './DashboardScreen.svelte';
import { auditEvent, commandError, dashboardData, key, names, p, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { formatDate } from '../lib/format';
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
    seatsUsed: 4,
    seatsLimit: 9,
    unlimited: 0,
    ...overrides,
  };
}

function days(counts: number[]) {
  return counts.map((count, i) => ({ day: `2026-11-${String(i + 1).padStart(2, '0')}`, count }));
}

describe('Dashboard screen', () => {
  beforeEach(resetPlatform);

  it('without products, teaches the first steps and points to the next one', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    const onnavigate = vi.fn();
    const { container } = render(DashboardScreen, { onnavigate });
    const steps = await screen.findByTestId('dashboard-first-steps');
    expect(steps).toHaveTextContent('No products yet');
    await vi.waitFor(() =>
      expect(screen.getAllByTestId('dashboard-step').map((s) => s.getAttribute('data-done'))).toEqual(['true', 'false', 'false', 'false']),
    );
    // Only the next step offers its button; no zeros are shown.
    expect(within(steps).getAllByRole('button')).toHaveLength(1);
    expect(screen.queryByTestId('dashboard-product')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Go to Products' }));
    expect(onnavigate).toHaveBeenCalledWith('products');
    await expectNoAxeViolations(container);
  });

  it('a new store without a signing key starts there', async () => {
    const onnavigate = vi.fn();
    render(DashboardScreen, { onnavigate });
    await userEvent.click(await screen.findByRole('button', { name: 'Go to Signing keys' }));
    expect(onnavigate).toHaveBeenCalledWith('keys');
  });

  it('shows counts per product, totals, a bar per day and recent events', async () => {
    p.dashboard.mockResolvedValue(dashboardData({
      perProduct: [summary(), summary({ productId: 'prod-2', productName: 'Zeta', issued: 1, active: 1, suspended: 0, revoked: 0, expiring30d: 0 })],
      issuedPerDay: days([0, 2, 0, 4]), issuedPerWeek: [],
      recent: [auditEvent({ seq: 9, action: 'license.revoke' })],
      recentNames: [names({ licenseId: 'lic-1', customer: 'Ada Hopper', product: 'Zapper Pro', policy: 'Yearly' })],
    }));
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
      .mockResolvedValue(dashboardData({ perProduct: [summary({ productName: hostile })], issuedPerDay: days([1]), issuedPerWeek: [], recent: [auditEvent({ actor: hostile })], recentNames: [] }));
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
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary()], issuedPerDay: days([0, 2, 1]), issuedPerWeek: [{ day: '2026-11-16', count: 3 }], recent: [auditEvent()], recentNames: [] }));
    const { container } = render(DashboardScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('dashboard-product');
    await expectNoAxeViolations(container);
  });

  it('shows renewals coming up by month from the store\'s counts; a bar opens the filtered list', async () => {
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary()], issuedPerDay: days([1]), issuedPerWeek: [], recent: [], recentNames: [] }));
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
    p.listSigningKeys.mockResolvedValue([key()]);
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary({ issued: 0, active: 0, suspended: 0, revoked: 0, expiring30d: 0 })], issuedPerDay: days([0]) }));
    const onnavigate = vi.fn();
    render(DashboardScreen, { onnavigate });
    expect(await screen.findByTestId('dashboard-first-steps')).toHaveTextContent('Issue your first license');
    await userEvent.click(await screen.findByRole('button', { name: 'Go to Licenses' }));
    expect(onnavigate).toHaveBeenCalledWith('licenses');
  });

  it('a product without a policy is the step before the first license', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [summary({ issued: 0, active: 0, suspended: 0, revoked: 0, expiring30d: 0 })],
        attention: { ...dashboardData().attention, productsWithoutPolicy: ['prod-1'] },
      }),
    );
    const onnavigate = vi.fn();
    render(DashboardScreen, { onnavigate });
    await userEvent.click(await screen.findByRole('button', { name: 'Go to Policies' }));
    expect(onnavigate).toHaveBeenCalledWith('policies');
    expect(screen.queryByRole('button', { name: 'Go to Licenses' })).toBeNull();
  });

  it('says what needs attention, each with its way out', async () => {
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [summary(), summary({ productId: 'prod-2', productName: 'Zeta', issued: 0 })],
        attention: {
          expiredWithMachines: 2,
          suspendedWithMachines: 1,
          expiring7d: 3,
          productsWithoutPolicy: ['prod-2'],
          clockBehind: { seq: 40, at: '2027-01-01T00:00:00Z', action: 'license.issue', actor: 'sam' },
          keysRetiring: [],
        },
      }),
    );
    const onnavigate = vi.fn();
    const onexpiring = vi.fn();
    const { container } = render(DashboardScreen, { onnavigate, onexpiring });
    const items = await screen.findAllByTestId('dashboard-attention');
    const text = items.map((i) => i.textContent ?? '');
    expect(text[0]).toMatch(/clock is behind the audit log/);
    expect(text).toContain('2 expired licenses are still active on machines: renew or deactivate them.');
    expect(text).toContain('1 suspended license still holds machines.');
    expect(text.some((t) => t.includes('3 licenses expire in the next 7 days.'))).toBe(true);
    expect(text.some((t) => t.includes('Zeta has no policy yet'))).toBe(true);
    await userEvent.click(screen.getByRole('button', { name: 'Show them' }));
    expect(onexpiring).toHaveBeenCalledWith(7);
    await userEvent.click(screen.getByRole('button', { name: 'Open the audit log' }));
    expect(onnavigate).toHaveBeenCalledWith('audit');
    await expectNoAxeViolations(container);
  });

  it('names each key whose retirement is near or has come, with the products still signing, and opens Signing keys', async () => {
    const jan15 = '2027-01-15T00:00:00.000Z';
    const dec1 = '2026-12-01T00:00:00.000Z';
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [summary()],
        attention: {
          ...dashboardData().attention,
          keysRetiring: [
            { id: 'key-old', name: 'Old key', kid: '9f00aa11bb22', retireAt: dec1, retired: true, products: ['ZAP'] },
            { id: 'key-1', name: 'Main key', kid: '2c8d74c5aa11', retireAt: jan15, retired: false, products: ['ZAP', 'ANV'] },
            { id: 'key-idle', name: 'Spare', kid: 'abcdef012345', retireAt: jan15, retired: false, products: [] },
            { id: 'key-gone', name: 'Unused', kid: '0123456789ab', retireAt: dec1, retired: true, products: [] },
          ],
        },
      }),
    );
    const onnavigate = vi.fn();
    const { container } = render(DashboardScreen, { onnavigate });
    const items = await screen.findAllByTestId('dashboard-attention');
    expect(screen.queryByTestId('dashboard-attention-none')).toBeNull();
    expect(items.map((i) => i.getAttribute('data-key-retiring'))).toEqual(['key-old', 'key-1', 'key-idle', 'key-gone']);
    expect(items.map((i) => i.querySelector('span')?.textContent)).toEqual([
      `Signing key Old key (9f00aa11) reached its scheduled retirement on ${formatDate(dec1)} and no longer signs; ZAP still uses it.`,
      `Signing key Main key (2c8d74c5) retires on ${formatDate(jan15)}; ZAP and ANV still sign with it.`,
      `Signing key Spare (abcdef01) retires on ${formatDate(jan15)}; no product signs with it.`,
      `Signing key Unused (01234567) reached its scheduled retirement on ${formatDate(dec1)} and no longer signs; no product uses it.`,
    ]);
    // A key that no longer signs for products still using it is a warning.
    expect(items.map((i) => i.classList.contains('warn'))).toEqual([true, false, false, false]);
    await userEvent.click(within(items[1]).getByRole('button', { name: 'Go to Signing keys' }));
    expect(onnavigate).toHaveBeenCalledExactlyOnceWith('keys');
    await expectNoAxeViolations(container);
  });

  it('a key retiring alone is enough for the attention list', async () => {
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [summary()],
        attention: {
          ...dashboardData().attention,
          keysRetiring: [{ id: 'key-1', name: 'Main key', kid: '2c8d74c5', retireAt: '2027-01-15T00:00:00.000Z', retired: false, products: ['ZAP'] }],
        },
      }),
    );
    render(DashboardScreen, { onnavigate: vi.fn() });
    const items = await screen.findAllByTestId('dashboard-attention');
    expect(items).toHaveLength(1);
    expect(items[0]).toHaveTextContent('ZAP still signs with it.');
    expect(screen.queryByTestId('dashboard-attention-none')).toBeNull();
  });

  it('nothing to attend to is said, not left blank', async () => {
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary()] }));
    render(DashboardScreen, { onnavigate: vi.fn() });
    expect(await screen.findByTestId('dashboard-attention-none')).toHaveTextContent('Nothing needs attention.');
    expect(screen.queryAllByTestId('dashboard-attention')).toHaveLength(0);
  });

  it('shows seats used per product against their limit', async () => {
    p.dashboard.mockResolvedValue(
      dashboardData({
        perProduct: [
          summary({ productId: 'a', productName: 'Anvil', seatsUsed: 3, seatsLimit: 9, unlimited: 0 }),
          summary({ productId: 'b', productName: 'Bolt', seatsUsed: 2, seatsLimit: 0, unlimited: 4 }),
          summary({ productId: 'c', productName: 'Crane', seatsUsed: 5, seatsLimit: 10, unlimited: 1 }),
          summary({ productId: 'd', productName: 'Dune', seatsUsed: 0, seatsLimit: 0, unlimited: 0 }),
        ],
      }),
    );
    render(DashboardScreen, { onnavigate: vi.fn() });
    const cells = await screen.findAllByTestId('dashboard-seats');
    expect(cells.map((c) => c.textContent?.trim())).toEqual(['3 of 9', '2 (no limit)', '5 of 10 · 1 without a limit', '—']);
    // A meter only where there is a limit.
    expect(cells.map((c) => c.querySelector('svg') !== null)).toEqual([true, false, true, false]);
  });

  it('charts machines activated per day', async () => {
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary()], activationsPerDay: days([0, 5, 1]) }));
    render(DashboardScreen, { onnavigate: vi.fn() });
    const chart = await screen.findByTestId('dashboard-activations');
    expect(chart).toHaveAccessibleName(/Machines activated per day The last 30 days \(UTC\): 6 activations\./);
    expect(screen.getAllByTestId('dashboard-activation').map((b) => b.getAttribute('data-count'))).toEqual(['0', '5', '1']);
  });

  it('charts licenses issued per week with a labelled axis and exact values', async () => {
    const weeks = Array.from({ length: 12 }, (_, i) => ({ day: `2026-09-${String(7 + i).padStart(2, '0')}`, count: i === 11 ? 8 : i % 3 }));
    p.dashboard.mockResolvedValue(dashboardData({ perProduct: [summary()], issuedPerDay: days([1]), issuedPerWeek: weeks, recent: [], recentNames: [] }));
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
