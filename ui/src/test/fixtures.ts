import { vi } from 'vitest';
import type { ActivationPreview, AuditEntry, AuditEvent, CustomerSummary, Dashboard, License, Machine, Policy, Product, SigningKey, SubjectNames } from '../bindings';
import * as platform from '../platform';

export const p = vi.mocked(platform);

/** What storeInfo reports for a store whose audit log matches its anchor. */
export const ANCHORED = {
  state: 'anchored',
  message: 'the audit log matches its anchor in the OS keychain',
} as const;

/** Every list empty, every action unanswered; tests override what they need. */
export function resetPlatform() {
  vi.resetAllMocks();
  p.storeInfo.mockResolvedValue({
    path: '/home/vendor/.local/share/keywright/store.db',
    storeId: 'store-1',
    keychainService: 'keywright',
    audit: { state: 'anchored', message: 'the audit log matches its anchor in the OS keychain' },
  });
  p.listSigningKeys.mockResolvedValue([]);
  p.listProducts.mockResolvedValue([]);
  p.listPolicies.mockResolvedValue([]);
  p.previewKeyTemplate.mockResolvedValue({ dataset: '{"license":"sample"}', bytes: 20, unsigned: false, scheme: 'ED25519_SIGN' });
  p.listLicenses.mockResolvedValue([]);
  p.searchLicenses.mockResolvedValue({ items: [], total: 0, totalExact: true, nextCursor: null });
  p.copyText.mockResolvedValue(undefined);
  p.uiReady.mockResolvedValue(undefined);
  p.listAudit.mockResolvedValue([]);
  p.listAuditEntries.mockResolvedValue([]);
  p.listCustomers.mockResolvedValue([]);
  p.listMachines.mockResolvedValue([]);
  p.licenseEntitlements.mockResolvedValue({ licenseId: 'lic-1', own: null, policy: [], effective: [] });
  p.getSettings.mockResolvedValue({
    settings: { storePath: null, defaultKeyAlgorithm: 'ed25519', defaultRenewBy: '1y', defaultExportTtl: null, lockIdleMinutes: 15, checkForUpdates: true },
    defaultStorePath: '/home/vendor/.local/share/keywright/keywright.db',
    storeFromEnv: false,
    problem: null,
  });
  p.serverStatus.mockResolvedValue({ running: false, address: null, startedAt: null });
  p.serverEvents.mockResolvedValue([]);
  p.appLockState.mockResolvedValue({ enabled: false, unlocked: true, idleMinutes: 15 });
  p.dashboard.mockResolvedValue(dashboardData());
  p.auditActors.mockResolvedValue([]);
  p.startupUpdateCheck.mockResolvedValue(null);
  p.mailAccount.mockResolvedValue({ account: null, passwordSaved: false });
}

/** A dashboard with nothing in it; tests override what they need. */
export function dashboardData(overrides: Partial<Dashboard> = {}): Dashboard {
  return {
    perProduct: [],
    issuedPerDay: [],
    issuedPerWeek: [],
    activationsPerDay: [],
    attention: {
      expiredWithMachines: 0,
      suspendedWithMachines: 0,
      expiring7d: 0,
      productsWithoutPolicy: [],
      clockBehind: null,
      keysRetiring: [],
    },
    recent: [],
    recentNames: [],
    ...overrides,
  };
}

export function key(overrides: Partial<SigningKey> = {}): SigningKey {
  return {
    id: 'key-1',
    kid: 'kid-aaaa',
    name: 'Main key',
    algorithm: 'ed25519',
    publicKeyHex: 'e3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70',
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----',
    status: 'active',
    createdAt: '2025-01-01T10:00:00Z',
    retireAt: null,
    ...overrides,
  };
}

export function product(overrides: Partial<Product> = {}): Product {
  return {
    id: 'prod-1',
    name: 'Acme Editor',
    code: 'acme-editor',
    url: null,
    supportMessage: null,
    signingKeyId: 'key-1',
    createdAt: '2025-01-02T10:00:00Z',
    ...overrides,
  };
}

