// Generated from keywright-core's types by ts-rs. Do not edit: change the Rust types and run
// UPDATE_BINDINGS=1 cargo test -p keywright-core --test bindings

export type ErrorCode = "BAD_INPUT" | "NOT_FOUND" | "CONFLICT" | "KEYCHAIN_UNAVAILABLE" | "KEYCHAIN_ENTRY_MISSING" | "KEYCHAIN_MISMATCH" | "CLOCK_BEHIND" | "STORE" | "STORE_TOO_NEW" | "IO" | "FORMAT" | "INTERNAL" | "SIGNING_LOCKED" | "TEMPLATE_INVALID" | "WEAK_PASSPHRASE" | "BACKUP_PASSPHRASE" | "BACKUP_DAMAGED" | "STORE_EXISTS" | "TRANSFER_NOT_ALLOWED" | "AUDIT_TAMPERED" | "OUTPUT_IS_STORE" | "KEY_BUNDLE_PASSPHRASE" | "KEY_BUNDLE_DAMAGED" | "KEY_BUNDLE_MISMATCH" | "MAIL_LOGIN_REFUSED" | "MAIL_UNREACHABLE" | "MAIL_REJECTED" | "MAIL_DEFERRED" | "UPDATE_UNREACHABLE" | "UPDATE_REFUSED" | "UPDATE_FAILED";

export type CommandError = { 
/**
 * The failure class.
 */
code: ErrorCode, 
/**
 * What went wrong, in words.
 */
message: string, };

export type StoreInfo = { 
/**
 * The SQLite file.
 */
path: string, 
/**
 * The store's random id; it namespaces the keychain entries.
 */
storeId: string, 
/**
 * The keychain service name under which this store's private keys live.
 */
keychainService: string, 
/**
 * Whether the audit log matched its anchor in the keychain when the store opened.
 */
audit: AuditStatus, };

export type StoreCopied = { 
/**
 * The store's id, the same on both sides (its keys and audit anchor are filed
 * under it).
 */
storeId: string, 
/**
 * Where it was copied from (a PostgreSQL URL without its password).
 */
from: string, 
/**
 * Where it was copied to.
 */
to: string, 
/**
 * Rows per table, the same on both sides.
 */
tables: Array<TableRows>, 
/**
 * Rows of the audit log, verified (chain, MACs, anchor, replay) on both sides.
 */
auditRows: number, };

export type TableRows = { 
/**
 * The table.
 */
table: string, 
/**
 * How many rows it holds.
 */
rows: number, };

export type KeyAlgorithm = "ed25519" | "rsa-2048" | "ecdsa-p256";

export type KeyStatus = "active" | "retired" | "revoked";

export type SigningKey = { 
/**
 * Row id (UUID).
 */
id: string, 
/**
 * Key id: the first 8 bytes of SHA-256 of the public key, in hex.
 */
kid: string, 
/**
 * A name people recognise.
 */
name: string, 
/**
 * The algorithm.
 */
algorithm: KeyAlgorithm, 
/**
 * Public key, raw bytes in hex (Keygen's "public key" format for Ed25519).
 */
publicKeyHex: string, 
/**
 * Public key as SPKI PEM.
 */
publicKeyPem: string, 
/**
 * Whether it signs.
 */
status: KeyStatus, 
/**
 * When it was made (RFC 3339, UTC, milliseconds).
 */
createdAt: string, 
/**
 * When its scheduled retirement comes (RFC 3339, UTC, milliseconds): from then on
 * it no longer signs, as if retired. None: none scheduled.
 */
retireAt: string | null, };

export type NewSigningKey = { 
/**
 * A name people recognise.
 */
name: string, 
/**
 * The algorithm.
 */
algorithm: KeyAlgorithm, };

export type Product = { 
/**
 * Row id (UUID).
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Short unique code (`ZAPPER`).
 */
code: string, 
/**
 * Product page.
 */
url: string | null, 
/**
 * Shown to customers when validation fails.
 */
supportMessage: string | null, 
/**
 * The key that signs this product's licenses.
 */
signingKeyId: string, 
/**
 * When it was made.
 */
createdAt: string, };

export type NewProduct = { 
/**
 * Display name.
 */
name: string, 
/**
 * Short unique code; derived from the name when absent.
 */
code: string | null, 
/**
 * Product page.
 */
url: string | null, 
/**
 * Shown to customers when validation fails.
 */
supportMessage: string | null, 
/**
 * Id, kid or name of the signing key; the newest active key when absent.
 */
signingKeyId: string | null, };

export type Scheme = "ED25519_SIGN" | "RSA_2048_PKCS1_PSS_SIGN_V2" | "RSA_2048_PKCS1_SIGN_V2" | "RSA_2048_PKCS1_PSS_SIGN" | "RSA_2048_PKCS1_SIGN" | "RSA_2048_PKCS1_ENCRYPT" | "RSA_2048_JWT_RS256" | "ECDSA_P256_SIGN";

export type HeartbeatCullStrategy = "DEACTIVATE_DEAD" | "KEEP_DEAD";

