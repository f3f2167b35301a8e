import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('./platform', async () => (await import('./test/platform-mock')).createPlatformMock());

import App from './App.svelte';
import { key, p, resetPlatform } from './test/fixtures';
import { ADVICE } from './lib/advice';

describe('App shell', () => {
  beforeEach(resetPlatform);

  it('shows the store path and switches screens from the nav', async () => {
    render(App);
    expect(await screen.findByTestId('store-path')).toHaveTextContent('/home/vendor/.local/share/keywright/store.db');
    expect(screen.getByText('Private keys live in the OS keychain.')).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 1, name: 'Signing keys' })).toBeInTheDocument();
    expect(screen.getByTestId('nav-keys')).toHaveAttribute('aria-current', 'page');

    for (const [id, heading] of [
      ['nav-products', 'Products'],
      ['nav-policies', 'Policies'],
      ['nav-licenses', 'Licenses'],
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
});
