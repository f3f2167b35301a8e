//! One audit row for many rows: what a batch writes per transaction.
//!
//! A batch transaction that issues 500 licenses (and creates their customers) writes
//! one audit row, [`BATCH_ACTION`], instead of one per license and one per customer.
//! That row commits to every row the transaction wrote through a Merkle tree (RFC
//! 6962's: a leaf is SHA-256 of `0x00` and its data, a node SHA-256 of `0x01` and its
//! two children), whose root, leaf count and license count are in its detail and so
//! under its hash and MAC. Each license and customer row keeps where it is committed
//! to: the audit row's position (`proof_seq`), its own position among the leaves
//! (`proof_pos`) and its leaf hash (`proof_leaf`).
//!
//! A license's leaf covers its id and its state as issued (the same state a
//! `license.issue` row records), so `audit verify` proves each license's issuance:
//! the leaves of each batch row must be all there, in order, and hash to its root; and
//! a license that no later row changed must still hash to its leaf. A customer's leaf
//! covers its id, name, email and company as created.

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::store::db::{args, Db};

/// The action of a batch transaction's audit row.
pub const BATCH_ACTION: &str = "license.batch_issue";

/// The leaf hash (hex) of a license issued with `state` (see [`super::state`]).
pub fn license_leaf(id: &str, state: &str) -> String {
    leaf(&serde_json::json!(["license", id, state]))
}

/// The leaf hash (hex) of a customer created with these fields.
pub fn customer_leaf(
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
) -> String {
    leaf(&serde_json::json!(["customer", id, name, email, company]))
}

fn leaf(data: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The Merkle root (hex) over leaf hashes (hex), in order; RFC 6962's tree: the left
/// subtree holds the largest power of two below the leaf count. `None` for no leaves.
pub fn merkle_root(leaves: &[String]) -> Option<String> {
    let bytes: Vec<[u8; 32]> = leaves
        .iter()
        .map(|l| {
            let mut b = [0u8; 32];
            // A leaf that is not 64 hex digits hashes as zeroes: its root then differs.
            if let Ok(v) = hex::decode(l) {
                if v.len() == 32 {
                    b.copy_from_slice(&v);
                }
            }
            b
        })
        .collect();
    (!bytes.is_empty()).then(|| hex::encode(subtree(&bytes)))
}

fn subtree(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let split = leaves.len().next_power_of_two() / 2;
    let (left, right) = leaves.split_at(split);
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(subtree(left));
    h.update(subtree(right));
    h.finalize().into()
}

/// A row committed to by a batch's audit row.
#[derive(Debug, Clone)]
pub(super) struct Committed {
    pub kind: &'static str,
    pub id: String,
    pub pos: i64,
    pub leaf: String,
}

/// Every license and customer committed to by a batch row, by that row's position.
pub(super) fn committed(db: Db<'_>) -> Result<std::collections::HashMap<i64, Vec<Committed>>> {
    let mut by_seq: std::collections::HashMap<i64, Vec<Committed>> = Default::default();
    for (kind, table) in [("license", "licenses"), ("customer", "customers")] {
        db.for_each(
            &format!(
                "SELECT proof_seq, proof_pos, id, proof_leaf FROM {table} WHERE proof_seq IS NOT NULL"
            ),
            args![],
            |r| {
                let seq: i64 = r.get(0)?;
                by_seq.entry(seq).or_default().push(Committed {
                    kind,
                    pos: r.get::<Option<i64>>(1)?.unwrap_or(-1),
                    id: r.get(2)?,
                    leaf: r.get::<Option<String>>(3)?.unwrap_or_default(),
                });
                Ok(true)
            },
        )?;
    }
    Ok(by_seq)
}

/// Checks batch row `seq` (its `detail`) against the rows that say it committed to
/// them; `None` when they match.
pub(super) fn check_row(seq: i64, detail: &str, rows: &mut [Committed]) -> Option<String> {
    let detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let leaves_said = detail["leaves"].as_i64().unwrap_or(-1);
    let root_said = detail["merkleRoot"].as_str().unwrap_or_default();
    rows.sort_by_key(|c| c.pos);
    let in_order = rows.iter().enumerate().all(|(i, c)| c.pos == i as i64);
    if rows.len() as i64 != leaves_said || !in_order {
        return Some(format!(
            "audit row {seq} (a batch) committed to {leaves_said} licenses and customers, but {} rows of the store name it{}: rows it issued were deleted, or others were made to look issued by it",
            rows.len(),
            if in_order { "" } else { ", not in its order" }
        ));
    }
    let leaves: Vec<String> = rows.iter().map(|c| c.leaf.clone()).collect();
    if merkle_root(&leaves).as_deref() != Some(root_said) {
        return Some(format!(
            "audit row {seq} (a batch) does not match the {} licenses and customers that name it: one of their proofs was edited",
            rows.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn the_root_is_rfc_6962s() {
        let leaves: Vec<String> = (0..5)
            .map(|i| license_leaf(&format!("l{i}"), "{}"))
            .collect();
        let b: Vec<[u8; 32]> = leaves
            .iter()
            .map(|l| hex::decode(l).unwrap().try_into().unwrap())
            .collect();
        let node = |a: [u8; 32], c: [u8; 32]| h(&[&[1u8][..], &a, &c].concat());
        // Five leaves: ((0 1) (2 3)) 4.
        let want = node(node(node(b[0], b[1]), node(b[2], b[3])), b[4]);
        assert_eq!(merkle_root(&leaves).unwrap(), hex::encode(want));
        assert_eq!(merkle_root(&leaves[..1]).unwrap(), leaves[0]);
        assert_eq!(merkle_root(&[]), None);
        // The leaf hash is SHA-256 of 0x00 and the data.
        let data = serde_json::json!(["license", "l0", "{}"]).to_string();
        assert_eq!(
            leaves[0],
            hex::encode(h(&[&[0u8][..], data.as_bytes()].concat()))
        );
    }

    #[test]
    fn a_changed_missing_or_moved_leaf_changes_the_root() {
        let leaves: Vec<String> = (0..7)
            .map(|i| customer_leaf(&format!("c{i}"), Some("n"), None, None))
            .collect();
        let root = merkle_root(&leaves).unwrap();
        let mut edited = leaves.clone();
        edited[3] = customer_leaf("c3", Some("m"), None, None);
        assert_ne!(merkle_root(&edited).unwrap(), root);
        assert_ne!(merkle_root(&leaves[..6]).unwrap(), root);
        let mut swapped = leaves.clone();
        swapped.swap(1, 2);
        assert_ne!(merkle_root(&swapped).unwrap(), root);
    }

    #[test]
    fn check_row_names_what_is_wrong() {
        let mut rows: Vec<Committed> = (0..3)
            .map(|i| Committed {
                kind: "license",
                id: format!("l{i}"),
                pos: i,
                leaf: license_leaf(&format!("l{i}"), "{}"),
            })
            .collect();
        let leaves: Vec<String> = rows.iter().map(|c| c.leaf.clone()).collect();
        let detail =
            serde_json::json!({"leaves": 3, "merkleRoot": merkle_root(&leaves)}).to_string();
        assert_eq!(check_row(9, &detail, &mut rows), None);
        let mut fewer = rows[..2].to_vec();
        assert!(check_row(9, &detail, &mut fewer)
            .unwrap()
            .contains("committed to 3"));
        rows[1].leaf = license_leaf("l1", "{\"status\":\"revoked\"}");
        assert!(check_row(9, &detail, &mut rows)
            .unwrap()
            .contains("was edited"));
    }
}