export function policy(overrides: Partial<Policy> = {}): Policy {
  return {
    id: 'pol-1',
    productId: 'prod-1',
    name: 'Pro annual',
    scheme: 'ED25519_SIGN',
    durationSeconds: 365 * 86400,
    maxMachines: 3,
    floating: false,
    fileTtlSeconds: 30 * 86400,
    encrypt: true,
    entitlements: ['EXPORT_PDF'],
    keyTemplate: null,
    unsignedKey: false,
    expirationStrategy: 'RESTRICT_ACCESS',
    strict: false,
    offlineGraceSeconds: null,
    allowTransfer: true,
    requireHeartbeat: false,
    heartbeatDurationSeconds: null,
    heartbeatCullStrategy: 'DEACTIVATE_DEAD',
    heartbeatResurrectionStrategy: 'NO_REVIVE',
    heartbeatBasis: 'FROM_FIRST_PING',
    createdAt: '2025-01-03T10:00:00Z',
    ...overrides,
  };
}

export function license(overrides: Partial<License> = {}): License {
  return {
    id: 'lic-1',
    key: 'key/eyJhY2NvdW50Ijp7ImlkIjoiYWNtZSJ9fQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU',
    policyId: 'pol-1',
    policyName: 'Pro annual',
    productId: 'prod-1',
    productName: 'Acme Editor',
    customerId: null,
    customerName: 'Jane Roe',
    customerEmail: 'jane@example.com',
    status: 'active',
    expiry: null,
    createdAt: '2025-01-04T10:00:00Z',
    updatedAt: '2025-01-04T10:00:00Z',
    machinesCount: null,
    ...overrides,
  };
}

/** A customer as the list shows them: two licenses, one of them active. */
export function customer(overrides: Partial<CustomerSummary> = {}): CustomerSummary {
  return {
    id: 'cust-1',
    name: 'Jane Roe',
    email: 'jane@example.com',
    company: 'Roe Instruments',
    createdAt: '2025-01-04T10:00:00Z',
    licenses: 2,
    activeLicenses: 1,
    ...overrides,
  };
}

export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq: 1,
    at: '2025-01-04T10:00:00.000Z',
    actor: 'vendor',
    action: 'license.issue',
    subjectType: 'license',
    subjectId: 'lic-1',
    signingKeyKid: 'kid-aaaa',
    artifactSha256: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12',
    detail: '{}',
    state: null,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    mac: null,
    ...overrides,
  };
}

/** One page holding `items`, the last unless `nextCursor` is given. */
export function page(
  items: License[],
  total = items.length,
  nextCursor: string | null = null,
  totalExact = true,
) {
  return { items, total, totalExact, nextCursor };
}

/** A rejection exactly as the backend sends it. */
export function commandError(code: platform.AppError['code'], message: string) {
  return new platform.AppError(code, message);
}

export function machine(overrides: Partial<Machine> = {}): Machine {
  return {
    id: 'mach-1',
    licenseId: 'lic-1',
    fingerprint: '4f:9a:1c:e2:77:00:b3:5d',
    name: null,
    hostname: 'jane-laptop',
    platform: 'windows',
    osUser: 'jane',
    appVersion: '2.4.1',
    status: 'active',
    activatedAt: '2025-02-01T09:00:00Z',
    deactivatedAt: null,
    requestNonce: 'ab'.repeat(16),
    lastHeartbeatAt: null,
    heartbeatStatus: 'NOT_STARTED',
    ...overrides,
  };
}

export function activationPreview(overrides: Partial<ActivationPreview> = {}): ActivationPreview {
  return {
    request: {
      fingerprint: '4f:9a:1c:e2:77:00:b3:5d',
      hostname: 'jane-laptop',
      platform: 'windows',
      osUser: 'jane',
      appVersion: '2.4.1',
      nonce: 'ab'.repeat(16),
      requestedAt: '2025-02-01T08:55:00Z',
    },
    license: license({ machinesCount: 1, expiry: '2026-02-01T00:00:00Z' }),
    seatsUsed: 1,
    seatsAllowed: 3,
    floating: true,
    expired: false,
    existingMachine: null,
    allowed: true,
    refusal: null,
    ...overrides,
  };
}

export const REQUEST_TEXT = '-----BEGIN ACTIVATION REQUEST-----\nZXhhbXBsZQ==\n-----END ACTIVATION REQUEST-----\n';

/** Names for an audit event (all absent unless given). */
export function names(overrides: Partial<SubjectNames> = {}): SubjectNames {
  return {
    licenseId: null,
    customerId: null,
    customer: null,
    productId: null,
    product: null,
    policy: null,
    machine: null,
    key: null,
    ...overrides,
  };
}

/** An audit event with its names. */
export function auditEntry(event: Partial<AuditEvent> = {}, named: Partial<SubjectNames> = {}): AuditEntry {
  return { event: auditEvent(event), names: names(named) };
}
