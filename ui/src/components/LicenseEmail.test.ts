import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicenseEmail from './LicenseEmail.svelte';
import LicenseHistory from './LicenseHistory.svelte';
import { auditEvent, commandError, license, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

describe('Email it', () => {
  beforeEach(resetPlatform);

  describe('without an SMTP account', () => {
    it('saves an .eml draft with the file attached and opens it in the mail client', async () => {
      p.saveDialog.mockResolvedValue('/out/Jane Roe.eml');
      p.openLicenseEmailDraft.mockResolvedValue({ path: '/out/Jane Roe.eml', sha256: 'ab'.repeat(32), bytes: 10, algorithm: '' });
      const onsent = vi.fn();
      const { container } = render(LicenseEmail, { license: license(), onsent });
      await userEvent.click(await screen.findByTestId('license-email'));

      expect(p.saveDialog).toHaveBeenCalledWith(expect.objectContaining({ filters: [{ name: 'Email draft', extensions: ['eml'] }] }));
      expect(p.openLicenseEmailDraft).toHaveBeenCalledWith({ licenseId: 'lic-1', path: '/out/Jane Roe.eml' });
      expect(await screen.findByTestId('license-email-result')).toHaveTextContent('Draft opened in your mail client');
      expect(onsent).toHaveBeenCalledOnce();
      expect(p.sendLicenseEmail).not.toHaveBeenCalled();
      await expectNoAxeViolations(container);
    });

    it('does nothing when the save dialog is cancelled', async () => {
      p.saveDialog.mockResolvedValue(null);
      render(LicenseEmail, { license: license() });
      await userEvent.click(await screen.findByTestId('license-email'));
      expect(p.openLicenseEmailDraft).not.toHaveBeenCalled();
      expect(screen.queryByTestId('license-email-result')).toBeNull();
    });

    it('says why when the mail client cannot be opened', async () => {
      p.saveDialog.mockResolvedValue('/out/a.eml');
      p.openLicenseEmailDraft.mockRejectedValue(commandError('IO', 'the draft is saved (/out/a.eml) but no mail client opened it: no handler'));
      render(LicenseEmail, { license: license() });
      await userEvent.click(await screen.findByTestId('license-email'));
      expect(await screen.findByTestId('error-banner')).toHaveTextContent('no handler');
    });

    it('cannot email a revoked license, nor a customer without an address', async () => {
      const { unmount } = render(LicenseEmail, { license: license({ status: 'revoked' }) });
      expect(await screen.findByTestId('license-email')).toBeDisabled();
      unmount();
      render(LicenseEmail, { license: license({ customerEmail: null }) });
      expect(await screen.findByTestId('license-email')).toBeDisabled();
      expect(screen.getByText(/no email address/)).toBeInTheDocument();
    });
  });

  describe('with an SMTP account', () => {
    beforeEach(() => {
      p.mailAccount.mockResolvedValue({
        account: { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'sales', fromEmail: 'sales@example.com', fromName: null, replyTo: null, caCertificate: null },
        passwordSaved: true,
      });
    });

    it('sends to the customer (or the address typed) and says so', async () => {
      p.sendLicenseEmail.mockResolvedValue({ to: 'ada@example.com', attachment: 'Acme-lic1.lic', sha256: 'ab'.repeat(32) });
      const onsent = vi.fn();
      const { container } = render(LicenseEmail, { license: license(), onsent });
      const to = await screen.findByTestId('license-email-to');
      expect(to).toHaveValue('jane@example.com');
      await userEvent.clear(to);
      await userEvent.type(to, 'ada@example.com');
      await userEvent.click(screen.getByTestId('license-email-send'));
      expect(p.sendLicenseEmail).toHaveBeenCalledWith({ licenseId: 'lic-1', to: 'ada@example.com' });
      expect(await screen.findByTestId('license-email-result')).toHaveTextContent('Sent to ada@example.com, with Acme-lic1.lic attached.');
      expect(onsent).toHaveBeenCalledOnce();
      expect(p.saveDialog).not.toHaveBeenCalled();
      await expectNoAxeViolations(container);
    });

    it('shows the server refusing the login, and nothing is said to be sent', async () => {
      p.sendLicenseEmail.mockRejectedValue(commandError('MAIL_LOGIN_REFUSED', 'smtp.example.com:587 refused the login'));
      const onsent = vi.fn();
      render(LicenseEmail, { license: license(), onsent });
      await userEvent.click(await screen.findByTestId('license-email-send'));
      expect(await screen.findByTestId('error-banner')).toHaveTextContent('refused the login');
      expect(screen.queryByTestId('license-email-result')).toBeNull();
      expect(onsent).not.toHaveBeenCalled();
    });

    it('cannot send without a recipient', async () => {
      render(LicenseEmail, { license: license({ customerEmail: null }) });
      expect(await screen.findByTestId('license-email-send')).toBeDisabled();
    });
  });
});

describe('License history', () => {
  beforeEach(resetPlatform);

  it('lists the events about this license, newest first, with who and which key', async () => {
    p.listAudit.mockResolvedValue([
      auditEvent({ seq: 3, action: 'license.suspend', actor: 'sam', signingKeyKid: null, artifactSha256: null }),
      auditEvent({ seq: 2, action: 'license_file.sign' }),
      auditEvent({ seq: 1, action: 'license.issue' }),
    ]);
    const { container } = render(LicenseHistory, { licenseId: 'lic-1' });
    const rows = await screen.findAllByTestId('license-history-event');
    expect(p.listAudit).toHaveBeenCalledWith(expect.objectContaining({ subjectId: 'lic-1' }));
    expect(rows.map((r) => r.querySelector('.what')?.textContent)).toEqual(['Suspended', 'License file signed', 'Issued']);
    expect(rows[0]).toHaveTextContent('by sam');
    expect(rows[1]).toHaveTextContent('kid-aaaa');
    await expectNoAxeViolations(container);
  });

  it('says to whom a license was emailed', async () => {
    p.listAudit.mockResolvedValue([
      auditEvent({ seq: 2, action: 'license.email', detail: '{"to":"ada@example.com","order":null}' }),
      auditEvent({ seq: 1, action: 'license.email', detail: 'not json' }),
    ]);
    render(LicenseHistory, { licenseId: 'lic-1' });
    const rows = await screen.findAllByTestId('license-history-event');
    expect(rows.map((r) => r.querySelector('.what')?.textContent)).toEqual(['Emailed to ada@example.com', 'Emailed']);
  });

  it('renders hostile actor names as text', async () => {
    p.listAudit.mockResolvedValue([auditEvent({ actor: '<img src=x onerror=alert(1)>\u202Eevil' })]);
    const { container } = render(LicenseHistory, { licenseId: 'lic-1' });
    const row = await screen.findByTestId('license-history-event');
    expect(row).toHaveTextContent('<img src=x onerror=alert(1)>\u202Eevil');
    expect(container.querySelector('img')).toBeNull();
  });

  it('shows an empty state and errors', async () => {
    const { unmount } = render(LicenseHistory, { licenseId: 'lic-1' });
    expect(await screen.findByText('No recorded events for this license.')).toBeInTheDocument();
    unmount();
    p.listAudit.mockRejectedValue(commandError('STORE', 'store: disk I/O error'));
    render(LicenseHistory, { licenseId: 'lic-1' });
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('disk I/O error');
  });
});
