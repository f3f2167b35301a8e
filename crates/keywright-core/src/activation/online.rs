//! Online activation: what the activation server (`keywright-server`) asks of the
//! store. A product plays mini-key-server's "application", a license its "key", an
//! activation is a machine row on the license (the hwid is its fingerprint).
//!
//! The seat rules are the air-gapped ones (`activation/machines.rs`): node-locked = 1 seat,
//! floating = max machines, none = unlimited; suspended, revoked or expired licenses
//! activate nothing; an hwid already active takes no second seat. The seat count and
//! the insert happen in one IMMEDIATE transaction with the audit row, so concurrent
//! activations (in this process or another one on the same store) never oversell.
//!
//! Every request the server answers is also recorded in `server_events`
//! ([`Keywright::record_server_events`], [`Keywright::server_events`]).

use jiff::Timestamp;
use keywright_license::issue::SigningKey as PrivateKey;
use keywright_license::ValidationCode;
use serde::Serialize;
use ts_rs::TS;

pub use super::validation::{KeygenCode, ScopedValidation, ValidationScope};

use super::heartbeat::cull_license;
use super::machines::{check_fingerprint, is_expired, seats_allowed};
use super::model::{Machine, MachineStatus};
use super::sql::{self, MachineFacts};
use crate::audit::{self, Event};
use crate::catalog::{HeartbeatBasis, Product};
use crate::error::{ErrorCode, Result};
use crate::issuing::{License, LicenseStatus};
use crate::keys::SigningKey;
use crate::{clean, stamp, Keywright};

/// Why a license is or is not good online. The names are the verifier's
/// [`ValidationCode`]s where one exists (`VALID`, `SUSPENDED`, `EXPIRED`,
/// `FINGERPRINT_MISMATCH`, `PRODUCT_MISMATCH`) and Keygen's validation codes for what
/// only a server can know (`NOT_FOUND`, `NO_MACHINE`), plus `REVOKED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OnlineReason {
    /// Known, active, not expired (and activated on the machine, if one was named).
    Valid,
    /// No license with this key in the store.
    NotFound,
    /// The license belongs to another product than the `app_id` given.
    ProductMismatch,
    /// The license is suspended.
    Suspended,
    /// The license is revoked.
    Revoked,
    /// The license has expired.
    Expired,
    /// The machine is not activated on this license.
    NoMachine,
    /// The machine is activated, but on another license.
    FingerprintMismatch,
}

impl OnlineReason {
    /// The SCREAMING_SNAKE_CASE name sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => ValidationCode::Valid.as_str(),
            Self::NotFound => "NOT_FOUND",
            Self::ProductMismatch => ValidationCode::ProductMismatch.as_str(),
            Self::Suspended => ValidationCode::Suspended.as_str(),
            Self::Revoked => "REVOKED",
            Self::Expired => ValidationCode::Expired.as_str(),
            Self::NoMachine => "NO_MACHINE",
            Self::FingerprintMismatch => ValidationCode::FingerprintMismatch.as_str(),
        }
    }

    /// Whether this is [`OnlineReason::Valid`].
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

/// The answer to a check or validation.
#[derive(Debug, Clone)]
pub struct OnlineVerdict {
    /// Why it is (not) valid.
    pub reason: OnlineReason,
    /// The license, when the key is known.
    pub license: Option<License>,
    /// The product whose key signs the answer: the license's, else the one `app_id`
    /// names.
    pub product: Option<Product>,
    /// The active machine matched, if any.
    pub machine_id: Option<String>,
}

/// What an online activation asks for (mini-key-server's arguments).
#[derive(Debug, Clone, Default)]
pub struct OnlineActivation {
    /// The license key (`token`).
    pub token: String,
    /// The product id or code (`app_id`); when given, the license must belong to it.
    pub app_id: Option<String>,
    /// The machine's name (`machine`), stored as its hostname.
    pub machine: Option<String>,
    /// The logged-in user (`user`).
    pub user: Option<String>,
    /// What identifies the machine (`hwid`): the machine's fingerprint.
    pub hwid: String,
    /// The machine's display name (Keygen's `name`).
    pub name: Option<String>,
    /// The machine's platform (Keygen's `platform`).
    pub platform: Option<String>,
    /// The client's address, for the audit row.
    pub ip: Option<String>,
    /// Refuse a fingerprint already active on the license
    /// ([`ActivationOutcome::AlreadyActive`], Keygen's `FINGERPRINT_TAKEN`) instead of
    /// answering it again without a second seat (mini-key-server's way).
    pub refuse_active: bool,
}

