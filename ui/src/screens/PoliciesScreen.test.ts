import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import PoliciesScreen from './PoliciesScreen.svelte';
import { commandError, key, p, policy, product, resetPlatform } from '../test/fixtures';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

describe('Policies screen', () => {
  beforeEach(resetPlatform);

  it('shows an empty state and a "Choose…" product option when several products exist', async () => {
    p.listProducts.mockResolvedValue([product({ id: 'a', name: 'Alpha' }), product({ id: 'b', name: 'Beta' })]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    expect(await screen.findByText(/No policies yet/)).toBeInTheDocument();
    const select = screen.getByTestId('policy-product') as HTMLSelectElement;
    expect(select.options[0].value).toBe('');
    expect(select.options[0].textContent).toBe('Choose…');
    expect(select.value).toBe('');
    expect((screen.getByTestId('policy-encrypt') as HTMLInputElement).checked).toBe(true);
    expect(screen.getByTestId('policy-ttl')).toHaveValue('30d');
  });

  it('lists policies with readable durations and limits', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([
      policy(),
      policy({ id: 'pol-2', name: 'Site', durationSeconds: null, maxMachines: null, floating: true, fileTtlSeconds: null, createdAt: '2024-01-01T00:00:00Z' }),
    ]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const rows = await screen.findAllByTestId('policy-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('Acme Editor — Pro annual');
    expect(rows[0]).toHaveTextContent('1 year');
    expect(rows[0]).toHaveTextContent('1 machine, node-locked');
    expect(rows[0]).toHaveTextContent('30 days');
    expect(within(rows[1]).getByText('Perpetual')).toBeInTheDocument();
    expect(rows[1]).toHaveTextContent('Unlimited machines, floating');
    expect(rows[1]).toHaveTextContent('Never expires');
  });

  it('offers only the schemes the product key can sign, recommended one first', async () => {
    p.listSigningKeys.mockResolvedValue([key({ id: 'rsa-key', algorithm: 'rsa-2048' })]);
    p.listProducts.mockResolvedValue([product({ signingKeyId: 'rsa-key' })]);
    p.createPolicy.mockResolvedValue(policy({ scheme: 'RSA_2048_JWT_RS256' }));
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const schemes = (await screen.findByTestId('policy-scheme')) as HTMLSelectElement;
    await vi.waitFor(() => expect(schemes.value).toBe('RSA_2048_PKCS1_PSS_SIGN_V2'));
    const offered = Array.from(schemes.options).map((o) => o.value);
    expect(offered).toContain('RSA_2048_JWT_RS256');
    expect(offered).not.toContain('ED25519_SIGN');
    expect(offered).not.toContain('ECDSA_P256_SIGN');

    await userEvent.selectOptions(schemes, 'RSA_2048_JWT_RS256');
    await userEvent.type(screen.getByTestId('policy-name'), 'JWT');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(expect.objectContaining({ scheme: 'RSA_2048_JWT_RS256' }));
  });

  it("reads Keygen's year and month as such", async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([policy({ durationSeconds: 31556952, fileTtlSeconds: 2629746 })]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const row = await screen.findByTestId('policy-row');
    expect(row).toHaveTextContent('1 year');
    expect(row).toHaveTextContent('1 month');
  });

  it('creates a policy with the full NewPolicy shape', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy());
    p.listPolicies.mockResolvedValueOnce([]).mockResolvedValueOnce([policy()]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const select = (await screen.findByTestId('policy-product')) as HTMLSelectElement;
    await vi.waitFor(() => expect(select.value).toBe('prod-1')); // the only product is preselected
    expect(Array.from(select.options).map((o) => o.value)).toEqual(['prod-1']);

    await userEvent.type(screen.getByTestId('policy-name'), 'Pro annual');
    await userEvent.type(screen.getByTestId('policy-duration'), '1y');
    await userEvent.click(screen.getByTestId('policy-floating'));
    await userEvent.clear(screen.getByTestId('policy-max-machines'));
    await userEvent.type(screen.getByTestId('policy-max-machines'), '3');
    await userEvent.clear(screen.getByTestId('policy-ttl'));
    await userEvent.type(screen.getByTestId('policy-ttl'), 'none');
    await userEvent.type(screen.getByTestId('policy-entitlements'), ' EXPORT_PDF, TEAM_SYNC,, ');
    await userEvent.click(screen.getByTestId('policy-create'));

    expect(p.createPolicy).toHaveBeenCalledWith({
      productId: 'prod-1',
      name: 'Pro annual',
      scheme: 'ED25519_SIGN',
      duration: '1y',
      maxMachines: 3,
      floating: true,
      fileTtl: 'none',
      encrypt: true,
      entitlements: ['EXPORT_PDF', 'TEAM_SYNC'],
      keyTemplate: null,
      unsignedKey: false,
      expirationStrategy: 'RESTRICT_ACCESS',
      strict: false,
      offlineGrace: null,
      allowTransfer: true,
      requireHeartbeat: false,
      heartbeatDuration: null,
      heartbeatCullStrategy: 'DEACTIVATE_DEAD',
      heartbeatResurrectionStrategy: 'NO_REVIVE',
      heartbeatBasis: 'FROM_FIRST_PING',
    });
    expect(await screen.findAllByTestId('policy-row')).toHaveLength(1);
  });

  it('sets the expiration strategy, strict, offline grace and transfer rule, each explained', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy());
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    const hint = screen.getByTestId('policy-expiration-hint');
    expect(hint).toHaveTextContent('stops validating (EXPIRED)');
    await userEvent.selectOptions(screen.getByTestId('policy-expiration'), 'MAINTAIN_ACCESS');
    expect(hint).toHaveTextContent('keeps validating, flagged as expired');
    expect(screen.getByLabelText('Strict')).toHaveAccessibleDescription(/more machines than allowed/);
    expect(screen.getByTestId('policy-grace')).toHaveAccessibleDescription(/after a license file's lifetime ends/);
    expect(screen.getByTestId('policy-transfer')).toBeChecked();
    await userEvent.type(screen.getByTestId('policy-name'), 'Lenient');
    await userEvent.click(screen.getByTestId('policy-strict'));
    await userEvent.type(screen.getByTestId('policy-grace'), ' 7d ');
    await userEvent.click(screen.getByTestId('policy-transfer'));
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(
      expect.objectContaining({ expirationStrategy: 'MAINTAIN_ACCESS', strict: true, offlineGrace: '7d', allowTransfer: false }),
    );
  });

  it('requires a heartbeat duration with heartbeats, and sends the heartbeat settings', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy());
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    expect(screen.queryByTestId('policy-heartbeat-duration')).toBeNull();
    expect(screen.getByLabelText('Require heartbeats')).toHaveAccessibleDescription(/HEARTBEAT_NOT_STARTED/);
    await userEvent.type(screen.getByTestId('policy-name'), 'Leased');
    await userEvent.click(screen.getByTestId('policy-heartbeat'));
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).not.toHaveBeenCalled();
    expect(screen.getByTestId('policy-heartbeat-duration')).toHaveAccessibleDescription(/like 10min/);
    expect(await screen.findByText(/how long a ping keeps a machine alive/)).toBeInTheDocument();
    await userEvent.type(screen.getByTestId('policy-heartbeat-duration'), '15min');
    await userEvent.selectOptions(screen.getByTestId('policy-heartbeat-cull'), 'KEEP_DEAD');
    await userEvent.selectOptions(screen.getByTestId('policy-heartbeat-revive'), 'ALWAYS_REVIVE');
    await userEvent.selectOptions(screen.getByTestId('policy-heartbeat-basis'), 'FROM_CREATION');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(
      expect.objectContaining({
        requireHeartbeat: true,
        heartbeatDuration: '15min',
        heartbeatCullStrategy: 'KEEP_DEAD',
        heartbeatResurrectionStrategy: 'ALWAYS_REVIVE',
        heartbeatBasis: 'FROM_CREATION',
      }),
    );
  });

  it('shows each policy option in the list', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([
      policy({ expirationStrategy: 'ALLOW_ACCESS', strict: true, offlineGraceSeconds: 7 * 86400, allowTransfer: false }),
    ]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const row = await screen.findByTestId('policy-row');
    expect(within(row).getByTestId('policy-expiration-shown')).toHaveTextContent('Allow access');
    expect(within(row).getByTestId('policy-grace-shown')).toHaveTextContent('1 week');
    expect(row).toHaveTextContent('Not allowed');
    expect(within(row).getByTestId('policy-heartbeat-shown')).toHaveTextContent('Not required');
  });

  it("shows a policy's heartbeat settings in the list", async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([policy({ requireHeartbeat: true, heartbeatDurationSeconds: 900, heartbeatCullStrategy: 'KEEP_DEAD' })]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const row = await screen.findByTestId('policy-row');
    expect(within(row).getByTestId('policy-heartbeat-shown')).toHaveTextContent('Every 15 minutes; dead machines keep their seat');
  });

  it('sends null for unlimited machines and an empty duration', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy());
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    await userEvent.type(screen.getByTestId('policy-name'), 'Perpetual');
    await userEvent.click(screen.getByTestId('policy-floating'));
    await userEvent.click(screen.getByTestId('policy-unlimited'));
    expect(screen.getByTestId('policy-max-machines')).toBeDisabled();
    await userEvent.click(screen.getByTestId('policy-encrypt'));
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(
      expect.objectContaining({ duration: null, maxMachines: null, encrypt: false, fileTtl: '30d', entitlements: [] }),
    );
  });

  it('fixes max machines at 1 while the policy is node-locked, as the backend requires', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy());
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    const max = screen.getByTestId('policy-max-machines');
    const unlimited = screen.getByTestId('policy-unlimited');
    // Node-locked (the default): exactly one machine, nothing else on offer.
    expect(screen.getByTestId('policy-floating')).not.toBeChecked();
    expect(max).toBeDisabled();
    expect(max).toHaveValue(1);
    expect(unlimited).toBeDisabled();
    expect(unlimited).not.toBeChecked();
    expect(max).toHaveAccessibleDescription(/exactly one machine\. Tick Floating/);
    await userEvent.type(screen.getByTestId('policy-name'), 'Locked');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenLastCalledWith(expect.objectContaining({ maxMachines: 1, floating: false }));

    // Floating: a limit, or unlimited; back to node-locked: 1 again.
    await userEvent.click(screen.getByTestId('policy-floating'));
    expect(max).toBeEnabled();
    await userEvent.clear(max);
    await userEvent.type(max, '5');
    await userEvent.click(unlimited);
    expect(max).toBeDisabled();
    await userEvent.click(screen.getByTestId('policy-floating'));
    expect(max).toHaveValue(1);
    expect(unlimited).not.toBeChecked();
    await userEvent.type(screen.getByTestId('policy-name'), 'Locked again');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenLastCalledWith(expect.objectContaining({ maxMachines: 1, floating: false }));
  });

  it('shows a node-locked policy stored with another limit as the one machine it allows', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([
      policy({ id: 'a', name: 'Old unlimited', floating: false, maxMachines: null }),
      policy({ id: 'b', name: 'Old five', floating: false, maxMachines: 5, createdAt: '2024-01-01T00:00:00Z' }),
    ]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const rows = await screen.findAllByTestId('policy-row');
    for (const row of rows) {
      expect(row).toHaveTextContent('1 machine, node-locked');
      expect(row).not.toHaveTextContent('Unlimited');
      expect(row).not.toHaveTextContent('Up to');
    }
  });

  it('validates required fields and max machines before calling the backend', async () => {
    p.listProducts.mockResolvedValue([product({ id: 'a' }), product({ id: 'b' })]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    await userEvent.click(screen.getByTestId('policy-floating'));
    await userEvent.clear(screen.getByTestId('policy-max-machines'));
    await userEvent.type(screen.getByTestId('policy-max-machines'), '0');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(screen.getByText('Choose a product.')).toBeInTheDocument();
    expect(screen.getByText('Enter a policy name.')).toBeInTheDocument();
    expect(screen.getByText(/whole number of at least 1/)).toBeInTheDocument();
    expect(p.createPolicy).not.toHaveBeenCalled();
  });

  it('shows BAD_INPUT from the backend with its message', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockRejectedValue(commandError('BAD_INPUT', 'duration "1 fortnight" is not understood; use e.g. 30d or 1y'));
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByText(/No policies yet/);
    await userEvent.type(screen.getByTestId('policy-name'), 'Odd');
    await userEvent.type(screen.getByTestId('policy-duration'), '1 fortnight');
    await userEvent.click(screen.getByTestId('policy-create'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'BAD_INPUT');
    expect(banner).toHaveTextContent(ADVICE.BAD_INPUT);
    expect(banner).toHaveTextContent('duration "1 fortnight" is not understood; use e.g. 30d or 1y');
  });
  it('previews the key template live and sends it with the policy', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy({ keyTemplate: '{"license":"{{id}}"}' }));
    p.previewKeyTemplate.mockImplementation(async (draft) => {
      if (draft.keyTemplate === null) {
        return { dataset: '{"account":{"id":"store-1"},"license":{"id":"sample"}}', bytes: 52, unsigned: false, scheme: 'ED25519_SIGN' };
      }
      const dataset = draft.keyTemplate.replaceAll('{{id}}', '00000000-0000-4000-8000-000000000002');
      return { dataset, bytes: dataset.length, unsigned: false, scheme: 'ED25519_SIGN' };
    });
    render(PoliciesScreen, { onnavigate: vi.fn() });
    // Without a template: Keygen's default dataset, as the backend renders it.
    expect(await screen.findByTestId('policy-preview-text')).toHaveTextContent('"account":{"id":"store-1"}');

    const template = screen.getByTestId('policy-template');
    await userEvent.type(template, '{{"license":"{{{{id}}"}');
    await vi.waitFor(() =>
      expect(screen.getByTestId('policy-preview-text')).toHaveTextContent('{"license":"00000000-0000-4000-8000-000000000002"}'),
    );
    const calls = p.previewKeyTemplate.mock.calls;
    const lastDraft = calls[calls.length - 1][0];
    expect(lastDraft).toMatchObject({ productId: 'prod-1', scheme: 'ED25519_SIGN', keyTemplate: '{"license":"{{id}}"}', unsignedKey: false });

    await userEvent.type(screen.getByTestId('policy-name'), 'Templated');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(
      expect.objectContaining({ scheme: 'ED25519_SIGN', keyTemplate: '{"license":"{{id}}"}', unsignedKey: false }),
    );
  });

  it('names the bad placeholder under the template, from the backend', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.previewKeyTemplate.mockImplementation(async (draft) => {
      if (draft.keyTemplate?.includes('{{licence}}')) {
        throw commandError('TEMPLATE_INVALID', 'the key template has an unknown placeholder {{licence}}; use one of {{account}} …');
      }
      return { dataset: 'ok', bytes: 2, unsigned: false, scheme: 'ED25519_SIGN' };
    });
    p.createPolicy.mockRejectedValue(commandError('TEMPLATE_INVALID', 'the key template has an unknown placeholder {{licence}}'));
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('policy-preview-text');
    await userEvent.type(screen.getByTestId('policy-template'), '{{{{licence}}');
    const error = await screen.findByTestId('policy-preview-error');
    expect(error).toHaveAttribute('data-code', 'TEMPLATE_INVALID');
    expect(error).toHaveTextContent('unknown placeholder {{licence}}');
    expect(screen.queryByTestId('policy-preview-text')).not.toBeInTheDocument();

    await userEvent.type(screen.getByTestId('policy-name'), 'Typo');
    await userEvent.click(screen.getByTestId('policy-create'));
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'TEMPLATE_INVALID');
    expect(banner).toHaveTextContent(ADVICE.TEMPLATE_INVALID);
  });

  it('offers unsigned human keys with an explanation, without scheme or template', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.createPolicy.mockResolvedValue(policy({ unsignedKey: true }));
    p.previewKeyTemplate.mockImplementation(async (draft) =>
      draft.unsignedKey
        ? { dataset: 'ACME-A3K2P-X9M4Q-R7T2W-Y5N8H-CDEFG', bytes: 34, unsigned: true, scheme: null }
        : { dataset: '{}', bytes: 2, unsigned: false, scheme: 'ED25519_SIGN' },
    );
    render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('policy-preview-text');
    expect(screen.getByText(/cannot check one offline on its own/)).toBeInTheDocument();
    expect(screen.getByText(/checked online or through a license file/)).toBeInTheDocument();

    await userEvent.type(screen.getByTestId('policy-template'), 'leftover');
    await userEvent.click(screen.getByTestId('policy-unsigned'));
    expect(screen.getByTestId('policy-scheme')).toBeDisabled();
    expect(screen.queryByTestId('policy-template')).not.toBeInTheDocument();
    await vi.waitFor(() => expect(screen.getByTestId('policy-preview-text')).toHaveTextContent('ACME-A3K2P-X9M4Q'));
    expect(screen.getByTestId('policy-preview')).toHaveTextContent('nothing is signed');

    await userEvent.type(screen.getByTestId('policy-name'), 'Human');
    await userEvent.click(screen.getByTestId('policy-create'));
    expect(p.createPolicy).toHaveBeenCalledWith(expect.objectContaining({ scheme: null, keyTemplate: null, unsignedKey: true }));
  });

  it('marks unsigned and templated policies in the list', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([
      policy({ id: 'a', name: 'Human', unsignedKey: true }),
      policy({ id: 'b', name: 'Templated', keyTemplate: '{"license":"{{id}}"}', createdAt: '2024-01-01T00:00:00Z' }),
    ]);
    render(PoliciesScreen, { onnavigate: vi.fn() });
    const rows = await screen.findAllByTestId('policy-row');
    expect(rows[0]).toHaveTextContent('Unsigned human key');
    expect(within(rows[0]).getByTestId('policy-unsigned-note')).toHaveTextContent('checked online or through a license file only');
    expect(rows[1]).toHaveTextContent('custom template');
    expect(within(rows[1]).getByTestId('policy-template-shown')).toHaveTextContent('{"license":"{{id}}"}');
  });

  it('has no accessibility violations (axe)', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    p.listProducts.mockResolvedValue([product()]);
    p.listPolicies.mockResolvedValue([policy()]);
    const { container } = render(PoliciesScreen, { onnavigate: vi.fn() });
    await screen.findByTestId('policy-row');
    await expectNoAxeViolations(container);
  });
});
