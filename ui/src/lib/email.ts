import type { License } from '../bindings';
import { formatDateTime } from './format';

export type LicenseEmail = { to: string; subject: string; body: string };

/** The message a vendor sends with a license: key, expiry, and the file to attach. */
export function licenseEmail(license: License, fileName: string | null): LicenseEmail {
  const greeting = license.customerName ? `Hello ${license.customerName},` : 'Hello,';
  const lines = [
    greeting,
    '',
    `Thank you for choosing ${license.productName}. Your license key is:`,
    '',
    license.key,
    '',
    license.expiry === null
      ? 'It does not expire.'
      : `It is valid until ${formatDateTime(license.expiry)}.`,
  ];
  if (fileName !== null) {
    lines.push(
      '',
      `If the computer you install it on has no internet connection, use the attached license file (${fileName}) instead of typing the key.`,
    );
  }
  lines.push('', 'Kind regards');
  return {
    to: license.customerEmail ?? '',
    subject: `Your ${license.productName} license`,
    body: lines.join('\n'),
  };
}

/**
 * A `mailto:` link for the message. RFC 6068: the address and every header value
 * percent-encoded (spaces as %20, not '+', which mail clients show literally), line
 * breaks as %0D%0A.
 */
export function mailtoUrl(email: LicenseEmail): string {
  const enc = (s: string) => encodeURIComponent(s);
  const body = email.body.replace(/\r?\n/g, '\r\n');
  return `mailto:${enc(email.to).replace(/%40/g, '@')}?subject=${enc(email.subject)}&body=${enc(body)}`;
}
