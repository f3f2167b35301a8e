import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import KeysScreen from './KeysScreen.svelte';
import { commandError, key, p, product, resetPlatform } from '../test/fixtures';
import { formatDate } from '../lib/format';
import { ADVICE } from '../lib/advice';
import { expectNoAxeViolations } from '../test/axe';

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
  it('has no accessibility violations (axe), snippets open', async () => {
    p.listSigningKeys.mockResolvedValue([key(), key({ id: 'key-2', kid: 'kid-rsa', name: 'RSA key', algorithm: 'rsa-2048' })]);
    const { container } = render(KeysScreen);
    const rows = await screen.findAllByTestId('key-row');
    for (const row of rows) await userEvent.click(within(row).getByText('Use in your app'));
    await expectNoAxeViolations(container);
  });
  describe('scheduled retirement', () => {
    // The start of a day on this computer's calendar, as the screen sends it.
    const dayStart = (y: number, m: number, d: number) => new Date(y, m - 1, d).toISOString();
    const JAN_15 = dayStart(2027, 1, 15);

    beforeEach(() => {
      // Only the clock is fake: "today" is 4 Dec 2026, noon, here.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date(2026, 11, 4, 12, 0));
    });
    afterEach(() => vi.useRealTimers());

    it('schedules from the start of the chosen day, names the products still using the key, and reloads', async () => {
      p.listSigningKeys.mockResolvedValueOnce([key()]).mockResolvedValueOnce([key({ retireAt: JAN_15 })]);
      p.listProducts.mockResolvedValue([
        product({ name: 'Zapper Pro' }),
        product({ id: 'prod-2', name: 'Anvil', code: 'ANV' }),
        product({ id: 'prod-3', name: 'Other tool', code: 'OTH', signingKeyId: 'key-2' }),
      ]);
      p.scheduleKeyRetirement.mockResolvedValue(key({ retireAt: JAN_15 }));
      render(KeysScreen);
      const row = await screen.findByTestId('key-row');
      expect(within(row).queryByTestId('key-schedule-at')).toBeNull();
      await userEvent.click(within(row).getByTestId('key-schedule'));
      expect(within(row).queryByTestId('key-schedule')).toBeNull();

      const day = within(row).getByTestId('key-schedule-day') as HTMLInputElement;
      expect(day).toHaveAttribute('type', 'date');
      expect(day).toHaveAttribute('min', '2026-12-05');
      expect(day).toHaveAccessibleName('Stops signing on');
      const note = within(row).getByTestId('key-schedule-note');
      expect(day).toHaveAccessibleDescription(note.textContent ?? '');
      expect(note).toHaveTextContent(
        'From that day on, “Main key” stops signing. Zapper Pro and Anvil still sign with it: give each another key first (on the Products screen), or no license can be issued for them from that day. Licenses and files it already signed keep verifying.',
      );
      expect(note).not.toHaveTextContent('Other tool');

      await userEvent.type(day, '2027-01-15');
      expect(note).toHaveTextContent(`From ${formatDate(JAN_15)} on, “Main key” stops signing.`);
      await userEvent.click(within(row).getByTestId('key-schedule-save'));
      expect(p.scheduleKeyRetirement).toHaveBeenCalledExactlyOnceWith('key-1', JAN_15);

      await vi.waitFor(() => expect(p.listSigningKeys).toHaveBeenCalledTimes(2));
      const after = await screen.findByTestId('key-schedule-at');
      expect(after).toHaveTextContent(`Retires ${formatDate(JAN_15)}`);
      expect(after).toHaveAttribute('data-came', 'false');
      expect(screen.queryByTestId('key-schedule-form')).toBeNull();
      expect(screen.getByRole('status')).toHaveTextContent(`“Main key” retires on ${formatDate(JAN_15)}: from then on it no longer signs.`);
      expect(screen.getByTestId('key-schedule')).toHaveTextContent('Change retirement date…');
    });

    it('changes the date of a scheduled retirement, starting from the one set', async () => {
      const feb1 = dayStart(2027, 2, 1);
      p.listSigningKeys.mockResolvedValueOnce([key({ retireAt: JAN_15 })]).mockResolvedValueOnce([key({ retireAt: feb1 })]);
      p.listProducts.mockResolvedValue([product({ name: 'Zapper Pro' })]);
      p.scheduleKeyRetirement.mockResolvedValue(key({ retireAt: feb1 }));
      render(KeysScreen);
      expect(await screen.findByTestId('key-schedule-at')).toHaveTextContent(`Retires ${formatDate(JAN_15)}`);
      await userEvent.click(screen.getByTestId('key-schedule'));
      const day = screen.getByTestId('key-schedule-day') as HTMLInputElement;
      expect(day.value).toBe('2027-01-15');
      expect(screen.getByTestId('key-schedule-note')).toHaveTextContent(
        'Zapper Pro still signs with it: give it another key first (on the Products screen), or no license can be issued for it from that day.',
      );
      expect(screen.getByTestId('key-schedule-save')).toHaveTextContent('Change the date');
      await userEvent.clear(day);
      await userEvent.type(day, '2027-02-01');
      await userEvent.click(screen.getByTestId('key-schedule-save'));
      expect(p.scheduleKeyRetirement).toHaveBeenCalledExactlyOnceWith('key-1', feb1);
      await vi.waitFor(() => expect(screen.getByTestId('key-schedule-at')).toHaveTextContent(`Retires ${formatDate(feb1)}`));
    });

    it('cancels a scheduled retirement and reloads the list', async () => {
      p.listSigningKeys.mockResolvedValueOnce([key({ retireAt: JAN_15 })]).mockResolvedValueOnce([key()]);
      p.scheduleKeyRetirement.mockResolvedValue(key());
      render(KeysScreen);
      await screen.findByTestId('key-schedule-at');
      await userEvent.click(screen.getByTestId('key-schedule-unset'));
      expect(p.scheduleKeyRetirement).toHaveBeenCalledExactlyOnceWith('key-1', null);
      await vi.waitFor(() => expect(screen.queryByTestId('key-schedule-at')).toBeNull());
      expect(p.listSigningKeys).toHaveBeenCalledTimes(2);
      expect(screen.getByRole('status')).toHaveTextContent('Cancelled the scheduled retirement of “Main key”: it keeps signing.');
      expect(screen.queryByTestId('key-schedule-unset')).toBeNull();
      expect(screen.getByTestId('key-schedule')).toHaveTextContent('Schedule retirement…');
    });

    it('a retirement that has come says the key no longer signs; cancelling lets it sign again', async () => {
      const dec1 = dayStart(2026, 12, 1);
      p.listSigningKeys.mockResolvedValueOnce([key({ retireAt: dec1 })]).mockResolvedValueOnce([key()]);
      p.scheduleKeyRetirement.mockResolvedValue(key());
      render(KeysScreen);
      const at = await screen.findByTestId('key-schedule-at');
      expect(at).toHaveTextContent(`Reached its scheduled retirement on ${formatDate(dec1)}: it no longer signs`);
      expect(at).toHaveAttribute('data-came', 'true');
      await userEvent.click(screen.getByTestId('key-schedule-unset'));
      expect(p.scheduleKeyRetirement).toHaveBeenCalledWith('key-1', null);
      await vi.waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('it signs again.'));
    });

    it('checks the day before asking: empty, today or not a day', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      render(KeysScreen);
      await userEvent.click(await screen.findByTestId('key-schedule'));
      const day = screen.getByTestId('key-schedule-day') as HTMLInputElement;
      await userEvent.click(screen.getByTestId('key-schedule-save'));
      expect(screen.getByTestId('key-schedule-error')).toHaveTextContent('Choose the day it stops signing.');
      expect(day).toHaveAttribute('aria-invalid', 'true');
      expect(day).toHaveFocus();

      await userEvent.type(day, '2026-12-04');
      await userEvent.click(screen.getByTestId('key-schedule-save'));
      expect(screen.getByTestId('key-schedule-error')).toHaveTextContent('Choose a day after today. To stop the key signing now, retire it.');
      expect(day.value).toBe('2026-12-04');
      expect(day).toHaveFocus();
      expect(p.scheduleKeyRetirement).not.toHaveBeenCalled();
    });

    it("shows the backend's refusal under the field, keeping the day and the form", async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      const refusal = 'the retirement time 2026-12-05T00:00:00.000Z is not after now (2026-12-05T00:00:01.000Z); to stop the key signing now, retire it';
      p.scheduleKeyRetirement.mockRejectedValue(commandError('BAD_INPUT', refusal));
      render(KeysScreen);
      await userEvent.click(await screen.findByTestId('key-schedule'));
      const day = screen.getByTestId('key-schedule-day') as HTMLInputElement;
      await userEvent.type(day, '2026-12-05');
      await userEvent.click(screen.getByTestId('key-schedule-save'));
      expect(p.scheduleKeyRetirement).toHaveBeenCalledWith('key-1', dayStart(2026, 12, 5));
      const fieldError = await screen.findByTestId('key-schedule-error');
      expect(fieldError).toHaveTextContent(refusal);
      expect(day.value).toBe('2026-12-05');
      expect(day).toHaveAttribute('aria-invalid', 'true');
      expect(day).toHaveAccessibleDescription(expect.stringContaining(refusal));
      expect(day).toHaveFocus();
      expect(screen.queryByTestId('error-banner')).toBeNull();
      expect(p.listSigningKeys).toHaveBeenCalledTimes(1);
    });

    it('shows a conflict in the banner and keeps the form with its day', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      p.scheduleKeyRetirement.mockRejectedValue(commandError('CONFLICT', 'signing key Main key is already retired'));
      render(KeysScreen);
      await userEvent.click(await screen.findByTestId('key-schedule'));
      await userEvent.type(screen.getByTestId('key-schedule-day'), '2027-01-15');
      await userEvent.click(screen.getByTestId('key-schedule-save'));
      const banner = await screen.findByTestId('error-banner');
      expect(banner).toHaveAttribute('data-code', 'CONFLICT');
      expect(banner).toHaveTextContent('signing key Main key is already retired');
      expect(screen.getByTestId('key-schedule-day')).toHaveValue('2027-01-15');
      expect(screen.queryByTestId('key-schedule-error')).toBeNull();
    });

    it('Cancel closes the form without asking; Retire… and the form take turns', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      render(KeysScreen);
      await userEvent.click(await screen.findByTestId('key-schedule'));
      await userEvent.click(screen.getByTestId('key-schedule-cancel'));
      expect(screen.queryByTestId('key-schedule-form')).toBeNull();
      await userEvent.click(screen.getByTestId('key-schedule'));
      await userEvent.click(screen.getByTestId('key-retire'));
      expect(screen.queryByTestId('key-schedule-form')).toBeNull();
      expect(screen.getByTestId('key-retire-confirm')).toBeInTheDocument();
      expect(p.scheduleKeyRetirement).not.toHaveBeenCalled();
    });

    it('says products still signing need another key when the products cannot be read', async () => {
      p.listSigningKeys.mockResolvedValue([key()]);
      p.listProducts.mockRejectedValue(commandError('STORE', 'database is locked'));
      render(KeysScreen);
      await userEvent.click(await screen.findByTestId('key-schedule'));
      expect(screen.getByTestId('key-schedule-note')).toHaveTextContent(
        'Products still signing with it need another key before then (on the Products screen).',
      );
      expect(screen.queryByTestId('error-banner')).toBeNull();
    });

    it('offers nothing for a retired key', async () => {
      p.listSigningKeys.mockResolvedValue([key({ status: 'retired', retireAt: JAN_15 })]);
      render(KeysScreen);
      await screen.findByTestId('key-row');
      expect(screen.queryByTestId('key-schedule-at')).toBeNull();
      expect(screen.queryByTestId('key-schedule')).toBeNull();
      expect(screen.queryByTestId('key-schedule-unset')).toBeNull();
    });

    it('has no accessibility violations (axe) with a scheduled key, one that came and the form open', async () => {
      p.listSigningKeys.mockResolvedValue([
        key({ retireAt: JAN_15 }),
        key({ id: 'key-2', kid: 'kid-bbbb', name: 'Old key', retireAt: dayStart(2026, 12, 1) }),
        key({ id: 'key-3', kid: 'kid-cccc', name: 'New key' }),
      ]);
      p.listProducts.mockResolvedValue([product({ name: 'Zapper Pro' })]);
      const { container } = render(KeysScreen);
      await screen.findAllByTestId('key-schedule-at');
      const rows = screen.getAllByTestId('key-row');
      await userEvent.click(within(rows[0]).getByTestId('key-schedule'));
      await userEvent.clear(within(rows[0]).getByTestId('key-schedule-day'));
      await userEvent.click(within(rows[0]).getByTestId('key-schedule-save'));
      expect(within(rows[0]).getByTestId('key-schedule-error')).toBeInTheDocument();
      await expectNoAxeViolations(container);
    });
  });

  describe('"Use in your app" snippets', () => {
    const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA4/GitMXW5/gJGis8TV5vcIGSo7TF1uf4CRorPE1eb3A=\n-----END PUBLIC KEY-----';

    async function openSnippets(k = key()) {
      p.listSigningKeys.mockResolvedValue([k]);
      render(KeysScreen);
      const row = await screen.findByTestId('key-row');
      const details = within(row).getByTestId('key-snippets');
      expect(details.tagName).toBe('DETAILS');
      expect(details).not.toHaveAttribute('open');
      await userEvent.click(within(details).getByText('Use in your app'));
      expect(details).toHaveAttribute('open');
      const codes = Object.fromEntries(
        within(details)
          .getAllByTestId('key-snippet')
          .map((el) => [el.getAttribute('data-snippet'), el.querySelector('pre')?.textContent ?? null]),
      );
      return { details, codes };
    }

    it('gives Ed25519 snippets for Rust, Go, Node and Python with the public key only', async () => {
      const k = key({ publicKeyPem: PEM });
      const { details, codes } = await openSnippets(k);
      expect(Object.keys(codes)).toEqual(['rust', 'go', 'node', 'python']);

      expect(codes.rust).toContain('keywright-license = { path = "../keywright/crates/keywright-license", default-features = false }');
      expect(codes.rust).toContain(`PublicKey::from_hex(PUBLIC_KEY)`);
      expect(codes.rust).toContain(`const PUBLIC_KEY: &str = "${k.publicKeyHex}";`);
      expect(codes.rust).toContain('Verifier::pinned(');
      expect(codes.rust).toContain('FileAlgorithm::Aes256GcmEd25519');
      expect(codes.rust).toContain('.license_key(license_key)');
      expect(codes.rust).toContain('.validate(&license_file_text)');
      expect(codes.rust).toContain('jiff::Timestamp::now()');

      expect(codes.go).toContain(`keygen.PublicKey = "${k.publicKeyHex}"`);
      expect(codes.go).toContain('lic.Verify()');
      expect(codes.go).toContain('lic.Decrypt(licenseKey)');

      expect(codes.node).toContain("crypto.verify(null, Buffer.from('license/' + enc), publicKey");
      expect(codes.node).toContain(PEM);
      expect(codes.python).toContain(`Ed25519PublicKey.from_public_bytes(bytes.fromhex("${k.publicKeyHex}"))`);
      expect(codes.python).toContain('("license/" + enc).encode()');

      expect(details.textContent).not.toMatch(/PRIVATE/);
    });

    it('uses PublicKey::parse with the PEM for RSA and P-256 keys, and says Go needs Ed25519', async () => {
      const rsaPem = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----';
      const { details, codes } = await openSnippets(key({ algorithm: 'rsa-2048', publicKeyPem: rsaPem, publicKeyHex: '3082010a' }));
      expect(codes.rust).toContain('PublicKey::parse(PUBLIC_KEY)');
      expect(codes.rust).toContain(rsaPem);
      expect(codes.rust).toContain('FileAlgorithm::Aes256GcmRsaPssSha256');
      expect(codes.go).toBeNull();
      expect(within(details).getByText(/Go SDK verifies Ed25519 only/)).toBeInTheDocument();
      expect(codes.node).toContain('RSA_PKCS1_PSS_PADDING');
      expect(codes.python).toContain('padding.PSS(');
      expect(details.textContent).not.toMatch(/PRIVATE/);
    });

    it('pins ECDSA P-256 file algorithms for a P-256 key', async () => {
      const { codes } = await openSnippets(key({ algorithm: 'ecdsa-p256', publicKeyPem: PEM }));
      expect(codes.rust).toContain('FileAlgorithm::Aes256GcmEcdsaP256');
      expect(codes.node).toContain("dsaEncoding: 'der'");
      expect(codes.python).toContain('ec.ECDSA(hashes.SHA256())');
    });

    it('copies each snippet exactly as shown', async () => {
      const { details, codes } = await openSnippets();
      const buttons = within(details).getAllByTestId('key-snippet-copy');
      expect(buttons).toHaveLength(4);
      await userEvent.click(within(details).getByRole('button', { name: /Copy Python snippet/ }));
      expect(p.copyText).toHaveBeenLastCalledWith(codes.python);
      expect(screen.getByRole('status')).toHaveTextContent('Copied the Python snippet');
      await userEvent.click(within(details).getByRole('button', { name: /Copy Rust/ }));
      expect(p.copyText).toHaveBeenLastCalledWith(codes.rust);
    });

    it('reports a clipboard failure', async () => {
      p.copyText.mockRejectedValue(commandError('INTERNAL', 'clipboard unavailable'));
      const { details } = await openSnippets();
      await userEvent.click(within(details).getByRole('button', { name: /Copy Node/ }));
      expect(await screen.findByTestId('error-banner')).toHaveTextContent('clipboard unavailable');
    });
  });
});
