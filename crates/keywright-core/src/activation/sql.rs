//! Activation's SQL (tables `machines` and `server_events`), one statement for both
//! engines.

use super::model::{Machine, MachineStatus};
use super::online::{NewServerEvent, ServerEvent};
use crate::error::Result;
use crate::store::db::{args, Db, Engine, Row};

const COLUMNS: &str = "id, license_id, fingerprint, name, hostname, platform, os_user, \
                       app_version, status, activated_at, deactivated_at, request_nonce, \
                       last_heartbeat_at";

fn machine_row(r: &Row<'_>) -> Result<Machine> {
    let status: String = r.get(8)?;
    Ok(Machine {
        id: r.get(0)?,
        license_id: r.get(1)?,
        fingerprint: r.get(2)?,
        name: r.get(3)?,
        hostname: r.get(4)?,
        platform: r.get(5)?,
        os_user: r.get(6)?,
        app_version: r.get(7)?,
        status: MachineStatus::parse(&status),
        activated_at: r.get(9)?,
        deactivated_at: r.get(10)?,
        request_nonce: r.get(11)?,
        last_heartbeat_at: r.get(12)?,
        heartbeat_status: None,
    })
}

/// What a machine says about itself; absent values are NULL in a new row and keep
/// the old value in a refreshed one.
#[derive(Default)]
pub(super) struct MachineFacts<'a> {
    pub name: Option<&'a str>,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub os_user: Option<&'a str>,
    pub app_version: Option<&'a str>,
    /// The nonce of the activation request it came from.
    pub request_nonce: Option<&'a str>,
}

/// The machine `id`.
pub(super) fn find(db: Db<'_>, id: &str) -> Result<Option<Machine>> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM machines WHERE id = ?1"),
        args![id],
        machine_row,
    )
}

/// A license's machines: active ones first, newest first.
pub(super) fn of_license(db: Db<'_>, license_id: &str) -> Result<Vec<Machine>> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM machines WHERE license_id = ?1
             ORDER BY status = 'active' DESC, activated_at DESC, {} DESC",
            db.rowid()
        ),
        args![license_id],
        machine_row,
    )
}

/// The active machine with this fingerprint on the license, if any.
pub(super) fn active_with_fingerprint(
    db: Db<'_>,
    license_id: &str,
    fingerprint: &str,
) -> Result<Option<Machine>> {
    db.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM machines
                 WHERE license_id = ?1 AND fingerprint = ?2 AND status = 'active'"
        ),
        args![license_id, fingerprint],
        machine_row,
    )
}

/// Seats in use on the license: its active machines.
pub(super) fn seats_used(db: Db<'_>, license_id: &str) -> Result<i64> {
    db.query_one(
        "SELECT count(*) FROM machines WHERE license_id = ?1 AND status = 'active'",
        args![license_id],
        |r| r.get(0),
    )
}

/// Inserts an active machine.
pub(super) fn insert(
    db: Db<'_>,
    id: &str,
    license_id: &str,
    fingerprint: &str,
    facts: &MachineFacts<'_>,
    activated_at: &str,
) -> Result<()> {
    db.execute(
        "INSERT INTO machines (id, license_id, fingerprint, name, hostname, platform,
                               os_user, app_version, status, activated_at, request_nonce)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9, ?10)",
        args![
            id,
            license_id,
            fingerprint,
            facts.name,
            facts.hostname,
            facts.platform,
            facts.os_user,
            facts.app_version,
            activated_at,
            facts.request_nonce
        ],
    )?;
    Ok(())
}

/// Refreshes what machine `id` says about itself (activated again: no second seat).
pub(super) fn refresh(db: Db<'_>, id: &str, facts: &MachineFacts<'_>) -> Result<()> {
    db.execute(
        "UPDATE machines SET name = coalesce(?2, name), hostname = coalesce(?3, hostname),
             platform = coalesce(?4, platform), os_user = coalesce(?5, os_user),
             app_version = coalesce(?6, app_version),
             request_nonce = coalesce(?7, request_nonce)
         WHERE id = ?1",
        args![
            id,
            facts.name,
            facts.hostname,
            facts.platform,
            facts.os_user,
            facts.app_version,
            facts.request_nonce
        ],
    )?;
    Ok(())
}

/// Deactivates machine `id` if it is active, recording the receipt that freed the
/// seat (if one did); returns how many rows changed (0 or 1).
pub(super) fn deactivate(
    db: Db<'_>,
    id: &str,
    at: &str,
    receipt_nonce: Option<&str>,
) -> Result<usize> {
    Ok(db.execute(
        "UPDATE machines SET status = 'deactivated', deactivated_at = ?2, receipt_nonce = ?3
         WHERE id = ?1 AND status = 'active'",
        args![id, at, receipt_nonce],
    )? as usize)
}

/// Records a heartbeat of active machine `id` at `at`; returns how many rows changed.
pub(super) fn set_heartbeat(db: Db<'_>, id: &str, at: &str) -> Result<usize> {
    Ok(db.execute(
        "UPDATE machines SET last_heartbeat_at = ?2 WHERE id = ?1 AND status = 'active'",
        args![id, at],
    )? as usize)
}

/// The active machines that may have died, each with its license's policy id: those
/// that pinged, and those whose policy requires heartbeats. Of license `license_id`
/// (its `machines_license` index), or of every license when `None` (the pinged ones
/// through the partial index `machines_pinged`, the others from the policies that
/// require heartbeats).
pub(super) fn heartbeat_candidates(
    db: Db<'_>,
    license_id: Option<&str>,
) -> Result<Vec<(Machine, String)>> {
    let sql = candidates_sql(db.engine(), license_id.is_some());
    let candidate = |r: &Row<'_>| Ok((machine_row(r)?, r.get(13)?));
    match license_id {
        Some(id) => db.query(&sql, args![id], candidate),
        None => db.query(&sql, &[], candidate),
    }
}