export type HeartbeatResurrectionStrategy = "NO_REVIVE" | "1_MINUTE_REVIVE" | "2_MINUTE_REVIVE" | "5_MINUTE_REVIVE" | "10_MINUTE_REVIVE" | "15_MINUTE_REVIVE" | "ALWAYS_REVIVE";

export type HeartbeatBasis = "FROM_FIRST_PING" | "FROM_CREATION";

export type Policy = { 
/**
 * Row id (UUID).
 */
id: string, 
/**
 * The product.
 */
productId: string, 
/**
 * Display name, unique per product.
 */
name: string, 
/**
 * Key scheme.
 */
scheme: Scheme, 
/**
 * License duration in seconds; `None` = perpetual.
 */
durationSeconds: number | null, 
/**
 * Machine limit; `None` = unlimited. Always 1 for a node-locked policy (also one
 * stored by an older version with another value, which it enforced as 1).
 */
maxMachines: number | null, 
/**
 * Floating (several machines) rather than node-locked.
 */
floating: boolean, 
/**
 * License file TTL in seconds; `None` = files never expire.
 */
fileTtlSeconds: number | null, 
/**
 * Encrypt license files with the license key.
 */
encrypt: boolean, 
/**
 * Entitlement codes granted.
 */
entitlements: Array<string>, 
/**
 * Keygen-style key template (`{{id}}`, `{{expiry}}`...): the dataset its signed
 * keys embed instead of Keygen's default one; `None` = the default dataset.
 */
keyTemplate: string | null, 
/**
 * License keys are random, human-typable and unsigned (no scheme): such licenses
 * are checked online or through a (signed) license file only.
 */
unsignedKey: boolean, 
/**
 * What an expired license may still do (Keygen's `expirationStrategy`).
 */
expirationStrategy: ExpirationStrategy, 
/**
 * Keygen's `strict`: a license file reporting more machines than allowed fails
 * validation (`TOO_MANY_MACHINES`); activation limits seats either way.
 */
strict: boolean, 
/**
 * How long a license or machine file keeps validating after its TTL, in seconds;
 * `None` = no grace.
 */
offlineGraceSeconds: number | null, 
/**
 * Whether a machine's seat may be transferred to another fingerprint.
 */
allowTransfer: boolean, 
/**
 * Keygen's `requireHeartbeat`: machines must ping, else they die.
 */
requireHeartbeat: boolean, 
/**
 * Keygen's `heartbeatDuration` in seconds: how long a ping keeps a machine alive;
 * `None` = Keygen's default, 10 minutes ([`DEFAULT_HEARTBEAT_SECONDS`]).
 */
heartbeatDurationSeconds: number | null, 
/**
 * What happens to a dead machine (Keygen's `heartbeatCullStrategy`).
 */
heartbeatCullStrategy: HeartbeatCullStrategy, 
/**
 * Whether a dead machine may ping again (Keygen's `heartbeatResurrectionStrategy`).
 */
heartbeatResurrectionStrategy: HeartbeatResurrectionStrategy, 
/**
 * When a machine's first heartbeat starts (Keygen's `heartbeatBasis`).
 */
heartbeatBasis: HeartbeatBasis, 
/**
 * When it was made.
 */
createdAt: string, };

export type NewPolicy = { 
/**
 * Id, code or name of the product.
 */
productId: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Key scheme; the product key's recommended one when absent.
 */
scheme: Scheme | null, 
/**
 * License duration; empty, absent or `none` = perpetual.
 */
duration: string | null, 
/**
 * Machine limit; absent = 1 when node-locked, unlimited when floating. A
 * node-locked policy has exactly one machine: any other limit is refused.
 */
maxMachines: number | null, 
/**
 * Floating (up to `max_machines`) rather than node-locked (exactly one machine).
 */
floating: boolean, 
/**
 * License file TTL; absent = Keygen's default (one month); `none` = never.
 */
fileTtl: string | null, 
/**
 * Encrypt license files.
 */
encrypt: boolean, 
/**
 * Entitlement codes.
 */
entitlements: Array<string>, 
/**
 * Keygen-style key template for the signed key's dataset; absent or blank =
 * Keygen's default dataset. Checked on creation: unknown placeholders and
 * renderings the scheme cannot carry are refused (`TEMPLATE_INVALID`).
 */
keyTemplate: string | null, 
/**
 * Issue random, human-typable, unsigned keys instead of signed ones (no scheme,
 * no template).
 */
unsignedKey: boolean, 
/**
 * What an expired license may still do; absent = `RESTRICT_ACCESS`.
 */
expirationStrategy: ExpirationStrategy | null, 
/**
 * Fail validation of files reporting more machines than allowed.
 */
strict: boolean, 
/**
 * Offline grace after a file's TTL, like `7d`; absent, empty or `none` = none.
 */
offlineGrace: string | null, 
/**
 * Whether machines may be transferred to another fingerprint; absent = yes.
 */
allowTransfer: boolean | null, 
/**
 * Machines must send heartbeat pings (then `heartbeat_duration` is required).
 */
requireHeartbeat: boolean, 
/**
 * How long a ping keeps a machine alive, like `10min` (1 minute to 365 days);
 * absent, empty or `none` = Keygen's 10 minutes, which a policy requiring
 * heartbeats may not leave implicit.
 */
heartbeatDuration: string | null, 
/**
 * What happens to a dead machine; absent = `DEACTIVATE_DEAD`.
 */
heartbeatCullStrategy: HeartbeatCullStrategy | null, 
/**
 * Whether a dead machine may ping again; absent = `NO_REVIVE`.
 */
heartbeatResurrectionStrategy: HeartbeatResurrectionStrategy | null, 
/**
 * When a machine's heartbeat starts; absent = `FROM_FIRST_PING`.
 */
heartbeatBasis: HeartbeatBasis | null, };

