
    ALTER TABLE licenses ADD COLUMN customer_sort TEXT;
    UPDATE licenses SET customer_sort = coalesce(
        (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = licenses.customer_id),
        char(1114111));
    CREATE TRIGGER licenses_customer_sort_insert AFTER INSERT ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE id = new.id;
    END;
    CREATE TRIGGER licenses_customer_sort_update AFTER UPDATE OF customer_id ON licenses BEGIN
        UPDATE licenses SET customer_sort = coalesce(
            (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
            char(1114111))
        WHERE id = new.id;
    END;
    CREATE TRIGGER customers_sort_update AFTER UPDATE OF name, email ON customers BEGIN
        UPDATE licenses SET customer_sort = coalesce(lower(new.name), lower(new.email), char(1114111))
        WHERE customer_id = new.id;
    END;
    CREATE INDEX licenses_customer_sort ON licenses (customer_sort, id);

    DROP INDEX licenses_policy;
    CREATE INDEX licenses_policy_expiry ON licenses (policy_id, expiry);
    DROP INDEX licenses_status;
    CREATE INDEX licenses_status_policy ON licenses (status, policy_id);

    CREATE VIRTUAL TABLE customer_words USING fts5 (
        customer_id UNINDEXED, name, email,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2'
    );
    INSERT INTO customer_words (customer_id, name, email) SELECT id, name, email FROM customers;
    CREATE TRIGGER customers_words_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_words (customer_id, name, email) VALUES (new.id, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_update AFTER UPDATE OF id, name, email ON customers BEGIN
        DELETE FROM customer_words WHERE customer_id = old.id;
        INSERT INTO customer_words (customer_id, name, email) VALUES (new.id, new.name, new.email);
    END;
    CREATE TRIGGER customers_words_delete AFTER DELETE ON customers BEGIN
        DELETE FROM customer_words WHERE customer_id = old.id;
    END;
    