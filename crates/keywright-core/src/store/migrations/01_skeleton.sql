
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE signing_keys (
        id         TEXT PRIMARY KEY,
        kid        TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        algorithm  TEXT NOT NULL CHECK (algorithm IN ('ed25519')),
        public_key BLOB NOT NULL,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE products (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        code            TEXT NOT NULL UNIQUE,
        url             TEXT,
        support_message TEXT,
        signing_key_id  TEXT NOT NULL REFERENCES signing_keys (id),
        created_at      TEXT NOT NULL
    ) STRICT;

    CREATE TABLE policies (
        id               TEXT PRIMARY KEY,
        product_id       TEXT NOT NULL REFERENCES products (id),
        name             TEXT NOT NULL,
        scheme           TEXT NOT NULL,
        duration_seconds INTEGER CHECK (duration_seconds > 0),
        max_machines     INTEGER CHECK (max_machines > 0),
        floating         INTEGER NOT NULL CHECK (floating IN (0, 1)),
        file_ttl_seconds INTEGER CHECK (file_ttl_seconds >= 3600),
        encrypt          INTEGER NOT NULL CHECK (encrypt IN (0, 1)),
        entitlements     TEXT NOT NULL DEFAULT '[]',
        created_at       TEXT NOT NULL,
        UNIQUE (product_id, name)
    ) STRICT;

    CREATE TABLE customers (
        id         TEXT PRIMARY KEY,
        name       TEXT,
        email      TEXT,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX customers_email ON customers (email);

    CREATE TABLE licenses (
        id             TEXT PRIMARY KEY,
        key            TEXT NOT NULL UNIQUE,
        policy_id      TEXT NOT NULL REFERENCES policies (id),
        customer_id    TEXT REFERENCES customers (id),
        signing_key_id TEXT NOT NULL REFERENCES signing_keys (id),
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
        expiry         TEXT,
        metadata       TEXT NOT NULL DEFAULT '{}',
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX licenses_policy ON licenses (policy_id);
    CREATE INDEX licenses_customer ON licenses (customer_id);
    CREATE INDEX licenses_created ON licenses (created_at);

    -- Append-only, hash-chained: each row commits to the one before it.
    CREATE TABLE audit_events (
        seq             INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        subject_type    TEXT,
        subject_id      TEXT,
        signing_key_kid TEXT,
        artifact_sha256 TEXT,
        detail          TEXT NOT NULL DEFAULT '{}',
        prev_hash       TEXT NOT NULL,
        hash            TEXT NOT NULL UNIQUE
    ) STRICT;
    