-- The audit log filtered by product (issue 16): which products each event concerns,
-- one row per (product, event). An event about a product, one of its policies, one of
-- its licenses or a machine on one has its product; a batch's row has every product
-- its licenses belong to. Written with the event by the code that appends it (in the
-- same transaction); not covered by the row's hash, and `audit verify` compares it
-- with what the events and the store give. Filled here for the events already logged.
CREATE TABLE audit_products (
    product_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (product_id, seq)
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO audit_products (product_id, seq)
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
        WHERE l.proof_seq IS NOT NULL;
