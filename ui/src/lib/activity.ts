// Audit events as sentences: "Ada Hopper's Zapper Pro — Yearly license was suspended
// by sam". The names come from the core (`SubjectNames`, looked up with the page); an
// action this file does not know still reads as a plain sentence, never a crash.
import type { AuditEvent, SubjectNames } from '../bindings';
import { formatDate } from './format';
import type { Screen } from './screens';

/** Where a named thing in a sentence leads: a screen, and the license, customer or product
 *  to open there (a customer is found again by id among those listed for their name). */
export type ActivityLink = {
  screen: Screen;
  licenseId?: string;
  customerId?: string;
  customerName?: string | null;
  productId?: string;
};
/** A piece of a sentence: text, or a name with where it leads. */
export type ActivityPart = { text: string; link?: ActivityLink };

/** The families of actions, for the filter (value: the query's `family.*`). */
export const ACTION_FAMILIES: Array<{ value: string; label: string }> = [
  { value: 'license.*', label: 'Licenses' },
  { value: 'license_file.*', label: 'License files' },
  { value: 'machine.*', label: 'Machines' },
  { value: 'machine_file.*', label: 'Machine files' },
  { value: 'customer.*', label: 'Customers' },
  { value: 'product.*', label: 'Products' },
  { value: 'policy.*', label: 'Policies' },
  { value: 'key.*', label: 'Signing keys' },
  { value: 'mail.*', label: 'Email' },
  { value: 'backup.*', label: 'Backups' },
  { value: 'audit.*', label: 'The audit log' },
  { value: 'app_lock.*', label: 'App lock' },
];

const VERBS: Record<string, string> = {
  issue: 'issued',
  suspend: 'suspended',
  reinstate: 'reinstated',
  revoke: 'revoked',
  renew: 'renewed',
  email: 'emailed',
  export: 'exported',
  activate: 'activated',
  deactivate: 'deactivated',
  reactivate: 'activated again',
  create: 'created',
  retire: 'retired',
};

function text(t: string): ActivityPart {
  return { text: t };
}

/** A customer's name leads to their page when the names say who they are. */
function customerLink(names: SubjectNames): ActivityLink {
  return names.customerId ? { screen: 'customers', customerId: names.customerId, customerName: names.customer } : { screen: 'customers' };
}

/** A product's name leads to its page when the names say which it is. */
function productLink(names: SubjectNames): ActivityLink {
  return names.productId ? { screen: 'products', productId: names.productId } : { screen: 'products' };
}

function shortId(id: string | null): string {
  return id === null ? '' : id.slice(0, 8);
}

/** "Ada Hopper's Zapper Pro — Yearly license", linked to the license. */
function licensePhrase(names: SubjectNames, capital: boolean): ActivityPart[] {
  const what = [names.product, names.policy].filter((n) => n).join(' — ');
  const link: ActivityLink | undefined = names.licenseId ? { screen: 'licenses', licenseId: names.licenseId } : undefined;
  const label = what ? `${what} license` : 'license';
  if (names.customer) {
    return [
      { text: names.customer, link: customerLink(names) },
      text('’s '),
      { text: label, link },
    ];
  }
  return [text(capital ? 'A ' : 'a '), { text: label, link }];
}

function keyPhrase(event: AuditEvent, names: SubjectNames): ActivityPart[] {
  const kid = shortId(event.signingKeyKid);
  if (names.key) return [{ text: names.key, link: { screen: 'keys' } }, text(kid ? ` (${kid})` : '')];
  return [{ text: kid || 'a key', link: { screen: 'keys' } }];
}

function by(event: AuditEvent): ActivityPart[] {
  return [text(' by '), text(event.actor), text('.')];
}

