//! A policy's key options: which dataset its signed keys embed (Keygen's default one
//! or a custom `{{…}}` template), or unsigned human-typable keys instead.
//!
//! Templates are checked when the policy is created, by rendering them for a sample
//! license: an unknown placeholder, a rendering that is empty, a rendering that looks
//! like JSON but is not, a JWT whose claims are not a JSON object, or an
//! RSA_2048_PKCS1_ENCRYPT dataset above 245 bytes is refused with
//! [`ErrorCode::TemplateInvalid`] naming the placeholder or the rule. Issuing checks
//! the real rendering again (a customer's email can be longer than the sample's).

use jiff::Timestamp;
use keywright_license::issue::{
    human_key, render_template, HumanKeyStyle, TemplateVars, MAX_ENCRYPT_DATASET,
    TEMPLATE_VARIABLES,
};
use keywright_license::{
    keygen_expiry, parse_time, EncryptDataset, FormatError, IdRef, JwtClaims, KeyDataset,
    LicenseRef, PolicyRef, UserRef,
};

use super::model::{KeyTemplatePreview, NewPolicy, Product, Scheme};
use crate::duration::parse_optional_duration;
use crate::error::{Error, ErrorCode, Result};
use crate::{stamp, Keywright};

/// Longest key template accepted, in bytes.
pub(crate) const MAX_TEMPLATE_BYTES: usize = 8 * 1024;

/// Sample values a template is checked and previewed with.
const SAMPLE_POLICY_ID: &str = "00000000-0000-4000-8000-000000000001";
const SAMPLE_LICENSE_ID: &str = "00000000-0000-4000-8000-000000000002";
const SAMPLE_USER_ID: &str = "00000000-0000-4000-8000-000000000003";
const SAMPLE_EMAIL: &str = "customer@example.com";

/// A policy's checked key options.
#[derive(Debug, Clone)]
pub(crate) struct KeyOptions {
    /// The scheme (for unsigned policies: the product key's default, used only to
    /// derive the license file algorithm).
    pub scheme: Scheme,
    /// The template, if any (never for unsigned keys).
    pub template: Option<String>,
    /// Unsigned human keys.
    pub unsigned: bool,
}

/// What a license's key is made from.
pub(crate) struct LicenseFacts<'a> {
    pub account: &'a str,
    pub product: &'a str,
    pub policy: &'a str,
    pub duration: Option<i64>,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub id: String,
    pub created: Timestamp,
    pub expiry: Option<Timestamp>,
}

fn template_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::TemplateInvalid, message)
}

/// The human key style of an unsigned policy's licenses: the product code (letters
/// and digits, at most 16) as a prefix, then 5 groups of 5 characters (≈ 120 bits).
pub(crate) fn human_style(product_code: &str) -> HumanKeyStyle {
    let prefix: String = product_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(16)
        .collect();
    HumanKeyStyle::Segmented {
        prefix: (!prefix.is_empty()).then_some(prefix),
        groups: 5,
        group_len: 5,
    }
}

/// Renders `template` for `facts`, then checks the result fits `scheme`.
pub(crate) fn render_checked(
    scheme: Scheme,
    template: &str,
    facts: &LicenseFacts<'_>,
) -> Result<String> {
    let vars = TemplateVars {
        account: facts.account.to_owned(),
        product: facts.product.to_owned(),
        policy: facts.policy.to_owned(),
        user: facts.customer_id.clone(),
        email: facts.email.clone(),
        created: facts.created,
        expiry: facts.expiry,
        duration: facts.duration,
        id: facts.id.clone(),
    };
    let rendered = render_template(template, &vars).map_err(|e| match e {
        FormatError::UnknownTemplateVariable(name) => template_error(format!(
            "the key template has an unknown placeholder {{{{{name}}}}}; use one of {}",
            TEMPLATE_VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(" ")
        )),
        other => other.into(),
    })?;
    if rendered.trim().is_empty() {
        return Err(template_error(
            "the key template renders an empty dataset; a signed key needs something to sign",
        ));
    }
    let json = serde_json::from_str::<serde_json::Value>(&rendered);
    if scheme == Scheme::RsaJwtRs256 {
        match &json {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => {
                return Err(template_error(
                    "RSA_2048_JWT_RS256 uses the template as the JWT's claims: it must render a JSON object ({...})",
                ))
            }
            Err(e) => {
                return Err(template_error(format!(
                    "RSA_2048_JWT_RS256 uses the template as the JWT's claims, but it renders invalid JSON: {e}"
                )))
            }
        }
    }
    let trimmed = rendered.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Err(e) = json {
            return Err(template_error(format!(
                "the key template looks like JSON but renders invalid JSON: {e} \
                 (values are inserted as they are: put string placeholders inside quotes)"
            )));
        }
    }
    if scheme == Scheme::RsaEncrypt && rendered.len() > MAX_ENCRYPT_DATASET {
        return Err(template_error(format!(
            "RSA_2048_PKCS1_ENCRYPT carries at most {MAX_ENCRYPT_DATASET} bytes; the key template renders {} bytes",
            rendered.len()
        )));
    }
    Ok(rendered)
}

