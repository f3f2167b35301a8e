//! Keygen's machine heartbeats: a machine pings, and lives for the policy's heartbeat
//! duration after each ping. The rules are Keygen's (`Machine#heartbeat_status`):
//!
//! - never pinged: `NOT_STARTED`, unless the policy requires heartbeats and the machine
//!   was activated more than one duration ago: `DEAD`;
//! - pinged: `ALIVE` while `last ping + duration >= now`, else `DEAD`.
//!
//! Under `FROM_CREATION` the activation counts as the first ping. A ping on a dead
//! machine revives it (`RESURRECTED`) only within the policy's resurrection window
//! (from its death, `last ping + duration`); otherwise Keygen's `MACHINE_HEARTBEAT_DEAD`.
//! Under `DEACTIVATE_DEAD` a dead machine whose window has passed is deactivated (its
//! seat freed, audited `machine.deactivate` with `reason: "heartbeat"`), lazily before
//! seats are counted and by the server's periodic sweep ([`Keywright::cull_dead_machines`]).
//!
//! A ping only moves `machines.last_heartbeat_at`: liveness, not audited state (one
//! audit row per ping would grow the log by every machine's pings); the deactivation
//! a death leads to is audited.

use jiff::{SignedDuration, Timestamp};

use super::model::{HeartbeatStatus, Machine, MachineStatus};
use super::sql;
use crate::audit::{self, AuditKey, Event};
use crate::catalog::{HeartbeatCullStrategy, Policy};
use crate::error::{Error, Result};
use crate::store::db::Db;
use crate::{stamp, Keywright};

fn at(text: &str) -> Result<Timestamp> {
    Ok(keywright_license::parse_time(text)?)
}

fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MAX)
}

impl HeartbeatStatus {
    /// Keygen's name, e.g. `NOT_STARTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::Alive => "ALIVE",
            Self::Dead => "DEAD",
            Self::Resurrected => "RESURRECTED",
        }
    }

    /// The status of a machine activated at `activated` whose last ping was `last`,
    /// under `policy`, at `now` (see the module docs).
    pub fn of(
        policy: &Policy,
        activated: Timestamp,
        last: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        let duration = policy.heartbeat_seconds();
        match last {
            None if !policy.require_heartbeat || plus(activated, duration) >= now => {
                Self::NotStarted
            }
            None => Self::Dead,
            Some(last) if plus(last, duration) >= now => Self::Alive,
            Some(_) => Self::Dead,
        }
    }

    /// The status of `machine` under `policy` at `now`.
    pub fn of_machine(policy: &Policy, machine: &Machine, now: Timestamp) -> Result<Self> {
        let last = machine.last_heartbeat_at.as_deref().map(at).transpose()?;
        Ok(Self::of(policy, at(&machine.activated_at)?, last, now))
    }
}

/// When `machine` must ping next (`None` before its first ping).
pub fn next_heartbeat(policy: &Policy, machine: &Machine) -> Result<Option<Timestamp>> {
    Ok(match machine.last_heartbeat_at.as_deref() {
        Some(last) => Some(plus(at(last)?, policy.heartbeat_seconds())),
        None => None,
    })
}

/// Whether a dead machine's resurrection window has passed (Keygen's
/// `resurrection_period_passed?`): always for `NO_REVIVE` and for a machine that
/// never pinged, never for `ALWAYS_REVIVE`.
fn resurrection_passed(policy: &Policy, machine: &Machine, now: Timestamp) -> Result<bool> {
    let Some(window) = policy.heartbeat_resurrection_strategy.window_seconds() else {
        return Ok(true);
    };
    if window == i64::MAX {
        return Ok(false);
    }
    Ok(match next_heartbeat(policy, machine)? {
        Some(death) => now > plus(death, window),
        None => true,
    })
}

/// Whether `machine` is dead and its policy deactivates it now.
fn to_cull(policy: &Policy, machine: &Machine, now: Timestamp) -> Result<bool> {
    Ok(machine.status == MachineStatus::Active
        && policy.heartbeat_cull_strategy == HeartbeatCullStrategy::DeactivateDead
        && HeartbeatStatus::of_machine(policy, machine, now)? == HeartbeatStatus::Dead
        && resurrection_passed(policy, machine, now)?)
}

/// Deactivates one dead machine inside the caller's transaction, with its audit row
/// (actor `server` when the server culls, else the caller's).
fn cull_one(
    db: Db<'_>,
    audit_key: &AuditKey,
    actor: &str,
    machine: &Machine,
    now: Timestamp,
) -> Result<bool> {
    let when = stamp(now);
    if sql::deactivate(db, &machine.id, &when, None)? != 1 {
        return Ok(false);
    }
    audit::append(
        db,
        audit_key,
        &when,
        actor,
        &Event {
            action: "machine.deactivate",
            subject_type: Some("machine"),
            subject_id: Some(&machine.id),
            detail: serde_json::json!({
                "license": machine.license_id, "fingerprint": machine.fingerprint,
                "via": "heartbeat", "reason": "heartbeat",
                "lastHeartbeat": machine.last_heartbeat_at,
            }),
            ..Event::default()
        },
    )?;
    Ok(true)
}

