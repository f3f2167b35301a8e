-- Sending licenses by email, as SQLite's migration 14_mail.sql: the SMTP account and
-- message templates (the password is in the OS keychain), and the batch send's ledger.
CREATE TABLE mail_settings (
    name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE mail_sends (
    order_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    at TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C"
);