/// The result of an online activation.
// Returned once per request and matched at once: boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ActivationOutcome {
    /// Activated (or already active: no second seat was taken).
    Activated {
        /// The machine row.
        machine: Machine,
        /// Seats left after this activation; `None` = unlimited.
        remaining: Option<i64>,
        /// The hwid was already active on the license.
        already_active: bool,
        /// The license's product.
        product: Product,
        /// The license.
        license: License,
    },
    /// The fingerprint is already active on the license and the request asked to
    /// refuse that ([`OnlineActivation::refuse_active`]); nothing was written.
    AlreadyActive {
        /// The active machine.
        machine: Machine,
        /// The license's product.
        product: Product,
        /// The license.
        license: License,
    },
    /// Every seat is taken.
    OutOfSeats {
        /// Seats allowed.
        allowed: i64,
        /// The license's product.
        product: Product,
        /// The license.
        license: License,
    },
    /// Unknown key, another product's key, or a license that may not activate.
    Refused {
        /// Why.
        reason: OnlineReason,
        /// The product that signs the answer, when known.
        product: Option<Product>,
        /// The license, when the key is known.
        license: Option<License>,
    },
}

/// One request the activation server answered.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerEvent {
    /// Position, from 1.
    #[ts(type = "number")]
    pub seq: i64,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// `check`, `activate` or `validate`.
    pub endpoint: String,
    /// The license, when the key was known.
    pub license_id: Option<String>,
    /// The machine row involved, if any.
    pub machine_id: Option<String>,
    /// The product that answered, if known.
    pub product_id: Option<String>,
    /// The machine name the client sent.
    pub machine: Option<String>,
    /// The user the client sent.
    pub user: Option<String>,
    /// The hwid / machine id the client sent.
    pub hwid: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// `ok`, or the reason (`NOT_FOUND`, `OUT_OF_ACTIVATIONS`, ...).
    pub result: String,
}

/// Whether the window's activation server runs, and where.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// It is listening.
    pub running: bool,
    /// `http://host:port` it listens on, when running.
    pub address: Option<String>,
    /// When it was started (RFC 3339), when running.
    pub started_at: Option<String>,
}

/// A request to record (see [`ServerEvent`]).
#[derive(Debug, Clone, Default)]
pub struct NewServerEvent {
    /// When the request was answered.
    pub at: Timestamp,
    /// `check`, `activate` or `validate`.
    pub endpoint: String,
    /// The license, when the key was known.
    pub license_id: Option<String>,
    /// The machine row involved, if any.
    pub machine_id: Option<String>,
    /// The product that answered, if known.
    pub product_id: Option<String>,
    /// The machine name the client sent.
    pub machine: Option<String>,
    /// The user the client sent.
    pub user: Option<String>,
    /// The hwid / machine id the client sent.
    pub hwid: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// `ok`, or the reason.
    pub result: String,
}

/// Text the server stores from clients is cut to this many characters.
const MAX_EVENT_TEXT: usize = 255;

/// Client text as the request log keeps it: trimmed, cut, and with any control
/// character replaced (the server refuses such requests before they are logged; this
/// keeps a caller that did not from storing a terminal escape).
fn cut(text: Option<&str>) -> Option<String> {
    clean(text)
        .map(|t| crate::text::defuse_line(&t.chars().take(MAX_EVENT_TEXT).collect::<String>()))
}

/// The license's state as a reason: suspended, revoked, expired or valid.
fn license_state(license: &License, now: Timestamp) -> Result<OnlineReason> {
    Ok(match license.status {
        LicenseStatus::Suspended => OnlineReason::Suspended,
        LicenseStatus::Revoked => OnlineReason::Revoked,
        LicenseStatus::Active if is_expired(license, now)? => OnlineReason::Expired,
        LicenseStatus::Active => OnlineReason::Valid,
    })
}