export type SetPolicyHeartbeat = { 
/**
 * Id or name of the policy.
 */
policyId: string, 
/**
 * Machines must send heartbeat pings.
 */
requireHeartbeat: boolean | null, 
/**
 * How long a ping keeps a machine alive, like `10min`; `none` = Keygen's 10
 * minutes (refused while heartbeats are required).
 */
heartbeatDuration: string | null, 
/**
 * What happens to a dead machine.
 */
heartbeatCullStrategy: HeartbeatCullStrategy | null, 
/**
 * Whether a dead machine may ping again.
 */
heartbeatResurrectionStrategy: HeartbeatResurrectionStrategy | null, 
/**
 * When a machine's heartbeat starts.
 */
heartbeatBasis: HeartbeatBasis | null, };

export type KeyTemplatePreview = { 
/**
 * The dataset a signed key would embed (the rendered template, or Keygen's
 * default dataset); for an unsigned policy, a sample key of its format.
 */
dataset: string, 
/**
 * Size of `dataset` in bytes.
 */
bytes: number, 
/**
 * Whether the policy's keys are unsigned human keys.
 */
unsigned: boolean, 
/**
 * The scheme the keys would be signed with; `None` when unsigned.
 */
scheme: Scheme | null, };

export type LicenseStatus = "active" | "suspended" | "revoked";

export type License = { 
/**
 * Row id (UUID).
 */
id: string, 
/**
 * The license key the customer types or pastes.
 */
key: string, 
/**
 * The policy.
 */
policyId: string, 
/**
 * The policy's name.
 */
policyName: string, 
/**
 * The product.
 */
productId: string, 
/**
 * The product's name.
 */
productName: string, 
/**
 * The customer, if any.
 */
customerId: string | null, 
/**
 * The customer's name.
 */
customerName: string | null, 
/**
 * The customer's email.
 */
customerEmail: string | null, 
/**
 * Its state.
 */
status: LicenseStatus, 
/**
 * When it expires; `None` = never.
 */
expiry: string | null, 
/**
 * When it was issued.
 */
createdAt: string, 
/**
 * When it last changed (issue, suspend, reinstate, revoke, renew).
 */
updatedAt: string, 
/**
 * Machines activated on it now (seats used); `None` where a listing does not
 * count them (`list_licenses`). Search pages count them.
 */
machinesCount: number | null, };

export type RenewLicense = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * How much longer, like `1y`, `6mo`, `30d`.
 */
by: string, };

export type LicenseSort = "created_desc" | "created_asc" | "expiry_asc" | "customer_asc";

export type LicenseQuery = { 
/**
 * 3 characters or more: a substring of the customer's name or email, or of a
 * short (unsigned, human) key, in any case; the start (6 to 64 characters) or the
 * end (6 or more) of any key, exactly (a whole key is one); or a license id.
 * 1–2 characters: the start of a word in the customer's name or email.
 */
text: string | null, 
/**
 * Only this product's licenses.
 */
productId: string | null, 
/**
 * Only this policy's licenses.
 */
policyId: string | null, 
/**
 * Only this customer's licenses.
 */
customerId: string | null, 
/**
 * Only licenses in this state.
 */
status: LicenseStatus | null, 
/**
 * Only licenses that have not expired yet but will within this many days.
 */
expiringWithinDays: number | null, 
/**
 * Order; newest first when absent.
 */
sort: LicenseSort, 
/**
 * Page size: 50 when absent, at most 500.
 */
limit: number | null, 
/**
 * `nextCursor` of the previous page; absent = first page.
 */
cursor: string | null, };

export type LicensePage = { 
/**
 * The licenses on this page, in the order asked for.
 */
items: Array<License>, 
/**
 * How many licenses match the query across all pages, counted up to
 * 10,000 (`search::COUNT_CAP`): when more match, this is 10,000 and
 * `total_exact` is false ("10,000+"). A broad text search (more than
 * `search::BROAD_TEXT` index matches) is not counted: then this is the number
 * on this page, `total_exact` false while more pages follow.
 */
total: number, 
/**
 * Whether `total` is the exact count (false: at least `total` match).
 */
totalExact: boolean, 
/**
 * Pass as `cursor` for the next page; `None` on the last page.
 */
nextCursor: string | null, };

