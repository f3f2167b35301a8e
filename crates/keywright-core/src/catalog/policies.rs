//! Policies: the rules a product's licenses are issued under (scheme, duration,
//! machines, file TTL, entitlements, key options, expiration strategy...).

use jiff::Timestamp;

use super::model::{
    HeartbeatBasis, HeartbeatCullStrategy, HeartbeatResurrectionStrategy, NewPolicy, Policy,
    SetPolicyHeartbeat,
};
use super::sql;
use crate::audit::{self, Event};
use crate::duration::{parse_file_ttl, parse_optional_duration};
use crate::error::{Error, Result};
use crate::{required, stamp, Keywright};

/// The machine limit a stored policy has: a node-locked policy has exactly one
/// machine, as Keygen's. Stores written before this rule may hold a node-locked row
/// with no limit or a limit above 1; activation always allowed it one seat, so it is
/// read (and shown, and written into files) as 1, without rewriting the row.
pub(super) fn seats_on_record(floating: bool, max_machines: Option<i64>) -> Option<i64> {
    if floating {
        max_machines
    } else {
        Some(1)
    }
}

/// A new policy's machine limit: node-locked = 1 (also when none is given); floating =
/// the limit given, none = unlimited. Node-locked with any other limit is refused.
fn seats_for_new(floating: bool, max_machines: Option<i64>) -> Result<Option<i64>> {
    if let Some(n) = max_machines {
        if n < 1 {
            return Err(Error::bad_input(format!(
                "max machines must be at least 1 (or unlimited); got {n}"
            )));
        }
    }
    match (floating, max_machines) {
        (true, max) => Ok(max),
        (false, None | Some(1)) => Ok(Some(1)),
        (false, Some(n)) => Err(Error::bad_input(format!(
            "a node-locked policy has exactly one machine, so max machines {n} needs a \
             floating policy: add --floating (in the window: tick Floating)"
        ))),
    }
}

/// A policy's heartbeat settings, checked.
struct Heartbeat {
    duration: Option<i64>,
    cull: HeartbeatCullStrategy,
    resurrection: HeartbeatResurrectionStrategy,
    basis: HeartbeatBasis,
}

/// Shortest and longest heartbeat durations (Keygen's bounds: a minute, a year).
const HEARTBEAT_MIN_SECONDS: i64 = 60;
const HEARTBEAT_MAX_SECONDS: i64 = 365 * 86_400;

/// Checks a new policy's heartbeat settings: a duration (1 minute to 365 days) is
/// required when heartbeats are; `ALWAYS_REVIVE` needs `KEEP_DEAD` (Keygen's rule: a
/// culled machine cannot come back).
fn heartbeat_settings(input: &NewPolicy) -> Result<Heartbeat> {
    let duration = parse_optional_duration(input.heartbeat_duration.as_deref())
        .map_err(|e| Error::bad_input(format!("heartbeat duration: {}", e.message)))?;
    check_heartbeat(
        input.require_heartbeat,
        Heartbeat {
            duration,
            cull: input.heartbeat_cull_strategy.unwrap_or_default(),
            resurrection: input.heartbeat_resurrection_strategy.unwrap_or_default(),
            basis: input.heartbeat_basis.unwrap_or_default(),
        },
    )
}

/// The rules every heartbeat setting follows, new or changed.
fn check_heartbeat(require: bool, h: Heartbeat) -> Result<Heartbeat> {
    let Heartbeat {
        duration,
        cull,
        resurrection,
        basis,
    } = h;
    if let Some(d) = duration {
        if !(HEARTBEAT_MIN_SECONDS..=HEARTBEAT_MAX_SECONDS).contains(&d) {
            return Err(Error::bad_input(format!(
                "heartbeat duration must be between 1 minute and 365 days; got {d} seconds"
            )));
        }
    }
    if require && duration.is_none() {
        return Err(Error::bad_input(
            "a policy that requires heartbeats needs a heartbeat duration (how long a \
             ping keeps a machine alive), e.g. 10min: add --heartbeat-duration (in the \
             window: Heartbeat duration)",
        ));
    }
    if resurrection == HeartbeatResurrectionStrategy::AlwaysRevive
        && cull != HeartbeatCullStrategy::KeepDead
    {
        return Err(Error::bad_input(
            "resurrection strategy ALWAYS_REVIVE needs cull strategy KEEP_DEAD: a \
             deactivated machine cannot be revived",
        ));
    }
    Ok(Heartbeat {
        duration,
        cull,
        resurrection,
        basis,
    })
}