function detail(event: AuditEvent): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(event.detail);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The event as a sentence, in parts (names link to where they live). */
export function activitySentence(event: AuditEvent, names: SubjectNames | undefined): ActivityPart[] {
  const n: SubjectNames = names ?? {
    licenseId: null,
    customerId: null,
    customer: null,
    productId: null,
    product: null,
    policy: null,
    machine: null,
    key: null,
  };
  const [family, verb = ''] = event.action.split('.', 2);
  const done = VERBS[verb];
  switch (family) {
    case 'license':
      if (verb === 'batch_issue') {
        // One row per transaction of a batch, committing to its licenses and customers.
        const d = detail(event);
        const count = typeof d.licenses === 'number' ? d.licenses : null;
        const many = count === null ? 'A batch of licenses' : `A batch of ${count} ${count === 1 ? 'license' : 'licenses'}`;
        const customers = typeof d.customers === 'number' && d.customers > 0 ? ` for ${d.customers} new ${d.customers === 1 ? 'customer' : 'customers'}` : '';
        return [{ text: many, link: { screen: 'licenses' } }, text(` was issued${customers}`), ...by(event)];
      }
      if (verb === 'entitlements') return [text('The entitlements of '), ...licensePhrase(n, false), text(' were changed'), ...by(event)];
      if (done) return [...licensePhrase(n, true), text(` was ${done}`), ...by(event)];
      break;
    case 'license_file':
      if (verb === 'sign') {
        const whom: ActivityPart[] = n.customer
          ? [{ text: n.customer, link: customerLink(n) }]
          : licensePhrase(n, false);
        return [
          { text: 'A license file', link: n.licenseId ? { screen: 'licenses', licenseId: n.licenseId } : undefined },
          text(' for '),
          ...whom,
          text(' was signed with key '),
          ...keyPhrase(event, n),
          ...by(event),
        ];
      }
      break;
    case 'machine':
      if (done) {
        return [
          text('Machine '),
          { text: n.machine ?? shortId(event.subjectId), link: n.licenseId ? { screen: 'licenses', licenseId: n.licenseId } : undefined },
          text(` was ${done} on `),
          ...licensePhrase(n, false),
          ...by(event),
        ];
      }
      break;
    case 'machine_file':
      if (verb === 'sign') {
        return [
          text('A machine file for '),
          { text: n.machine ?? shortId(event.subjectId), link: n.licenseId ? { screen: 'licenses', licenseId: n.licenseId } : undefined },
          text(' was signed with key '),
          ...keyPhrase(event, n),
          ...by(event),
        ];
      }
      break;
    case 'customer':
      if (verb === 'create') return [text('Customer '), { text: n.customer ?? 'without a name', link: customerLink(n) }, text(' was added'), ...by(event)];
      break;
    case 'product':
      if (verb === 'create') return [text('Product '), { text: n.product ?? shortId(event.subjectId), link: productLink(n) }, text(' was created'), ...by(event)];
      if (verb === 'set_key')
        return [text('Product '), { text: n.product ?? shortId(event.subjectId), link: productLink(n) }, text(' now signs with another key'), ...by(event)];
      break;
    case 'policy': {
      const policy: ActivityPart[] = [
        text('Policy '),
        { text: [n.product, n.policy].filter((x) => x).join(' — ') || shortId(event.subjectId), link: { screen: 'policies' } },
      ];
      if (verb === 'create') return [...policy, text(' was created'), ...by(event)];
      if (verb === 'heartbeat') return [...policy, text(' got new heartbeat settings'), ...by(event)];
      break;
    }
    case 'key':
      if (verb === 'schedule_retirement') {
        // detail: {"retireAt": "…" | null, "previously": "…" | null, "productsStillUsingIt": […]}
        const d = detail(event);
        const key: ActivityPart = { text: n.key ?? shortId(event.subjectId), link: { screen: 'keys' } };
        if (d.retireAt === null) return [text('The scheduled retirement of signing key '), key, text(' was cancelled'), ...by(event)];
        if (typeof d.retireAt === 'string') {
          const was = typeof d.previously === 'string' ? ` (instead of ${formatDate(d.previously)})` : '';
          return [text('Signing key '), key, text(` was scheduled to retire on ${formatDate(d.retireAt)}${was}`), ...by(event)];
        }
        return [text('The scheduled retirement of signing key '), key, text(' was changed'), ...by(event)];
      }
      if (done) return [text('Signing key '), { text: n.key ?? shortId(event.subjectId), link: { screen: 'keys' } }, text(` was ${done}`), ...by(event)];
      break;
    case 'key_bundle':
      return [text('The signing keys were exported as an encrypted bundle'), ...by(event)];
    case 'backup':
      if (verb === 'created') return [{ text: 'A backup', link: { screen: 'backup' } }, text(' was made'), ...by(event)];
      if (verb === 'restored') return [{ text: 'A backup', link: { screen: 'backup' } }, text(' was restored'), ...by(event)];
      break;
    case 'audit':
      if (verb === 'export') return [text('The audit log was exported'), ...by(event)];
      if (verb === 'anchor') return [text('The audit log was anchored in the OS keychain'), ...by(event)];
      break;
    case 'app_lock': {
      const what = { enable: 'turned on', disable: 'turned off', change: 'given a new passphrase' }[verb];
      if (what) return [{ text: 'The app lock', link: { screen: 'settings' } }, text(` was ${what}`), ...by(event)];
      break;
    }
    case 'clock':
      if (verb === 'accept') return [text('This computer’s clock was accepted although the log had a later row'), ...by(event)];
      break;
    case 'mail': {
      const what = { account: 'The email account was changed', template: 'The email template was changed', resend: 'An email was sent again' }[verb];
      if (what) return [{ text: what, link: { screen: 'settings' } }, ...by(event)];
      break;
    }
  }
  // Not known here (a newer action): still a sentence, with the raw code kept.
  const about = n.customer ?? n.product ?? n.machine ?? n.key ?? (event.subjectId ? `${event.subjectType ?? 'item'} ${shortId(event.subjectId)}` : null);
  return [
    text(`${event.actor} recorded “${event.action}”`),
    ...(about ? [text(' on '), { text: about, link: n.licenseId ? { screen: 'licenses' as Screen, licenseId: n.licenseId } : undefined }] : []),
    text('.'),
  ];
}

/** The sentence as plain text (for titles, exports and tests). */
export function activityText(event: AuditEvent, names: SubjectNames | undefined): string {
  return activitySentence(event, names)
    .map((p) => p.text)
    .join('');
}
