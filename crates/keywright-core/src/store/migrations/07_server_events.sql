
    CREATE TABLE server_events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        endpoint    TEXT NOT NULL,
        license_id  TEXT,
        machine_id  TEXT,
        product_id  TEXT,
        machine     TEXT,
        user        TEXT,
        hwid        TEXT,
        ip          TEXT,
        status      INTEGER NOT NULL,
        result      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX server_events_license ON server_events (license_id, seq);
    -- The server asks "is this hwid active on another license?" on every failed check.
    CREATE INDEX machines_active_by_fingerprint ON machines (fingerprint)
        WHERE status = 'active';
    