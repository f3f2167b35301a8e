//! Machines and air-gapped activation: activation requests in (their machine files
//! out: `machine_file.rs`); deactivation, transfer, deactivation receipts.
//!
//! Policy, as Keygen applies it: a node-locked policy allows one machine, a floating
//! one its max machines (none = unlimited); a suspended, revoked or expired license
//! activates nothing. A fingerprint already active on the license gets a fresh
//! machine file, never a second seat. Every change and every signature is audited
//! in the same transaction. Activation and export read the private key before any
//! transaction, so a keychain that cannot sign leaves the store untouched.

use jiff::Timestamp;
use keywright_license::activation::{ActivationError, ActivationRequest, DeactivationReceipt};
use keywright_license::parse_time;

use super::heartbeat::cull_license;
use super::model::HeartbeatStatus;
use super::model::{
    ActivateMachine, ActivationPreview, ActivationRequestInfo, Machine, MachineStatus,
    TransferMachine,
};
use super::sql::{self, MachineFacts};
use crate::audit::{self, AuditEvent, Event};
use crate::catalog::{HeartbeatBasis, Policy, Product};
use crate::error::{Error, ErrorCode, Result};
use crate::issuing::{License, LicenseStatus};
use crate::{clean, stamp, Keywright};

/// Keygen's fingerprint limit.
const MAX_FINGERPRINT: usize = 255;

/// What a machine says about itself when it is activated.
struct Details {
    fingerprint: String,
    name: Option<String>,
    hostname: Option<String>,
    platform: Option<String>,
    os_user: Option<String>,
    app_version: Option<String>,
    nonce: Option<String>,
}

fn format_error(what: &str, e: ActivationError) -> Error {
    Error::new(ErrorCode::Format, format!("{what}: {e}"))
}

/// A fingerprint: required, at most 255 characters, one line without control
/// characters ([`crate::text::check_line`]).
pub(crate) fn check_fingerprint(fingerprint: &str) -> Result<String> {
    crate::required("fingerprint", fingerprint, MAX_FINGERPRINT)
}

impl Details {
    /// The details as a machine row holds them.
    fn facts(&self) -> MachineFacts<'_> {
        MachineFacts {
            name: self.name.as_deref(),
            hostname: self.hostname.as_deref(),
            platform: self.platform.as_deref(),
            os_user: self.os_user.as_deref(),
            app_version: self.app_version.as_deref(),
            request_nonce: self.nonce.as_deref(),
        }
    }

    /// Refuses overlong details and control characters in them.
    fn check(&self) -> Result<()> {
        for (field, value) in [
            ("machine name", &self.name),
            ("hostname", &self.hostname),
            ("platform", &self.platform),
            ("OS user", &self.os_user),
            ("app version", &self.app_version),
        ] {
            let Some(value) = value else { continue };
            if value.chars().count() > 255 {
                return Err(Error::bad_input(format!(
                    "{field} is too long (at most 255 characters)"
                )));
            }
            crate::text::check_line(field, value)?;
        }
        Ok(())
    }
}

/// Seats a policy allows: node-locked = 1, floating = max machines; `None` = unlimited.
pub(crate) fn seats_allowed(policy: &Policy) -> Option<i64> {
    if policy.floating {
        policy.max_machines
    } else {
        Some(1)
    }
}

/// `message`, followed by what the product tells customers when something fails.
fn with_support(product: &Product, message: String) -> String {
    match product.support_message.as_deref().map(str::trim) {
        Some(support) if !support.is_empty() => format!("{message} {support}"),
        _ => message,
    }
}

pub(crate) fn is_expired(license: &License, now: Timestamp) -> Result<bool> {
    Ok(match license.expiry.as_deref() {
        Some(expiry) => parse_time(expiry)? < now,
        None => false,
    })
}

