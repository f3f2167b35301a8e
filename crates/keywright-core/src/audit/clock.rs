//! The clock rule for signing: nothing is signed at a time earlier than the newest
//! row of the audit log, since a signature dated before one already on record would
//! make the log (and `meta.issued` in files) lie.
//!
//! A clock that ran ahead once (a command run with the date ten years off) leaves a
//! row dated in the future, and every later signature would be refused until that
//! date. The way out is explicit and audited: [`Keywright::accept_clock`] appends a
//! `clock.accept` row naming the future row, the clock's time and the reason; rows
//! before it no longer count for the rule.

use jiff::Timestamp;
use serde::Serialize;
use ts_rs::TS;

use super::{append, sql, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::{stamp, Keywright};

/// The action of the row that accepts the clock.
pub const ACCEPT_ACTION: &str = "clock.accept";

/// The audit row the clock is compared with.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClockRow {
    /// Its position in the log.
    #[ts(type = "number")]
    pub seq: i64,
    /// Its time.
    pub at: String,
    /// What it recorded.
    pub action: String,
    /// Who.
    pub actor: String,
}

/// Refuses `now` when it is earlier than the newest row (see the module docs).
fn check(newest: Option<ClockRow>, now: Timestamp) -> Result<()> {
    let Some(row) = newest else {
        return Ok(());
    };
    // Both are `YYYY-MM-DDTHH:MM:SS.mmmZ`, so text order is time order.
    if stamp(now) >= row.at {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::ClockBehind,
        format!(
            "this computer's clock says {}, earlier than audit row {} ({} by {}, dated {}): \
             either the clock was set back — correct the date and time, then try again — or that row \
             was written while the clock ran ahead. In that case accept this clock, with a reason, \
             in the window where this refusal shows or with `keywright audit accept-clock --reason TEXT`; it is recorded in the \
             audit log",
            stamp(now),
            row.seq,
            row.action,
            row.actor,
            row.at
        ),
    ))
}

/// What accepting the clock recorded.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClockAccepted {
    /// The `clock.accept` row.
    #[ts(type = "number")]
    pub seq: i64,
    /// The row dated in the future that no longer counts.
    pub future_row: ClockRow,
    /// The clock's time when it was accepted.
    pub clock: String,
}

impl Keywright {
    /// Refuses to sign at `now` when it is earlier than the newest audit row since the
    /// clock was last accepted (the signer asks before every signature).
    pub(crate) fn check_clock(&self, now: Timestamp) -> Result<()> {
        check(sql::newest_since_clock_accept(self.store.db())?, now)
    }

    /// The audit row signing is compared with, when this clock is behind it (the
    /// window offers [`Keywright::accept_clock`] then).
    pub fn clock_behind(&self, now: Timestamp) -> Result<Option<ClockRow>> {
        Ok(sql::newest_since_clock_accept(self.store.db())?.filter(|row| stamp(now) < row.at))
    }

    /// Accepts this computer's clock although the audit log has a newer row: appends
    /// a `clock.accept` row with `reason`, the future row and the clock's time, after
    /// which only rows from it on count for the signing rule. Needs the app unlocked;
    /// refused when the clock is not behind.
    pub fn accept_clock(&mut self, reason: &str, now: Timestamp) -> Result<ClockAccepted> {
        let reason = crate::required("the reason", reason, 500)?;
        self.check_app_lock()?;
        let Some(future) = self.clock_behind(now)? else {
            return Err(Error::bad_input(format!(
                "this computer's clock ({}) is not behind the audit log: there is nothing to accept",
                stamp(now)
            )));
        };
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        let seq = append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: ACCEPT_ACTION,
                subject_type: Some("store"),
                detail: serde_json::json!({
                    "reason": reason,
                    "clock": at,
                    "futureRow": {
                        "seq": future.seq, "at": future.at,
                        "action": future.action, "actor": future.actor,
                    },
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        Ok(ClockAccepted {
            seq,
            future_row: future,
            clock: at,
        })
    }
}
