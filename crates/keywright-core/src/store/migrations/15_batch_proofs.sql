-- Batch issuance at the hardware's pace (issue 18).
--
-- Key search: a signed key is found by its whole text, its start or its end (at
-- least 6 characters), through two B-tree indexes; only short keys (unsigned, human
-- keys of at most 64 characters) stay in the trigram index with the customer's name
-- and email. `key_rtail` is the key's last 64 characters reversed (written by the
-- code that inserts a license), so an end typed by the user is a range of that
-- index; it also keeps keys unique, as the index over their last 64 characters did.
ALTER TABLE licenses ADD COLUMN key_rtail TEXT;
UPDATE licenses SET key_rtail = (
    WITH RECURSIVE r(i, s) AS (
        SELECT 0, ''
        UNION ALL
        SELECT i + 1, s || substr(licenses.key, -(i + 1), 1) FROM r
        WHERE i < min(64, length(licenses.key))
    )
    SELECT s FROM r ORDER BY i DESC LIMIT 1
);
DROP INDEX licenses_key_tail;
CREATE UNIQUE INDEX licenses_key_rtail ON licenses (key_rtail);
CREATE INDEX licenses_key_head ON licenses (substr(key, 1, 64));

-- One audit row per batch transaction: it commits (a Merkle root) to every license
-- and customer the transaction wrote, and each of those rows holds the audit row's
-- position (`proof_seq`), its own place among the leaves (`proof_pos`) and its leaf
-- hash (`proof_leaf`), so `audit verify` proves each one's issuance.
ALTER TABLE licenses ADD COLUMN proof_seq INTEGER;
ALTER TABLE licenses ADD COLUMN proof_pos INTEGER;
ALTER TABLE licenses ADD COLUMN proof_leaf TEXT;
ALTER TABLE customers ADD COLUMN proof_seq INTEGER;
ALTER TABLE customers ADD COLUMN proof_pos INTEGER;
ALTER TABLE customers ADD COLUMN proof_leaf TEXT;

-- The customer sort key is written with the license by the code that inserts it; the
-- trigger fills it only for a writer that leaves it out (one write per license, not
-- an insert followed by an update).
DROP TRIGGER licenses_customer_sort_insert;
CREATE TRIGGER licenses_customer_sort_insert AFTER INSERT ON licenses
WHEN new.customer_sort IS NULL BEGIN
    UPDATE licenses SET customer_sort = coalesce(
        (SELECT coalesce(lower(name), lower(email)) FROM customers WHERE id = new.customer_id),
        char(1114111))
    WHERE seq = new.seq;
END;

-- The trigram index: short keys only, then the customer's name and email. Rebuilt
-- (it is contentless: its rows cannot be edited in place). Rows a batch writes (their
-- `proof_seq` set) are indexed by the batch, all of a transaction's at once, after its
-- last insert; so are their customers' words. (A copy of a store does the same.)
DROP TRIGGER licenses_search_insert;
DROP TRIGGER licenses_search_update;
DROP TRIGGER customers_search_update;
DROP TRIGGER licenses_search_delete;
DROP TABLE license_search;
CREATE VIRTUAL TABLE license_search USING fts5 (
    key_short, customer_name, customer_email,
    tokenize = 'trigram', content = '', contentless_delete = 1
);
INSERT INTO license_search (rowid, key_short, customer_name, customer_email)
    SELECT l.seq, CASE WHEN length(l.key) <= 64 THEN l.key END, c.name, c.email
    FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id;
CREATE TRIGGER licenses_search_insert AFTER INSERT ON licenses
WHEN new.proof_seq IS NULL BEGIN
    INSERT INTO license_search (rowid, key_short, customer_name, customer_email)
        VALUES (new.seq, CASE WHEN length(new.key) <= 64 THEN new.key END,
                (SELECT name FROM customers WHERE id = new.customer_id),
                (SELECT email FROM customers WHERE id = new.customer_id));
END;
CREATE TRIGGER licenses_search_update AFTER UPDATE OF seq, key, customer_id ON licenses BEGIN
    DELETE FROM license_search WHERE rowid = old.seq;
    INSERT INTO license_search (rowid, key_short, customer_name, customer_email)
        VALUES (new.seq, CASE WHEN length(new.key) <= 64 THEN new.key END,
                (SELECT name FROM customers WHERE id = new.customer_id),
                (SELECT email FROM customers WHERE id = new.customer_id));
END;
CREATE TRIGGER licenses_search_delete AFTER DELETE ON licenses BEGIN
    DELETE FROM license_search WHERE rowid = old.seq;
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email ON customers BEGIN
    DELETE FROM license_search
        WHERE rowid IN (SELECT seq FROM licenses WHERE customer_id = new.id);
    INSERT INTO license_search (rowid, key_short, customer_name, customer_email)
        SELECT seq, CASE WHEN length(key) <= 64 THEN key END, new.name, new.email
        FROM licenses WHERE customer_id = new.id;
END;

DROP TRIGGER customers_words_insert;
CREATE TRIGGER customers_words_insert AFTER INSERT ON customers
WHEN new.proof_seq IS NULL BEGIN
    INSERT INTO customer_words (rowid, name, email) VALUES (new.seq, new.name, new.email);
END;
