import type { KeyAlgorithm, SigningKey } from '../bindings';

/** Keygen's license file algorithms a key of each algorithm can sign (plain first, then encrypted). */
export const FILE_ALGORITHMS: Record<KeyAlgorithm, readonly string[]> = {
  ed25519: ['base64+ed25519', 'aes-256-gcm+ed25519'],
  'rsa-2048': ['base64+rsa-pss-sha256', 'aes-256-gcm+rsa-pss-sha256', 'base64+rsa-sha256', 'aes-256-gcm+rsa-sha256'],
  'ecdsa-p256': ['base64+ecdsa-p256', 'aes-256-gcm+ecdsa-p256'],
};

export function fileAlgorithmsFor(algorithm: KeyAlgorithm | undefined): readonly string[] {
  return algorithm === undefined ? [] : FILE_ALGORITHMS[algorithm];
}

/** The file algorithm names, without the `base64+` / `aes-256-gcm+` encoding part, the snippets pin. */
const SIGNATURE: Record<KeyAlgorithm, string> = {
  ed25519: 'ed25519',
  'rsa-2048': 'rsa-pss-sha256',
  'ecdsa-p256': 'ecdsa-p256',
};

/** keywright_license::FileAlgorithm variants for an encrypted and a plain file. */
const RUST_VARIANTS: Record<KeyAlgorithm, { encrypted: string; plain: string }> = {
  ed25519: { encrypted: 'Aes256GcmEd25519', plain: 'Base64Ed25519' },
  'rsa-2048': { encrypted: 'Aes256GcmRsaPssSha256', plain: 'Base64RsaPssSha256' },
  'ecdsa-p256': { encrypted: 'Aes256GcmEcdsaP256', plain: 'Base64EcdsaP256' },
};

export type Snippet = { id: 'rust' | 'go' | 'node' | 'python'; title: string; language: string; code: string | null; note: string };

/** Public material only: the public key (hex or PEM), never anything from the keychain. */
function publicText(key: SigningKey): string {
  return key.algorithm === 'ed25519' ? key.publicKeyHex : key.publicKeyPem.trim();
}

function rust(key: SigningKey): string {
  const v = RUST_VARIANTS[key.algorithm];
  const load =
    key.algorithm === 'ed25519'
      ? `const PUBLIC_KEY: &str = "${key.publicKeyHex}";\n\nlet public = PublicKey::from_hex(PUBLIC_KEY)?;`
      : `const PUBLIC_KEY: &str = r#"${publicText(key)}"#;\n\nlet public = PublicKey::parse(PUBLIC_KEY)?;`;
  const rsaNote =
    key.algorithm === 'rsa-2048'
      ? '\n    // Policies with the RSA PKCS#1 v1.5 scheme sign with Aes256GcmRsaSha256 / Base64RsaSha256 instead.'
      : '';
  return `# Cargo.toml
[dependencies]
# not published yet: point at your copy of the Keywright repository
keywright-license = { path = "../keywright/crates/keywright-license", default-features = false }
jiff = "0.2"

// main.rs — "${key.name}" (kid ${key.kid})
use keywright_license::{FileAlgorithm, PublicKey, ValidationCode, Verifier};

${load}
let checked = Verifier::pinned(
    &public,
    // ${v.plain} when the policy does not encrypt files.${rsaNote}
    FileAlgorithm::${v.encrypted},
    jiff::Timestamp::now(),
)
.license_key(license_key) // decrypts the file
.validate(&license_file_text);
if checked.code != ValidationCode::Valid {
    // Expired, tampered, signed by another key...: checked.code says which.
}`;
}

function go(key: SigningKey): string | null {
  if (key.algorithm !== 'ed25519') return null;
  return `// go get github.com/keygen-sh/keygen-go/v3
import "github.com/keygen-sh/keygen-go/v3"

func init() {
	// "${key.name}" (kid ${key.kid})
	keygen.PublicKey = "${key.publicKeyHex}"
}

// A license file (.lic): check the signature, then decrypt with the license key.
func checkLicenseFile(certificate string, licenseKey string) (*keygen.LicenseFileDataset, error) {
	lic := &keygen.LicenseFile{Certificate: certificate}
	if err := lic.Verify(); err != nil {
		return nil, err
	}
	return lic.Decrypt(licenseKey) // keygen.ErrLicenseFileExpired once the file's TTL has run out
}

// A signed license key (ED25519_SIGN).
func checkLicenseKey(key string) ([]byte, error) {
	lic := &keygen.License{Scheme: keygen.SchemeCodeEd25519, Key: key}
	return lic.Verify()
}`;
}

function nodeVerify(algorithm: KeyAlgorithm): string {
  switch (algorithm) {
    case 'ed25519':
      return `crypto.verify(null, Buffer.from('license/' + enc), publicKey, Buffer.from(sig, 'base64'))`;
    case 'rsa-2048':
      return `crypto.verify('sha256', Buffer.from('license/' + enc), {
    key: publicKey,
    padding: crypto.constants.RSA_PKCS1_PSS_PADDING, // drop for rsa-sha256 (PKCS#1 v1.5) files
    saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
  }, Buffer.from(sig, 'base64'))`;
    case 'ecdsa-p256':
      return `crypto.verify('sha256', Buffer.from('license/' + enc), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'))`;
  }
}

