-- Keygen's heartbeats, as SQLite's migration 13_heartbeats.sql: NULL in an older
-- policy's row means Keygen's defaults (and is left out of its audited state).
ALTER TABLE policies ADD COLUMN require_heartbeat BIGINT CHECK (require_heartbeat IN (0, 1));
ALTER TABLE policies ADD COLUMN heartbeat_duration_seconds BIGINT
    CHECK (heartbeat_duration_seconds > 0);
ALTER TABLE policies ADD COLUMN heartbeat_cull_strategy TEXT COLLATE "C"
    CHECK (heartbeat_cull_strategy IN ('DEACTIVATE_DEAD', 'KEEP_DEAD'));
ALTER TABLE policies ADD COLUMN heartbeat_resurrection_strategy TEXT COLLATE "C"
    CHECK (heartbeat_resurrection_strategy IN ('NO_REVIVE', '1_MINUTE_REVIVE', '2_MINUTE_REVIVE',
                                               '5_MINUTE_REVIVE', '10_MINUTE_REVIVE',
                                               '15_MINUTE_REVIVE', 'ALWAYS_REVIVE'));
ALTER TABLE policies ADD COLUMN heartbeat_basis TEXT COLLATE "C"
    CHECK (heartbeat_basis IN ('FROM_CREATION', 'FROM_FIRST_PING'));
ALTER TABLE machines ADD COLUMN last_heartbeat_at TEXT COLLATE "C";
CREATE INDEX machines_pinged ON machines (last_heartbeat_at)
    WHERE status = 'active' AND last_heartbeat_at IS NOT NULL;
