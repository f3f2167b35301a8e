
    CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
    CREATE INDEX audit_events_action ON audit_events (action, seq);
    CREATE INDEX audit_events_at ON audit_events (at);
    -- The Customers screen's order (A to Z by name, else email).
    CREATE INDEX customers_sort ON customers (lower(coalesce(name, email, '')), id);
    