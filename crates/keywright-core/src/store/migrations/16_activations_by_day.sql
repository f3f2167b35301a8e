-- The dashboard's activations per day read a month of machines by their activation
-- time (a range of this index), not the whole table.
CREATE INDEX machines_activated ON machines (activated_at);
-- The audit log filtered by who acted, newest first.
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