/// Deactivates the license's dead machines its policy culls, inside the caller's
/// transaction (the one that then counts seats); returns how many.
pub(super) fn cull_license(
    db: Db<'_>,
    audit_key: &AuditKey,
    actor: &str,
    policy: &Policy,
    license_id: &str,
    now: Timestamp,
) -> Result<usize> {
    if policy.heartbeat_cull_strategy != HeartbeatCullStrategy::DeactivateDead {
        return Ok(0);
    }
    let mut culled = 0;
    for (machine, _) in sql::heartbeat_candidates(db, Some(license_id))? {
        if to_cull(policy, &machine, now)? && cull_one(db, audit_key, actor, &machine, now)? {
            culled += 1;
        }
    }
    Ok(culled)
}

/// What a heartbeat ping did.
#[derive(Debug, Clone)]
pub enum PingOutcome {
    /// The machine is alive (`heartbeat_status` `ALIVE`, or `RESURRECTED` when the
    /// ping revived a dead machine within its window).
    Pinged(Machine),
    /// The machine is dead and may not be revived (Keygen's `MACHINE_HEARTBEAT_DEAD`);
    /// nothing was recorded but, under `DEACTIVATE_DEAD`, its deactivation.
    Dead(Machine),
}

impl Keywright {
    /// Keygen's heartbeat ping of active machine `machine_id` (see the module docs).
    pub fn ping_machine(&mut self, machine_id: &str, now: Timestamp) -> Result<PingOutcome> {
        let machine = self.find_machine(machine_id)?;
        if machine.status != MachineStatus::Active {
            return Err(Error::not_found(format!(
                "machine {} is deactivated",
                machine.fingerprint
            )));
        }
        let license = self.find_license(&machine.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let audit_key = self.audit_key()?;
        // Pings come through the activation server only.
        let actor = "server";
        let tx = self.store.immediate_transaction()?;
        // Read again inside the transaction: a concurrent cull or ping is seen.
        let Some(machine) = sql::find(tx.db(), &machine.id)? else {
            return Err(Error::not_found(format!(
                "no machine with id {machine_id:?}"
            )));
        };
        if machine.status != MachineStatus::Active {
            return Err(Error::not_found(format!(
                "machine {} is deactivated",
                machine.fingerprint
            )));
        }
        let status = HeartbeatStatus::of_machine(&policy, &machine, now)?;
        let revive = status == HeartbeatStatus::Dead;
        if revive && resurrection_passed(&policy, &machine, now)? {
            let culled = to_cull(&policy, &machine, now)?
                && cull_one(tx.db(), &audit_key, actor, &machine, now)?;
            tx.commit()?;
            if culled {
                self.committed();
            }
            let mut machine = self.find_machine(&machine.id)?;
            machine.heartbeat_status = Some(HeartbeatStatus::Dead);
            return Ok(PingOutcome::Dead(machine));
        }
        sql::set_heartbeat(tx.db(), &machine.id, &stamp(now))?;
        tx.commit()?;
        let mut machine = self.find_machine(&machine.id)?;
        machine.heartbeat_status = Some(if revive {
            HeartbeatStatus::Resurrected
        } else {
            HeartbeatStatus::Alive
        });
        Ok(PingOutcome::Pinged(machine))
    }

    /// Deactivates every dead machine whose policy culls it (`DEACTIVATE_DEAD`), one
    /// IMMEDIATE transaction, each with its audit row (actor `server`: the server's
    /// periodic sweep calls it); returns how many. Activation also culls a license's
    /// machines before counting its seats.
    pub fn cull_dead_machines(&mut self, now: Timestamp) -> Result<usize> {
        let candidates = sql::heartbeat_candidates(self.store.db(), None)?;
        let mut policies: Vec<Policy> = Vec::new();
        let mut due = Vec::new();
        for (machine, policy_id) in candidates {
            if !policies.iter().any(|p| p.id == policy_id) {
                policies.push(self.find_policy(&policy_id)?);
            }
            let policy = policies.iter().find(|p| p.id == policy_id).expect("pushed");
            if to_cull(policy, &machine, now)? {
                due.push((machine.id, policy_id));
            }
        }
        if due.is_empty() {
            return Ok(0);
        }
        let audit_key = self.audit_key()?;
        let tx = self.store.immediate_transaction()?;
        let mut culled = 0;
        for (id, policy_id) in due {
            let policy = policies.iter().find(|p| p.id == policy_id).expect("pushed");
            // Read again: a ping or a deactivation may have come in between.
            if let Some(machine) = sql::find(tx.db(), &id)? {
                if to_cull(policy, &machine, now)?
                    && cull_one(tx.db(), &audit_key, "server", &machine, now)?
                {
                    culled += 1;
                }
            }
        }
        tx.commit()?;
        if culled > 0 {
            self.committed();
        }
        Ok(culled)
    }
}