impl Keywright {
    /// The product's active signing key, public and private halves, read from the
    /// keychain (the server caches it). Refused like every signing operation when
    /// the key is retired or the clock was set back.
    pub fn product_signer(
        &self,
        product_id: &str,
        now: Timestamp,
    ) -> Result<(Product, SigningKey, PrivateKey)> {
        let product = self.find_product(product_id)?;
        let (key, private) = self.signer(&product.signing_key_id, now)?;
        Ok((product, key, private))
    }

    /// The product `app_id` names (id or code), if any.
    fn app(&self, app_id: Option<&str>) -> Result<Option<Product>> {
        let Some(app_id) = clean(app_id) else {
            return Ok(None);
        };
        match self.find_product(&app_id) {
            Ok(product) => Ok(Some(product)),
            Err(e) if e.code == ErrorCode::NotFound || e.code == ErrorCode::BadInput => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The license with exactly this key, if any.
    fn license_by_token(&self, token: &str) -> Result<Option<License>> {
        match self.license_for_key(token) {
            Ok(license) => Ok(Some(license)),
            Err(e) if e.code == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks a license key online (mini-key-server's `/api/check`, and `/api/validate`
    /// without `app_id`). `app_id`, when given, must name the license's product.
    /// `machine` (an hwid or a machine id), when given, must be active on the license.
    pub fn online_check(
        &self,
        token: &str,
        app_id: Option<&str>,
        machine: Option<&str>,
        now: Timestamp,
    ) -> Result<OnlineVerdict> {
        let app = self.app(app_id)?;
        let app_given = clean(app_id).is_some();
        let verdict = |reason, license, product, machine_id| OnlineVerdict {
            reason,
            license,
            product,
            machine_id,
        };
        let Some(license) = self.license_by_token(token)? else {
            return Ok(verdict(OnlineReason::NotFound, None, app, None));
        };
        if app_given && app.as_ref().is_none_or(|p| p.id != license.product_id) {
            // The answer is signed by the product the client trusts, not the license's.
            return Ok(verdict(OnlineReason::ProductMismatch, None, app, None));
        }
        let product = match app {
            Some(p) => p,
            None => self.find_product(&license.product_id)?,
        };
        let state = license_state(&license, now)?;
        if !state.is_valid() {
            return Ok(verdict(state, Some(license), Some(product), None));
        }
        let Some(machine) = clean(machine) else {
            return Ok(verdict(state, Some(license), Some(product), None));
        };
        let db = self.store.db();
        if let Some(id) = sql::active_on_license(db, &machine, &license.id)? {
            return Ok(verdict(
                OnlineReason::Valid,
                Some(license),
                Some(product),
                Some(id),
            ));
        }
        let reason = if sql::active_anywhere(db, &machine)? {
            OnlineReason::FingerprintMismatch
        } else {
            OnlineReason::NoMachine
        };
        Ok(verdict(reason, Some(license), Some(product), None))
    }

    /// Activates a machine online (mini-key-server's `/api/activate`). The seat count
    /// and the insert (or, for an hwid already active, the refresh) happen in one
    /// IMMEDIATE transaction with the `machine.activate` audit row; the license is
    /// read inside it too, so a suspension committed meanwhile is seen.
    pub fn online_activate(
        &mut self,
        input: &OnlineActivation,
        now: Timestamp,
    ) -> Result<ActivationOutcome> {
        // The names are mini-key-server's, as the client sent them.
        crate::text::check_line("hwid", input.hwid.trim())?;
        let hwid = check_fingerprint(&input.hwid)?;
        let hostname = crate::text::line("machine", input.machine.as_deref())?;
        let user = crate::text::line("user", input.user.as_deref())?;
        let name = crate::text::line("name", input.name.as_deref())?;
        let platform = crate::text::line("platform", input.platform.as_deref())?;
        let hostname = cut(hostname.as_deref());
        let user = cut(user.as_deref());
        let name = cut(name.as_deref());
        let platform = cut(platform.as_deref());
        let app = self.app(input.app_id.as_deref())?;
        let app_given = clean(input.app_id.as_deref()).is_some();
        let at = stamp(now);
        let audit_key = self.audit_key()?;
        let tx = self.store.shared_transaction()?;
        let refused = |reason, product, license| ActivationOutcome::Refused {
            reason,
            product,
            license,
        };
        let Some(license) = self.license_by_token(&input.token)? else {
            return Ok(refused(OnlineReason::NotFound, app, None));
        };
        if app_given && app.as_ref().is_none_or(|p| p.id != license.product_id) {
            return Ok(refused(OnlineReason::ProductMismatch, app, None));
        }
        let policy = self.find_policy(&license.policy_id)?;
        let product = match app {
            Some(p) => p,
            None => self.find_product(&license.product_id)?,
        };
        let state = license_state(&license, now)?;
        if !state.is_valid() {
            return Ok(refused(state, Some(product), Some(license)));
        }
        let allowed = seats_allowed(&policy);
        // Dead machines free their seats before they are counted, in this transaction.
        let culled = cull_license(tx.db(), &audit_key, "server", &policy, &license.id, now)? > 0;
        let existing = sql::active_with_fingerprint(tx.db(), &license.id, &hwid)?;
        let used = sql::seats_used(tx.db(), &license.id)?;
        let already_active = existing.is_some();
        // A refusal keeps the culls it made.
        if let (Some(machine), true) = (&existing, input.refuse_active) {
            if culled {
                tx.commit()?;
                self.committed();
            }
            return Ok(ActivationOutcome::AlreadyActive {
                machine: machine.clone(),
                product,
                license,
            });
        }
        if let (Some(max), false) = (allowed, already_active) {
            if used >= max {
                if culled {
                    tx.commit()?;
                    self.committed();
                }
                return Ok(ActivationOutcome::OutOfSeats {
                    allowed: max,
                    product,
                    license,
                });
            }
        }
        let detail = |seats_used: i64| {
            serde_json::json!({
                "license": license.id, "fingerprint": hwid, "via": "server",
                "hostname": hostname, "osUser": user, "name": name, "platform": platform,
                "ip": input.ip,
                "seats": { "used": seats_used, "allowed": allowed },
            })
        };
        let facts = MachineFacts {
            name: name.as_deref(),
            hostname: hostname.as_deref(),
            platform: platform.as_deref(),
            os_user: user.as_deref(),
            ..MachineFacts::default()
        };
        let (id, action, now_used) = match existing {
            Some(machine) => {
                sql::refresh(tx.db(), &machine.id, &facts)?;
                (machine.id, "machine.reactivate", used)
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                sql::insert(tx.db(), &id, &license.id, &hwid, &facts, &at)?;
                if policy.heartbeat_basis == HeartbeatBasis::FromCreation {
                    sql::set_heartbeat(tx.db(), &id, &at)?;
                }
                (id, "machine.activate", used + 1)
            }
        };
        audit::append(
            tx.db(),
            &audit_key,
            &at,
            &self.actor,
            &Event {
                action,
                subject_type: Some("machine"),
                subject_id: Some(&id),
                detail: detail(now_used),
                ..Event::default()
            },
        )?;
        tx.commit()?;
        self.committed();
        let machine = self.find_machine(&id)?;
        debug_assert_eq!(machine.status, MachineStatus::Active);
        Ok(ActivationOutcome::Activated {
            machine,
            remaining: allowed.map(|max| (max - now_used).max(0)),
            already_active,
            product,
            license,
        })
    }

    /// Records requests the server answered, in one transaction (the server batches
    /// them off the request path). Text the client sent is trimmed and cut to 255
    /// characters, control characters replaced by U+FFFD. Returns how many rows were written.
    pub fn record_server_events(&self, events: &[NewServerEvent]) -> Result<usize> {
        let events: Vec<NewServerEvent> = events
            .iter()
            .map(|event| NewServerEvent {
                machine: cut(event.machine.as_deref()),
                user: cut(event.user.as_deref()),
                hwid: cut(event.hwid.as_deref()),
                ip: cut(event.ip.as_deref()),
                ..event.clone()
            })
            .collect();
        let tx = self.store.shared_transaction()?;
        sql::insert_server_events(tx.db(), &events)?;
        tx.commit()?;
        Ok(events.len())
    }

    /// The most recent requests the server answered, newest first (at most `limit`).
    pub fn server_events(&self, limit: usize) -> Result<Vec<ServerEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        sql::server_events(self.store.db(), limit)
    }
}