/// The dataset a signed key embeds: the rendered template, or Keygen's default for
/// the scheme (the full dataset, the JWT claims, or the short ENCRYPT dataset).
pub(crate) fn embedded_dataset(
    scheme: Scheme,
    template: Option<&str>,
    facts: &LicenseFacts<'_>,
) -> Result<String> {
    if let Some(template) = template {
        return render_checked(scheme, template, facts);
    }
    let license = LicenseRef {
        id: facts.id.clone(),
        created: facts.created,
        expiry: facts.expiry,
    };
    let bytes = match scheme {
        Scheme::RsaJwtRs256 => {
            JwtClaims::for_license(&uuid::Uuid::new_v4().to_string(), facts.account, &license)
                .to_json()
        }
        Scheme::RsaEncrypt => EncryptDataset {
            id: facts.id.clone(),
            created: facts.created,
            expiry: facts.expiry,
            duration: facts.duration,
        }
        .to_json(),
        _ => KeyDataset {
            account: IdRef {
                id: facts.account.to_owned(),
            },
            product: IdRef {
                id: facts.product.to_owned(),
            },
            policy: PolicyRef {
                id: facts.policy.to_owned(),
                duration: facts.duration,
            },
            user: facts
                .customer_id
                .clone()
                .zip(facts.email.clone())
                .map(|(id, email)| UserRef { id, email }),
            license,
        }
        .to_json(),
    };
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

impl Keywright {
    /// Checks a policy draft's scheme, template and unsigned choice against its
    /// product (`duration` already parsed), rendering the template for a sample license.
    pub(crate) fn key_options(
        &self,
        input: &NewPolicy,
        product: &Product,
        duration: Option<i64>,
        now: Timestamp,
    ) -> Result<KeyOptions> {
        let key = self.find_signing_key(&product.signing_key_id)?;
        let template = match input.key_template.as_deref() {
            Some(t) if !t.trim().is_empty() => Some(t.to_owned()),
            _ => None,
        };
        if input.unsigned_key {
            if let Some(scheme) = input.scheme {
                return Err(Error::bad_input(format!(
                    "an unsigned key has no scheme; drop {} or the unsigned-key option",
                    scheme.as_str()
                )));
            }
            if template.is_some() {
                return Err(Error::bad_input(
                    "a key template is only for signed keys; an unsigned key is random and carries no dataset",
                ));
            }
        }
        let scheme = input
            .scheme
            .unwrap_or_else(|| Scheme::default_for(key.algorithm));
        if scheme.key_algorithm() != key.algorithm {
            return Err(Error::bad_input(format!(
                "scheme {} needs a {} signing key, but product {} is signed by {} ({})",
                scheme.as_str(),
                scheme.key_algorithm().as_str(),
                product.name,
                key.name,
                key.algorithm.as_str()
            )));
        }
        if let Some(t) = &template {
            crate::text::check_multiline("key template", t)?;
            if t.len() > MAX_TEMPLATE_BYTES {
                return Err(template_error(format!(
                    "the key template is {} bytes; at most {MAX_TEMPLATE_BYTES}",
                    t.len()
                )));
            }
            render_checked(scheme, t, &self.sample_facts(product, None, duration, now)?)?;
        }
        Ok(KeyOptions {
            scheme,
            template,
            unsigned: input.unsigned_key,
        })
    }

    /// A sample license of a policy (not stored) to check and preview templates with.
    fn sample_facts<'a>(
        &'a self,
        product: &'a Product,
        policy_id: Option<&'a str>,
        duration: Option<i64>,
        now: Timestamp,
    ) -> Result<LicenseFacts<'a>> {
        let created = parse_time(&stamp(now))?;
        Ok(LicenseFacts {
            account: self.store.store_id(),
            product: &product.id,
            policy: policy_id.unwrap_or(SAMPLE_POLICY_ID),
            duration,
            customer_id: Some(SAMPLE_USER_ID.to_owned()),
            email: Some(SAMPLE_EMAIL.to_owned()),
            id: SAMPLE_LICENSE_ID.to_owned(),
            created,
            expiry: duration.map(|d| keygen_expiry(created, d)).transpose()?,
        })
    }

    /// What keys of a policy draft would embed, for a sample license issued `now` to
    /// `customer@example.com`: the rendered template or Keygen's default dataset (or,
    /// for unsigned keys, a sample key). Checks the draft as creating it would; signs
    /// nothing, reads no private key and writes nothing.
    pub fn preview_key_template(
        &self,
        input: &NewPolicy,
        now: Timestamp,
    ) -> Result<KeyTemplatePreview> {
        let product = self.find_product(&input.product_id)?;
        let duration = parse_optional_duration(input.duration.as_deref())?;
        let options = self.key_options(input, &product, duration, now)?;
        let dataset = if options.unsigned {
            human_key(&human_style(&product.code), &mut rand_core::OsRng)?
        } else {
            let facts = self.sample_facts(&product, None, duration, now)?;
            embedded_dataset(options.scheme, options.template.as_deref(), &facts)?
        };
        Ok(KeyTemplatePreview {
            bytes: dataset.len() as u64,
            dataset,
            unsigned: options.unsigned,
            scheme: (!options.unsigned).then_some(options.scheme),
        })
    }
}
