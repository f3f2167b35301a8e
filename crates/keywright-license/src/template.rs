//! Keygen's key templates: `{{id}}`, `{{expiry}}`… in the key attribute of a license
//! whose policy uses a cryptographic scheme, replaced before the key is signed. Keygen
//! evaluates templates only for cryptographic keys; deciding that is the caller's job.
//!
//! Rules (Keygen documents the variables, not a grammar; these are ours):
//! - a tag is `{{` … `}}` on one line, spaces and tabs around the name allowed
//!   (`{{ id }}`); the name is case-sensitive;
//! - a tag naming anything other than Keygen's nine variables is an error naming it
//!   ([`FormatError::UnknownTemplateVariable`]), so a typo never ships in a signed key;
//! - a `{{` with no `}}` on the same line is plain text;
//! - values are inserted as they are, without escaping (a template producing JSON
//!   must be given JSON-safe values), and are not themselves expanded;
//! - a variable with no value (`user`, `email` of a license without a user;
//!   `expiry`, `duration` of a license that does not expire) becomes the empty
//!   string, as Keygen's documentation says;
//! - timestamps are written as Keygen writes them (`2022-03-22T12:46:18.217Z`), the
//!   duration as whole seconds.

use jiff::Timestamp;

use crate::error::FormatError;
use crate::time::format_time;

/// Keygen's template variable names, in its documentation's order.
pub const TEMPLATE_VARIABLES: [&str; 9] = [
    "account", "product", "policy", "user", "email", "created", "expiry", "duration", "id",
];

/// The values of Keygen's template variables for one license.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateVars {
    /// `{{account}}`: the account id.
    pub account: String,
    /// `{{product}}`: the product id.
    pub product: String,
    /// `{{policy}}`: the policy id.
    pub policy: String,
    /// `{{user}}`: the license's user id; empty when it has none.
    pub user: Option<String>,
    /// `{{email}}`: the license's user's email; empty when it has no user.
    pub email: Option<String>,
    /// `{{created}}`: when the license was created.
    pub created: Timestamp,
    /// `{{expiry}}`: when the license expires; empty when it does not.
    pub expiry: Option<Timestamp>,
    /// `{{duration}}`: the policy duration in seconds; empty when it does not expire.
    pub duration: Option<i64>,
    /// `{{id}}`: the license id.
    pub id: String,
}

impl TemplateVars {
    /// The value of variable `name`, or `None` when Keygen has no such variable.
    pub fn value(&self, name: &str) -> Option<String> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(match name {
            "account" => self.account.clone(),
            "product" => self.product.clone(),
            "policy" => self.policy.clone(),
            "user" => text(&self.user),
            "email" => text(&self.email),
            "created" => format_time(self.created),
            "expiry" => self.expiry.map(format_time).unwrap_or_default(),
            "duration" => self.duration.map(|d| d.to_string()).unwrap_or_default(),
            "id" => self.id.clone(),
            _ => return None,
        })
    }
}

/// Longest variable name shown in an error.
const MAX_SHOWN_NAME: usize = 64;

