// What a vendor pastes into an application built on a Keygen SDK to point it at
// Keywright's activation server. Keygen's SDKs need four settings: the API URL (this
// server), the account (the store's id), the product (its id) and the public key
// that checks every answer's Keygen-Signature (the product's Ed25519 key, in hex).

export type SdkLanguage = 'rust' | 'go' | 'node' | 'python';

export const SDK_LANGUAGES: { id: SdkLanguage; label: string; sdk: string }[] = [
  { id: 'rust', label: 'Rust', sdk: 'keygen-rs (crates.io)' },
  { id: 'go', label: 'Go', sdk: 'keygen-go' },
  { id: 'node', label: 'Node', sdk: 'fetch, no SDK' },
  { id: 'python', label: 'Python', sdk: 'keygen-sdk (PyPI)' },
];

export interface SdkSettings {
  /** The server's base URL, without a trailing slash (the SDK adds /v1/…). */
  baseUrl: string;
  /** The store's id: Keygen's account id. */
  account: string;
  /** The product's id. */
  product: string;
  /** The product's public key in hex (Ed25519), or a placeholder. */
  publicKey: string;
}

/** The base URL an SDK wants: no trailing slash, no /v1. */
export function sdkBaseUrl(address: string): string {
  return address.trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}

export function sdkSnippet(language: SdkLanguage, s: SdkSettings): string {
  switch (language) {
    case 'rust':
      return `use keygen_rs::{config::KeygenConfig, license::LicenseValidationRequest, KeygenClient};

let client = KeygenClient::new(KeygenConfig {
    api_url: "${s.baseUrl}".into(),
    account: "${s.account}".into(),
    product: "${s.product}".into(),
    public_key: Some("${s.publicKey}".into()),
    license_key: Some(license_key),
    ..KeygenConfig::default()
})?;
let result = client
    .validate(&LicenseValidationRequest::for_fingerprint(fingerprint))
    .await?;
if !result.meta.valid {
    // result.meta.code: NO_MACHINE, FINGERPRINT_SCOPE_MISMATCH, SUSPENDED, EXPIRED, …
}`;
    case 'go':
      return `import "github.com/keygen-sh/keygen-go/v3"

keygen.APIURL = "${s.baseUrl}"
keygen.Account = "${s.account}"
keygen.Product = "${s.product}"
keygen.PublicKey = "${s.publicKey}"
keygen.LicenseKey = licenseKey

license, err := keygen.Validate(ctx, fingerprint)
switch {
case err == keygen.ErrLicenseNotActivated:
	machine, err := license.Activate(ctx, fingerprint)
	// …
case err != nil:
	// invalid: see the error
}`;
    case 'node':
      return `// Check the answer's Keygen-Signature with this public key before trusting it:
// ${s.publicKey}
const res = await fetch(
  '${s.baseUrl}/v1/accounts/${s.account}/licenses/actions/validate-key',
  {
    method: 'POST',
    headers: {
      'Content-Type': 'application/vnd.api+json',
      Accept: 'application/vnd.api+json',
    },
    body: JSON.stringify({
      meta: { key: licenseKey, scope: { product: '${s.product}', fingerprint } },
    }),
  },
);
const { meta, data } = await res.json();
// meta.valid, meta.code (VALID, NO_MACHINE, SUSPENDED, EXPIRED, …)`;
    case 'python':
      return `import keygen  # pip install keygen-sdk

keygen.api_url = "${s.baseUrl}"
keygen.account = "${s.account}"
keygen.product = "${s.product}"
keygen.public_key = "${s.publicKey}"
keygen.license_key = license_key

try:
    license = keygen.validate(fingerprint)
except keygen.LicenseNotActivatedError as err:
    machine = err.license.activate(fingerprint)`;
  }
}