export type IssueLicense = { 
/**
 * Id or name of the policy.
 */
policyId: string, 
/**
 * Customer's name.
 */
customerName: string | null, 
/**
 * Customer's email; an existing customer with this email is reused.
 */
customerEmail: string | null, 
/**
 * Customer's company (kept when a new customer is created).
 */
customerCompany: string | null, 
/**
 * A JSON object, as text.
 */
metadata: string | null, };

export type ExportLicenseFile = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * Where to write the `.lic` file.
 */
path: string, 
/**
 * File TTL; absent = the policy's; `none` = never expires.
 */
ttl: string | null, 
/**
 * Encrypt; absent = the policy's setting.
 */
encrypt: boolean | null, 
/**
 * Keygen's file algorithm (`aes-256-gcm+rsa-pss-sha256`...); absent = the one
 * Keygen derives from the policy's scheme and the encryption setting.
 */
algorithm: string | null, 
/**
 * Related objects to write in the file's `included`, as Keygen's `include=`:
 * any of `product`, `policy`, `owner`, `entitlements` (empty = none).
 */
include: Array<string>, };

export type ExportedFile = { 
/**
 * The file written.
 */
path: string, 
/**
 * SHA-256 of its bytes, hex.
 */
sha256: string, 
/**
 * Its size.
 */
bytes: number, 
/**
 * Keygen's algorithm name (`aes-256-gcm+ed25519`); `csv` for an audit export.
 */
algorithm: string, };

export type AuditEvent = { 
/**
 * Position in the chain, from 1.
 */
seq: number, 
/**
 * When (RFC 3339 UTC, ms).
 */
at: string, 
/**
 * The OS user who did it.
 */
actor: string, 
/**
 * What was done.
 */
action: string, 
/**
 * The kind of row concerned.
 */
subjectType: string | null, 
/**
 * The row concerned.
 */
subjectId: string | null, 
/**
 * Key id that signed.
 */
signingKeyKid: string | null, 
/**
 * SHA-256 of the signed artifact.
 */
artifactSha256: string | null, 
/**
 * Extra facts, JSON text.
 */
detail: string, 
/**
 * The concerned row's state right after the event (JSON text), for the rows the
 * log tracks; absent in rows written before the log was anchored.
 */
state: string | null, 
/**
 * The previous row's hash.
 */
prevHash: string, 
/**
 * This row's hash.
 */
hash: string, 
/**
 * HMAC-SHA256 of the row's position and hash under the store's audit key.
 */
mac: string | null, };

export type SubjectNames = { 
/**
 * The license concerned: the subject itself, or the license of a machine.
 */
licenseId: string | null, 
/**
 * That license's customer.
 */
customerId: string | null, 
/**
 * The customer's name, or their email when they have no name.
 */
customer: string | null, 
/**
 * The product concerned (of the license, the policy, or the product itself).
 */
productId: string | null, 
/**
 * Its name.
 */
product: string | null, 
/**
 * The policy's name.
 */
policy: string | null, 
/**
 * The machine's name, else its hostname, else its fingerprint.
 */
machine: string | null, 
/**
 * The signing key's name: the subject, or the key that signed (by kid).
 */
key: string | null, };

export type AuditEntry = { 
/**
 * The event as stored.
 */
event: AuditEvent, 
/**
 * Who and what it concerns, by name.
 */
names: SubjectNames, };

export type AuditQuery = { 
/**
 * An action (`license.issue`), or a family of them (`license.*`).
 */
action: string | null, 
/**
 * Only events about this row (a license id, a key id...).
 */
subjectId: string | null, 
/**
 * Only what this person (or the server, `server`) did: the actor as recorded.
 */
actor: string | null, 
/**
 * Only events about this product: the product itself, its policies, its licenses
 * and their machines, and batches that issued its licenses (the product's id).
 */
productId: string | null, 
/**
 * From this time on (RFC 3339, or a date `2026-11-01` meaning its start, UTC).
 */
since: string | null, 
/**
 * Before this time (same forms as `since`; exclusive).
 */
until: string | null, 
/**
 * At most this many events: 100 when absent, at most 1,000 (CSV exports take all).
 */
limit: number | null, 
/**
 * Only events older than this `seq` (the last one of the previous page).
 */
beforeSeq: number | null, };

export type AuditVerification = { 
/**
 * Every row is present, in order, unedited, and the log's replay gives the
 * store's current state.
 */
intact: boolean, 
/**
 * How many rows were checked.
 */
rows: number, 
/**
 * The first row that is missing or edited, when the chain itself is broken.
 */
brokenAt: number | null, 
/**
 * What was found, in words.
 */
message: string, 
/**
 * Whether the MACs and the keychain's anchor were checked (false when the log was
 * never anchored or the audit key could not be read: then only the hash chain
 * and the replay were checked, which someone with write access to the file could
 * have recomputed).
 */
anchored: boolean, 
/**
 * Every difference found, one sentence each (at most [`MAX_PROBLEMS`]).
 */
problems: Array<string>, 
/**
 * How many differences there are in all (may exceed the list).
 */
problemCount: number, };

