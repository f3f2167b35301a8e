import type { KeyAlgorithm, Policy, Scheme } from '../bindings';

/** Signing key algorithms, as the key form offers them (the first is the default). */
export const KEY_ALGORITHMS: ReadonlyArray<{ value: KeyAlgorithm; label: string; hint: string }> = [
  { value: 'ed25519', label: 'Ed25519', hint: 'Small, fast and Keygen’s recommendation. Use it unless a customer’s verifier needs RSA.' },
  { value: 'rsa-2048', label: 'RSA-2048', hint: 'For verifiers that only speak RSA (RSA-PSS, PKCS#1 v1.5, JWT RS256). Creating one takes a moment.' },
  { value: 'ecdsa-p256', label: 'ECDSA P-256', hint: 'For platforms with ECDSA built in but not Ed25519.' },
];

/** Keygen's license key schemes, each with the key algorithm that signs it. */
export const SCHEMES: ReadonlyArray<{ value: Scheme; label: string; algorithm: KeyAlgorithm }> = [
  { value: 'ED25519_SIGN', label: 'Signed key (Ed25519)', algorithm: 'ed25519' },
  { value: 'RSA_2048_PKCS1_PSS_SIGN_V2', label: 'Signed key (RSA-PSS)', algorithm: 'rsa-2048' },
  { value: 'RSA_2048_PKCS1_SIGN_V2', label: 'Signed key (RSA PKCS#1 v1.5)', algorithm: 'rsa-2048' },
  { value: 'RSA_2048_JWT_RS256', label: 'JWT (RS256)', algorithm: 'rsa-2048' },
  { value: 'RSA_2048_PKCS1_ENCRYPT', label: 'Encrypted key (RSA, short dataset)', algorithm: 'rsa-2048' },
  { value: 'RSA_2048_PKCS1_PSS_SIGN', label: 'Legacy signed key (RSA-PSS)', algorithm: 'rsa-2048' },
  { value: 'RSA_2048_PKCS1_SIGN', label: 'Legacy signed key (RSA PKCS#1)', algorithm: 'rsa-2048' },
  { value: 'ECDSA_P256_SIGN', label: 'Signed key (ECDSA P-256)', algorithm: 'ecdsa-p256' },
];

export function algorithmLabel(value: KeyAlgorithm): string {
  return KEY_ALGORITHMS.find((a) => a.value === value)?.label ?? value;
}

export function schemeLabel(value: Scheme): string {
  return SCHEMES.find((s) => s.value === value)?.label ?? value;
}

/** The schemes a key of `algorithm` can sign; the first is the recommended one. */
export function schemesFor(algorithm: KeyAlgorithm | undefined): ReadonlyArray<(typeof SCHEMES)[number]> {
  return algorithm === undefined ? SCHEMES : SCHEMES.filter((s) => s.algorithm === algorithm);
}

/** Keygen's key template placeholders, in its documentation's order. */
export const TEMPLATE_PLACEHOLDERS: ReadonlyArray<string> = [
  '{{account}}',
  '{{product}}',
  '{{policy}}',
  '{{user}}',
  '{{email}}',
  '{{created}}',
  '{{expiry}}',
  '{{duration}}',
  '{{id}}',
];

/** What choosing an unsigned human key means. */
export const UNSIGNED_KEY_HINT =
  'Keys become random codes people can type, like ZAPPER-A3K2P-X9M4Q-R7T2W-Y5N8H, and are not signed: an application cannot check one offline on its own. Such licenses are checked online or through a license file (.lic), which is still signed.';

/** The badge for a policy's keys: its scheme, or that they are unsigned. */
export function policyKeyLabel(policy: Pick<Policy, 'scheme' | 'unsignedKey' | 'keyTemplate'>): string {
  if (policy.unsignedKey) return 'Unsigned human key';
  const label = schemeLabel(policy.scheme);
  return policy.keyTemplate ? `${label}, custom template` : label;
}