/// [`heartbeat_candidates`]' query, for one license or for all. On SQLite, `CROSS
/// JOIN` keeps the order (from the few policies that require heartbeats to their
/// machines) and `INDEXED BY` names the partial index; PostgreSQL's planner, which has
/// statistics, chooses by itself.
fn candidates_sql(engine: Engine, one_license: bool) -> String {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let (indexed_by, cross) = match engine {
        Engine::Sqlite => (" INDEXED BY machines_pinged", "CROSS JOIN"),
        Engine::Postgres => ("", "JOIN"),
    };
    if one_license {
        format!(
            "SELECT {columns}, l.policy_id FROM machines m
                 JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id
             WHERE m.license_id = ?1 AND m.status = 'active'
               AND (m.last_heartbeat_at IS NOT NULL OR p.require_heartbeat = 1)"
        )
    } else {
        format!(
            "SELECT {columns}, l.policy_id FROM machines m{indexed_by}
                 JOIN licenses l ON l.id = m.license_id
             WHERE m.status = 'active' AND m.last_heartbeat_at IS NOT NULL
             UNION ALL
             SELECT {columns}, l.policy_id FROM policies p
                 {cross} licenses l ON l.policy_id = p.id
                 {cross} machines m ON m.license_id = l.id
             WHERE p.require_heartbeat = 1 AND m.status = 'active'
               AND m.last_heartbeat_at IS NULL"
        )
    }
}

/// Whether a receipt with this nonce already freed a seat of the license.
pub(super) fn receipt_used(db: Db<'_>, license_id: &str, nonce: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM machines WHERE license_id = ?1 AND receipt_nonce = ?2 LIMIT 1",
            args![license_id, nonce],
            |_| Ok(()),
        )?
        .is_some())
}

/// The id of the active machine on the license whose fingerprint or id is `machine`.
pub(super) fn active_on_license(
    db: Db<'_>,
    machine: &str,
    license_id: &str,
) -> Result<Option<String>> {
    db.query_opt(
        // Two indexed lookups (the partial unique index, the primary key).
        "SELECT id FROM machines
             WHERE license_id = ?2 AND fingerprint = ?1 AND status = 'active'
         UNION ALL
         SELECT id FROM machines WHERE id = ?1 AND license_id = ?2 AND status = 'active'
         LIMIT 1",
        args![machine, license_id],
        |r| r.get(0),
    )
}

/// Whether a machine whose fingerprint or id is `machine` is active on any license.
pub(super) fn active_anywhere(db: Db<'_>, machine: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM machines WHERE fingerprint = ?1 AND status = 'active'
             UNION ALL
             SELECT 1 FROM machines WHERE id = ?1 AND status = 'active'
             LIMIT 1",
            args![machine],
            |_| Ok(()),
        )?
        .is_some())
}

/// Appends requests the server answered (text already cut by the caller).
pub(super) fn insert_server_events(db: Db<'_>, events: &[NewServerEvent]) -> Result<()> {
    for event in events {
        db.execute(
            "INSERT INTO server_events (at, endpoint, license_id, machine_id, product_id,
                                        machine, \"user\", hwid, ip, status, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            args![
                crate::stamp(event.at),
                &event.endpoint,
                event.license_id.as_deref(),
                event.machine_id.as_deref(),
                event.product_id.as_deref(),
                event.machine.as_deref(),
                event.user.as_deref(),
                event.hwid.as_deref(),
                event.ip.as_deref(),
                i64::from(event.status),
                &event.result,
            ],
        )?;
    }
    Ok(())
}

fn server_event_row(r: &Row<'_>) -> Result<ServerEvent> {
    Ok(ServerEvent {
        seq: r.get(0)?,
        at: r.get(1)?,
        endpoint: r.get(2)?,
        license_id: r.get(3)?,
        machine_id: r.get(4)?,
        product_id: r.get(5)?,
        machine: r.get(6)?,
        user: r.get(7)?,
        hwid: r.get(8)?,
        ip: r.get(9)?,
        status: r.get::<i64>(10)?.try_into().unwrap_or_default(),
        result: r.get(11)?,
    })
}

/// The newest requests the server answered, newest first (at most `limit`).
pub(super) fn server_events(db: Db<'_>, limit: i64) -> Result<Vec<ServerEvent>> {
    db.query(
        "SELECT seq, at, endpoint, license_id, machine_id, product_id, machine, \"user\", hwid,
                ip, status, result
         FROM server_events ORDER BY seq DESC LIMIT ?1",
        args![limit],
        server_event_row,
    )
}

#[cfg(test)]
mod tests {
    use super::candidates_sql;

    /// Neither the activation's nor the sweep's look for dead machines reads every
    /// machine: SQLite's plan never scans `machines`.
    #[test]
    fn dead_machine_lookups_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("s.db")).unwrap();
        for one in [true, false] {
            let sql = format!(
                "EXPLAIN QUERY PLAN {}",
                candidates_sql(crate::store::db::Engine::Sqlite, one)
            );
            let mut stmt = store.conn().prepare(&sql).unwrap();
            let plan: Vec<String> = stmt
                .query_map(
                    rusqlite::params_from_iter(if one { vec!["x"] } else { vec![] }),
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN m")),
                "{plan:?}"
            );
        }
    }
}
