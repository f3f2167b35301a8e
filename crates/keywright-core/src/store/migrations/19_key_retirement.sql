-- A signing key's scheduled retirement (issue 16): from `retire_at` on (RFC 3339, UTC)
-- the key no longer signs, and the dashboard names it in the 30 days before. NULL: none
-- scheduled. Part of the key's audited state (left out of it while NULL, so the state
-- recorded for older keys still matches).
ALTER TABLE signing_keys ADD COLUMN retire_at TEXT;