/// Why activating on this license is refused now, if it is.
fn refusal(
    license: &License,
    policy: &Policy,
    product: &Product,
    already_active: bool,
    used: i64,
    now: Timestamp,
) -> Result<Option<String>> {
    let reason = match license.status {
        LicenseStatus::Suspended => {
            Some("This license is suspended and cannot be activated.".into())
        }
        LicenseStatus::Revoked => Some("This license is revoked and cannot be activated.".into()),
        LicenseStatus::Active if is_expired(license, now)? => Some(format!(
            "This license expired on {} and cannot be activated.",
            license.expiry.as_deref().unwrap_or_default()
        )),
        LicenseStatus::Active => match seats_allowed(policy) {
            Some(max) if !already_active && used >= max => Some(format!(
                "This license is out of activations: {used} of {max} machine{} already active \
                 ({}).",
                if max == 1 { " is" } else { "s are" },
                if policy.floating {
                    "floating policy"
                } else {
                    "node-locked policy"
                }
            )),
            _ => None,
        },
    };
    Ok(reason.map(|r| with_support(product, r)))
}

impl Keywright {
    /// A machine by id.
    pub fn find_machine(&self, id: &str) -> Result<Machine> {
        let id = id.trim();
        sql::find(self.store.db(), id)?
            .ok_or_else(|| Error::not_found(format!("no machine with id {id:?}")))
    }