export type AnchorState = "anchored" | "unverified" | "unanchored" | "tampered" | "key_missing";

export type AuditStatus = { 
/**
 * What was found at open.
 */
state: AnchorState, 
/**
 * In words, with what to do.
 */
message: string, };

export type ClockRow = { 
/**
 * Its position in the log.
 */
seq: number, 
/**
 * Its time.
 */
at: string, 
/**
 * What it recorded.
 */
action: string, 
/**
 * Who.
 */
actor: string, };

export type ClockAccepted = { 
/**
 * The `clock.accept` row.
 */
seq: number, 
/**
 * The row dated in the future that no longer counts.
 */
futureRow: ClockRow, 
/**
 * The clock's time when it was accepted.
 */
clock: string, };

export type ProductSummary = { 
/**
 * The product.
 */
productId: string, 
/**
 * Its name.
 */
productName: string, 
/**
 * Licenses ever issued.
 */
issued: number, 
/**
 * Active now.
 */
active: number, 
/**
 * Suspended now.
 */
suspended: number, 
/**
 * Revoked.
 */
revoked: number, 
/**
 * Not revoked, not yet expired, expiring within 30 days.
 */
expiring30d: number, 
/**
 * Machines active now on its licenses that are not revoked.
 */
seatsUsed: number, 
/**
 * The seats its active licenses allow, summed over those whose policy sets a
 * machine limit (a node-locked license allows one).
 */
seatsLimit: number, 
/**
 * Its active licenses whose policy sets no machine limit (their seats are not in
 * `seats_limit`).
 */
unlimited: number, };

export type DayCount = { 
/**
 * The day, `YYYY-MM-DD`.
 */
day: string, 
/**
 * Licenses issued that day.
 */
count: number, };

export type Attention = { 
/**
 * Licenses past their expiry, not revoked, that still have active machines.
 */
expiredWithMachines: number, 
/**
 * Suspended licenses that still have active machines.
 */
suspendedWithMachines: number, 
/**
 * Licenses, not revoked, expiring within the next 7 days.
 */
expiring7d: number, 
/**
 * Products no policy belongs to yet: nothing can be issued for them.
 */
productsWithoutPolicy: Array<string>, 
/**
 * The newest audit row, when this computer's clock is behind it: signing is
 * refused until the clock is right or accepted (Audit log).
 */
clockBehind: ClockRow | null, 
/**
 * Active keys whose scheduled retirement comes within 30 days (or has come: they
 * no longer sign), soonest first.
 */
keysRetiring: Array<RetiringKey>, };

export type RetiringKey = { 
/**
 * The key's row id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Its key id.
 */
kid: string, 
/**
 * When it retires (RFC 3339, UTC).
 */
retireAt: string, 
/**
 * Whether that time has come (it no longer signs).
 */
retired: boolean, 
/**
 * Codes of the products that still sign with it: each needs another key first.
 */
products: Array<string>, };

export type Dashboard = { 
/**
 * Every product, by name.
 */
perProduct: Array<ProductSummary>, 
/**
 * The last 30 days, oldest first, today last; days without issues count 0.
 */
issuedPerDay: Array<DayCount>, 
/**
 * The last 12 weeks (UTC, Monday to Sunday), oldest first, this week last; `day`
 * is the week's Monday.
 */
issuedPerWeek: Array<DayCount>, 
/**
 * Machines activated per day over the last 30 days (UTC), oldest first, today
 * last; machines deactivated since still count on the day they were activated.
 */
activationsPerDay: Array<DayCount>, 
/**
 * What needs attention.
 */
attention: Attention, 
/**
 * The 10 newest audit events.
 */
recent: Array<AuditEvent>, 
/**
 * Who and what each of them concerns, by name, in the same order.
 */
recentNames: Array<SubjectNames>, };

export type CustomerQuery = { 
/**
 * Part of the name or email (any case).
 */
text: string | null, 
/**
 * At most this many: 100 when absent, at most 500.
 */
limit: number | null, };

export type CustomerSummary = { 
/**
 * Row id (UUID).
 */
id: string, 
/**
 * Name, if given.
 */
name: string | null, 
/**
 * Email, if given.
 */
email: string | null, 
/**
 * Company, if given.
 */
company: string | null, 
/**
 * When they were first issued a license.
 */
createdAt: string, 
/**
 * Licenses ever issued to them.
 */
licenses: number, 
/**
 * Of those, how many are active.
 */
activeLicenses: number, };

export type MachineStatus = "active" | "deactivated";

export type HeartbeatStatus = "NOT_STARTED" | "ALIVE" | "DEAD" | "RESURRECTED";