/// An entitlement code: 1–64 letters, digits, `-`, `_` or `.`.
pub(crate) fn check_entitlement(code: &str) -> Result<String> {
    let code = code.trim();
    crate::text::check_line("entitlement code", code)?;
    if code.is_empty()
        || code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(Error::bad_input(format!(
            "entitlement code {code:?} must be 1–64 letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(code.to_owned())
}

impl Keywright {
    /// Creates a policy for a product.
    pub fn create_policy(&mut self, input: &NewPolicy, now: Timestamp) -> Result<Policy> {
        let product = self.find_product(&input.product_id)?;
        let name = required("policy name", &input.name, 200)?;
        let duration = parse_optional_duration(input.duration.as_deref())?;
        let options = self.key_options(input, &product, duration, now)?;
        let scheme = options.scheme;
        let max_machines = seats_for_new(input.floating, input.max_machines)?;
        let ttl = parse_file_ttl(input.file_ttl.as_deref())?;
        let grace = parse_optional_duration(input.offline_grace.as_deref())
            .map_err(|e| Error::bad_input(format!("offline grace: {}", e.message)))?;
        let heartbeat = heartbeat_settings(input)?;
        let strategy = input.expiration_strategy.unwrap_or_default();
        let allow_transfer = input.allow_transfer.unwrap_or(true);
        let mut entitlements = Vec::new();
        for e in &input.entitlements {
            let e = check_entitlement(e)?;
            if !entitlements.contains(&e) {
                entitlements.push(e);
            }
        }
        if sql::policy_named_in(self.store.db(), &product.id, &name)?.is_some() {
            return Err(Error::conflict(format!(
                "product {} already has a policy named {name:?}",
                product.name
            )));
        }

        let id = uuid::Uuid::new_v4().to_string();
        let at = stamp(now);
        let policy = Policy {
            id: id.clone(),
            product_id: product.id.clone(),
            name,
            scheme,
            duration_seconds: duration,
            max_machines,
            floating: input.floating,
            file_ttl_seconds: ttl,
            encrypt: input.encrypt,
            entitlements,
            key_template: options.template.clone(),
            unsigned_key: options.unsigned,
            expiration_strategy: strategy,
            strict: input.strict,
            offline_grace_seconds: grace,
            allow_transfer,
            require_heartbeat: input.require_heartbeat,
            heartbeat_duration_seconds: heartbeat.duration,
            heartbeat_cull_strategy: heartbeat.cull,
            heartbeat_resurrection_strategy: heartbeat.resurrection,
            heartbeat_basis: heartbeat.basis,
            created_at: at.clone(),
        };
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        sql::insert_policy(tx.db(), &policy)?;
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "policy.create",
                subject_type: Some("policy"),
                subject_id: Some(&id),
                detail: serde_json::json!({
                    "name": policy.name, "product": product.code,
                    "scheme": (!options.unsigned).then(|| scheme.as_str()),
                    "keyTemplate": options.template, "unsignedKey": options.unsigned,
                    "durationSeconds": duration, "maxMachines": max_machines,
                    "floating": input.floating, "fileTtlSeconds": ttl, "encrypt": input.encrypt,
                    "entitlements": policy.entitlements,
                    "expirationStrategy": strategy.as_str(), "strict": input.strict,
                    "offlineGraceSeconds": grace, "allowTransfer": allow_transfer,
                    "requireHeartbeat": input.require_heartbeat,
                    "heartbeatDurationSeconds": heartbeat.duration,
                    "heartbeatCullStrategy": heartbeat.cull.as_str(),
                    "heartbeatResurrectionStrategy": heartbeat.resurrection.as_str(),
                    "heartbeatBasis": heartbeat.basis.as_str(),
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_policy(&id)
    }

    /// Changes a policy's heartbeat settings (what `input` leaves `None` stays), with
    /// a `policy.heartbeat` audit row holding the settings before and after. Machines
    /// already active follow the new settings from now on.
    pub fn set_policy_heartbeat(
        &mut self,
        input: &SetPolicyHeartbeat,
        now: Timestamp,
    ) -> Result<Policy> {
        let old = self.find_policy(&input.policy_id)?;
        let require = input.require_heartbeat.unwrap_or(old.require_heartbeat);
        let duration = match input.heartbeat_duration.as_deref() {
            None => old.heartbeat_duration_seconds,
            Some(text) => parse_optional_duration(Some(text))
                .map_err(|e| Error::bad_input(format!("heartbeat duration: {}", e.message)))?,
        };
        let h = check_heartbeat(
            require,
            Heartbeat {
                duration,
                cull: input
                    .heartbeat_cull_strategy
                    .unwrap_or(old.heartbeat_cull_strategy),
                resurrection: input
                    .heartbeat_resurrection_strategy
                    .unwrap_or(old.heartbeat_resurrection_strategy),
                basis: input.heartbeat_basis.unwrap_or(old.heartbeat_basis),
            },
        )?;
        let settings = |require: bool, h: &Heartbeat| {
            serde_json::json!({
                "requireHeartbeat": require, "heartbeatDurationSeconds": h.duration,
                "heartbeatCullStrategy": h.cull.as_str(),
                "heartbeatResurrectionStrategy": h.resurrection.as_str(),
                "heartbeatBasis": h.basis.as_str(),
            })
        };
        let before = settings(
            old.require_heartbeat,
            &Heartbeat {
                duration: old.heartbeat_duration_seconds,
                cull: old.heartbeat_cull_strategy,
                resurrection: old.heartbeat_resurrection_strategy,
                basis: old.heartbeat_basis,
            },
        );
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.immediate_transaction()?;
        sql::set_heartbeat(
            tx.db(),
            &old.id,
            require,
            h.duration,
            h.cull,
            h.resurrection,
            h.basis,
        )?;
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action: "policy.heartbeat",
                subject_type: Some("policy"),
                subject_id: Some(&old.id),
                detail: serde_json::json!({
                    "name": old.name, "before": before, "after": settings(require, &h),
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        self.find_policy(&old.id)
    }

    /// Every policy, by product then name.
    pub fn list_policies(&self) -> Result<Vec<Policy>> {
        sql::policies(self.store.db())
    }

    /// A policy by id or unique name.
    pub fn find_policy(&self, reference: &str) -> Result<Policy> {
        let reference = reference.trim();
        let mut rows = sql::policies_named(self.store.db(), reference)?;
        if let Some(i) = rows.iter().position(|p| p.id == reference) {
            return Ok(rows.swap_remove(i));
        }
        match rows.len() {
            0 => Err(Error::not_found(format!(
                "no policy with id or name {reference:?}"
            ))),
            1 => Ok(rows.remove(0)),
            n => Err(Error::bad_input(format!(
                "{n} policies are named {reference:?}; use the id"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{seats_for_new, seats_on_record};

    #[test]
    fn node_locked_means_one_machine() {
        assert_eq!(seats_for_new(false, None).unwrap(), Some(1));
        assert_eq!(seats_for_new(false, Some(1)).unwrap(), Some(1));
        assert_eq!(seats_for_new(true, None).unwrap(), None);
        assert_eq!(seats_for_new(true, Some(7)).unwrap(), Some(7));
        for bad in [
            (false, Some(2)),
            (false, Some(i64::MAX)),
            (true, Some(0)),
            (false, Some(-1)),
        ] {
            assert!(seats_for_new(bad.0, bad.1).is_err(), "{bad:?}");
        }
        assert!(seats_for_new(false, Some(2))
            .unwrap_err()
            .message
            .contains("--floating"));
        // Rows written before the rule read as what activation enforced.
        assert_eq!(seats_on_record(false, None), Some(1));
        assert_eq!(seats_on_record(false, Some(3)), Some(1));
        assert_eq!(seats_on_record(true, None), None);
        assert_eq!(seats_on_record(true, Some(3)), Some(3));
    }
}
