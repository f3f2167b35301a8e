import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import ActivationScreen from './ActivationScreen.svelte';
import { REQUEST_TEXT, activationPreview, commandError, machine, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

async function pasteAndCheck(text = REQUEST_TEXT) {
  const area = screen.getByTestId('activation-request');
  await userEvent.click(area);
  await userEvent.paste(text);
  await userEvent.click(screen.getByTestId('activation-preview'));
}

describe('Activation screen', () => {
  beforeEach(resetPlatform);

  it('previews a pasted request: license, machine, seats and verdict', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    render(ActivationScreen);
    await pasteAndCheck();

    expect(p.previewActivation).toHaveBeenCalledWith(REQUEST_TEXT.trim());
    const panel = await screen.findByTestId('activation-preview-panel');
    expect(within(panel).getByTestId('activation-customer')).toHaveTextContent('Jane Roe <jane@example.com>');
    expect(panel).toHaveTextContent('Acme Editor — Pro annual');
    expect(within(panel).getByTestId('activation-license-status')).toHaveTextContent('active');
    expect(within(panel).getByTestId('activation-fingerprint').textContent).toBe('4f:9a:1c:e2:77:00:b3:5d');
    expect(within(panel).getByTestId('activation-hostname')).toHaveTextContent('jane-laptop');
    expect(panel).toHaveTextContent('windows');
    expect(panel).toHaveTextContent('2.4.1');
    expect(within(panel).getByTestId('activation-seats')).toHaveTextContent('1 of 3');
    expect(within(panel).getByTestId('activation-verdict')).toHaveTextContent('Ready to activate');
    expect(within(panel).queryByTestId('activation-already-active')).toBeNull();
    expect(within(panel).queryByTestId('activation-refusal')).toBeNull();
    expect(screen.getByTestId('activation-activate')).toBeEnabled();
  });

  it('shows unlimited seats and an already-active machine', async () => {
    p.previewActivation.mockResolvedValue(
      activationPreview({ seatsAllowed: -1, seatsUsed: 7, existingMachine: machine() }),
    );
    render(ActivationScreen);
    await pasteAndCheck();

    const panel = await screen.findByTestId('activation-preview-panel');
    expect(within(panel).getByTestId('activation-seats')).toHaveTextContent('7 of unlimited');
    expect(within(panel).getByTestId('activation-already-active')).toHaveTextContent(
      'already active — a fresh machine file will be issued, no new seat',
    );
  });

  it('shows a refusal prominently with the support message and does not offer activation', async () => {
    const refusal = 'the license is suspended. Contact support@acme.test or call +1 555 0100.';
    p.previewActivation.mockResolvedValue(
      activationPreview({ allowed: false, refusal, license: activationPreview().license }),
    );
    render(ActivationScreen);
    await pasteAndCheck();

    const alert = await screen.findByTestId('activation-refusal');
    expect(alert).toHaveAttribute('role', 'alert');
    expect(alert).toHaveTextContent('cannot be activated');
    expect(alert).toHaveTextContent('Contact support@acme.test or call +1 555 0100.');
    expect(screen.getByTestId('activation-activate')).toBeDisabled();
    expect(p.activateFromRequest).not.toHaveBeenCalled();
  });

  it('refuses text that is not an activation request without calling the backend', async () => {
    render(ActivationScreen);
    await pasteAndCheck('hello, please activate me');
    expect(screen.getByText(/does not look like an activation request/)).toBeInTheDocument();
    expect(p.previewActivation).not.toHaveBeenCalled();
  });

  it('reports a damaged request (FORMAT) from the backend', async () => {
    p.previewActivation.mockRejectedValue(commandError('FORMAT', 'the activation request is damaged'));
    render(ActivationScreen);
    await pasteAndCheck();
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('data-code', 'FORMAT');
    expect(banner).toHaveTextContent('the activation request is damaged');
    expect(screen.queryByTestId('activation-preview-panel')).toBeNull();
  });

  it('activates, then saves the machine file with the right inputs', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    p.activateFromRequest.mockResolvedValue(machine({ id: 'mach-9' }));
    p.saveDialog.mockResolvedValue('/home/vendor/jane-laptop.lic');
    p.exportMachineFile.mockResolvedValue({
      path: '/home/vendor/jane-laptop.lic',
      sha256: 'ab'.repeat(32),
      bytes: 900,
      algorithm: 'aes-256-gcm+ed25519',
    });
    render(ActivationScreen);
    await pasteAndCheck();
    await userEvent.click(await screen.findByTestId('activation-activate'));

    expect(p.activateFromRequest).toHaveBeenCalledWith(REQUEST_TEXT.trim());
    expect(p.saveDialog).toHaveBeenCalledWith({
      title: 'Save machine file',
      defaultPath: 'jane-laptop.lic',
      filters: [{ name: 'Machine file', extensions: ['lic'] }],
    });
    expect(p.exportMachineFile).toHaveBeenCalledWith({
      machineId: 'mach-9',
      path: '/home/vendor/jane-laptop.lic',
      ttl: null,
      encrypt: null,
    });
    const result = await screen.findByTestId('activation-result');
    expect(result).toHaveTextContent(`Saved machine file to /home/vendor/jane-laptop.lic (sha256 ${'ab'.repeat(32)})`);
  });

  it('names the file after the fingerprint when there is no host name', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    p.activateFromRequest.mockResolvedValue(machine({ hostname: null, fingerprint: 'abc:def' }));
    p.saveDialog.mockResolvedValue(null);
    render(ActivationScreen);
    await pasteAndCheck();
    await userEvent.click(await screen.findByTestId('activation-activate'));
    expect(p.saveDialog).toHaveBeenCalledWith(expect.objectContaining({ defaultPath: 'abc_def.lic' }));
  });

  it('when the save dialog is cancelled, says the machine is activated and offers to save again', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    p.activateFromRequest.mockResolvedValue(machine());
    p.saveDialog.mockResolvedValueOnce(null).mockResolvedValueOnce('/tmp/m.lic');
    p.exportMachineFile.mockResolvedValue({ path: '/tmp/m.lic', sha256: 'cd'.repeat(32), bytes: 1, algorithm: 'x' });
    render(ActivationScreen);
    await pasteAndCheck();
    await userEvent.click(await screen.findByTestId('activation-activate'));

    expect(await screen.findByTestId('activation-activated')).toHaveTextContent('The machine is activated');
    expect(p.exportMachineFile).not.toHaveBeenCalled();
    expect(screen.queryByTestId('activation-activate')).toBeNull();

    await userEvent.click(screen.getByTestId('activation-save'));
    expect(p.activateFromRequest).toHaveBeenCalledTimes(1);
    expect(p.exportMachineFile).toHaveBeenCalledWith({ machineId: 'mach-1', path: '/tmp/m.lic', ttl: null, encrypt: null });
    expect(await screen.findByTestId('activation-result')).toHaveTextContent('/tmp/m.lic');
  });

  it('shows an activation refused at the last moment (CONFLICT) with its message', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    p.activateFromRequest.mockRejectedValue(commandError('CONFLICT', 'no seats left. Write to help@acme.test'));
    render(ActivationScreen);
    await pasteAndCheck();
    await userEvent.click(await screen.findByTestId('activation-activate'));
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('Write to help@acme.test');
    expect(p.saveDialog).not.toHaveBeenCalled();
  });

  it('reads a request file from "Open request file…" and from a drop', async () => {
    p.previewActivation.mockResolvedValue(activationPreview());
    render(ActivationScreen);
    const file = new File([REQUEST_TEXT], 'request.req', { type: 'text/plain' });
    await userEvent.upload(screen.getByTestId('activation-file'), file);
    expect(await screen.findByTestId('activation-preview-panel')).toBeInTheDocument();
    expect((screen.getByTestId('activation-request') as HTMLTextAreaElement).value).toBe(REQUEST_TEXT);
    expect(p.previewActivation).toHaveBeenLastCalledWith(REQUEST_TEXT.trim());

    const other = REQUEST_TEXT.replace('ZXhhbXBsZQ==', 'b3RoZXI=');
    await fireEvent.drop(screen.getByTestId('activation-drop'), {
      dataTransfer: { files: [new File([other], 'other.req')] },
    });
    await vi.waitFor(() => expect(p.previewActivation).toHaveBeenLastCalledWith(other.trim()));
  });

  it('keeps hostile text in the request inert', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';
    p.previewActivation.mockResolvedValue(
      activationPreview({
        request: { ...activationPreview().request, hostname: hostile, fingerprint: hostile, osUser: hostile },
      }),
    );
    const { container } = render(ActivationScreen);
    await pasteAndCheck();
    const panel = await screen.findByTestId('activation-preview-panel');
    expect(within(panel).getByTestId('activation-hostname').textContent).toBe(hostile);
    expect(within(panel).getByTestId('activation-fingerprint').textContent).toBe(hostile);
    expect(container.querySelector('img, script')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('imports a deactivation receipt and names the freed machine', async () => {
    p.importDeactivationReceipt.mockResolvedValue(machine({ status: 'deactivated', deactivatedAt: '2025-03-01T00:00:00Z' }));
    render(ActivationScreen);
    await userEvent.click(screen.getByTestId('deactivation-receipt'));
    await userEvent.paste('-----BEGIN DEACTIVATION RECEIPT-----\nx\n-----END DEACTIVATION RECEIPT-----');
    await userEvent.click(screen.getByTestId('deactivation-import'));
    expect(p.importDeactivationReceipt).toHaveBeenCalledWith(
      '-----BEGIN DEACTIVATION RECEIPT-----\nx\n-----END DEACTIVATION RECEIPT-----',
    );
    expect(await screen.findByTestId('deactivation-result')).toHaveTextContent(
      'Freed the seat of jane-laptop (fingerprint 4f:9a:1c:e2:77:00:b3:5d)',
    );
  });

  it('has no axe violations, empty and with a preview', async () => {
    p.previewActivation.mockResolvedValue(
      activationPreview({ allowed: false, refusal: 'suspended. Call us.', existingMachine: machine() }),
    );
    const { container } = render(ActivationScreen);
    await expectNoAxeViolations(container);
    await pasteAndCheck();
    await screen.findByTestId('activation-preview-panel');
    await expectNoAxeViolations(container);
  });
});