function node(key: SigningKey): string {
  const sig = SIGNATURE[key.algorithm];
  return `// Node 18+, no dependencies. "${key.name}" (kid ${key.kid})
const crypto = require('node:crypto');

const publicKey = crypto.createPublicKey(\`${key.publicKeyPem.trim()}\`);

function verifyLicenseFile(text, licenseKey) {
  const body = text.replace(/-----(BEGIN|END) LICENSE FILE-----/g, '').replace(/\\s+/g, '');
  const { enc, sig, alg } = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  // "alg" is not signed: accept only what this key signs.
  if (alg !== 'base64+${sig}' && alg !== 'aes-256-gcm+${sig}') throw new Error('unexpected algorithm ' + alg);
  const ok = ${nodeVerify(key.algorithm)};
  if (!ok) throw new Error('license file signature is not valid');
  let plaintext;
  if (alg.startsWith('base64+')) {
    plaintext = Buffer.from(enc, 'base64');
  } else {
    const [ciphertext, iv, tag] = enc.split('.').map((part) => Buffer.from(part, 'base64'));
    const secret = crypto.createHash('sha256').update(licenseKey).digest();
    const decipher = crypto.createDecipheriv('aes-256-gcm', secret, iv);
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  }
  const data = JSON.parse(plaintext.toString('utf8'));
  if (data.meta.expiry && Date.parse(data.meta.expiry) < Date.now()) throw new Error('license file expired');
  return data;
}`;
}

function pythonLoad(key: SigningKey): string {
  if (key.algorithm === 'ed25519') {
    return `from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY = Ed25519PublicKey.from_public_bytes(bytes.fromhex("${key.publicKeyHex}"))`;
  }
  return `from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ${key.algorithm === 'rsa-2048' ? 'padding' : 'ec'}
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PUBLIC_KEY = load_pem_public_key(b"""${key.publicKeyPem.trim()}""")`;
}

function pythonVerify(algorithm: KeyAlgorithm): string {
  switch (algorithm) {
    case 'ed25519':
      return `PUBLIC_KEY.verify(signature, message)`;
    case 'rsa-2048':
      return `PUBLIC_KEY.verify(
        signature,
        message,
        # padding.PKCS1v15() for rsa-sha256 files
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
        hashes.SHA256(),
    )`;
    case 'ecdsa-p256':
      return `PUBLIC_KEY.verify(signature, message, ec.ECDSA(hashes.SHA256()))`;
  }
}

function python(key: SigningKey): string {
  const sig = SIGNATURE[key.algorithm];
  return `# pip install cryptography — "${key.name}" (kid ${key.kid})
import base64, hashlib, json
from datetime import datetime, timezone
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
${pythonLoad(key)}


def verify_license_file(text: str, license_key: str) -> dict:
    body = text.replace("-----BEGIN LICENSE FILE-----", "").replace("-----END LICENSE FILE-----", "")
    doc = json.loads(base64.b64decode("".join(body.split())))
    enc, sig, alg = doc["enc"], doc["sig"], doc["alg"]
    # "alg" is not signed: accept only what this key signs.
    if alg not in ("base64+${sig}", "aes-256-gcm+${sig}"):
        raise ValueError("unexpected algorithm " + alg)
    signature, message = base64.b64decode(sig), ("license/" + enc).encode()
    ${pythonVerify(key.algorithm)}  # raises InvalidSignature
    if alg.startswith("base64+"):
        plaintext = base64.b64decode(enc)
    else:
        ciphertext, iv, tag = (base64.b64decode(part) for part in enc.split("."))
        secret = hashlib.sha256(license_key.encode()).digest()
        plaintext = AESGCM(secret).decrypt(iv, ciphertext + tag, None)
    data = json.loads(plaintext)
    expiry = data["meta"].get("expiry")
    if expiry and datetime.fromisoformat(expiry.replace("Z", "+00:00")) < datetime.now(timezone.utc):
        raise ValueError("license file expired")
    return data`;
}

/** Copy-ready verifier code for `key`: its public half only. */
export function verifierSnippets(key: SigningKey): Snippet[] {
  return [
    {
      id: 'rust',
      title: 'Rust (keywright-license)',
      language: 'rust',
      code: rust(key),
      note: 'The verify-only build of Keywright’s own crate; it also checks the file’s issue time and lifetime.',
    },
    {
      id: 'go',
      title: 'Go (Keygen SDK)',
      language: 'go',
      code: go(key),
      note:
        key.algorithm === 'ed25519'
          ? 'Keygen’s Go SDK reads Keywright’s files as its own.'
          : 'Keygen’s Go SDK verifies Ed25519 only. Use an Ed25519 key for Go apps, or Go’s crypto packages with the public key above.',
    },
    {
      id: 'node',
      title: 'Node.js',
      language: 'javascript',
      code: node(key),
      note: 'Built-in crypto only.',
    },
    {
      id: 'python',
      title: 'Python',
      language: 'python',
      code: python(key),
      note: 'Uses the cryptography package.',
    },
  ];
}
