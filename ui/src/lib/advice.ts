import type { ErrorCode } from '../bindings';

/** What the user can do about each error code; the backend's message follows it. */
export const ADVICE: Record<ErrorCode, string> = {
  BAD_INPUT: 'Some of the values entered are not valid. Check the form and try again.',
  NOT_FOUND: 'The item no longer exists. Reload the list and try again.',
  CONFLICT:
    'The change clashes with what is already there: a name or code in use, or a license whose state does not allow it. Reload and check.',
  KEYCHAIN_UNAVAILABLE:
    'The OS keychain is not reachable. On Linux, make sure a Secret Service (GNOME Keyring, KWallet) is running and unlocked.',
  KEYCHAIN_ENTRY_MISSING:
    'The private key for this signing key is missing from the OS keychain. Restore it from a backup, or create a new signing key.',
  KEYCHAIN_MISMATCH:
    'The OS keychain holds a different private key than this store records, so Keywright refuses to sign with it. Restore the right key from a backup.',
  CLOCK_BEHIND:
    "Your computer's date and time are earlier than an entry in the audit log. If the clock was set back, correct it in the system settings and try again. If that entry was written while the clock ran ahead, accept this clock below, with a reason: it is recorded in the audit log.",
  STORE: 'The local database could not be read or written. Check disk space and file permissions, then try again.',
  STORE_TOO_NEW:
    'The store was written by a newer version of Keywright. Update Keywright to open it.',
  IO: 'A file could not be read or written. Check the location and permissions, then try again.',
  FORMAT: 'A file or value is not in the expected format.',
  INTERNAL: 'Something went wrong inside Keywright. Try again; if it keeps happening, restart the app.',
  SIGNING_LOCKED: 'Signing is locked. Enter the app lock passphrase to sign (Settings → App lock).',
  TEMPLATE_INVALID:
    'The key template cannot be used: fix the placeholder or the rule named below. Placeholders are {{account}} {{product}} {{policy}} {{user}} {{email}} {{created}} {{expiry}} {{duration}} {{id}}.',
  WEAK_PASSPHRASE:
    'The passphrase is too easy to guess. Use four or more unrelated words, or a longer mix of words, numbers and symbols.',
  BACKUP_PASSPHRASE:
    'The backup could not be opened with this passphrase. Check it (it is case-sensitive) and try again; nothing was changed.',
  BACKUP_DAMAGED:
    'The backup file is damaged, incomplete or not a Keywright backup. Try another copy of it; nothing was changed.',
  STORE_EXISTS:
    'A store already exists at that location, and a restore never overwrites one. Choose a new location.',
  AUDIT_TAMPERED:
    'The audit log no longer proves this store: rows were deleted, rewritten or added outside Keywright. Everything can be read, but nothing is changed or signed until the store is restored from a backup. The Audit log screen lists what differs.',
  OUTPUT_IS_STORE:
    'That file is the store itself (or part of it), or another database: saving there would destroy it. Choose another file name; nothing was written.',
  KEY_BUNDLE_PASSPHRASE:
    'The key bundle could not be opened with this passphrase. Check it (it is case-sensitive); nothing was changed.',
  KEY_BUNDLE_DAMAGED:
    'The key bundle file is damaged, incomplete, or not a key bundle (a backup is not one). Make a new bundle with keywright key bundle.',
  KEY_BUNDLE_MISMATCH:
    "The key bundle belongs to another store, or its audit key is not this store's. Make a bundle from this store with keywright key bundle.",
  TRANSFER_NOT_ALLOWED:
    "This license's policy does not allow moving a machine to another computer. Deactivate the old machine and activate the new one instead, if a seat is free.",
  MAIL_LOGIN_REFUSED:
    'The mail server refused the login. Check the user name and enter the password again in Settings → Email.',
  MAIL_UNREACHABLE:
    'The mail server could not be reached, or its secure connection failed. Check the host, the port and STARTTLS or TLS in Settings → Email (and the network).',
  MAIL_REJECTED:
    'The mail server refused this message for good (an unknown recipient, or a message larger than it accepts). Check the address; sending it again as it is will not help.',
  MAIL_DEFERRED: 'The mail server asked to try again later. Wait a little and send again.',
  UPDATE_UNREACHABLE:
    'The update server could not be reached, or its answer could not be read. Check the internet connection and try again later; nothing was changed.',
  UPDATE_REFUSED:
    'The update was not installed: it did not pass its signature check. Keywright keeps running as it is. Try again later, or download the new version from the release page yourself.',
  UPDATE_FAILED:
    'The update was verified but could not be installed. Keywright keeps running as it is; try again, or install the new version from the release page.',
};
