import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import FirstRunScreen from './FirstRunScreen.svelte';
import { commandError, key, p, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

function setup() {
  const onnavigate = vi.fn();
  const onskip = vi.fn();
  const result = render(FirstRunScreen, { onnavigate, onskip });
  return { ...result, onnavigate, onskip };
}

describe('First run', () => {
  beforeEach(resetPlatform);

  it('walks through key, product and policy, then opens Licenses', async () => {
    p.createSigningKey.mockResolvedValue(key({ id: 'key-new', name: 'Main signing key' }));
    p.createProduct.mockResolvedValue(product({ id: 'prod-new', name: 'Acme Editor' }));
    p.createPolicy.mockResolvedValue(policy({ id: 'pol-new', name: 'Standard', maxMachines: 1 }));
    const { onnavigate } = setup();

    // Step 1: the key, with sensible defaults and the keychain explained.
    expect(screen.getByTestId('firstrun-key-name')).toHaveValue('Main signing key');
    const algorithm = screen.getByTestId('firstrun-key-algorithm') as HTMLSelectElement;
    expect(algorithm.value).toBe('ed25519');
    expect(Array.from(algorithm.options).map((o) => o.value)).toEqual(['ed25519', 'rsa-2048', 'ecdsa-p256']);
    expect(screen.getByText(/goes\s+straight into your computer's keychain and is never shown/)).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    expect(p.createSigningKey).toHaveBeenCalledWith({ name: 'Main signing key', algorithm: 'ed25519' });

    // Step 2: the product, signed with the new key.
    const productName = await screen.findByTestId('firstrun-product-name');
    expect(screen.getByRole('heading', { level: 2, name: 'Add the product you sell' })).toHaveFocus();
    await userEvent.type(productName, 'Acme Editor');
    await userEvent.type(screen.getByTestId('firstrun-product-support'), 'Mail support@acme.test');
    await userEvent.click(screen.getByTestId('firstrun-product-create'));
    expect(p.createProduct).toHaveBeenCalledWith({
      name: 'Acme Editor',
      code: null,
      url: null,
      supportMessage: 'Mail support@acme.test',
      signingKeyId: 'key-new',
    });

    // Step 3: the policy, prefilled.
    expect(await screen.findByTestId('firstrun-policy-name')).toHaveValue('Standard');
    expect(screen.getByTestId('firstrun-policy-duration')).toHaveValue('1y');
    expect(screen.getByTestId('firstrun-policy-max-machines')).toHaveValue(1);
    expect(screen.getByTestId('firstrun-policy-ttl')).toHaveValue('30d');
    expect(screen.getByTestId('firstrun-policy-encrypt')).toBeChecked();
    await userEvent.click(screen.getByTestId('firstrun-policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith({
      productId: 'prod-new',
      name: 'Standard',
      scheme: null,
      duration: '1y',
      maxMachines: 1,
      floating: false,
      fileTtl: '30d',
      encrypt: true,
      entitlements: [],
      keyTemplate: null,
      unsignedKey: false,
      expirationStrategy: null,
      strict: false,
      offlineGrace: null,
      allowTransfer: null,
      requireHeartbeat: false,
      heartbeatDuration: null,
      heartbeatCullStrategy: null,
      heartbeatResurrectionStrategy: null,
      heartbeatBasis: null,
    });

    // Done: where things live, and the way on.
    expect(await screen.findByTestId('firstrun-store-path')).toHaveTextContent('/home/vendor/.local/share/keywright/store.db');
    expect(screen.getByTestId('firstrun-keychain')).toHaveTextContent('keywright');
    expect(screen.queryByTestId('firstrun-skip')).toBeNull();
    await userEvent.click(screen.getByTestId('firstrun-done'));
    expect(onnavigate).toHaveBeenCalledWith('licenses');
  });

  it('creates an RSA key when chosen, and can be driven from the keyboard', async () => {
    p.createSigningKey.mockResolvedValue(key({ algorithm: 'rsa-2048' }));
    setup();
    await userEvent.selectOptions(screen.getByTestId('firstrun-key-algorithm'), 'rsa-2048');
    expect(screen.getByText(/only speak RSA/)).toBeInTheDocument();
    screen.getByTestId('firstrun-key-name').focus();
    await userEvent.keyboard('{Enter}');
    expect(p.createSigningKey).toHaveBeenCalledWith({ name: 'Main signing key', algorithm: 'rsa-2048' });
    expect(await screen.findByTestId('firstrun-product-name')).toBeInTheDocument();
  });

  it('makes a policy for more than one machine floating (a node-locked one has exactly one)', async () => {
    p.createSigningKey.mockResolvedValue(key({ id: 'key-new' }));
    p.createProduct.mockResolvedValue(product({ id: 'prod-new' }));
    p.createPolicy.mockResolvedValue(policy({ maxMachines: 3, floating: true }));
    setup();
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    await userEvent.type(await screen.findByTestId('firstrun-product-name'), 'Acme');
    await userEvent.click(screen.getByTestId('firstrun-product-create'));
    const machines = await screen.findByTestId('firstrun-policy-max-machines');
    expect(machines).toHaveAccessibleDescription(/1 locks each license to one machine \(node-locked\); more makes the licenses floating/);
    await userEvent.clear(machines);
    await userEvent.type(machines, '3');
    await userEvent.click(screen.getByTestId('firstrun-policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(expect.objectContaining({ maxMachines: 3, floating: true }));
  });

  it('checks required fields before calling the backend', async () => {
    p.createSigningKey.mockResolvedValue(key());
    setup();
    await userEvent.clear(screen.getByTestId('firstrun-key-name'));
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    expect(screen.getByText('Enter a name for the key.')).toBeInTheDocument();
    expect(screen.getByTestId('firstrun-key-name')).toHaveAttribute('aria-invalid', 'true');
    expect(p.createSigningKey).not.toHaveBeenCalled();

    await userEvent.type(screen.getByTestId('firstrun-key-name'), 'K');
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    await userEvent.click(await screen.findByTestId('firstrun-product-create'));
    expect(screen.getByText('Enter the name of the product you sell.')).toBeInTheDocument();
    expect(p.createProduct).not.toHaveBeenCalled();
  });

  it('shows a keychain error with its advice and stays on the step', async () => {
    p.createSigningKey.mockRejectedValue(commandError('KEYCHAIN_UNAVAILABLE', 'no secret service'));
    setup();
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveTextContent(ADVICE.KEYCHAIN_UNAVAILABLE);
    expect(banner).toHaveTextContent('no secret service');
    expect(screen.getByTestId('firstrun-key-create')).toBeEnabled();
  });

  it('can be skipped', async () => {
    const { onskip } = setup();
    await userEvent.click(screen.getByRole('button', { name: "Skip, I'll set up later" }));
    expect(onskip).toHaveBeenCalled();
    expect(p.createSigningKey).not.toHaveBeenCalled();
  });

  it('has no accessibility violations (axe) on the first and last steps', async () => {
    p.createSigningKey.mockResolvedValue(key());
    p.createProduct.mockResolvedValue(product());
    p.createPolicy.mockResolvedValue(policy());
    const { container } = setup();
    await expectNoAxeViolations(container);
    await userEvent.click(screen.getByTestId('firstrun-key-create'));
    await userEvent.type(await screen.findByTestId('firstrun-product-name'), 'Acme');
    await expectNoAxeViolations(container);
    await userEvent.click(screen.getByTestId('firstrun-product-create'));
    await userEvent.click(await screen.findByTestId('firstrun-policy-create'));
    await screen.findByTestId('firstrun-store-path');
    await expectNoAxeViolations(container);
  });
});
