
    DROP TRIGGER licenses_search_insert;
    DROP TRIGGER licenses_search_update;
    DROP TRIGGER licenses_search_delete;
    DROP TRIGGER customers_search_update;
    DROP TRIGGER licenses_customer_sort_insert;
    DROP TRIGGER licenses_customer_sort_update;
    DROP TRIGGER customers_sort_update;
    DROP TRIGGER customers_words_insert;
    DROP TRIGGER customers_words_update;
    DROP TRIGGER customers_words_delete;
    DROP TABLE license_search;
    DROP TABLE customer_words;

    CREATE TABLE customers_v2 (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        name       TEXT,
        email      TEXT,
        created_at TEXT NOT NULL,
        company    TEXT
    ) STRICT;
    INSERT INTO customers_v2 (seq, id, name, email, created_at, company)
        SELECT rowid, id, name, email, created_at, company FROM customers;
    DROP TABLE customers;
    ALTER TABLE customers_v2 RENAME TO customers;
    CREATE INDEX customers_email ON customers (email);
    CREATE INDEX customers_sort ON customers (lower(coalesce(name, email, '')), id);

    CREATE TABLE licenses_v2 (
        seq            INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        key            TEXT NOT NULL,
        policy_id      TEXT NOT NULL REFERENCES policies (id),
        customer_id    TEXT REFERENCES customers (id),
        signing_key_id TEXT NOT NULL REFERENCES signing_keys (id),
        status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
        expiry         TEXT,
        metadata       TEXT NOT NULL DEFAULT '{}',
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        customer_sort  TEXT,
        order_id       TEXT,
        order_seq      INTEGER CHECK (order_seq >= 1),
        entitlements   TEXT
    ) STRICT;
    INSERT INTO licenses_v2 (seq, id, key, policy_id, customer_id, signing_key_id, status,
                             expiry, metadata, created_at, updated_at, customer_sort,
                             order_id, order_seq, entitlements)
        SELECT rowid, id, key, policy_id, customer_id, signing_key_id, status,
               expiry, metadata, created_at, updated_at, customer_sort,
               order_id, order_seq, entitlements
        FROM licenses;
    DROP TABLE licenses;
    ALTER TABLE licenses_v2 RENAME TO licenses;
    CREATE UNIQUE INDEX licenses_key_tail ON licenses (substr(key, -64));
    CREATE INDEX licenses_customer ON licenses (customer_id);
    CREATE INDEX licenses_created ON licenses (created_at, id);
    CREATE INDEX licenses_expiry ON licenses (coalesce(expiry, '~'), id);
    CREATE INDEX licenses_customer_sort ON licenses (customer_sort, id);
    CREATE INDEX licenses_policy_expiry ON licenses (policy_id, expiry);
    CREATE INDEX licenses_status_policy ON licenses (status, policy_id);
    CREATE UNIQUE INDEX licenses_order ON licenses (order_id, order_seq)
        WHERE order_id IS NOT NULL;

    -- The customer sort key, as migration 4 keeps it.
    CREATE TRIGGER licenses_customer_sort_insert AFTER INSERT ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE seq = new.seq;
    END;
    CREATE TRIGGER licenses_customer_sort_update AFTER UPDATE OF customer_id ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE seq = new.seq;
    END;
    CREATE TRIGGER customers_sort_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE licenses SET customer_sort = coalesce(lower(new.name), lower(new.email), char(1114111))
        WHERE customer_id = new.id;
    END;

    CREATE VIRTUAL TABLE license_search USING fts5 (
        key_tail, customer_name, customer_email,
        tokenize = 'trigram', content = '', contentless_delete = 1
    );
    INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
        SELECT l.seq, substr(l.key, -128), c.name, c.email
        FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id;
    CREATE TRIGGER licenses_search_insert AFTER INSERT ON licenses BEGIN
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            VALUES (new.seq, substr(new.key, -128),
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_update AFTER UPDATE OF seq, key, customer_id ON licenses BEGIN
        DELETE FROM license_search WHERE rowid = old.seq;
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            VALUES (new.seq, substr(new.key, -128),
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_delete AFTER DELETE ON licenses BEGIN
        DELETE FROM license_search WHERE rowid = old.seq;
    END;
    CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email ON customers BEGIN
        DELETE FROM license_search
            WHERE rowid IN (SELECT seq FROM licenses WHERE customer_id = new.id);
        INSERT INTO license_search (rowid, key_tail, customer_name, customer_email)
            SELECT seq, substr(key, -128), new.name, new.email
            FROM licenses WHERE customer_id = new.id;
    END;

    CREATE VIRTUAL TABLE customer_words USING fts5 (
        name, email,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2',
        content = '', contentless_delete = 1
    );
    INSERT INTO customer_words (rowid, name, email) SELECT seq, name, email FROM customers;
    CREATE TRIGGER customers_words_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_words (rowid, name, email) VALUES (new.seq, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_update AFTER UPDATE OF seq, name, email ON customers BEGIN
        DELETE FROM customer_words WHERE rowid = old.seq;
        INSERT INTO customer_words (rowid, name, email) VALUES (new.seq, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_delete AFTER DELETE ON customers BEGIN
        DELETE FROM customer_words WHERE rowid = old.seq;
    END;
    