//! `keywright policy`: policies, the rules licenses are issued under.

use clap::{Args, Subcommand};
use jiff::Timestamp;
use keywright_core::{
    Error, ExpirationStrategy, HeartbeatBasis, HeartbeatCullStrategy,
    HeartbeatResurrectionStrategy, Keywright, NewPolicy, Policy, Scheme, SetPolicyHeartbeat,
};
use serde_json::json;

use crate::output::{to_json, Failure, Output};

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// Create a policy for a product.
    Create(Box<PolicyCreate>),
    /// Change a policy's heartbeat settings (what is not given stays).
    Edit(Box<PolicyEdit>),
    /// List policies.
    List,
    /// Show one policy, with its key template or unsigned-key setting.
    Show {
        /// Policy id or name.
        policy: String,
    },
}

#[derive(Args)]
pub(crate) struct PolicyCreate {
    /// Product id, code or name.
    #[arg(long)]
    product: String,
    #[arg(long)]
    name: String,
    /// Keygen key scheme: ED25519_SIGN, RSA_2048_PKCS1_PSS_SIGN_V2,
    /// RSA_2048_PKCS1_SIGN_V2, RSA_2048_PKCS1_ENCRYPT, RSA_2048_JWT_RS256,
    /// RSA_2048_PKCS1_PSS_SIGN, RSA_2048_PKCS1_SIGN or ECDSA_P256_SIGN
    /// (default: the product key's recommended one).
    #[arg(long, conflicts_with = "unsigned_key")]
    scheme: Option<String>,
    /// Keygen key template: the dataset signed into each key instead of Keygen's
    /// default one, with placeholders {{account}} {{product}} {{policy}} {{user}}
    /// {{email}} {{created}} {{expiry}} {{duration}} {{id}}, e.g.
    /// '{"id":"{{id}}","expiry":"{{expiry}}"}'. Checked now: an unknown placeholder
    /// or a rendering the scheme cannot carry is refused.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "unsigned_key")]
    template: Option<String>,
    /// Issue random, human-typable, unsigned keys (PRODUCT-XXXXX-XXXXX-...; no
    /// scheme): they cannot be verified offline on their own, only through a signed
    /// license file or online.
    #[arg(long)]
    unsigned_key: bool,
    /// License duration like 30d, 6mo, 1y (at most 100y); omitted = perpetual.
    #[arg(long)]
    duration: Option<String>,
    /// A number, or `unlimited`. Node-locked policies have exactly 1 machine (the
    /// default); more, or unlimited (the default with --floating), needs --floating.
    #[arg(long, value_name = "N|unlimited")]
    max_machines: Option<String>,
    /// Floating: usable on several machines (up to --max-machines).
    #[arg(long)]
    floating: bool,
    /// Encrypt license files with the license key.
    #[arg(long)]
    encrypt: bool,
    /// License file TTL like 30d, or `none`; default one month.
    #[arg(long)]
    ttl: Option<String>,
    /// Entitlement code (repeatable).
    #[arg(long = "entitlement", value_name = "CODE")]
    entitlements: Vec<String>,
    /// What an expired license may still do: RESTRICT_ACCESS (default) or
    /// REVOKE_ACCESS fail validation (EXPIRED); MAINTAIN_ACCESS or ALLOW_ACCESS keep
    /// it validating, flagged expired.
    #[arg(long, value_name = "STRATEGY")]
    expiration_strategy: Option<String>,
    /// Strict: a license file reporting more machines than allowed fails validation
    /// (TOO_MANY_MACHINES).
    #[arg(long)]
    strict: bool,
    /// Offline grace after a file's TTL, like 7d, or `none` (the default): the file
    /// keeps validating that long after it expires.
    #[arg(long, value_name = "DURATION")]
    grace: Option<String>,
    /// Forbid transferring a machine's seat to another fingerprint.
    #[arg(long)]
    no_transfer: bool,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
}

