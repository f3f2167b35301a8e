//! A product's message template: a subject and a plain-text body with `{{…}}`
//! placeholders, rendered for one customer's licenses. An unknown placeholder is
//! refused when the template is saved, not when a message is sent.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, ErrorCode, License, Result};

/// The placeholders a template may use.
pub const TEMPLATE_PLACEHOLDERS: [&str; 6] = [
    "customer_name",
    "product",
    "policy",
    "key",
    "expiry",
    "support_message",
];

/// The longest subject and body saved (characters).
const MAX_SUBJECT: usize = 500;
const MAX_BODY: usize = 20_000;

/// A message template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct MailTemplate {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl Default for MailTemplate {
    fn default() -> Self {
        Self {
            subject: "Your license for {{product}}".into(),
            body: "Hello {{customer_name}},\n\n\
                   Thank you for your order. Here is your license key for {{product}} ({{policy}}):\n\n\
                   {{key}}\n\n\
                   Expires: {{expiry}}\n\
                   The license file is attached.\n\n\
                   {{support_message}}\n"
                .into(),
        }
    }
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailPreview {
    /// The subject, on one line.
    pub subject: String,
    /// The body.
    pub body: String,
}

/// Replaces each `{{name}}` with `value(name)`; an unknown name is an error.
pub fn render(text: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(Error::new(
                ErrorCode::TemplateInvalid,
                "a placeholder is not closed: write {{name}}",
            ));
        };
        let name = after[..end].trim();
        match value(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(Error::new(
                    ErrorCode::TemplateInvalid,
                    format!(
                        "unknown placeholder {{{{{name}}}}}: use {}",
                        TEMPLATE_PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{{{p}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl MailTemplate {
    /// Checks lengths and placeholders.
    pub fn check(&self) -> Result<()> {
        if self.subject.trim().is_empty() {
            return Err(Error::bad_input("the subject is empty"));
        }
        if self.subject.chars().count() > MAX_SUBJECT || self.body.chars().count() > MAX_BODY {
            return Err(Error::bad_input(format!(
                "a template is at most {MAX_SUBJECT} characters of subject and {MAX_BODY} of body"
            )));
        }
        self.render_sample().map(|_| ())
    }

    fn render_with(&self, value: &dyn Fn(&str) -> Option<String>) -> Result<MailPreview> {
        Ok(MailPreview {
            subject: crate::issuing::mail::one_line(&render(&self.subject, value)?),
            body: render(&self.body, value)?,
        })
    }

    /// Rendered with sample values (the Settings preview).
    pub fn render_sample(&self) -> Result<MailPreview> {
        self.render_with(&|name| {
            Some(
                match name {
                    "customer_name" => "Ada Lovelace",
                    "product" => "Analytical Engine",
                    "policy" => "Pro, 1 year",
                    "key" => "key/eyJhY2NvdW50Ijp7ImlkIjoiMSJ9fQ.c2lnbmF0dXJl",
                    "expiry" => "2027-12-31T00:00:00.000Z",
                    "support_message" => "Questions? Write to support@example.com.",
                    _ => return None,
                }
                .to_owned(),
            )
        })
    }

    /// Rendered for one customer's licenses (several keys, one per line).
    pub(crate) fn render_for(
        &self,
        licenses: &[&License],
        support: Option<&str>,
    ) -> Result<MailPreview> {
        let first = licenses
            .first()
            .ok_or_else(|| Error::bad_input("no license to send"))?;
        let join = |f: &dyn Fn(&License) -> String| {
            let mut values: Vec<String> = licenses.iter().map(|l| f(l)).collect();
            values.dedup();
            values.join("\n")
        };
        self.render_with(&|name| {
            Some(match name {
                "customer_name" => first
                    .customer_name
                    .clone()
                    .or_else(|| first.customer_email.clone())
                    .unwrap_or_else(|| "customer".into()),
                "product" => first.product_name.clone(),
                "policy" => first.policy_name.clone(),
                "key" => join(&|l| l.key.clone()),
                "expiry" => join(&|l| l.expiry.clone().unwrap_or_else(|| "never".into())),
                "support_message" => support.unwrap_or_default().to_owned(),
                _ => return None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_render_and_unknown_ones_are_refused() {
        let t = MailTemplate {
            subject: "Hi {{ customer_name }}".into(),
            body: "{{key}} / {{nope}}".into(),
        };
        let e = t.render_sample().unwrap_err();
        assert_eq!(e.code, ErrorCode::TemplateInvalid);
        assert!(e.message.contains("{{nope}}"), "{}", e.message);
        let ok = MailTemplate::default().render_sample().unwrap();
        assert_eq!(ok.subject, "Your license for Analytical Engine");
        assert!(ok.body.starts_with("Hello Ada Lovelace,"));
        let open = MailTemplate {
            subject: "x {{key".into(),
            body: String::new(),
        };
        assert_eq!(open.check().unwrap_err().code, ErrorCode::TemplateInvalid);
    }
}
