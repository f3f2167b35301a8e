import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import LicenseEmail from './LicenseEmail.svelte';
import LicenseHistory from './LicenseHistory.svelte';
import { licenseEmail, mailtoUrl } from '../lib/email';
import { auditEvent, commandError, license, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

describe('the license email', () => {
  it('holds the key, the product and the file to attach', () => {
    const mail = licenseEmail(license({ expiry: null }), 'Jane Roe.lic');
    expect(mail.to).toBe('jane@example.com');
    expect(mail.subject).toBe('Your Acme Editor license');
    expect(mail.body).toContain('Hello Jane Roe,');
    expect(mail.body).toContain(license().key);
    expect(mail.body).toContain('does not expire');
    expect(mail.body).toContain('(Jane Roe.lic)');
  });

  it('makes a mailto link that decodes back to the same message', () => {
    const hostile = license({ customerName: 'A&B <x> ?subject=evil', customerEmail: 'a+b@example.com' });
    const mail = licenseEmail(hostile, 'f.lic');
    const url = mailtoUrl(mail);
    expect(url.startsWith('mailto:a%2Bb@example.com?subject=')).toBe(true);
    const query = new URLSearchParams(url.slice(url.indexOf('?') + 1).replace(/\+/g, '%2B'));
    expect([...query.keys()]).toEqual(['subject', 'body']);
    expect(query.get('subject')).toBe(mail.subject);
    expect(query.get('body')).toBe(mail.body.replace(/\n/g, '\r\n'));
    expect(url).not.toMatch(/[\s<>]/);
  });
});

describe('Email it', () => {
  beforeEach(resetPlatform);

  it('saves the file, opens the draft, then shows the file', async () => {
    p.saveDialog.mockResolvedValue('/out/Jane Roe.lic');
    p.exportLicenseFile.mockResolvedValue({ path: '/out/Jane Roe.lic', sha256: 'ab'.repeat(32), bytes: 10, algorithm: 'aes-256-gcm+ed25519' });
    p.openMailDraft.mockResolvedValue(undefined);
    p.revealFile.mockResolvedValue(undefined);
    const { container } = render(LicenseEmail, { license: license() });
    await userEvent.click(screen.getByTestId('license-email'));

    expect(p.exportLicenseFile).toHaveBeenCalledWith({ licenseId: 'lic-1', path: '/out/Jane Roe.lic', ttl: null, encrypt: null, algorithm: null, include: [] });
    const url = p.openMailDraft.mock.calls[0][0];
    expect(url.startsWith('mailto:jane@example.com?')).toBe(true);
    expect(decodeURIComponent(url)).toContain('attached license file (Jane Roe.lic)');
    expect(p.revealFile).toHaveBeenCalledWith('/out/Jane Roe.lic');
    expect(await screen.findByTestId('license-email-result')).toHaveTextContent('Attach Jane Roe.lic');
    await expectNoAxeViolations(container);
  });

  it('does nothing when the save dialog is cancelled', async () => {
    p.saveDialog.mockResolvedValue(null);
    render(LicenseEmail, { license: license() });
    await userEvent.click(screen.getByTestId('license-email'));
    expect(p.exportLicenseFile).not.toHaveBeenCalled();
    expect(p.openMailDraft).not.toHaveBeenCalled();
    expect(screen.queryByTestId('license-email-result')).toBeNull();
  });

  it('says why when the mail client cannot be opened, and opens no folder', async () => {
    p.saveDialog.mockResolvedValue('/out/a.lic');
    p.exportLicenseFile.mockResolvedValue({ path: '/out/a.lic', sha256: 'ab'.repeat(32), bytes: 10, algorithm: 'x' });
    p.openMailDraft.mockRejectedValue(commandError('IO', 'could not open the mail client: no handler'));
    render(LicenseEmail, { license: license() });
    await userEvent.click(screen.getByTestId('license-email'));
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('no handler');
    expect(p.revealFile).not.toHaveBeenCalled();
  });

  it('cannot email a revoked license, and warns when there is no address', () => {
    render(LicenseEmail, { license: license({ status: 'revoked', customerEmail: null }) });
    expect(screen.getByTestId('license-email')).toBeDisabled();
    expect(screen.getByText(/no email address/)).toBeInTheDocument();
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
