
    CREATE TABLE signing_keys_v3 (
        id         TEXT PRIMARY KEY,
        kid        TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        algorithm  TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa-2048', 'ecdsa-p256')),
        public_key BLOB NOT NULL,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
        created_at TEXT NOT NULL
    ) STRICT;
    INSERT INTO signing_keys_v3 (id, kid, name, algorithm, public_key, status, created_at)
        SELECT id, kid, name, algorithm, public_key, status, created_at FROM signing_keys;
    DROP TABLE signing_keys;
    ALTER TABLE signing_keys_v3 RENAME TO signing_keys;
    