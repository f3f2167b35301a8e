
    CREATE VIRTUAL TABLE license_search USING fts5 (
        license_id UNINDEXED, key, customer_name, customer_email, tokenize = 'trigram'
    );
    INSERT INTO license_search (license_id, key, customer_name, customer_email)
        SELECT l.id, l.key, c.name, c.email
        FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id;

    CREATE TRIGGER licenses_search_insert AFTER INSERT ON licenses BEGIN
        INSERT INTO license_search (license_id, key, customer_name, customer_email)
            VALUES (new.id, new.key,
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_update AFTER UPDATE OF id, key, customer_id ON licenses BEGIN
        DELETE FROM license_search WHERE license_id = old.id;
        INSERT INTO license_search (license_id, key, customer_name, customer_email)
            VALUES (new.id, new.key,
                    (SELECT name FROM customers WHERE id = new.customer_id),
                    (SELECT email FROM customers WHERE id = new.customer_id));
    END;
    CREATE TRIGGER licenses_search_delete AFTER DELETE ON licenses BEGIN
        DELETE FROM license_search WHERE license_id = old.id;
    END;
    CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE license_search SET customer_name = new.name, customer_email = new.email
            WHERE license_id IN (SELECT id FROM licenses WHERE customer_id = new.id);
    END;

    DROP INDEX licenses_created;
    CREATE INDEX licenses_created ON licenses (created_at, id);
    -- Perpetual licenses sort after every date: '~' follows the digits.
    CREATE INDEX licenses_expiry ON licenses (coalesce(expiry, '~'), id);
    CREATE INDEX licenses_status ON licenses (status);
    