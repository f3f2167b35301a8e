import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import EmailSettings from './EmailSettings.svelte';
import type { MailTemplate } from '../bindings';
import { commandError, p, product, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const ACCOUNT = {
  host: 'smtp.example.com',
  port: 587,
  security: 'starttls' as const,
  username: 'sales',
  fromEmail: 'sales@example.com',
  fromName: 'Acme Sales',
  replyTo: null,
  caCertificate: null,
};

describe('Settings → Email', () => {
  beforeEach(() => {
    resetPlatform();
    p.mailTemplate.mockResolvedValue({ subject: 'Your license for {{product}}', body: 'Hello {{customer_name}},\n{{key}}' });
    p.previewMail.mockImplementation(async (t: { subject: string; body: string }) => ({
      subject: t.subject.replace('{{product}}', 'Analytical Engine'),
      body: t.body.replace('{{customer_name}}', 'Ada Lovelace').replace('{{key}}', 'key/abc'),
    }));
  });

  it('saves the account, handing the password over once and never showing it again', async () => {
    p.setMailAccount.mockResolvedValue({ account: ACCOUNT, passwordSaved: true });
    const { container } = render(EmailSettings);
    await userEvent.type(await screen.findByTestId('email-host'), 'smtp.example.com');
    await userEvent.type(screen.getByTestId('email-user'), 'sales');
    await userEvent.type(screen.getByTestId('email-password'), 'hunter2!');
    await userEvent.type(screen.getByTestId('email-from'), 'sales@example.com');
    await userEvent.type(screen.getByTestId('email-from-name'), 'Acme Sales');
    await userEvent.click(screen.getByTestId('email-save'));

    expect(p.setMailAccount).toHaveBeenCalledWith({
      account: { ...ACCOUNT },
      password: 'hunter2!',
    });
    expect(await screen.findByTestId('email-status')).toHaveTextContent('The password is in the OS keychain.');
    expect(screen.getByTestId('email-password')).toHaveValue('');
    expect(container.innerHTML).not.toContain('hunter2!');
    expect(screen.getByText('A password is saved; leave empty to keep it.')).toBeInTheDocument();
    await expectNoAxeViolations(container);
  });

  it('keeps the saved password when the field is left empty, and shows a saved account', async () => {
    p.mailAccount.mockResolvedValue({ account: ACCOUNT, passwordSaved: true });
    p.setMailAccount.mockResolvedValue({ account: { ...ACCOUNT, port: 465, security: 'tls' }, passwordSaved: true });
    render(EmailSettings);
    await waitFor(() => expect(screen.getByTestId('email-host')).toHaveValue('smtp.example.com'));
    await userEvent.selectOptions(screen.getByTestId('email-security'), 'tls');
    await userEvent.clear(screen.getByTestId('email-port'));
    await userEvent.type(screen.getByTestId('email-port'), '465');
    await userEvent.click(screen.getByTestId('email-save'));
    expect(p.setMailAccount).toHaveBeenCalledWith({ account: { ...ACCOUNT, port: 465, security: 'tls' }, password: null });
  });

  it('sends a test message and shows a refused login as the backend says it', async () => {
    p.mailAccount.mockResolvedValue({ account: ACCOUNT, passwordSaved: true });
    p.sendTestEmail.mockResolvedValueOnce('sales@example.com');
    render(EmailSettings);
    await userEvent.click(await screen.findByTestId('email-test'));
    expect(p.sendTestEmail).toHaveBeenCalledWith(null);
    expect(await screen.findByTestId('email-test-status')).toHaveTextContent('Test message sent to sales@example.com.');

    p.sendTestEmail.mockRejectedValueOnce(commandError('MAIL_LOGIN_REFUSED', 'smtp.example.com:587 refused the login: check the user and password'));
    await userEvent.type(screen.getByTestId('email-test-to'), 'me@example.com');
    await userEvent.click(screen.getByTestId('email-test'));
    expect(p.sendTestEmail).toHaveBeenLastCalledWith('me@example.com');
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('refused the login');
  });

  it('refuses a port out of range without calling the backend', async () => {
    render(EmailSettings);
    const port = await screen.findByTestId('email-port');
    await userEvent.clear(port);
    await userEvent.type(port, '70000');
    await userEvent.click(screen.getByTestId('email-save'));
    expect(p.setMailAccount).not.toHaveBeenCalled();
    expect(screen.getByTestId('email-status')).toHaveTextContent('1 to 65535');
  });

  it("edits a product's template with a live preview, and saves it", async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.setMailTemplate.mockImplementation(async (_id: string, t: MailTemplate | null) => t ?? { subject: '', body: '' });
    const { container } = render(EmailSettings);
    const subject = await screen.findByTestId('email-template-subject');
    await waitFor(() => expect(subject).toHaveValue('Your license for {{product}}'));
    expect(p.mailTemplate).toHaveBeenCalledWith(product().id);
    expect(await screen.findByTestId('email-preview-subject')).toHaveTextContent('Your license for Analytical Engine');

    await userEvent.clear(subject);
    await userEvent.type(subject, 'Thanks, {{{{customer_name}}');
    await waitFor(() => expect(screen.getByTestId('email-preview-subject')).toHaveTextContent('Thanks, {{customer_name}}'));
    expect(screen.getByTestId('email-preview-body')).toHaveTextContent('key/abc');

    await userEvent.click(screen.getByTestId('email-template-save'));
    expect(p.setMailTemplate).toHaveBeenCalledWith(product().id, { subject: 'Thanks, {{customer_name}}', body: 'Hello {{customer_name}},\n{{key}}' });
    expect(await screen.findByTestId('email-template-status')).toHaveTextContent('Template saved.');
    await expectNoAxeViolations(container);
  });

  it('shows an unknown placeholder in the preview and does not save it', async () => {
    p.listProducts.mockResolvedValue([product()]);
    p.previewMail.mockRejectedValue(commandError('TEMPLATE_INVALID', 'unknown placeholder {{licence}}'));
    render(EmailSettings);
    expect(await screen.findByTestId('email-preview-error')).toHaveTextContent('unknown placeholder {{licence}}');
    expect(screen.getByTestId('email-template-save')).toBeDisabled();
  });
});