/// Replaces every `{{variable}}` in `template` with its value (see the module docs
/// for the rules). Error [`FormatError::UnknownTemplateVariable`] for a tag that
/// names no Keygen variable.
pub fn render_template(template: &str, vars: &TemplateVars) -> Result<String, FormatError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let Some(close) = after[..line_end].find("}}") else {
            // No closing braces on this line: plain text up to the next line.
            let keep = start + 2 + line_end;
            out.push_str(&rest[..keep]);
            rest = &rest[keep..];
            continue;
        };
        out.push_str(&rest[..start]);
        let name = after[..close].trim_matches([' ', '\t']);
        let value = vars.value(name).ok_or_else(|| {
            FormatError::UnknownTemplateVariable(name.chars().take(MAX_SHOWN_NAME).collect())
        })?;
        out.push_str(&value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        TemplateVars {
            account: "acc".into(),
            product: "prod".into(),
            policy: "pol".into(),
            user: Some("usr".into()),
            email: Some("zoë@example.com".into()),
            created: "2022-03-22T12:46:18.217Z".parse().unwrap(),
            expiry: Some("2023-03-22T12:46:18.217Z".parse().unwrap()),
            duration: Some(31_556_952),
            id: "fd293be1-f605-422d-a022-37946f58c0fd".into(),
        }
    }

    #[test]
    fn keygen_docs_example() {
        let t = r#"{ "id": "{{id}}", "issued": "{{created}}", "expires": "{{expiry}}" }"#;
        assert_eq!(
            render_template(t, &vars()).unwrap(),
            r#"{ "id": "fd293be1-f605-422d-a022-37946f58c0fd", "issued": "2022-03-22T12:46:18.217Z", "expires": "2023-03-22T12:46:18.217Z" }"#
        );
    }

    #[test]
    fn every_variable_and_spacing() {
        let all: Vec<String> = TEMPLATE_VARIABLES
            .iter()
            .map(|v| format!("{{{{{v}}}}}"))
            .collect();
        assert_eq!(
            render_template(&all.join("|"), &vars()).unwrap(),
            "acc|prod|pol|usr|zoë@example.com|2022-03-22T12:46:18.217Z|2023-03-22T12:46:18.217Z|31556952|fd293be1-f605-422d-a022-37946f58c0fd"
        );
        assert_eq!(render_template("{{ id }}", &vars()).unwrap(), vars().id);
        assert_eq!(render_template("{{\tuser  }}", &vars()).unwrap(), "usr");
        assert_eq!(render_template("{{id}}{{id}}", &vars()).unwrap().len(), 72);
    }

    #[test]
    fn empty_values() {
        let none = TemplateVars {
            user: None,
            email: None,
            expiry: None,
            duration: None,
            ..vars()
        };
        assert_eq!(
            render_template("[{{user}}|{{email}}|{{expiry}}|{{duration}}]", &none).unwrap(),
            "[|||]"
        );
    }

    #[test]
    fn unknown_variables_are_named() {
        for (t, name) in [
            ("{{licence}}", "licence"),
            ("a {{ ID }} b", "ID"),
            ("{{}}", ""),
            ("{{ id user }}", "id user"),
            ("{{ñame}}", "ñame"),
        ] {
            assert_eq!(
                render_template(t, &vars()),
                Err(FormatError::UnknownTemplateVariable(name.into())),
                "{t}"
            );
        }
        let err = render_template("{{expires}}", &vars()).unwrap_err();
        assert!(err.to_string().contains("`expires`"), "{err}");
    }

    #[test]
    fn plain_text_and_unicode_pass_through() {
        let v = vars();
        assert_eq!(render_template("", &v).unwrap(), "");
        assert_eq!(
            render_template("ключ-{{id}}-🔑", &v).unwrap(),
            format!("ключ-{}-🔑", v.id)
        );
        // Unclosed on its line: literal.
        assert_eq!(render_template("a {{ b\n}}", &v).unwrap(), "a {{ b\n}}");
        assert_eq!(render_template("{{", &v).unwrap(), "{{");
        assert_eq!(
            render_template(r#"{"a":{"b":1}}"#, &v).unwrap(),
            r#"{"a":{"b":1}}"#
        );
        // Values are inserted as-is and never expanded again.
        let tricky = TemplateVars {
            email: Some("{{id}} \"quoted\"".into()),
            ..vars()
        };
        assert_eq!(
            render_template("<{{email}}>", &tricky).unwrap(),
            "<{{id}} \"quoted\">"
        );
        // Unicode inside the braces next to a tag.
        assert_eq!(
            render_template("é{{id}}é{{", &v).unwrap(),
            format!("é{}é{{{{", v.id)
        );
    }
}
