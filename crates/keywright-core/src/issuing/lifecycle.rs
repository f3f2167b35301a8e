//! A license's life after issue: suspend, reinstate, revoke, renew.
//!
//! These change the store only. A license **key** is immutable: its signed dataset
//! keeps the status-free original expiry forever. What changes is what the store says,
//! and so every license file exported afterwards (files read status and expiry from
//! the store when they are signed).

use jiff::Timestamp;
use keywright_license::{keygen_expiry, parse_time};

use super::model::{License, LicenseStatus, RenewLicense};
use super::sql;
use crate::audit::{self, Event};
use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::{stamp, Keywright};

/// Who a license is for, in messages.
fn describe(license: &License) -> String {
    match (&license.customer_name, &license.customer_email) {
        (Some(name), _) => format!("the license for {name}"),
        (None, Some(email)) => format!("the license for {email}"),
        (None, None) => format!("license {}", license.id),
    }
}

impl Keywright {
    /// Suspends an active license: it stops validating until reinstated.
    pub fn suspend_license(&mut self, reference: &str, now: Timestamp) -> Result<License> {
        let license = self.find_license(reference)?;
        match license.status {
            LicenseStatus::Active => {}
            LicenseStatus::Suspended => {
                return Err(Error::conflict(format!(
                    "{} is already suspended",
                    describe(&license)
                )))
            }
            LicenseStatus::Revoked => {
                return Err(Error::conflict(format!(
                    "{} is revoked; a revoked license cannot be suspended",
                    describe(&license)
                )))
            }
        }
        self.change_status(&license, LicenseStatus::Suspended, "license.suspend", now)
    }

    /// Reinstates a suspended license. Revoked licenses stay revoked.
    pub fn reinstate_license(&mut self, reference: &str, now: Timestamp) -> Result<License> {
        let license = self.find_license(reference)?;
        match license.status {
            LicenseStatus::Suspended => {}
            LicenseStatus::Active => {
                return Err(Error::conflict(format!(
                    "{} is active; only a suspended license can be reinstated",
                    describe(&license)
                )))
            }
            LicenseStatus::Revoked => {
                return Err(Error::conflict(format!(
                    "{} is revoked, and revoking is final; issue a new license instead",
                    describe(&license)
                )))
            }
        }
        self.change_status(&license, LicenseStatus::Active, "license.reinstate", now)
    }

    /// Revokes a license for good: it can never be reinstated or renewed.
    pub fn revoke_license(&mut self, reference: &str, now: Timestamp) -> Result<License> {
        let license = self.find_license(reference)?;
        if license.status == LicenseStatus::Revoked {
            return Err(Error::conflict(format!(
                "{} is already revoked",
                describe(&license)
            )));
        }
        self.change_status(&license, LicenseStatus::Revoked, "license.revoke", now)
    }

    /// Extends a license's expiry by `input.by` (like `1y`), counted from its current
    /// expiry or from now, whichever is later, with Keygen's calendar arithmetic.
    ///
    /// The license **key** does not change: its signed dataset keeps the original
    /// expiry. License files exported after renewal carry the new expiry.
    pub fn renew_license(&mut self, input: &RenewLicense, now: Timestamp) -> Result<License> {
        if input.by.trim().is_empty() {
            return Err(Error::bad_input(
                "say how long to renew for, like 1y, 6mo or 30d",
            ));
        }
        let by = parse_duration(&input.by)?;
        let license = self.find_license(&input.license_id)?;
        if license.status == LicenseStatus::Revoked {
            return Err(Error::conflict(format!(
                "{} is revoked, and revoking is final; it cannot be renewed",
                describe(&license)
            )));
        }
        let Some(current) = license.expiry.clone() else {
            return Err(Error::conflict(format!(
                "{} never expires; there is nothing to renew",
                describe(&license)
            )));
        };
        let now = parse_time(&stamp(now))?; // millisecond precision, as stored
        let from = parse_time(&current)?.max(now);
        let expiry = keygen_expiry(from, by).map_err(|_| {
            Error::bad_input(format!(
                "renewing by {:?} goes past the year 9999",
                input.by
            ))
        })?;
        let expiry = stamp(expiry);
        let at = stamp(now);

        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        let changed = sql::set_expiry(tx.db(), &license.id, &current, &expiry, &at)?;
        if changed != 1 {
            return Err(Error::conflict(format!(
                "{} changed while renewing; reload and try again",
                describe(&license)
            )));
        }
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "license.renew",
                subject_type: Some("license"),
                subject_id: Some(&license.id),
                detail: serde_json::json!({
                    "by": input.by.trim(), "seconds": by,
                    "before": { "expiry": current }, "after": { "expiry": expiry },
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_license(&license.id)
    }

    fn change_status(
        &mut self,
        license: &License,
        to: LicenseStatus,
        action: &str,
        now: Timestamp,
    ) -> Result<License> {
        let at = stamp(now);
        let from = license.status.as_str();
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        // Guarded on the old status: a concurrent change makes this a conflict, not a
        // silent overwrite.
        let changed = sql::set_status(tx.db(), &license.id, license.status, to, &at)?;
        if changed != 1 {
            return Err(Error::conflict(format!(
                "{} changed meanwhile; reload and try again",
                describe(license)
            )));
        }
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action,
                subject_type: Some("license"),
                subject_id: Some(&license.id),
                detail: serde_json::json!({
                    "before": { "status": from }, "after": { "status": to.as_str() },
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_license(&license.id)
    }
}
