import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ServerScreen from './ServerScreen.svelte';
import { commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const running = { running: true, address: 'http://127.0.0.1:8080', startedAt: '2026-11-23T10:00:00Z' };

function event(overrides: Record<string, unknown> = {}) {
  return {
    seq: 1,
    at: '2026-11-23T10:01:00.000Z',
    endpoint: 'activate',
    licenseId: 'lic-1',
    machineId: 'mach-1',
    productId: 'prod-1',
    machine: 'jane-laptop',
    user: 'jane',
    hwid: 'hw-1',
    ip: '127.0.0.1',
    status: 201,
    result: 'ok',
    ...overrides,
  };
}

describe('ServerScreen', () => {
  beforeEach(resetPlatform);

  it('starts the server on the address given and shows where it listens', async () => {
    p.serverStart.mockResolvedValue(running);
    const { container } = render(ServerScreen);
    expect(await screen.findByTestId('server-state')).toHaveTextContent('Stopped.');
    await expectNoAxeViolations(container);
    await userEvent.clear(screen.getByTestId('server-listen'));
    await userEvent.type(screen.getByTestId('server-listen'), '127.0.0.1:9090');
    await userEvent.click(screen.getByTestId('server-start'));
    expect(p.serverStart).toHaveBeenCalledWith('127.0.0.1:9090');
    expect(await screen.findByTestId('server-address')).toHaveTextContent('http://127.0.0.1:8080');
    expect(screen.getByText('GET http://127.0.0.1:8080/api/check')).toBeInTheDocument();
    await expectNoAxeViolations(container);
  });

  it('checks the address before asking, and shows refusals (port taken, locked)', async () => {
    render(ServerScreen);
    await userEvent.clear(await screen.findByTestId('server-listen'));
    await userEvent.type(screen.getByTestId('server-listen'), 'localhost');
    await userEvent.click(screen.getByTestId('server-start'));
    expect(screen.getByText('Enter an IP address and port, like 127.0.0.1:8080.')).toBeInTheDocument();
    expect(p.serverStart).not.toHaveBeenCalled();

    p.serverStart.mockRejectedValueOnce(commandError('IO', 'cannot listen on 127.0.0.1:8080: Address already in use'));
    await userEvent.clear(screen.getByTestId('server-listen'));
    await userEvent.type(screen.getByTestId('server-listen'), '127.0.0.1:8080');
    await userEvent.click(screen.getByTestId('server-start'));
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('Address already in use');
    p.serverStart.mockRejectedValueOnce(commandError('SIGNING_LOCKED', 'the server signs its answers: unlock signing first'));
    await userEvent.click(screen.getByTestId('server-start'));
    expect(await screen.findByTestId('unlock-form')).toBeInTheDocument();
    expect(screen.getByTestId('server-state')).toHaveTextContent('Stopped.');
  });

  it('lists recent requests, hostile values as text, and stops', async () => {
    p.serverStatus.mockResolvedValue(running);
    p.serverEvents.mockResolvedValue([
      event({ seq: 2, endpoint: 'check', status: 404, result: 'NOT_FOUND', machine: '<img src=x onerror=alert(1)>', hwid: null }),
      event(),
    ]);
    p.serverStop.mockResolvedValue({ running: false, address: null, startedAt: null });
    const { container } = render(ServerScreen);
    const rows = await screen.findAllByTestId('server-event');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('404 NOT_FOUND');
    expect(rows[0]).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(container.querySelector('img')).toBeNull();
    expect(rows[1]).toHaveTextContent('201 ok');
    await userEvent.click(screen.getByTestId('server-stop'));
    expect(p.serverStop).toHaveBeenCalledOnce();
    expect(await screen.findByTestId('server-state')).toHaveTextContent('Stopped.');
  });
});
