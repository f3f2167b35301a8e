-- Each license's active machines, kept by the triggers below as machines are activated,
-- deactivated or moved, so the dashboard's seats used per product and its licenses
-- still on machines (expired, suspended) read the licenses that have machines from
-- two partial indexes instead of counting every machine of the store.
ALTER TABLE licenses ADD COLUMN active_machines INTEGER NOT NULL DEFAULT 0;
UPDATE licenses SET active_machines = (
    SELECT count(*) FROM machines m WHERE m.license_id = licenses.id AND m.status = 'active');

CREATE TRIGGER machines_seats_insert AFTER INSERT ON machines
WHEN NEW.status = 'active' BEGIN
    UPDATE licenses SET active_machines = active_machines + 1 WHERE id = NEW.license_id;
END;
CREATE TRIGGER machines_seats_delete AFTER DELETE ON machines
WHEN OLD.status = 'active' BEGIN
    UPDATE licenses SET active_machines = active_machines - 1 WHERE id = OLD.license_id;
END;
CREATE TRIGGER machines_seats_update AFTER UPDATE OF status, license_id ON machines
WHEN OLD.status <> NEW.status OR OLD.license_id <> NEW.license_id BEGIN
    UPDATE licenses SET active_machines = active_machines - 1
        WHERE id = OLD.license_id AND OLD.status = 'active';
    UPDATE licenses SET active_machines = active_machines + 1
        WHERE id = NEW.license_id AND NEW.status = 'active';
END;

-- Licenses and their machines per state and policy, read whole by the dashboard (the
-- index it replaces lacked the machines), and licenses on machines by state and expiry.
DROP INDEX licenses_status_policy;
CREATE INDEX licenses_status_policy ON licenses (status, policy_id, active_machines);
CREATE INDEX licenses_on_machines ON licenses (status, coalesce(expiry, '~'))
    WHERE active_machines > 0;
