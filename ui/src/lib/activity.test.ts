import { describe, expect, it } from 'vitest';
import { ACTION_FAMILIES, activitySentence, activityText } from './activity';
import { auditEvent, names } from '../test/fixtures';
import { formatDate } from './format';

describe('activity sentences', () => {
  const ada = names({ licenseId: 'lic-1', customer: 'Ada Hopper', product: 'Zapper Pro', policy: 'Yearly' });

  it('says what happened to a license, by whom, with the license linked', () => {
    const e = auditEvent({ action: 'license.suspend', actor: 'sam' });
    expect(activityText(e, ada)).toBe('Ada Hopper’s Zapper Pro — Yearly license was suspended by sam.');
    const parts = activitySentence(e, ada);
    expect(parts.find((p) => p.text === 'Zapper Pro — Yearly license')?.link).toEqual({ screen: 'licenses', licenseId: 'lic-1' });
    expect(parts.find((p) => p.text === 'Ada Hopper')?.link).toEqual({ screen: 'customers' });
  });

  it('names a machine and the license it is on', () => {
    const e = auditEvent({ action: 'machine.activate', subjectType: 'machine', subjectId: 'm-1', actor: 'sam' });
    expect(activityText(e, { ...ada, machine: 'ws-042' })).toBe(
      'Machine ws-042 was activated on Ada Hopper’s Zapper Pro — Yearly license by sam.',
    );
  });

  it('names the key that signed a file, with its kid', () => {
    const e = auditEvent({ action: 'license_file.sign', signingKeyKid: '2c8d74c5aa', actor: 'sam' });
    expect(activityText(e, { ...ada, key: 'Main key' })).toBe(
      'A license file for Ada Hopper was signed with key Main key (2c8d74c5) by sam.',
    );
  });

  it('a scheduled key retirement reads with its day, a change with the day before, a cancel as such; the key is linked', () => {
    const jan15 = '2027-01-15T00:00:00.000Z';
    const feb1 = '2027-02-01T00:00:00.000Z';
    const schedule = (detail: object) =>
      auditEvent({ action: 'key.schedule_retirement', subjectType: 'signing_key', subjectId: 'key-1', signingKeyKid: '2c8d74c5aa', actor: 'sam', detail: JSON.stringify(detail) });
    const main = names({ key: 'Main key' });

    const set = schedule({ retireAt: jan15, previously: null, productsStillUsingIt: ['ZAP', 'ANV'] });
    expect(activityText(set, main)).toBe(`Signing key Main key was scheduled to retire on ${formatDate(jan15)} by sam.`);
    expect(activitySentence(set, main).find((p) => p.text === 'Main key')?.link).toEqual({ screen: 'keys' });

    const moved = schedule({ retireAt: feb1, previously: jan15, productsStillUsingIt: [] });
    expect(activityText(moved, main)).toBe(`Signing key Main key was scheduled to retire on ${formatDate(feb1)} (instead of ${formatDate(jan15)}) by sam.`);

    const cancelled = schedule({ retireAt: null, previously: jan15, productsStillUsingIt: ['ZAP'] });
    expect(activityText(cancelled, main)).toBe('The scheduled retirement of signing key Main key was cancelled by sam.');
    expect(activitySentence(cancelled, main).find((p) => p.text === 'Main key')?.link).toEqual({ screen: 'keys' });

    // Without the key's name (since deleted) or a readable detail, still a sentence.
    expect(activityText(set, names())).toBe(`Signing key key-1 was scheduled to retire on ${formatDate(jan15)} by sam.`);
    const odd = auditEvent({ action: 'key.schedule_retirement', subjectId: 'key-1', actor: 'sam', detail: 'not json' });
    expect(activityText(odd, main)).toBe('The scheduled retirement of signing key Main key was changed by sam.');
    // As a retirement itself reads.
    expect(activityText(auditEvent({ action: 'key.retire', subjectId: 'key-1', actor: 'sam' }), main)).toBe('Signing key Main key was retired by sam.');
  });

  it('reads without names (a row since deleted) and for a license without a customer', () => {
    expect(activityText(auditEvent({ action: 'license.issue' }), undefined)).toBe('A license was issued by vendor.');
    expect(activityText(auditEvent({ action: 'license.revoke' }), names({ product: 'Zapper Pro' }))).toBe(
      'A Zapper Pro license was revoked by vendor.',
    );
  });

  it('a batch reads as one sentence with its count', () => {
    const e = auditEvent({ action: 'license.batch_issue', subjectType: 'batch', subjectId: 'b1', detail: '{"licenses":250,"customers":240,"leaves":490}' });
    expect(activityText(e, names())).toBe('A batch of 250 licenses was issued for 240 new customers by vendor.');
    const odd = auditEvent({ action: 'license.batch_issue', detail: 'not json' });
    expect(activityText(odd, names())).toBe('A batch of licenses was issued by vendor.');
  });

  it('an unknown action falls back to a plain sentence that keeps the code, never throws', () => {
    const e = auditEvent({ action: 'widget.frobnicate', subjectType: 'widget', subjectId: 'abcdef123456' });
    expect(activityText(e, names())).toBe('vendor recorded “widget.frobnicate” on widget abcdef12.');
    expect(activityText(auditEvent({ action: '', subjectId: null }), undefined)).toBe('vendor recorded “”.');
    expect(activityText(auditEvent({ action: 'license.teleport' }), ada)).toBe('vendor recorded “license.teleport” on Ada Hopper.');
  });

  it('offers a family for every kind of action', () => {
    expect(ACTION_FAMILIES.map((f) => f.value)).toContain('license.*');
    expect(ACTION_FAMILIES.every((f) => f.value.endsWith('.*'))).toBe(true);
  });

  it('links a customer and a product to their pages when the names carry their ids', () => {
    const named = names({ licenseId: 'lic-1', customerId: 'cus-1', customer: 'Ada Hopper', productId: 'prod-1', product: 'Zapper Pro', policy: 'Yearly' });
    const parts = activitySentence(auditEvent({ action: 'license.issue' }), named);
    expect(parts.find((p) => p.text === 'Ada Hopper')?.link).toEqual({ screen: 'customers', customerId: 'cus-1', customerName: 'Ada Hopper' });
    const created = activitySentence(auditEvent({ action: 'product.create', subjectType: 'product', subjectId: 'prod-1' }), named);
    expect(created.find((p) => p.text === 'Zapper Pro')?.link).toEqual({ screen: 'products', productId: 'prod-1' });
    const added = activitySentence(auditEvent({ action: 'customer.create', subjectType: 'customer', subjectId: 'cus-1' }), named);
    expect(added.find((p) => p.text === 'Ada Hopper')?.link).toEqual({ screen: 'customers', customerId: 'cus-1', customerName: 'Ada Hopper' });
  });
});