/// Keygen's heartbeat settings.
#[derive(Args)]
pub(crate) struct HeartbeatArgs {
    /// Machines must send heartbeat pings (Keygen's requireHeartbeat): one that has
    /// not pinged validates as HEARTBEAT_NOT_STARTED, one that stopped as
    /// HEARTBEAT_DEAD. Needs --heartbeat-duration.
    #[arg(long)]
    require_heartbeat: bool,
    /// How long a ping keeps a machine alive, like 10min or 1h (1 minute to 365
    /// days; Keygen's default 10 minutes when heartbeats are not required).
    #[arg(long, value_name = "DURATION")]
    heartbeat_duration: Option<String>,
    /// What happens to a dead machine: DEACTIVATE_DEAD (default: its seat is freed)
    /// or KEEP_DEAD.
    #[arg(long, value_name = "STRATEGY")]
    heartbeat_cull_strategy: Option<String>,
    /// Whether a dead machine may ping again: NO_REVIVE (default), 1_MINUTE_REVIVE,
    /// 2_MINUTE_REVIVE, 5_MINUTE_REVIVE, 10_MINUTE_REVIVE, 15_MINUTE_REVIVE or
    /// ALWAYS_REVIVE (needs KEEP_DEAD).
    #[arg(long, value_name = "STRATEGY")]
    heartbeat_resurrection_strategy: Option<String>,
    /// When a machine's heartbeat starts: FROM_FIRST_PING (default) or
    /// FROM_CREATION (the activation counts as the first ping).
    #[arg(long, value_name = "BASIS")]
    heartbeat_basis: Option<String>,
}

#[derive(Args)]
pub(crate) struct PolicyEdit {
    /// Policy id or name.
    policy: String,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
    /// Stop requiring heartbeats.
    #[arg(long, conflicts_with = "require_heartbeat")]
    no_require_heartbeat: bool,
}

/// The heartbeat strategies named on the command line, checked.
type Strategies = (
    Option<HeartbeatCullStrategy>,
    Option<HeartbeatResurrectionStrategy>,
    Option<HeartbeatBasis>,
);

