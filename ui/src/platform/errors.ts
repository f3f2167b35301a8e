// Error normalisation lives here, beside the IPC calls, and has no Tauri
// import, so component tests can mock the IPC functions and keep this real.
import type { CommandError, ErrorCode } from '../bindings';

export const ERROR_CODES: readonly ErrorCode[] = [
  'BAD_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'KEYCHAIN_UNAVAILABLE',
  'KEYCHAIN_ENTRY_MISSING',
  'KEYCHAIN_MISMATCH',
  'CLOCK_BEHIND',
  'STORE',
  'STORE_TOO_NEW',
  'IO',
  'FORMAT',
  'INTERNAL',
  'SIGNING_LOCKED',
  'TEMPLATE_INVALID',
  'WEAK_PASSPHRASE',
  'BACKUP_PASSPHRASE',
  'BACKUP_DAMAGED',
  'STORE_EXISTS',
  'TRANSFER_NOT_ALLOWED',
  'AUDIT_TAMPERED',
  'OUTPUT_IS_STORE',
  'KEY_BUNDLE_PASSPHRASE',
  'KEY_BUNDLE_DAMAGED',
  'KEY_BUNDLE_MISMATCH',
  'MAIL_LOGIN_REFUSED',
  'MAIL_UNREACHABLE',
  'MAIL_REJECTED',
  'MAIL_DEFERRED',
  'UPDATE_UNREACHABLE',
  'UPDATE_REFUSED',
  'UPDATE_FAILED',
];

export const GENERIC_MESSAGE = 'An unexpected error occurred.';

/** The one error type the UI ever sees from the platform layer. */
export class AppError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export function isCommandError(value: unknown): value is CommandError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isErrorCode(v.code) && typeof v.message === 'string';
}

/**
 * Turns anything a command or plugin rejected with into an AppError. Values
 * that do not follow the `{code, message}` contract become INTERNAL with a
 * generic message: their text is debug output, not something to show.
 */
export function toAppError(value: unknown, fallbackMessage: string = GENERIC_MESSAGE): AppError {
  if (value instanceof AppError) return value;
  if (isCommandError(value)) return new AppError(value.code, value.message);
  return new AppError('INTERNAL', fallbackMessage);
}
