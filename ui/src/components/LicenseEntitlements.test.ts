import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicenseEntitlements from './LicenseEntitlements.svelte';
import { commandError, license, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

describe('License entitlements', () => {
  beforeEach(resetPlatform);

  it('shows inherited entitlements and gives the license its own list', async () => {
    p.licenseEntitlements.mockResolvedValue({ licenseId: 'lic-1', own: null, policy: ['PRO'], effective: ['PRO'] });
    p.setLicenseEntitlements.mockResolvedValue({ licenseId: 'lic-1', own: ['PRO', 'SSO'], policy: ['PRO'], effective: ['PRO', 'SSO'] });
    const { container } = render(LicenseEntitlements, { license: license() });
    expect(await screen.findByTestId('license-entitlements-list')).toHaveTextContent('PRO');
    expect(screen.getByTestId('license-entitlements-source')).toHaveTextContent('Inherited from the policy');
    expect(screen.queryByTestId('license-entitlements-inherit')).toBeNull();
    await expectNoAxeViolations(container);

    await userEvent.click(screen.getByTestId('license-entitlements-edit'));
    const input = screen.getByTestId('license-entitlements-input');
    expect(input).toHaveValue('PRO');
    await userEvent.type(input, ', SSO,, ');
    await userEvent.click(screen.getByTestId('license-entitlements-save'));
    expect(p.setLicenseEntitlements).toHaveBeenCalledWith({ licenseId: 'lic-1', codes: ['PRO', 'SSO'] });
    expect(await screen.findByText(/Entitlements changed/)).toBeInTheDocument();
    expect(screen.getByTestId('license-entitlements-list')).toHaveTextContent('PRO, SSO');
    expect(screen.getByTestId('license-entitlements-source')).toHaveTextContent('the policy grants PRO');
  });

  it('goes back to the policy list, and shows a refusal with its code', async () => {
    p.licenseEntitlements.mockResolvedValue({ licenseId: 'lic-1', own: [], policy: ['PRO'], effective: [] });
    p.setLicenseEntitlements
      .mockResolvedValueOnce({ licenseId: 'lic-1', own: null, policy: ['PRO'], effective: ['PRO'] })
      .mockRejectedValueOnce(commandError('BAD_INPUT', 'entitlement code "no spaces" must be 1–64 letters'));
    render(LicenseEntitlements, { license: license() });
    expect(await screen.findByTestId('license-entitlements-list')).toHaveTextContent('None');
    await userEvent.click(screen.getByTestId('license-entitlements-inherit'));
    expect(p.setLicenseEntitlements).toHaveBeenCalledWith({ licenseId: 'lic-1', codes: null });
    expect(await screen.findByText(/uses its policy/)).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('license-entitlements-edit'));
    await userEvent.clear(screen.getByTestId('license-entitlements-input'));
    await userEvent.type(screen.getByTestId('license-entitlements-input'), 'no spaces');
    await userEvent.click(screen.getByTestId('license-entitlements-save'));
    const banner = await screen.findByRole('alert');
    expect(banner).toHaveAttribute('data-code', 'BAD_INPUT');
    expect(screen.getByTestId('license-entitlements-input')).toBeInTheDocument();
  });

  it('renders hostile codes inert', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    p.licenseEntitlements.mockResolvedValue({ licenseId: 'lic-1', own: [hostile], policy: [], effective: [hostile] });
    const { container } = render(LicenseEntitlements, { license: license() });
    expect((await screen.findByTestId('license-entitlements-list')).textContent?.trim()).toBe(hostile);
    expect(container.querySelector('img')).toBeNull();
  });
});
