-- Keygen's heartbeats. NULL in an older policy's row means Keygen's default (no
-- heartbeat required, 10 minutes, DEACTIVATE_DEAD, NO_REVIVE, FROM_FIRST_PING), so
-- existing rows keep their audited state (the audit state omits these columns when NULL).
ALTER TABLE policies ADD COLUMN require_heartbeat INTEGER CHECK (require_heartbeat IN (0, 1));
ALTER TABLE policies ADD COLUMN heartbeat_duration_seconds INTEGER
    CHECK (heartbeat_duration_seconds > 0);
ALTER TABLE policies ADD COLUMN heartbeat_cull_strategy TEXT
    CHECK (heartbeat_cull_strategy IN ('DEACTIVATE_DEAD', 'KEEP_DEAD'));
ALTER TABLE policies ADD COLUMN heartbeat_resurrection_strategy TEXT
    CHECK (heartbeat_resurrection_strategy IN ('NO_REVIVE', '1_MINUTE_REVIVE', '2_MINUTE_REVIVE',
                                               '5_MINUTE_REVIVE', '10_MINUTE_REVIVE',
                                               '15_MINUTE_REVIVE', 'ALWAYS_REVIVE'));
ALTER TABLE policies ADD COLUMN heartbeat_basis TEXT
    CHECK (heartbeat_basis IN ('FROM_CREATION', 'FROM_FIRST_PING'));
-- The last ping (or the activation, for FROM_CREATION); liveness, not audited state.
ALTER TABLE machines ADD COLUMN last_heartbeat_at TEXT;
-- The server's sweep reads the active machines that pinged without reading the others.
CREATE INDEX machines_pinged ON machines (last_heartbeat_at)
    WHERE status = 'active' AND last_heartbeat_at IS NOT NULL;