export type Machine = { 
/**
 * Row id (UUID); the machine file's `data.id`.
 */
id: string, 
/**
 * The license.
 */
licenseId: string, 
/**
 * The machine fingerprint its files are bound to.
 */
fingerprint: string, 
/**
 * Display name.
 */
name: string | null, 
/**
 * Host name, as the request said.
 */
hostname: string | null, 
/**
 * Platform, as the request said.
 */
platform: string | null, 
/**
 * The OS user who asked, as the request said.
 */
osUser: string | null, 
/**
 * The application version that asked.
 */
appVersion: string | null, 
/**
 * Whether it holds a seat.
 */
status: MachineStatus, 
/**
 * When it was activated.
 */
activatedAt: string, 
/**
 * When it was deactivated.
 */
deactivatedAt: string | null, 
/**
 * The nonce of the activation request it came from (hex), if any.
 */
requestNonce: string | null, 
/**
 * Its last heartbeat ping (or its activation, under `FROM_CREATION`), if any.
 */
lastHeartbeatAt: string | null, 
/**
 * Keygen's `heartbeatStatus` when it was read (`list_machines` and the server
 * compute it with [`HeartbeatStatus::of`]); `None` where the reader had no clock.
 */
heartbeatStatus: HeartbeatStatus | null, };

export type ActivationRequestInfo = { 
/**
 * The machine fingerprint.
 */
fingerprint: string, 
/**
 * Host name.
 */
hostname: string | null, 
/**
 * Platform.
 */
platform: string | null, 
/**
 * OS user.
 */
osUser: string | null, 
/**
 * Application version.
 */
appVersion: string | null, 
/**
 * The request's nonce (hex).
 */
nonce: string, 
/**
 * When the application made the request (its clock).
 */
requestedAt: string, };

export type ActivationPreview = { 
/**
 * What the request asks for.
 */
request: ActivationRequestInfo, 
/**
 * The license it names (with `machinesCount`).
 */
license: License, 
/**
 * Seats in use now.
 */
seatsUsed: number, 
/**
 * Seats the policy allows: 1 when node-locked, else its max machines; -1 = unlimited.
 */
seatsAllowed: number, 
/**
 * Whether the policy is floating (else node-locked).
 */
floating: boolean, 
/**
 * Whether the license's expiry has passed.
 */
expired: boolean, 
/**
 * The active machine with this fingerprint, if the license already has it:
 * activating again gives a fresh machine file, not a second seat.
 */
existingMachine: Machine | null, 
/**
 * Whether activation would succeed now.
 */
allowed: boolean, 
/**
 * Why not, in words (with the product's support message), when refused.
 */
refusal: string | null, };

export type ActivateMachine = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * The machine fingerprint.
 */
fingerprint: string, 
/**
 * Display name.
 */
name: string | null, 
/**
 * Host name.
 */
hostname: string | null, 
/**
 * Platform.
 */
platform: string | null, 
/**
 * OS user.
 */
osUser: string | null, 
/**
 * Application version.
 */
appVersion: string | null, };

export type ExportMachineFile = { 
/**
 * The machine.
 */
machineId: string, 
/**
 * Where to write the `.lic` file.
 */
path: string, 
/**
 * File TTL; absent = the policy's; `none` = never expires.
 */
ttl: string | null, 
/**
 * Encrypt with the license key and fingerprint; absent = yes (a machine file
 * then opens only on its machine).
 */
encrypt: boolean | null, };

export type TransferMachine = { 
/**
 * The machine to deactivate.
 */
machineId: string, 
/**
 * The new machine's fingerprint.
 */
fingerprint: string, 
/**
 * The new machine's name; absent = the old one's.
 */
name: string | null, 
/**
 * Host name.
 */
hostname: string | null, 
/**
 * Platform.
 */
platform: string | null, };

export type SimulateValidation = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * A machine of that license: simulate its machine file; absent = a license file.
 */
machineId: string | null, 
/**
 * The fingerprint the application runs on; absent = the machine's own.
 */
fingerprint: string | null, 
/**
 * The date, RFC 3339 (`2027-01-01T00:00:00Z`) or a day (`2027-01-01`, its start, UTC).
 */
at: string, 
/**
 * When the customer's file was exported (same forms as `at`), with the policy's
 * TTL; absent = on `at` (a fresh file).
 */
fileIssuedAt: string | null, 
/**
 * Entitlement codes the application requires (`ENTITLEMENTS_MISSING` when the
 * license lacks one); empty = none.
 */
requiredEntitlements: Array<string>, };

export type SimulatedValidation = { 
/**
 * Keygen-style code: `VALID`, `EXPIRED`, `SUSPENDED`, `DECRYPTION_FAILED`...
 */
code: string, 
/**
 * The SDK's message.
 */
message: string, 
/**
 * The product's support message, which the application shows on failure.
 */
supportMessage: string | null, };

export type Settings = { 
/**
 * The store the window opens: a file, or a PostgreSQL URL without its password;
 * `None` = the per-user default location.
 */
storePath: string | null, 
/**
 * Preselected for a new signing key.
 */
defaultKeyAlgorithm: KeyAlgorithm, 
/**
 * Preselected "renew by" period (`1y`, `6mo`, `30d`).
 */
defaultRenewBy: string, 
/**
 * Preselected license file lifetime on export; `None` = the policy's.
 */
defaultExportTtl: string | null, 
/**
 * With an app lock set: minutes without a signature before signing locks again.
 */
lockIdleMinutes: number, 
/**
 * Whether the window asks the update server for a newer version when it starts.
 * It only ever asks: installing waits for the user's word. Files saved before
 * this setting existed read as `true`.
 */
checkForUpdates: boolean, };