    /// A license's machines (id or key): active ones first, newest first, with their
    /// heartbeat status at `now`.
    pub fn list_machines(&self, license_id: &str, now: Timestamp) -> Result<Vec<Machine>> {
        let license = self.find_license(license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let mut machines = sql::of_license(self.store.db(), &license.id)?;
        for m in &mut machines {
            if m.status == MachineStatus::Active {
                m.heartbeat_status = Some(HeartbeatStatus::of_machine(&policy, m, now)?);
            }
        }
        Ok(machines)
    }

    /// A license's active machines (those holding a seat), newest first: what Keygen
    /// lists, since it deletes a machine when it is deactivated.
    pub fn active_machines(&self, license_id: &str) -> Result<Vec<Machine>> {
        let license = self.find_license(license_id)?;
        let mut machines = sql::of_license(self.store.db(), &license.id)?;
        machines.retain(|m| m.status == MachineStatus::Active);
        Ok(machines)
    }

    /// The active machine of license `license_id` (its row id) whose id or fingerprint
    /// is `machine` (Keygen finds machines by either), if any.
    pub fn active_machine(&self, license_id: &str, machine: &str) -> Result<Option<Machine>> {
        match sql::active_on_license(self.store.db(), machine, license_id)? {
            Some(id) => sql::find(self.store.db(), &id),
            None => Ok(None),
        }
    }

    /// A machine's history from the audit log (activation, files, deactivation,
    /// transfer), newest first.
    pub fn machine_history(&self, machine_id: &str) -> Result<Vec<AuditEvent>> {
        let machine = self.find_machine(machine_id)?;
        self.audit_history(machine.id)
    }

    /// Reads an activation request and says who asks, the license's state, and
    /// whether activating would succeed (and why not). Writes nothing.
    pub fn preview_activation(&self, text: &str, now: Timestamp) -> Result<ActivationPreview> {
        let request =
            ActivationRequest::parse(text).map_err(|e| format_error("activation request", e))?;
        let license = self.license_for_key(&request.license_key)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        let used = sql::seats_used(self.store.db(), &license.id)?;
        let existing =
            sql::active_with_fingerprint(self.store.db(), &license.id, &request.fingerprint)?;
        // Text activation would refuse is the first reason to show.
        let unfit = check_fingerprint(&request.fingerprint)
            .and_then(|_| {
                Details {
                    fingerprint: request.fingerprint.clone(),
                    name: None,
                    hostname: request.hostname.clone(),
                    platform: request.platform.clone(),
                    os_user: request.os_user.clone(),
                    app_version: request.app_version.clone(),
                    nonce: None,
                }
                .check()
            })
            .err()
            .map(|e| e.message);
        let refusal = match unfit {
            Some(message) => Some(message),
            None => refusal(&license, &policy, &product, existing.is_some(), used, now)?,
        };
        Ok(ActivationPreview {
            request: ActivationRequestInfo {
                fingerprint: request.fingerprint,
                hostname: request.hostname,
                platform: request.platform,
                os_user: request.os_user,
                app_version: request.app_version,
                nonce: request.nonce,
                requested_at: stamp(request.timestamp),
            },
            seats_used: used,
            seats_allowed: seats_allowed(&policy).unwrap_or(-1),
            floating: policy.floating,
            expired: is_expired(&license, now)?,
            existing_machine: existing,
            allowed: refusal.is_none(),
            refusal,
            license,
        })
    }

    /// Activates the machine an activation request names (see [`Keywright::activate_machine`]).
    pub fn activate_from_request(&mut self, text: &str, now: Timestamp) -> Result<Machine> {
        let request =
            ActivationRequest::parse(text).map_err(|e| format_error("activation request", e))?;
        let license = self.license_for_key(&request.license_key)?;
        self.activate(
            license,
            Details {
                fingerprint: check_fingerprint(&request.fingerprint)?,
                name: None,
                hostname: request.hostname,
                platform: request.platform,
                os_user: request.os_user,
                app_version: request.app_version,
                nonce: Some(request.nonce),
            },
            "request",
            now,
        )
    }

    /// Activates a machine on a license by hand. Refused (Conflict, with the product's
    /// support message) when the license is suspended, revoked, expired or out of
    /// seats. A fingerprint already active on the license takes no second seat: the
    /// existing machine is returned (its details refreshed) for a fresh machine file.
    pub fn activate_machine(&mut self, input: &ActivateMachine, now: Timestamp) -> Result<Machine> {
        let fingerprint = check_fingerprint(&input.fingerprint)?;
        let license = self.find_license(&input.license_id)?;
        self.activate(
            license,
            Details {
                fingerprint,
                name: clean(input.name.as_deref()),
                hostname: clean(input.hostname.as_deref()),
                platform: clean(input.platform.as_deref()),
                os_user: clean(input.os_user.as_deref()),
                app_version: clean(input.app_version.as_deref()),
                nonce: None,
            },
            "vendor",
            now,
        )
    }

    /// The license a request or receipt names, by its key (never by row id).
    pub(crate) fn license_for_key(&self, key: &str) -> Result<License> {
        let unknown = || {
            Error::not_found(
                "the request names a license key this store did not issue (another store, \
                 or a mistyped key)",
            )
        };
        match self.find_license(key) {
            Ok(license) if license.key == key.trim() => Ok(license),
            Ok(_) => Err(unknown()),
            Err(e) if e.code == ErrorCode::NotFound => Err(unknown()),
            Err(e) => Err(e),
        }
    }

    fn activate(
        &mut self,
        license: License,
        d: Details,
        via: &str,
        now: Timestamp,
    ) -> Result<Machine> {
        d.check()?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        // A machine file follows: a keychain that cannot sign must not take a seat.
        self.signer(&product.signing_key_id, now)?;
        let at = stamp(now);
        let actor = self.actor.clone();
        // IMMEDIATE: the seat count and the insert are one step for every writer.
        let audit_key = self.audit_key()?;
        let tx = self.store.immediate_transaction()?;
        // Dead machines free their seats before they are counted, in this transaction.
        cull_license(tx.db(), &audit_key, &actor, &policy, &license.id, now)?;
        let existing = sql::active_with_fingerprint(tx.db(), &license.id, &d.fingerprint)?;
        let used = sql::seats_used(tx.db(), &license.id)?;
        if let Some(reason) = refusal(&license, &policy, &product, existing.is_some(), used, now)? {
            return Err(Error::conflict(reason));
        }
        let id = match existing {
            Some(machine) => {
                sql::refresh(tx.db(), &machine.id, &d.facts())?;
                audit::append(
                    tx.db(),
                    &audit_key,
                    &at,
                    &actor,
                    &Event {
                        action: "machine.reactivate",
                        subject_type: Some("machine"),
                        subject_id: Some(&machine.id),
                        detail: serde_json::json!({
                            "license": license.id, "fingerprint": d.fingerprint, "via": via,
                            "nonce": d.nonce,
                        }),
                        ..Event::default()
                    },
                )?;
                machine.id
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                sql::insert(tx.db(), &id, &license.id, &d.fingerprint, &d.facts(), &at)?;
                if policy.heartbeat_basis == HeartbeatBasis::FromCreation {
                    sql::set_heartbeat(tx.db(), &id, &at)?;
                }
                audit::append(
                    tx.db(),
                    &audit_key,
                    &at,
                    &actor,
                    &Event {
                        action: "machine.activate",
                        subject_type: Some("machine"),
                        subject_id: Some(&id),
                        detail: serde_json::json!({
                            "license": license.id, "fingerprint": d.fingerprint, "via": via,
                            "hostname": d.hostname, "platform": d.platform, "osUser": d.os_user,
                            "appVersion": d.app_version, "nonce": d.nonce,
                            "seats": { "used": used + 1, "allowed": seats_allowed(&policy) },
                        }),
                        ..Event::default()
                    },
                )?;
                id
            }
        };
        tx.commit()?;
        self.committed();
        self.find_machine(&id)
    }

    /// Deactivates a machine: its seat is free. Files already sent keep validating
    /// offline until their TTL ends.
    pub fn deactivate_machine(&mut self, machine_id: &str, now: Timestamp) -> Result<Machine> {
        let machine = self.find_machine(machine_id)?;
        self.deactivate(&machine, "vendor", None, None, now)
    }

    /// Deactivates a machine at its own application's request over the activation
    /// server (Keygen's `DELETE /machines/{id}`); audited `via: "server"` with the
    /// client's address. The server checks the machine belongs to the license that
    /// asked.
    pub fn deactivate_machine_online(
        &mut self,
        machine_id: &str,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<Machine> {
        let machine = self.find_machine(machine_id)?;
        self.deactivate(&machine, "server", None, ip, now)
    }

    fn deactivate(
        &mut self,
        machine: &Machine,
        via: &str,
        receipt: Option<&DeactivationReceipt>,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<Machine> {
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        let mut detail = serde_json::json!({
            "license": machine.license_id, "fingerprint": machine.fingerprint, "via": via,
            "receipt": receipt.map(|r| serde_json::json!({
                "nonce": r.nonce, "at": stamp(r.timestamp),
            })),
        });
        if let Some(ip) = ip {
            detail["ip"] = serde_json::Value::from(ip);
        }
        let changed =
            sql::deactivate(tx.db(), &machine.id, &at, receipt.map(|r| r.nonce.as_str()))?;
        if changed != 1 {
            return Err(Error::conflict(format!(
                "machine {} is already deactivated",
                machine.fingerprint
            )));
        }
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "machine.deactivate",
                subject_type: Some("machine"),
                subject_id: Some(&machine.id),
                detail,
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_machine(&machine.id)
    }

    /// Moves a machine's seat to another fingerprint in one transaction: the old
    /// machine is deactivated and the new one activated (same seat count). Refused
    /// with `TRANSFER_NOT_ALLOWED` when the policy's transfer rule forbids it, and
    /// when the license is suspended, revoked or expired, or already has the new
    /// fingerprint. Returns the new machine; export its file next.
    pub fn transfer_machine(&mut self, input: &TransferMachine, now: Timestamp) -> Result<Machine> {
        let fingerprint = check_fingerprint(&input.fingerprint)?;
        let old = self.find_machine(&input.machine_id)?;
        if old.status != MachineStatus::Active {
            return Err(Error::conflict(format!(
                "machine {} is already deactivated; activate the new machine instead",
                old.fingerprint
            )));
        }
        if fingerprint == old.fingerprint {
            return Err(Error::bad_input(
                "the new fingerprint is the machine's own; export a fresh machine file instead",
            ));
        }
        let license = self.find_license(&old.license_id)?;
        let policy = self.find_policy(&license.policy_id)?;
        let product = self.find_product(&policy.product_id)?;
        if !policy.allow_transfer {
            return Err(Error::new(
                ErrorCode::TransferNotAllowed,
                with_support(
                    &product,
                    format!(
                        "Policy {} does not allow transferring machines: deactivate {} and \
                         activate the new machine instead.",
                        policy.name, old.fingerprint
                    ),
                ),
            ));
        }
        self.signer(&product.signing_key_id, now)?;
        let name =
            crate::text::line("machine name", input.name.as_deref())?.or_else(|| old.name.clone());
        let hostname = crate::text::line("hostname", input.hostname.as_deref())?;
        let platform = crate::text::line("platform", input.platform.as_deref())?;
        let at = stamp(now);
        let actor = self.actor.clone();
        let audit_key = self.audit_key()?;
        let tx = self.store.immediate_transaction()?;
        if sql::active_with_fingerprint(tx.db(), &license.id, &fingerprint)?.is_some() {
            return Err(Error::conflict(format!(
                "{fingerprint} is already active on this license; deactivate {} instead",
                old.fingerprint
            )));
        }
        // The seat moves, so the count does not matter; status and expiry do.
        let used = sql::seats_used(tx.db(), &license.id)?;
        if let Some(reason) = refusal(&license, &policy, &product, true, used, now)? {
            return Err(Error::conflict(reason));
        }
        let changed = sql::deactivate(tx.db(), &old.id, &at, None)?;
        if changed != 1 {
            return Err(Error::conflict(format!(
                "machine {} changed meanwhile; reload and try again",
                old.fingerprint
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let facts = MachineFacts {
            name: name.as_deref(),
            hostname: hostname.as_deref(),
            platform: platform.as_deref(),
            ..MachineFacts::default()
        };
        sql::insert(tx.db(), &id, &license.id, &fingerprint, &facts, &at)?;
        if policy.heartbeat_basis == HeartbeatBasis::FromCreation {
            sql::set_heartbeat(tx.db(), &id, &at)?;
        }
        for (action, subject, fp) in [
            (
                "machine.deactivate",
                old.id.as_str(),
                old.fingerprint.as_str(),
            ),
            ("machine.activate", id.as_str(), fingerprint.as_str()),
        ] {
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &actor,
                &Event {
                    action,
                    subject_type: Some("machine"),
                    subject_id: Some(subject),
                    detail: serde_json::json!({
                        "license": license.id, "fingerprint": fp, "via": "transfer",
                        "from": old.id, "to": id,
                    }),
                    ..Event::default()
                },
            )?;
        }
        tx.commit()?;
        self.committed();
        self.find_machine(&id)
    }

    /// Imports a deactivation receipt written by the customer's application and frees
    /// the seat. The receipt is the customer's statement, not a proof (see
    /// [`DeactivationReceipt`]); each receipt counts once.
    pub fn import_deactivation_receipt(&mut self, text: &str, now: Timestamp) -> Result<Machine> {
        let receipt = DeactivationReceipt::parse(text)
            .map_err(|e| format_error("deactivation receipt", e))?;
        let license = self.license_for_key(&receipt.license_key)?;
        if sql::receipt_used(self.store.db(), &license.id, &receipt.nonce)? {
            return Err(Error::conflict(
                "this deactivation receipt was already imported",
            ));
        }
        let Some(machine) =
            sql::active_with_fingerprint(self.store.db(), &license.id, &receipt.fingerprint)?
        else {
            return Err(Error::not_found(format!(
                "no active machine with fingerprint {} on this license (already deactivated?)",
                receipt.fingerprint
            )));
        };
        self.deactivate(&machine, "receipt", Some(&receipt), None, now)
    }
}
