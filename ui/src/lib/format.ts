import type { License, Policy, Product, SigningKey } from '../bindings';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** RFC 3339 → local date, for table cells (the time is in the cell's title). */
export function formatDate(value: string | null, empty = 'never'): string {
  if (value === null) return empty;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : dateOnly.format(ms);
}

/** RFC 3339 → local date and time; unparseable text is shown as-is. */
export function formatDateTime(value: string | null, empty = 'never'): string {
  if (value === null) return empty;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : dateTime.format(ms);
}

/** A day on this computer's calendar as a date input holds it: `YYYY-MM-DD`. */
export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `YYYY-MM-DD` → the start of that day on this computer's calendar, as RFC 3339 (UTC);
 *  null when it is not a day. */
export function localDayStart(day: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim());
  if (!m) return null;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return localDay(date) === day.trim() ? date.toISOString() : null;
}

/** "ZAP", "ZAP and ANV", "ZAP, ANV and BLT". */
export function listInWords(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

// Keygen's year and month (ActiveSupport's: 365.2425 and 30.436875 days) come first,
// so a "1y" policy reads "1 year"; then plain calendar units.
const UNITS: Array<[number, string]> = [
  [31556952, 'year'],
  [2629746, 'month'],
  [365 * 86400, 'year'],
  [604800, 'week'],
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** Seconds → "1 year", "30 days"; the largest unit that divides evenly. */
export function formatSeconds(seconds: number | null, empty: string): string {
  if (seconds === null) return empty;
  for (const [size, unit] of UNITS) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

function time(s: string): number {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Newest first, by createdAt. */
export function newestFirst<T extends { createdAt: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => time(b.createdAt) - time(a.createdAt));
}

export function activeKeysNewestFirst(keys: SigningKey[]): SigningKey[] {
  return newestFirst(keys.filter((k) => k.status === 'active'));
}

export function policyLabel(policy: Policy, products: Product[]): string {
  const product = products.find((p) => p.id === policy.productId);
  return `${product ? product.name : 'Unknown product'} — ${policy.name}`;
}

/** "Product — Policy" of a license, as the list and the detail show it. */
export function licensePolicyLabel(license: License): string {
  return `${license.productName} — ${license.policyName}`;
}

const FILE_NAME_UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f]/g;

/** Default name for an exported license file: the customer, else the license id. */
export function licenseFileName(license: License): string {
  const customer = (license.customerName ?? '').replace(FILE_NAME_UNSAFE, '_').trim();
  const base = customer.replace(/^\.+/, '').slice(0, 120) || license.id;
  return `${base}.lic`;
}

export const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** "2 of 3", or "2 of unlimited" when the policy allows any number (-1 or null). */
export function seatsLabel(used: number, allowed: number | null): string {
  return `${used} of ${allowed === null || allowed < 0 ? 'unlimited' : allowed}`;
}

/** Default name for a machine file: the host name, else the fingerprint, made safe for a file name. */
export function machineFileName(machine: { hostname: string | null; fingerprint: string; id: string }): string {
  const clean = (s: string | null) => (s ?? '').replace(FILE_NAME_UNSAFE, '_').trim().replace(/^\.+/, '').slice(0, 120);
  return `${clean(machine.hostname) || clean(machine.fingerprint) || machine.id}.lic`;
}

/** Seats a policy allows a license: 1 when node-locked, its max when floating (null = unlimited). */
export function policySeats(policy: Pick<Policy, 'floating' | 'maxMachines'>): number | null {
  return policy.floating ? policy.maxMachines : 1;
}