export type SettingsView = { 
/**
 * The saved settings (the defaults when none were saved or they could not be read).
 */
settings: Settings, 
/**
 * The per-user default store location.
 */
defaultStorePath: string, 
/**
 * True when `KEYWRIGHT_STORE` chose the open store (it wins over Settings).
 */
storeFromEnv: boolean, 
/**
 * Why the saved settings could not be read, if they could not.
 */
problem: string | null, };

export type AppLockState = { 
/**
 * A lock passphrase is set for this store.
 */
enabled: boolean, 
/**
 * Signing works now without asking (always true when not enabled).
 */
unlocked: boolean, 
/**
 * Minutes without a signature after which signing locks again.
 */
idleMinutes: number, };

export type ServerEvent = { 
/**
 * Position, from 1.
 */
seq: number, 
/**
 * When (RFC 3339, UTC, milliseconds).
 */
at: string, 
/**
 * `check`, `activate` or `validate`.
 */
endpoint: string, 
/**
 * The license, when the key was known.
 */
licenseId: string | null, 
/**
 * The machine row involved, if any.
 */
machineId: string | null, 
/**
 * The product that answered, if known.
 */
productId: string | null, 
/**
 * The machine name the client sent.
 */
machine: string | null, 
/**
 * The user the client sent.
 */
user: string | null, 
/**
 * The hwid / machine id the client sent.
 */
hwid: string | null, 
/**
 * The client's address.
 */
ip: string | null, 
/**
 * The HTTP status answered.
 */
status: number, 
/**
 * `ok`, or the reason (`NOT_FOUND`, `OUT_OF_ACTIVATIONS`, ...).
 */
result: string, };

export type ServerStatus = { 
/**
 * It is listening.
 */
running: boolean, 
/**
 * `http://host:port` it listens on, when running.
 */
address: string | null, 
/**
 * When it was started (RFC 3339), when running.
 */
startedAt: string | null, };

export type BackupCreated = { 
/**
 * The backup file (its SHA-256 is in the `backup.created` audit row).
 */
file: ExportedFile, 
/**
 * The store it holds.
 */
storeId: string, 
/**
 * Private keys it holds.
 */
keys: number, 
/**
 * Licenses in the snapshot.
 */
licenses: number, };

export type BackupRestored = { 
/**
 * The new store file.
 */
storePath: string, 
/**
 * Its id (the same as the backed-up store's).
 */
storeId: string, 
/**
 * The keychain service the keys were written under.
 */
keychainService: string, 
/**
 * Private keys restored into the keychain.
 */
keys: number, 
/**
 * Licenses in the restored store.
 */
licenses: number, };

export type BatchRow = { 
/**
 * Its line in the file (the header is line 1).
 */
line: number, 
/**
 * The order id.
 */
orderId: string, 
/**
 * Customer's name.
 */
customerName: string | null, 
/**
 * Customer's email.
 */
customerEmail: string | null, 
/**
 * Customer's company.
 */
customerCompany: string | null, 
/**
 * The policy the licenses are issued under, when it resolved.
 */
policyId: string | null, 
/**
 * Its name.
 */
policyName: string | null, 
/**
 * Its product's name.
 */
productName: string | null, 
/**
 * Licenses ordered.
 */
quantity: number, 
/**
 * Of those, how many the store already holds (an earlier run).
 */
alreadyIssued: number, 
/**
 * How many issuing would add now.
 */
toIssue: number, 
/**
 * The other columns, as license metadata.
 */
metadata: { [key in string]?: string }, 
/**
 * Why the row cannot be issued; empty when it can.
 */
errors: Array<string>, 
/**
 * Something worth knowing that is not an error (a repeated row).
 */
note: string | null, };

export type BatchPreview = { 
/**
 * Every row, in file order.
 */
rows: Array<BatchRow>, 
/**
 * The columns that become metadata.
 */
metadataColumns: Array<string>, 
/**
 * Rows with at least one error.
 */
badRows: number, 
/**
 * Licenses issuing would add.
 */
toIssue: number, 
/**
 * Licenses of these orders the store already holds.
 */
alreadyIssued: number, };

export type BatchOptions = { 
/**
 * A folder for one `.lic` file per license and one `.eml` draft per customer email.
 */
outDir: string | null, 
/**
 * Issue nothing if any row is bad.
 */
allOrNothing: boolean, };

export type BatchProgress = { 
/**
 * Steps done (licenses issued, then license files written).
 */
done: number, 
/**
 * Steps in all.
 */
total: number, };

export type BatchIssued = { 
/**
 * The CSV line it came from.
 */
line: number, 
/**
 * The order id.
 */
orderId: string, 
/**
 * Its position in the order, 1..quantity.
 */
seq: number, 
/**
 * The license.
 */
licenseId: string, 
/**
 * Its key.
 */
key: string, };

