//! Running a batch: the signers read once, then the licenses signed on every core and
//! committed [`CHUNK`] per transaction with their customers and audit rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use keywright_license::issue::SigningKey as PrivateKey;
use keywright_license::parse_time;

use super::plan::{Catalog, PlannedRow};
use super::{in_parallel, BatchIssued, Run, Steps, CHUNK};
use crate::audit::{self, Event};
use crate::catalog::{Policy, Product};
use crate::customers::insert_batch_customer;
use crate::error::{Error, ErrorCode, Result};
use crate::issuing::issue::{draw_human_key, issue_times, sign_license_key, KeyInput};
use crate::issuing::sql::{self, LicenseRow};
use crate::keys::SigningKey;
use crate::{stamp, Keywright};

/// A customer met in a batch: (email lowercased) or, without one, (name, company).
type CustomerKey = (Option<String>, Option<String>, Option<String>);

/// The customers met in a batch so far: their id, their email, and whether they are
/// new to the store and not inserted yet.
type Customers = HashMap<CustomerKey, (String, Option<String>, bool)>;

/// One license to sign and store.
struct Work<'a> {
    row: usize,
    seq: i64,
    license_id: String,
    policy: &'a Policy,
    product: &'a Product,
    customer: Option<CustomerKey>,
    user: Option<(String, String)>,
    expiry: Option<Timestamp>,
    key: String,
}

