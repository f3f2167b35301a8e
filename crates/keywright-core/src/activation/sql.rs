//! Activation's SQL (tables `machines` and `server_events`).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{Machine, MachineStatus};
use super::online::{NewServerEvent, ServerEvent};
use crate::error::Result;

const COLUMNS: &str = "id, license_id, fingerprint, name, hostname, platform, os_user, \
                       app_version, status, activated_at, deactivated_at, request_nonce, \
                       last_heartbeat_at";

fn machine_row(r: &Row<'_>) -> rusqlite::Result<Machine> {
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
pub(super) fn find(conn: &Connection, id: &str) -> Result<Option<Machine>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM machines WHERE id = ?1"),
            [id],
            machine_row,
        )
        .optional()?)
}

/// A license's machines: active ones first, newest first.
pub(super) fn of_license(conn: &Connection, license_id: &str) -> Result<Vec<Machine>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM machines WHERE license_id = ?1
         ORDER BY status = 'active' DESC, activated_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([license_id], machine_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The active machine with this fingerprint on the license, if any.
pub(super) fn active_with_fingerprint(
    conn: &Connection,
    license_id: &str,
    fingerprint: &str,
) -> Result<Option<Machine>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM machines
                 WHERE license_id = ?1 AND fingerprint = ?2 AND status = 'active'"
        ))?
        .query_row(params![license_id, fingerprint], machine_row)
        .optional()?)
}

/// Seats in use on the license: its active machines.
pub(super) fn seats_used(conn: &Connection, license_id: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM machines WHERE license_id = ?1 AND status = 'active'",
        )?
        .query_row([license_id], |r| r.get(0))?)
}

/// Inserts an active machine.
pub(super) fn insert(
    conn: &Connection,
    id: &str,
    license_id: &str,
    fingerprint: &str,
    facts: &MachineFacts<'_>,
    activated_at: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO machines (id, license_id, fingerprint, name, hostname, platform,
                               os_user, app_version, status, activated_at, request_nonce)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9, ?10)",
        params![
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
pub(super) fn refresh(conn: &Connection, id: &str, facts: &MachineFacts<'_>) -> Result<()> {
    conn.execute(
        "UPDATE machines SET name = coalesce(?2, name), hostname = coalesce(?3, hostname),
             platform = coalesce(?4, platform), os_user = coalesce(?5, os_user),
             app_version = coalesce(?6, app_version),
             request_nonce = coalesce(?7, request_nonce)
         WHERE id = ?1",
        params![
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
    conn: &Connection,
    id: &str,
    at: &str,
    receipt_nonce: Option<&str>,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE machines SET status = 'deactivated', deactivated_at = ?2, receipt_nonce = ?3
         WHERE id = ?1 AND status = 'active'",
        params![id, at, receipt_nonce],
    )?)
}

/// Records a heartbeat of active machine `id` at `at`; returns how many rows changed.
pub(super) fn set_heartbeat(conn: &Connection, id: &str, at: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE machines SET last_heartbeat_at = ?2 WHERE id = ?1 AND status = 'active'",
        )?
        .execute(params![id, at])?)
}

/// The active machines that may have died, each with its license's policy id: those
/// that pinged, and those whose policy requires heartbeats. Of license `license_id`
/// (its `machines_license` index), or of every license when `None` (the pinged ones
/// through the partial index `machines_pinged`, the others from the policies that
/// require heartbeats).
pub(super) fn heartbeat_candidates(
    conn: &Connection,
    license_id: Option<&str>,
) -> Result<Vec<(Machine, String)>> {
    let sql = candidates_sql(license_id.is_some());
    fn candidate(r: &Row<'_>) -> rusqlite::Result<(Machine, String)> {
        Ok((machine_row(r)?, r.get(13)?))
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = match license_id {
        Some(id) => stmt.query_map([id], candidate)?,
        None => stmt.query_map([], candidate)?,
    };
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`heartbeat_candidates`]' query, for one license or for all (`CROSS JOIN`: SQLite
/// keeps that order, from the few policies that require heartbeats to their machines).
fn candidates_sql(one_license: bool) -> String {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    if one_license {
        format!(
            "SELECT {columns}, l.policy_id FROM machines m
                 JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id
             WHERE m.license_id = ?1 AND m.status = 'active'
               AND (m.last_heartbeat_at IS NOT NULL OR p.require_heartbeat = 1)"
        )
    } else {
        format!(
            "SELECT {columns}, l.policy_id FROM machines m INDEXED BY machines_pinged
                 JOIN licenses l ON l.id = m.license_id
             WHERE m.status = 'active' AND m.last_heartbeat_at IS NOT NULL
             UNION ALL
             SELECT {columns}, l.policy_id FROM policies p
                 CROSS JOIN licenses l ON l.policy_id = p.id
                 CROSS JOIN machines m ON m.license_id = l.id
             WHERE p.require_heartbeat = 1 AND m.status = 'active'
               AND m.last_heartbeat_at IS NULL"
        )
    }
}

/// Whether a receipt with this nonce already freed a seat of the license.
pub(super) fn receipt_used(conn: &Connection, license_id: &str, nonce: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM machines WHERE license_id = ?1 AND receipt_nonce = ?2)",
        params![license_id, nonce],
        |r| r.get(0),
    )?)
}

/// The id of the active machine on the license whose fingerprint or id is `machine`.
pub(super) fn active_on_license(
    conn: &Connection,
    machine: &str,
    license_id: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            // Two indexed lookups (the partial unique index, the primary key).
            "SELECT id FROM machines
                 WHERE license_id = ?2 AND fingerprint = ?1 AND status = 'active'
             UNION ALL
             SELECT id FROM machines WHERE id = ?1 AND license_id = ?2 AND status = 'active'
             LIMIT 1",
        )?
        .query_row(params![machine, license_id], |r| r.get(0))
        .optional()?)
}

/// Whether a machine whose fingerprint or id is `machine` is active on any license.
pub(super) fn active_anywhere(conn: &Connection, machine: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM machines WHERE fingerprint = ?1 AND status = 'active')
             OR EXISTS (SELECT 1 FROM machines WHERE id = ?1 AND status = 'active')",
        [machine],
        |r| r.get(0),
    )?)
}

/// Appends requests the server answered (text already cut by the caller).
pub(super) fn insert_server_events(conn: &Connection, events: &[NewServerEvent]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO server_events (at, endpoint, license_id, machine_id, product_id,
                                    machine, user, hwid, ip, status, result)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for event in events {
        insert.execute(params![
            crate::stamp(event.at),
            event.endpoint,
            event.license_id,
            event.machine_id,
            event.product_id,
            event.machine,
            event.user,
            event.hwid,
            event.ip,
            event.status,
            event.result,
        ])?;
    }
    Ok(())
}

fn server_event_row(r: &Row<'_>) -> rusqlite::Result<ServerEvent> {
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
        status: r.get(10)?,
        result: r.get(11)?,
    })
}

/// The newest requests the server answered, newest first (at most `limit`).
pub(super) fn server_events(conn: &Connection, limit: i64) -> Result<Vec<ServerEvent>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, endpoint, license_id, machine_id, product_id, machine, user, hwid,
                ip, status, result
         FROM server_events ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], server_event_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
            let sql = format!("EXPLAIN QUERY PLAN {}", candidates_sql(one));
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
