import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ServerScreen from './ServerScreen.svelte';
import { commandError, key, p, product, resetPlatform } from '../test/fixtures';
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

  it('shows the account id, the base URL and SDK snippets for the chosen product', async () => {
    p.serverStatus.mockResolvedValue(running);
    p.listSigningKeys.mockResolvedValue([key(), key({ id: 'key-2', algorithm: 'rsa-2048', publicKeyHex: 'ab' })]);
    p.listProducts.mockResolvedValue([product(), product({ id: 'prod-2', name: 'Legacy Tool', signingKeyId: 'key-2' })]);
    const { container } = render(ServerScreen);
    expect(await screen.findByTestId('sdk-account')).toHaveTextContent('store-1');
    expect(screen.getByTestId('sdk-base-url')).toHaveTextContent('http://127.0.0.1:8080');
    expect(screen.getByTestId('sdk-product-id')).toHaveTextContent('prod-1');
    expect(screen.getByTestId('sdk-public-key')).toHaveTextContent(key().publicKeyHex);

    const rust = screen.getByTestId('sdk-snippet').textContent ?? '';
    expect(rust).toContain('api_url: "http://127.0.0.1:8080".into()');
    expect(rust).toContain('account: "store-1".into()');
    expect(rust).toContain('product: "prod-1".into()');
    expect(rust).toContain(`public_key: Some("${key().publicKeyHex}".into())`);
    expect(rust).not.toMatch(/PRIVATE|secret/i);
    await expectNoAxeViolations(container);

    for (const [lang, expected] of [
      ['go', 'keygen.APIURL = "http://127.0.0.1:8080"'],
      ['node', "'http://127.0.0.1:8080/v1/accounts/store-1/licenses/actions/validate-key'"],
      ['python', 'keygen.account = "store-1"'],
    ] as const) {
      await userEvent.click(screen.getByTestId(`sdk-language-${lang}`));
      expect(screen.getByTestId(`sdk-language-${lang}`)).toHaveAttribute('aria-pressed', 'true');
      expect(screen.getByTestId('sdk-snippet')).toHaveTextContent(expected);
      expect(screen.getByTestId('sdk-snippet')).toHaveTextContent('prod-1');
    }
    await userEvent.click(screen.getByTestId('sdk-snippet-copy'));
    expect(p.copyText).toHaveBeenCalledWith(expect.stringContaining('keygen.product = "prod-1"'));
    await userEvent.click(screen.getByRole('button', { name: 'Copy the account id' }));
    expect(p.copyText).toHaveBeenCalledWith('store-1');

    // A product signed by an RSA key: the SDKs cannot check its answers; say so.
    await userEvent.selectOptions(screen.getByTestId('sdk-product'), 'prod-2');
    expect(screen.getByTestId('sdk-key-warning')).toHaveTextContent('Ed25519 keys only');
    expect(screen.queryByTestId('sdk-public-key')).toBeNull();
    expect(screen.getByTestId('sdk-snippet')).toHaveTextContent('prod-2');
    await expectNoAxeViolations(container);
  });

  it('points SDKs at the address to listen on while stopped, and asks for a product first', async () => {
    render(ServerScreen);
    expect(await screen.findByTestId('sdk-base-url')).toHaveTextContent('http://127.0.0.1:8080');
    await userEvent.clear(screen.getByTestId('server-listen'));
    await userEvent.type(screen.getByTestId('server-listen'), '127.0.0.1:9443');
    expect(screen.getByTestId('sdk-base-url')).toHaveTextContent('http://127.0.0.1:9443');
    expect(screen.getByTestId('sdk-no-products')).toBeInTheDocument();
    expect(screen.queryByTestId('sdk-snippet')).toBeNull();
  });
});