fn strategies(h: &HeartbeatArgs) -> Result<Strategies, Error> {
    fn parse<T: Copy>(
        what: &str,
        text: Option<&str>,
        parse: fn(&str) -> Option<T>,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Result<Option<T>, Error> {
        text.map(|t| {
            parse(t).ok_or_else(|| {
                Error::bad_input(format!(
                    "unknown {what} {t:?}; use one of {}",
                    all.iter().map(|s| name(*s)).collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .transpose()
    }
    Ok((
        parse(
            "heartbeat cull strategy",
            h.heartbeat_cull_strategy.as_deref(),
            HeartbeatCullStrategy::parse,
            &HeartbeatCullStrategy::ALL,
            HeartbeatCullStrategy::as_str,
        )?,
        parse(
            "heartbeat resurrection strategy",
            h.heartbeat_resurrection_strategy.as_deref(),
            HeartbeatResurrectionStrategy::parse,
            &HeartbeatResurrectionStrategy::ALL,
            HeartbeatResurrectionStrategy::as_str,
        )?,
        parse(
            "heartbeat basis",
            h.heartbeat_basis.as_deref(),
            HeartbeatBasis::parse,
            &HeartbeatBasis::ALL,
            HeartbeatBasis::as_str,
        )?,
    ))
}

impl PolicyCommand {
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Create(_) | Self::Edit(_) => true,
            Self::List | Self::Show { .. } => false,
        }
    }

    /// What writes the store saves; nothing here writes a file.
    pub(crate) fn saves(&self) -> bool {
        self.writes_store()
    }
}

pub(crate) fn run(
    cmd: PolicyCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        PolicyCommand::Create(a) => create(*a, kw, now),
        PolicyCommand::Edit(a) => {
            let (cull, resurrection, basis) = strategies(&a.heartbeat)?;
            let require = match (a.heartbeat.require_heartbeat, a.no_require_heartbeat) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let p = kw.set_policy_heartbeat(
                &SetPolicyHeartbeat {
                    policy_id: a.policy,
                    require_heartbeat: require,
                    heartbeat_duration: a.heartbeat.heartbeat_duration,
                    heartbeat_cull_strategy: cull,
                    heartbeat_resurrection_strategy: resurrection,
                    heartbeat_basis: basis,
                },
                now,
            )?;
            let text = format!("Changed policy {:?} (id {})\n", p.name, p.id);
            Ok(Output::ok(to_json(&p), text))
        }
        PolicyCommand::Show { policy } => {
            let p = kw.find_policy(&policy)?;
            Ok(Output::ok(to_json(&p), policy_text(&p)))
        }
        PolicyCommand::List => {
            let policies = kw.list_policies()?;
            let text = policies
                .iter()
                .map(|p| {
                    let scheme = if p.unsigned_key {
                        "UNSIGNED"
                    } else {
                        p.scheme.as_str()
                    };
                    format!("{}  {}  {}\n", p.id, scheme, p.name)
                })
                .collect();
            Ok(Output::ok(json!({ "policies": policies }), text))
        }
    }
}

fn create(a: PolicyCreate, kw: &mut Keywright, now: Timestamp) -> Result<Output, Failure> {
    let scheme = a
        .scheme
        .as_deref()
        .map(|name| {
            Scheme::parse(name).ok_or_else(|| {
                Error::bad_input(format!(
                    "unknown scheme {name:?}; use one of {}",
                    keywright_core::SCHEMES.map(Scheme::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let expiration_strategy = a
        .expiration_strategy
        .as_deref()
        .map(|name| {
            ExpirationStrategy::parse(name).ok_or_else(|| {
                Error::bad_input(format!(
                    "unknown expiration strategy {name:?}; use one of {}",
                    ExpirationStrategy::ALL
                        .map(ExpirationStrategy::as_str)
                        .join(", ")
                ))
            })
        })
        .transpose()?;
    let max_machines = match a.max_machines.as_deref().map(str::trim) {
        None => None,
        Some(m) if m.eq_ignore_ascii_case("unlimited") => {
            if !a.floating {
                return Err(Error::bad_input(
                    "a node-locked policy has exactly one machine, so unlimited \
                     machines need a floating policy: add --floating",
                )
                .into());
            }
            None
        }
        Some(m) => Some(m.parse::<i64>().map_err(|_| {
            Error::bad_input(format!(
                "--max-machines takes a number or `unlimited`, not {m:?}"
            ))
        })?),
    };
    let (heartbeat_cull_strategy, heartbeat_resurrection_strategy, heartbeat_basis) =
        strategies(&a.heartbeat)?;
    let p = kw.create_policy(
        &NewPolicy {
            product_id: a.product,
            name: a.name,
            scheme,
            duration: a.duration,
            max_machines,
            floating: a.floating,
            file_ttl: a.ttl,
            encrypt: a.encrypt,
            entitlements: a.entitlements,
            key_template: a.template,
            unsigned_key: a.unsigned_key,
            expiration_strategy,
            strict: a.strict,
            offline_grace: a.grace,
            allow_transfer: Some(!a.no_transfer),
            require_heartbeat: a.heartbeat.require_heartbeat,
            heartbeat_duration: a.heartbeat.heartbeat_duration,
            heartbeat_cull_strategy,
            heartbeat_resurrection_strategy,
            heartbeat_basis,
        },
        now,
    )?;
    let text = format!("Created policy {:?} (id {})\n", p.name, p.id);
    Ok(Output::ok(to_json(&p), text))
}

/// `keywright policy show` as text.
fn policy_text(p: &Policy) -> String {
    let or = |v: Option<i64>, none: &str| v.map_or_else(|| none.to_owned(), |n| n.to_string());
    let mut text = format!(
        "Policy {:?} (id {})\n  product: {}\n",
        p.name, p.id, p.product_id
    );
    if p.unsigned_key {
        text.push_str(
            "  key: unsigned human key (no scheme; checked online or through a license file only)\n",
        );
    } else {
        text.push_str(&format!("  scheme: {}\n", p.scheme.as_str()));
        match &p.key_template {
            Some(t) => text.push_str(&format!("  key template: {t}\n")),
            None => text.push_str("  key template: none (Keygen's default dataset)\n"),
        }
    }
    text.push_str(&format!(
        "  duration: {}\n  max machines: {}\n  floating: {}\n  file TTL: {}\n  encrypt: {}\n  entitlements: {}\n",
        p.duration_seconds.map_or_else(|| "perpetual".to_owned(), |d| format!("{d} s")),
        or(p.max_machines, "unlimited"),
        p.floating,
        p.file_ttl_seconds.map_or_else(|| "never expires".to_owned(), |d| format!("{d} s")),
        p.encrypt,
        if p.entitlements.is_empty() { "none".to_owned() } else { p.entitlements.join(", ") },
    ));
    text.push_str(&format!(
        "  expiration strategy: {}\n  strict: {}\n  offline grace: {}\n  transfer: {}\n",
        p.expiration_strategy.as_str(),
        p.strict,
        p.offline_grace_seconds
            .map_or_else(|| "none".to_owned(), |d| format!("{d} s")),
        if p.allow_transfer {
            "allowed"
        } else {
            "not allowed"
        },
    ));
    text.push_str(&format!(
        "  heartbeat: {}, duration {} s, cull {}, resurrection {}, basis {}\n",
        if p.require_heartbeat {
            "required"
        } else {
            "not required"
        },
        p.heartbeat_seconds(),
        p.heartbeat_cull_strategy.as_str(),
        p.heartbeat_resurrection_strategy.as_str(),
        p.heartbeat_basis.as_str(),
    ));
    text
}
