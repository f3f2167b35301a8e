
    ALTER TABLE audit_events ADD COLUMN state TEXT;
    ALTER TABLE audit_events ADD COLUMN mac TEXT;
    CREATE TABLE audit_baseline (
        subject_type TEXT NOT NULL,
        subject_id   TEXT NOT NULL,
        state        TEXT NOT NULL,
        PRIMARY KEY (subject_type, subject_id)
    ) STRICT, WITHOUT ROWID;
    