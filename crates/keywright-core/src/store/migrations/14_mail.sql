-- Sending licenses by email (issue 19). `mail_settings` holds the SMTP account
-- ('account') and each product's message template ('template:<product id>') as JSON;
-- the account's password is in the OS keychain, never here.
CREATE TABLE mail_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The batch send's ledger: one row per order, written 'sending' (committed) before
-- the message goes out and 'sent' once the server accepted it, so a re-run never
-- sends an order twice; 'failed' orders (refused, never accepted) are tried again.
CREATE TABLE mail_sends (
    order_id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    at TEXT NOT NULL,
    detail TEXT
);
