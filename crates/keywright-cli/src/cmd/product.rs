//! `keywright product`: products and the key that signs for them.

use clap::Subcommand;
use jiff::Timestamp;
use keywright_core::{Keywright, NewProduct};
use serde_json::json;

use crate::output::{to_json, Failure, Output};

#[derive(Subcommand)]
pub(crate) enum ProductCommand {
    /// Create a product.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        url: Option<String>,
        /// Shown to customers when validation fails.
        #[arg(long)]
        support_message: Option<String>,
        /// Signing key id, kid or name (default: the newest active key).
        #[arg(long)]
        key: Option<String>,
    },
    /// List products.
    List,
    /// Sign a product's new licenses and files with another key (key rotation).
    SetKey {
        /// Product id, code or name.
        product: String,
        /// Signing key id, kid or name (must be active).
        #[arg(long)]
        key: String,
    },
}

impl ProductCommand {
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Create { .. } | Self::SetKey { .. } => true,
            Self::List => false,
        }
    }

    /// What writes the store saves; nothing here writes a file.
    pub(crate) fn saves(&self) -> bool {
        self.writes_store()
    }
}

pub(crate) fn run(
    cmd: ProductCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        ProductCommand::Create {
            name,
            code,
            url,
            support_message,
            key,
        } => {
            let p = kw.create_product(
                &NewProduct {
                    name,
                    code,
                    url,
                    support_message,
                    signing_key_id: key,
                },
                now,
            )?;
            let text = format!(
                "Created product {:?} (code {}, id {})\n",
                p.name, p.code, p.id
            );
            Ok(Output::ok(to_json(&p), text))
        }
        ProductCommand::SetKey { product, key } => {
            let p = kw.set_product_signing_key(&product, &key, now)?;
            let text = format!(
                "Product {} now signs with key {}\n",
                p.code, p.signing_key_id
            );
            Ok(Output::ok(to_json(&p), text))
        }
        ProductCommand::List => {
            let products = kw.list_products()?;
            let text = products
                .iter()
                .map(|p| format!("{}  {}  {}\n", p.code, p.id, p.name))
                .collect();
            Ok(Output::ok(json!({ "products": products }), text))
        }
    }
}
