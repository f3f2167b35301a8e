
    CREATE TABLE machines (
        id             TEXT PRIMARY KEY,
        license_id     TEXT NOT NULL REFERENCES licenses (id),
        fingerprint    TEXT NOT NULL,
        name           TEXT,
        hostname       TEXT,
        platform       TEXT,
        os_user        TEXT,
        app_version    TEXT,
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
        activated_at   TEXT NOT NULL,
        deactivated_at TEXT,
        request_nonce  TEXT,
        -- The nonce of the deactivation receipt that freed the seat: a receipt counts once.
        receipt_nonce  TEXT,
        CHECK ((status = 'active') = (deactivated_at IS NULL))
    ) STRICT;
    CREATE UNIQUE INDEX machines_active_fingerprint ON machines (license_id, fingerprint)
        WHERE status = 'active';
    CREATE INDEX machines_license ON machines (license_id, status);
    