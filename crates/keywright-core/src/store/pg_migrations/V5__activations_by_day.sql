-- As SQLite's migration 16_activations_by_day.sql: the dashboard's activations per day
-- read a month of machines through this index, and the audit log filtered by who
-- acted reads newest first through the second.
CREATE INDEX machines_activated ON machines (activated_at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