/// Signs every key of a chunk, spread over the machine's cores.
fn sign_all(
    work: &mut [Work<'_>],
    store_id: &str,
    created: Timestamp,
    signers: &HashMap<String, (SigningKey, PrivateKey)>,
) -> Result<()> {
    in_parallel(work, |part: &mut [Work<'_>]| -> Result<()> {
        for w in part {
            if w.policy.unsigned_key {
                // ≈ 120 random bits; the UNIQUE key index refuses the impossible clash.
                w.key = draw_human_key(w.product)?;
                continue;
            }
            let (_, private) = signers.get(&w.product.signing_key_id).ok_or_else(|| {
                Error::new(ErrorCode::Internal, "no signer read for a product's key")
            })?;
            w.key = sign_license_key(
                &KeyInput {
                    store_id,
                    policy: w.policy,
                    product: w.product,
                    license_id: &w.license_id,
                    customer_id: w.user.as_ref().map(|u| u.0.clone()),
                    email: w.user.as_ref().map(|u| u.1.clone()),
                    created,
                    expiry: w.expiry,
                },
                private,
            )?;
        }
        Ok(())
    })
}

impl Keywright {
    /// Each product's signing key, read from the vault once per batch and before
    /// anything is written: the keys of the rows that issue licenses, and with an
    /// output folder of every row (their files are signed).
    pub(super) fn read_signers(
        &self,
        rows: &[PlannedRow],
        catalog: &Catalog,
        writes_files: bool,
        now: Timestamp,
    ) -> Result<HashMap<String, (SigningKey, PrivateKey)>> {
        let mut signers: HashMap<String, (SigningKey, PrivateKey)> = HashMap::new();
        for plan in rows {
            let Some(policy) = &plan.policy else { continue };
            if plan.missing.is_empty() && !writes_files {
                continue;
            }
            let Some(product) = catalog.product(&policy.product_id) else {
                continue;
            };
            if !signers.contains_key(&product.signing_key_id) {
                let signer = self.signer(&product.signing_key_id, now)?;
                signers.insert(product.signing_key_id.clone(), signer);
            }
        }
        Ok(signers)
    }

    /// Issues the licenses `jobs` names ((row, position) pairs), [`CHUNK`] per
    /// transaction; `cancel` is checked before each chunk. Returns what was issued and
    /// whether it was cancelled.
    pub(super) fn issue_licenses(
        &mut self,
        run: &Run<'_>,
        jobs: &[(usize, i64)],
        steps: &mut Steps<'_>,
        cancel: &AtomicBool,
    ) -> Result<(Vec<BatchIssued>, bool)> {
        let mut issued: Vec<BatchIssued> = Vec::with_capacity(jobs.len());
        // Customers met in this batch: by email, else by (name, company).
        let mut customers: Customers = HashMap::new();
        let (created_ts, _) = match run.rows.iter().find_map(|p| p.policy.as_ref()) {
            Some(p) => issue_times(run.now, p)?,
            None => (parse_time(&stamp(run.now))?, None),
        };
        // Signing and storing overlap: while a helper thread signs a chunk (on every
        // core), this thread commits the chunk signed before it.
        let store_id = self.store.store_id().to_owned();
        let mut signed: Option<Vec<Work<'_>>> = None;
        let mut chunks = jobs.chunks(CHUNK);
        loop {
            // A cancel drops the chunk signed but not stored yet.
            if cancel.load(Ordering::SeqCst) {
                return Ok((issued, true));
            }
            let next = match chunks.next() {
                Some(chunk) => Some(self.chunk_work(run, chunk, created_ts, &mut customers)?),
                None => None,
            };
            let previous = signed.take();
            let mut stored = Ok(());
            let next = std::thread::scope(|scope| {
                let signer = next.map(|mut work| {
                    let store_id = store_id.as_str();
                    scope.spawn(move || {
                        sign_all(&mut work, store_id, created_ts, run.signers).map(|()| work)
                    })
                });
                if let Some(work) = &previous {
                    stored = self.commit_chunk(run, work, &mut customers, created_ts, issued.len());
                }
                signer.map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorCode::Internal,
                            "the signing thread panicked",
                        ))
                    })
                })
            });
            stored?;
            if let Some(work) = previous {
                let n = work.len();
                issued.extend(work.into_iter().map(|w| BatchIssued {
                    line: run.preview.rows[w.row].line,
                    order_id: run.preview.rows[w.row].order_id.clone(),
                    seq: w.seq,
                    license_id: w.license_id,
                    key: w.key,
                }));
                steps.advance(n);
            }
            match next {
                Some(work) => signed = Some(work?),
                None => break,
            }
        }
        Ok((issued, false))
    }

    /// Who each license of a chunk is for: customers are looked up by email once per
    /// batch (customers new to the store are inserted with the chunk that first needs
    /// them), and each license gets its id and expiry.
    fn chunk_work<'r>(
        &self,
        run: &Run<'r>,
        chunk: &[(usize, i64)],
        created_ts: Timestamp,
        customers: &mut Customers,
    ) -> Result<Vec<Work<'r>>> {
        let mut work: Vec<Work> = Vec::with_capacity(chunk.len());
        for &(i, seq) in chunk {
            let row = &run.preview.rows[i];
            let plan = &run.rows[i];
            let policy = plan
                .policy
                .as_ref()
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its policy"))?;
            let product = run
                .catalog
                .product(&policy.product_id)
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its product"))?;
            let customer_key = match &row.customer_email {
                Some(e) => (Some(e.to_lowercase()), None, None),
                None => (
                    None,
                    row.customer_name.clone(),
                    row.customer_company.clone(),
                ),
            };
            let has_customer = row.customer_email.is_some()
                || row.customer_name.is_some()
                || row.customer_company.is_some();
            let customer = if !has_customer {
                None
            } else {
                if !customers.contains_key(&customer_key) {
                    let found = match &row.customer_email {
                        Some(email) => self.customer_by_email(email)?,
                        None => None,
                    };
                    let entry = match found {
                        Some((id, email)) => (id, email, false),
                        None => (
                            uuid::Uuid::new_v4().to_string(),
                            row.customer_email.clone(),
                            true,
                        ),
                    };
                    customers.insert(customer_key.clone(), entry);
                }
                Some(customer_key)
            };
            let (expiry_ts, user) = {
                let (_, expiry) = issue_times(created_ts, policy)?;
                let user = customer
                    .as_ref()
                    .and_then(|k| customers.get(k))
                    .and_then(|(id, email, _)| email.clone().map(|e| (id.clone(), e)));
                (expiry, user)
            };
            work.push(Work {
                row: i,
                seq,
                license_id: uuid::Uuid::new_v4().to_string(),
                policy,
                product,
                customer,
                user,
                expiry: expiry_ts,
                key: String::new(),
            });
        }
        Ok(work)
    }

    /// Stores a signed chunk in one transaction: its new customers, its licenses and
    /// one audit row that commits to all of them (see [`crate::audit::batch`]).
    /// `issued` (licenses committed before) is for the message when another run got
    /// there first.
    fn commit_chunk(
        &mut self,
        run: &Run<'_>,
        work: &[Work<'_>],
        customers: &mut Customers,
        created_ts: Timestamp,
        issued: usize,
    ) -> Result<()> {
        let created = stamp(created_ts);
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        // The plan was read before this transaction took the write lock: another
        // run of the same file may have issued these positions since. Checked
        // under the lock, so this chunk writes all of its rows or none.
        for w in work {
            let order = &run.preview.rows[w.row].order_id;
            if sql::order_position_taken(tx.db(), order, w.seq)? {
                return Err(Error::conflict(format!(
                    "order {order:?} is being issued by another run of this file (its license #{} appeared after this run read the store); this run stopped before writing it. {issued} licenses were issued by this run. Run the file again once the other run has finished: it issues only what is missing",
                    w.seq
                )));
            }
        }
        // The audit row this transaction ends with: its position is known now (the
        // transaction holds the write lock), so each row can name it as it is written.
        let proof_seq = audit::head(tx.db())?.seq + 1;
        let rows_after = crate::issuing::search::rows_after(tx.db())?;
        let mut leaves: Vec<String> = Vec::with_capacity(work.len() * 2);
        let mut kids: Vec<&str> = Vec::new();
        for w in work {
            let row = &run.preview.rows[w.row];
            let customer_id = match &w.customer {
                Some(k) => {
                    let entry = customers.get_mut(k).ok_or_else(|| {
                        Error::new(ErrorCode::Internal, "a customer went missing")
                    })?;
                    if entry.2 {
                        let (name, email, company) = (
                            row.customer_name.as_deref(),
                            row.customer_email.as_deref(),
                            row.customer_company.as_deref(),
                        );
                        let leaf = audit::batch::customer_leaf(&entry.0, name, email, company);
                        insert_batch_customer(
                            tx.db(),
                            &created,
                            &entry.0,
                            name,
                            email,
                            company,
                            (proof_seq, leaves.len() as i64, &leaf),
                        )?;
                        leaves.push(leaf);
                        entry.2 = false;
                    }
                    Some(entry.0.clone())
                }
                None => None,
            };
            let (signing_key, _) = &run.signers[&w.product.signing_key_id];
            // An unsigned policy's key is drawn, not signed.
            let kid = (!w.policy.unsigned_key).then_some(signing_key.kid.as_str());
            if let Some(kid) = kid {
                if !kids.contains(&kid) {
                    kids.push(kid);
                }
            }
            let expiry = w.expiry.map(stamp);
            let metadata = &run.rows[w.row].metadata_json;
            let state = audit::state::of_values(
                "license",
                &[
                    ("key", Some(&w.key)),
                    ("policy_id", Some(&w.policy.id)),
                    ("customer_id", customer_id.as_deref()),
                    ("signing_key_id", Some(&signing_key.id)),
                    ("status", Some("active")),
                    ("expiry", expiry.as_deref()),
                    ("entitlements", None),
                    ("metadata", Some(metadata)),
                ],
            )
            .ok_or_else(|| Error::new(ErrorCode::Internal, "a license's state is incomplete"))?;
            let leaf = audit::batch::license_leaf(&w.license_id, &state);
            let sort = match &w.customer {
                Some(_) => crate::customers::sort_key(
                    row.customer_name.as_deref(),
                    row.customer_email.as_deref(),
                ),
                None => crate::customers::sort_key(None, None),
            };
            sql::insert(
                tx.db(),
                &LicenseRow {
                    id: &w.license_id,
                    key: &w.key,
                    policy: w.policy,
                    product: w.product,
                    customer_id: customer_id.as_deref(),
                    signing_key_id: &signing_key.id,
                    kid,
                    expiry: expiry.as_deref(),
                    metadata,
                    created: &created,
                    order: Some((&row.order_id, w.seq)),
                    customer_sort: Some(&sort),
                    proof: Some((proof_seq, leaves.len() as i64, &leaf)),
                },
            )?;
            leaves.push(leaf);
        }
        // The search indexes, for the whole chunk at once.
        crate::issuing::search::index_batch_rows(tx.db(), Some(rows_after))?;
        let licenses = work.len();
        let products: Vec<String> = work.iter().map(|w| w.product.id.clone()).collect();
        let seq = audit::append(
            tx.db(),
            &audit_key,
            &created,
            &self.actor,
            &Event {
                action: audit::batch::BATCH_ACTION,
                subject_type: Some("batch"),
                subject_id: Some(run.batch_id),
                // The key that signed them, when they share one.
                signing_key_kid: (kids.len() == 1).then(|| kids[0]),
                artifact_sha256: None,
                detail: serde_json::json!({
                    "licenses": licenses,
                    "customers": leaves.len() - licenses,
                    "leaves": leaves.len(),
                    "merkleRoot": audit::batch::merkle_root(&leaves),
                    "kids": kids,
                }),
                products,
            },
        )?;
        if seq != proof_seq {
            return Err(Error::new(
                ErrorCode::Internal,
                "the batch's audit row did not land where its rows name it",
            ));
        }
        // A failed commit rolls back the chunk's new customers with it.
        tx.commit()?;
        self.committed();
        Ok(())
    }
}
