import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import KeysScreen from './KeysScreen.svelte';
import { commandError, key, p, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';

describe('Signing keys screen', () => {
  beforeEach(resetPlatform);

  it('shows an empty state with a hint and the keychain note', async () => {
    render(KeysScreen);
    expect(await screen.findByText(/No signing keys yet/)).toBeInTheDocument();
    expect(screen.getByText('The private key is stored in your OS keychain and is never shown.')).toBeInTheDocument();
    expect(screen.queryAllByTestId('key-row')).toHaveLength(0);
  });

  it('creates an RSA-2048 key when asked, and names the algorithm in the list', async () => {
    p.createSigningKey.mockResolvedValue(key({ algorithm: 'rsa-2048' }));
    p.listSigningKeys.mockResolvedValueOnce([]).mockResolvedValueOnce([key({ algorithm: 'rsa-2048' })]);
    render(KeysScreen);
    await screen.findByText(/No signing keys yet/);
    expect(Array.from((screen.getByTestId('key-algorithm') as HTMLSelectElement).options).map((o) => o.value)).toEqual([
      'ed25519',
      'rsa-2048',
      'ecdsa-p256',
    ]);
    await userEvent.type(screen.getByTestId('key-name'), 'Legacy RSA');
    await userEvent.selectOptions(screen.getByTestId('key-algorithm'), 'rsa-2048');
    expect(screen.getByText(/only speak RSA/)).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('key-create'));
    expect(p.createSigningKey).toHaveBeenCalledWith({ name: 'Legacy RSA', algorithm: 'rsa-2048' });
    expect(within(await screen.findByTestId('key-row')).getByText('RSA-2048')).toBeInTheDocument();
  });

  it('retires a key only after confirmation', async () => {
    p.listSigningKeys.mockResolvedValueOnce([key()]).mockResolvedValueOnce([key({ status: 'retired' })]);
    p.retireSigningKey.mockResolvedValue(key({ status: 'retired' }));
    render(KeysScreen);
    await userEvent.click(await screen.findByTestId('key-retire'));
    expect(p.retireSigningKey).not.toHaveBeenCalled();
    expect(screen.getByText(/keeps verifying/)).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('key-retire-confirm'));
    expect(p.retireSigningKey).toHaveBeenCalledWith('key-1');
    const row = await screen.findByTestId('key-row');
    await vi.waitFor(() => expect(within(row).getByText('retired')).toBeInTheDocument());
    expect(screen.queryByTestId('key-retire')).toBeNull();
  });

  it('lists keys with kid and exact public hex, and copies the hex', async () => {
    const k = key();
    p.listSigningKeys.mockResolvedValue([k]);
    render(KeysScreen);
    const row = await screen.findByTestId('key-row');
    expect(within(row).getByTestId('key-kid').textContent).toBe(k.kid);
    expect(within(row).getByTestId('key-public-hex').textContent).toBe(k.publicKeyHex);
    expect(row.textContent).not.toContain('PRIVATE');

    await userEvent.click(within(row).getByRole('button', { name: /Copy public key/ }));
    expect(p.copyText).toHaveBeenCalledWith(k.publicKeyHex);
  });

  it('creates a key with {name, algorithm} and refreshes the list', async () => {
    const created = key({ id: 'key-2', kid: 'kid-new', name: 'Release 2025' });
    p.listSigningKeys.mockResolvedValueOnce([]).mockResolvedValueOnce([created]);
    p.createSigningKey.mockResolvedValue(created);
    render(KeysScreen);
    await screen.findByText(/No signing keys yet/);

    expect((screen.getByTestId('key-algorithm') as HTMLSelectElement).value).toBe('ed25519');
    await userEvent.type(screen.getByLabelText('Name'), '  Release 2025 ');
    await userEvent.click(screen.getByTestId('key-create'));

    expect(p.createSigningKey).toHaveBeenCalledWith({ name: 'Release 2025', algorithm: 'ed25519' });
    expect(await screen.findByTestId('key-row')).toHaveTextContent('kid-new');
    expect(p.listSigningKeys).toHaveBeenCalledTimes(2);
  });

  it('requires a name before calling the backend', async () => {
    render(KeysScreen);
    await screen.findByText(/No signing keys yet/);
    await userEvent.click(screen.getByTestId('key-create'));
    expect(screen.getByText('Enter a name for the key.')).toBeInTheDocument();
    expect(screen.getByTestId('key-name')).toHaveAttribute('aria-invalid', 'true');
    expect(p.createSigningKey).not.toHaveBeenCalled();
  });

  it('shows a keychain error with its advice and the backend message', async () => {
    p.createSigningKey.mockRejectedValue(commandError('KEYCHAIN_UNAVAILABLE', 'no secret service on the session bus'));
    render(KeysScreen);
    await screen.findByText(/No signing keys yet/);
    await userEvent.type(screen.getByTestId('key-name'), 'Main');
    await userEvent.click(screen.getByTestId('key-create'));

    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'KEYCHAIN_UNAVAILABLE');
    expect(banner).toHaveTextContent(ADVICE.KEYCHAIN_UNAVAILABLE);
    expect(banner).toHaveTextContent('no secret service on the session bus');
    expect(banner.textContent).not.toContain('[object Object]');
  });

  it('reports a failed load and recovers on "Try again"', async () => {
    p.listSigningKeys
      .mockRejectedValueOnce(commandError('STORE', 'database is locked'))
      .mockResolvedValueOnce([key()]);
    render(KeysScreen);
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'STORE');
    expect(banner).toHaveTextContent('database is locked');
    expect(screen.queryByText(/No signing keys yet/)).toBeNull();

    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('key-row')).toBeInTheDocument();
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });
});
