-- Batch issuance at the hardware's pace, as SQLite's migration 15_batch_proofs.sql.
--
-- Key search: a signed key is found by its whole text, its start or its end (at least
-- 6 characters) through two B-tree indexes; only short keys (at most 64 characters:
-- unsigned, human keys) keep a trigram index, beside the customers' name and email.
-- `key_rtail` is the key's last 64 characters reversed (written by the code that
-- inserts a license); its unique index keeps keys unique, as the one over their last
-- 64 characters did.
ALTER TABLE licenses ADD COLUMN key_rtail TEXT COLLATE "C";
UPDATE licenses SET key_rtail = reverse(right(key, 64));
DROP INDEX licenses_key_tail;
DROP INDEX licenses_key_tail_trgm;
CREATE UNIQUE INDEX licenses_key_rtail ON licenses (key_rtail);
CREATE INDEX licenses_key_head ON licenses (left(key, 64));
CREATE INDEX licenses_key_short_trgm ON licenses USING gin (key gin_trgm_ops)
    WHERE length(key) <= 64;

-- One audit row per batch transaction commits (a Merkle root) to every license and
-- customer it wrote; each of those rows holds the audit row's position, its own place
-- among the leaves and its leaf hash.
ALTER TABLE licenses ADD COLUMN proof_seq BIGINT;
ALTER TABLE licenses ADD COLUMN proof_pos BIGINT;
ALTER TABLE licenses ADD COLUMN proof_leaf TEXT COLLATE "C";
ALTER TABLE customers ADD COLUMN proof_seq BIGINT;
ALTER TABLE customers ADD COLUMN proof_pos BIGINT;
ALTER TABLE customers ADD COLUMN proof_leaf TEXT COLLATE "C";