export type BatchOutcome = { 
/**
 * The rows as validated before issuing.
 */
preview: BatchPreview, 
/**
 * Licenses issued by this run.
 */
issued: Array<BatchIssued>, 
/**
 * Licenses the store already held (not issued again).
 */
alreadyIssued: number, 
/**
 * Stopped by a cancel: what was committed stays, a re-run issues the rest.
 */
cancelled: boolean, 
/**
 * Nothing was issued because a row is bad and all-or-nothing was asked.
 */
refused: boolean, 
/**
 * `.lic` files written (missing ones only; existing files are kept).
 */
licenseFiles: number, 
/**
 * `.eml` drafts written.
 */
emailDrafts: number, 
/**
 * In words.
 */
message: string, };

export type ExpirationStrategy = "RESTRICT_ACCESS" | "REVOKE_ACCESS" | "MAINTAIN_ACCESS" | "ALLOW_ACCESS";

export type LicenseEntitlements = { 
/**
 * The license.
 */
licenseId: string, 
/**
 * The license's own list; `None` = it inherits the policy's.
 */
own: Array<string> | null, 
/**
 * The policy's list.
 */
policy: Array<string>, 
/**
 * What the license has: `own`, else `policy`. Exported files carry these.
 */
effective: Array<string>, };

export type SetLicenseEntitlements = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * The new codes; `None` = inherit the policy's again.
 */
codes: Array<string> | null, };

export type MailSecurity = "starttls" | "tls";

export type MailAccount = { 
/**
 * The server's host name (or address).
 */
host: string, 
/**
 * Its port (587 for STARTTLS, 465 for TLS).
 */
port: number, 
/**
 * STARTTLS or TLS.
 */
security: MailSecurity, 
/**
 * The login; `None` = the server takes mail without one.
 */
username: string | null, 
/**
 * The sender's address.
 */
fromEmail: string, 
/**
 * The sender's name.
 */
fromName: string | null, 
/**
 * Where replies go, when not to the sender.
 */
replyTo: string | null, 
/**
 * A PEM file of a certificate to trust besides the system's (a company's own CA,
 * a server with a self-signed certificate).
 */
caCertificate: string | null, };

export type SetMailAccount = { 
/**
 * The account.
 */
account: MailAccount, 
/**
 * A new password for the keychain; `None` keeps the one saved.
 */
password: string | null, };

export type MailAccountView = { 
/**
 * The account, if one is set.
 */
account: MailAccount | null, 
/**
 * Whether the keychain holds its password.
 */
passwordSaved: boolean, };

export type MailTemplate = { 
/**
 * The subject line.
 */
subject: string, 
/**
 * The plain-text body.
 */
body: string, };

export type MailPreview = { 
/**
 * The subject, on one line.
 */
subject: string, 
/**
 * The body.
 */
body: string, };

export type SendLicenseEmail = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * The recipient; `None` = the license's customer.
 */
to: string | null, };

export type LicenseEmailDraft = { 
/**
 * Id or key of the license.
 */
licenseId: string, 
/**
 * Where to write the `.eml` file.
 */
path: string, };

export type SentEmail = { 
/**
 * The recipient.
 */
to: string, 
/**
 * The attached license file's name.
 */
attachment: string, 
/**
 * SHA-256 of the attached license file (as its audit row says).
 */
sha256: string, };

export type MailSendStatus = "sent" | "alreadySent" | "unconfirmed" | "failed" | "skipped";

export type MailSendResult = { 
/**
 * The CSV line.
 */
line: number, 
/**
 * The order id.
 */
orderId: string, 
/**
 * The recipient.
 */
email: string | null, 
/**
 * What happened.
 */
status: MailSendStatus, 
/**
 * Why, for a failure or a skip.
 */
message: string | null, 
/**
 * Attempts made in this run.
 */
attempts: number, };

export type MailBatchProgress = { 
/**
 * Orders done.
 */
done: number, 
/**
 * Orders in all.
 */
total: number, 
/**
 * The latest order's result.
 */
last: MailSendResult | null, };

export type MailBatchOutcome = { 
/**
 * Every order, in file order (those after a cancel are absent).
 */
results: Array<MailSendResult>, 
/**
 * Sent in this run.
 */
sent: number, 
/**
 * Refused in this run.
 */
failed: number, 
/**
 * Stopped by Cancel: a re-run sends the rest.
 */
cancelled: boolean, };

export type AvailableUpdate = { 
/**
 * The version offered (`0.2.0`).
 */
version: string, 
/**
 * The version running now.
 */
currentVersion: string, 
/**
 * The release notes, as written on the release; `None` when it has none.
 */
notes: string | null, 
/**
 * When it was published (RFC 3339), if the server says.
 */
date: string | null, };

export type UpdateCheck = { 
/**
 * The version running now.
 */
currentVersion: string, 
/**
 * The newer version, or `None` when this one is up to date.
 */
update: AvailableUpdate | null, };

export type UpdateProgress = { 
/**
 * Bytes received so far.
 */
downloaded: number, 
/**
 * The download's size, when the server says it.
 */
total: number | null, };
