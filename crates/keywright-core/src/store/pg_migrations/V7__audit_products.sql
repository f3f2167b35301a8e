-- As SQLite's migration 18_audit_products.sql: which products each audit event
-- concerns, one row per (product, event), so the log filters by product through one
-- index. Written with the event; filled here for the events already logged.
CREATE TABLE audit_products (
    product_id TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (product_id, seq)
);

INSERT INTO audit_products (product_id, seq)
    SELECT e.subject_id, e.seq FROM audit_events e
        WHERE e.subject_type = 'product' AND e.subject_id IS NOT NULL
    UNION
    SELECT p.product_id, e.seq FROM audit_events e
        JOIN policies p ON p.id = e.subject_id
        WHERE e.subject_type = 'policy'
    UNION
    SELECT p.product_id, e.seq FROM audit_events e
        JOIN licenses l ON l.id = e.subject_id
        JOIN policies p ON p.id = l.policy_id
        WHERE e.subject_type = 'license'
    UNION
    SELECT p.product_id, e.seq FROM audit_events e
        JOIN machines m ON m.id = e.subject_id
        JOIN licenses l ON l.id = m.license_id
        JOIN policies p ON p.id = l.policy_id
        WHERE e.subject_type = 'machine'
    UNION
    SELECT p.product_id, l.proof_seq FROM licenses l
        JOIN policies p ON p.id = l.policy_id
        WHERE l.proof_seq IS NOT NULL
    ON CONFLICT DO NOTHING;
