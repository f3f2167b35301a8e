-- As SQLite's migration 19_key_retirement.sql: a signing key's scheduled retirement.
ALTER TABLE signing_keys ADD COLUMN retire_at TEXT COLLATE "C";
