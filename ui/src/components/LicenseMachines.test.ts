import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicenseMachines from './LicenseMachines.svelte';
import LicensesScreen from '../screens/LicensesScreen.svelte';
import { commandError, license, machine, p, page, policy, product, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const floating = policy({ floating: true, maxMachines: 3 });

describe('Machines in the license detail', () => {
  beforeEach(resetPlatform);

  it('lists machines with seats used / allowed, active first actions only', async () => {
    p.listMachines.mockResolvedValue([
      machine(),
      machine({ id: 'mach-2', fingerprint: 'old-fp', hostname: 'old-pc', status: 'deactivated', deactivatedAt: '2025-03-01T00:00:00Z' }),
    ]);
    render(LicenseMachines, { license: license(), policy: floating });

    const rows = await screen.findAllByTestId('machine-row');
    expect(p.listMachines).toHaveBeenCalledWith('lic-1');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('4f:9a:1c:e2:77:00:b3:5d');
    expect(rows[0]).toHaveTextContent('jane-laptop');
    expect(rows[0]).toHaveTextContent('active');
    expect(rows[1]).toHaveTextContent('deactivated');
    expect(rows[1]).toHaveTextContent('deactivated');
    expect(within(rows[0]).getByTestId('machine-export')).toBeInTheDocument();
    expect(within(rows[1]).queryByTestId('machine-export')).toBeNull();
    expect(within(rows[1]).queryByTestId('machine-deactivate')).toBeNull();
    expect(screen.getByTestId('license-seats')).toHaveTextContent('1 of 3');
  });

  it("shows an active machine's heartbeat status", async () => {
    p.listMachines.mockResolvedValue([
      machine({ heartbeatStatus: 'DEAD', lastHeartbeatAt: '2025-02-01T10:00:00Z' }),
      machine({ id: 'mach-2', fingerprint: 'fresh', heartbeatStatus: 'NOT_STARTED' }),
      machine({ id: 'mach-3', fingerprint: 'gone', status: 'deactivated', heartbeatStatus: null, deactivatedAt: '2025-03-01T00:00:00Z' }),
    ]);
    render(LicenseMachines, { license: license(), policy: floating });
    const rows = await screen.findAllByTestId('machine-row');
    expect(within(rows[0]).getByTestId('machine-heartbeat')).toHaveTextContent('dead');
    expect(rows[0]).toHaveTextContent('last heartbeat');
    expect(within(rows[1]).getByTestId('machine-heartbeat')).toHaveTextContent('no heartbeat yet');
    expect(within(rows[2]).queryByTestId('machine-heartbeat')).toBeNull();
  });

  it('shows unlimited seats for a floating policy without a limit, 1 for node-locked', async () => {
    p.listMachines.mockResolvedValue([machine()]);
    const { unmount } = render(LicenseMachines, { license: license(), policy: policy({ floating: true, maxMachines: null }) });
    expect(await screen.findByTestId('license-seats')).toHaveTextContent('1 of unlimited');
    unmount();
    render(LicenseMachines, { license: license(), policy: policy({ floating: false, maxMachines: 5 }) });
    expect(await screen.findByTestId('license-seats')).toHaveTextContent('1 of 1');
  });

  it('saves a machine file through the save dialog', async () => {
    p.listMachines.mockResolvedValue([machine()]);
    p.saveDialog.mockResolvedValue('/out/jane.lic');
    p.exportMachineFile.mockResolvedValue({ path: '/out/jane.lic', sha256: 'ef'.repeat(32), bytes: 5, algorithm: 'x' });
    render(LicenseMachines, { license: license(), policy: floating });
    await userEvent.click(await screen.findByTestId('machine-export'));
    expect(p.saveDialog).toHaveBeenCalledWith(expect.objectContaining({ defaultPath: 'jane-laptop.lic', filters: [{ name: 'Machine file', extensions: ['lic'] }] }));
    expect(p.exportMachineFile).toHaveBeenCalledWith({ machineId: 'mach-1', path: '/out/jane.lic', ttl: null, encrypt: null });
    expect(await screen.findByTestId('machine-export-result')).toHaveTextContent('Saved machine file to /out/jane.lic');
  });

  it('deactivates only after confirming, then reloads', async () => {
    p.listMachines
      .mockResolvedValueOnce([machine()])
      .mockResolvedValueOnce([machine({ status: 'deactivated', deactivatedAt: '2025-03-01T00:00:00Z' })]);
    p.deactivateMachine.mockResolvedValue(machine({ status: 'deactivated' }));
    render(LicenseMachines, { license: license(), policy: floating });

    await userEvent.click(await screen.findByTestId('machine-deactivate'));
    expect(p.deactivateMachine).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId('machine-deactivate-confirm'));
    expect(p.deactivateMachine).toHaveBeenCalledWith('mach-1');
    expect(await screen.findByText(/its seat is free/)).toBeInTheDocument();
    expect(p.listMachines).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId('machine-row')).toHaveTextContent('deactivated');
    expect(screen.getByTestId('license-seats')).toHaveTextContent('0 of 3');
  });

  it('transfers a seat to a new fingerprint', async () => {
    p.listMachines.mockResolvedValue([machine()]);
    p.transferMachine.mockResolvedValue(machine({ id: 'mach-new', fingerprint: 'new-fp' }));
    render(LicenseMachines, { license: license(), policy: floating });

    await userEvent.click(await screen.findByTestId('machine-transfer'));
    await userEvent.click(screen.getByTestId('machine-transfer-confirm'));
    expect(screen.getByText('Enter the fingerprint of the new machine.')).toBeInTheDocument();
    expect(p.transferMachine).not.toHaveBeenCalled();

    await userEvent.type(screen.getByTestId('machine-transfer-fingerprint'), ' new-fp ');
    await userEvent.click(screen.getByTestId('machine-transfer-confirm'));
    expect(p.transferMachine).toHaveBeenCalledWith({
      machineId: 'mach-1',
      fingerprint: 'new-fp',
      name: null,
      hostname: null,
      platform: null,
    });
    expect(await screen.findByText(/Moved the seat from 4f:9a:1c:e2:77:00:b3:5d to new-fp/)).toBeInTheDocument();
  });

  it('activates by hand, and shows a refusal with the support message', async () => {
    p.activateMachine
      .mockResolvedValueOnce(machine({ fingerprint: 'phone-fp' }))
      .mockRejectedValueOnce(commandError('CONFLICT', 'no seats left. Call Acme support on 555-0100'));
    render(LicenseMachines, { license: license(), policy: floating });
    await screen.findByText(/No machines yet/);

    await userEvent.type(screen.getByTestId('machine-activate-fingerprint'), 'phone-fp');
    await userEvent.click(screen.getByTestId('machine-activate'));
    expect(p.activateMachine).toHaveBeenCalledWith({
      licenseId: 'lic-1',
      fingerprint: 'phone-fp',
      name: null,
      hostname: null,
      platform: null,
      osUser: null,
      appVersion: null,
    });
    expect(await screen.findByText(/Activated phone-fp/)).toBeInTheDocument();

    await userEvent.type(screen.getByTestId('machine-activate-fingerprint'), 'second');
    await userEvent.click(screen.getByTestId('machine-activate'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'CONFLICT');
    expect(banner).toHaveTextContent('Call Acme support on 555-0100');
  });

  it('simulates validation for the license file today, and for a machine on a chosen date', async () => {
    p.listMachines.mockResolvedValue([machine()]);
    p.simulateValidation
      .mockResolvedValueOnce({ code: 'VALID', message: 'is valid', supportMessage: 'Call us' })
      .mockResolvedValueOnce({ code: 'EXPIRED', message: 'is expired', supportMessage: 'Renew at acme.test' });
    render(LicenseMachines, { license: license(), policy: floating });
    await screen.findByTestId('machine-row');

    const at = screen.getByTestId('license-simulate-at') as HTMLInputElement;
    expect(at.value).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const d = new Date();
    expect(at.value).toBe(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`);

    await userEvent.click(screen.getByTestId('license-simulate-run'));
    expect(p.simulateValidation).toHaveBeenLastCalledWith({ licenseId: 'lic-1', machineId: null, fingerprint: null, at: at.value, fileIssuedAt: null, requiredEntitlements: [] });
    let result = await screen.findByTestId('license-simulate-result');
    expect(result).toHaveTextContent('VALID is valid');
    expect(result).not.toHaveTextContent('Call us');

    await userEvent.selectOptions(screen.getByTestId('license-simulate-machine'), 'mach-1');
    await userEvent.clear(at);
    await userEvent.type(at, '2030-01-01');
    await userEvent.click(screen.getByTestId('license-simulate-run'));
    expect(p.simulateValidation).toHaveBeenLastCalledWith({ licenseId: 'lic-1', machineId: 'mach-1', fingerprint: null, at: '2030-01-01', fileIssuedAt: null, requiredEntitlements: [] });
    result = await screen.findByTestId('license-simulate-result');
    expect(result).toHaveTextContent('EXPIRED is expired');
    expect(result).toHaveTextContent('Renew at acme.test');
  });

  it('simulates a file exported on a given day, and hides Transfer when the policy forbids it', async () => {
    p.listMachines.mockResolvedValue([machine()]);
    p.simulateValidation.mockResolvedValue({ code: 'FILE_EXPIRED', message: 'file expired', supportMessage: null });
    render(LicenseMachines, { license: license(), policy: { ...floating, allowTransfer: false } });
    await screen.findByTestId('machine-row');
    expect(screen.queryByTestId('machine-transfer')).toBeNull();
    const at = screen.getByTestId('license-simulate-at') as HTMLInputElement;
    await userEvent.clear(at);
    await userEvent.type(at, '2030-03-01');
    await userEvent.type(screen.getByTestId('license-simulate-issued'), '2030-01-01');
    await userEvent.click(screen.getByTestId('license-simulate-run'));
    expect(p.simulateValidation).toHaveBeenLastCalledWith(
      expect.objectContaining({ at: '2030-03-01', fileIssuedAt: '2030-01-01' }),
    );
    expect(await screen.findByTestId('license-simulate-result')).toHaveTextContent('FILE_EXPIRED');
  });

  it('keeps hostile machine details inert', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
    p.listMachines.mockResolvedValue([machine({ fingerprint: hostile, hostname: hostile, name: null })]);
    const { container } = render(LicenseMachines, { license: license(), policy: floating });
    const row = await screen.findByTestId('machine-row');
    expect(within(row).getByTestId('machine-fingerprint').textContent).toBe(hostile);
    expect(row).toHaveTextContent(hostile);
    expect(container.querySelector('img, b')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('has no axe violations with machines and a transfer form open', async () => {
    p.listMachines.mockResolvedValue([machine(), machine({ id: 'mach-2', status: 'deactivated', deactivatedAt: '2025-03-01T00:00:00Z' })]);
    const { container } = render(LicenseMachines, { license: license(), policy: floating });
    await userEvent.click(await screen.findByTestId('machine-transfer'));
    await expectNoAxeViolations(container);
  });

  it('appears in the license detail of the Licenses screen', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([floating]);
    p.searchLicenses.mockResolvedValue(page([license()]));
    p.listMachines.mockResolvedValue([machine()]);
    render(LicensesScreen, { onnavigate: vi.fn() });
    await userEvent.click(await screen.findByTestId('license-row'));
    const detail = screen.getByTestId('license-detail');
    const section = within(detail).getByTestId('license-machines');
    expect(await within(section).findByTestId('machine-row')).toHaveTextContent('jane-laptop');
    expect(within(section).getByTestId('license-seats')).toHaveTextContent('1 of 3');
    expect(within(detail).getByTestId('license-simulate')).toBeInTheDocument();
  });
});
