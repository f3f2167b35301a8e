//! A batch's output folder: one `.lic` file per license (sealed on every core, each
//! audited, written atomically in chunks whose transaction commits only after the
//! files are flushed) and one `.eml` draft per customer email.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use keywright_license::issue::{Included, LicenseDocument, SigningKey as PrivateKey};
use keywright_license::{parse_time, FileAlgorithm};

use super::plan::PlannedRow;
use super::{in_parallel, in_threads, BatchPreview, Run, Steps, CHUNK};
use crate::audit::{self, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::issuing::export::{build_document, seal_license_file};
use crate::issuing::{mail, sql, License};
use crate::{stamp, Keywright};

/// A file name part from any text: safe characters kept, and a short hash added when
/// anything had to change (so two order ids never share a file).
fn file_stem(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let safe = safe.trim_start_matches('.').to_owned();
    if safe == text && !safe.is_empty() {
        safe
    } else {
        format!("{safe}-{}", &audit::sha256_hex(text.as_bytes())[..8])
    }
}

pub(super) fn license_file_path(dir: &Path, order_id: &str, seq: i64) -> PathBuf {
    dir.join(format!("{}-{seq}.lic", file_stem(order_id)))
}

/// `(row, position)` of every license of the file's orders whose `.lic` file is not
/// in `dir` yet, in order.
pub(super) fn missing(
    dir: &Path,
    preview: &BatchPreview,
    rows: &[PlannedRow],
) -> Vec<(usize, i64)> {
    rows.iter()
        .enumerate()
        .filter(|(_, p)| p.policy.is_some())
        .flat_map(|(i, p)| {
            let mut seqs: Vec<i64> = p.existing.iter().chain(&p.missing).copied().collect();
            seqs.sort_unstable();
            seqs.into_iter().map(move |s| (i, s))
        })
        .filter(|(i, s)| !license_file_path(dir, &preview.rows[*i].order_id, *s).exists())
        .collect()
}

impl Keywright {
    /// Writes the license files `files` names, [`CHUNK`] per transaction; `cancel` is
    /// checked before each chunk. Returns how many were written and whether it was
    /// cancelled.
    pub(super) fn write_license_files(
        &mut self,
        run: &Run<'_>,
        dir: &Path,
        files: &[(usize, i64)],
        steps: &mut Steps<'_>,
        cancel: &AtomicBool,
    ) -> Result<(u64, bool)> {
        let mut written = 0u64;
        for chunk in files.chunks(CHUNK) {
            if cancel.load(Ordering::SeqCst) {
                return Ok((written, true));
            }
            written += self.write_license_file_chunk(run, dir, chunk)? as u64;
            steps.advance(chunk.len());
        }
        Ok((written, false))
    }

    /// Signs and writes the license files of `chunk` ((row, seq) pairs), each with its
    /// `license_file.sign` audit row, all in one transaction committed only after
    /// every file is on disk.
    fn write_license_file_chunk(
        &mut self,
        run: &Run<'_>,
        dir: &Path,
        chunk: &[(usize, i64)],
    ) -> Result<usize> {
        let issued = parse_time(&stamp(run.now))?;
        let at = stamp(issued);
        let mut docs: HashMap<&str, Vec<(i64, License, String, String)>> = HashMap::new();
        let mut jobs: Vec<FileJob<'_>> = Vec::with_capacity(chunk.len());
        for &(i, seq) in chunk {
            let order_id = run.preview.rows[i].order_id.as_str();
            if !docs.contains_key(order_id) {
                docs.insert(order_id, sql::order_documents(self.store.db(), order_id)?);
            }
            let Some((_, license, metadata, updated)) =
                docs[order_id].iter().find(|(s, ..)| *s == seq)
            else {
                continue;
            };
            let policy = run.rows[i]
                .policy
                .as_ref()
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its policy"))?;
            let product = run
                .catalog
                .product(&policy.product_id)
                .ok_or_else(|| Error::new(ErrorCode::Internal, "a planned row lost its product"))?;
            let (key, private) = &run.signers[&product.signing_key_id];
            let document = build_document(
                self.store.store_id(),
                license,
                policy,
                product,
                serde_json::from_str(metadata).unwrap_or_default(),
                updated,
            )?;
            let alg = FileAlgorithm::default_for(Some(policy.scheme.to_format()), policy.encrypt);
            // The policy's expiration strategy and grace reach the customer's app.
            let included = self.with_policy_options(None, policy, product)?;
            jobs.push(FileJob {
                path: license_file_path(dir, order_id, seq),
                document,
                included,
                ttl: policy.file_ttl_seconds,
                alg,
                private,
                license_id: license.id.clone(),
                kid: key.kid.clone(),
                text: String::new(),
            });
        }
        seal_all(&mut jobs, issued)?;
        let files: Vec<(PathBuf, String, String, String, String)> = jobs
            .into_iter()
            .map(|j| {
                (
                    j.path,
                    j.text,
                    j.license_id,
                    j.kid,
                    j.alg.as_str().to_owned(),
                )
            })
            .collect();
        let audit_key = self.audit_key()?;
        let store = self.store.path().to_path_buf();
        let tx = self.store.transaction()?;
        for (path, text, license_id, kid, alg) in &files {
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "license_file.sign",
                    subject_type: Some("license"),
                    subject_id: Some(license_id),
                    signing_key_kid: Some(kid),
                    artifact_sha256: Some(audit::sha256_hex(text.as_bytes())),
                    detail: serde_json::json!({
                        "algorithm": alg, "path": path.display().to_string(), "batch": true,
                    }),
                },
            )?;
        }
        let pairs: Vec<(&Path, &[u8])> = files
            .iter()
            .map(|(path, text, ..)| (path.as_path(), text.as_bytes()))
            .collect();
        let written = write_files_atomically(dir, &store, &pairs)?;
        if let Err(e) = tx.commit() {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        self.committed();
        Ok(files.len())
    }

    /// One `.eml` draft per customer email, with their keys in the body and their
    /// license files attached.
    pub(super) fn write_email_drafts(&self, run: &Run<'_>, dir: &Path) -> Result<u64> {
        // email (lowercase) -> (display name, email, items)
        let mut by_customer: BTreeMap<String, (Option<String>, String, Vec<mail::Item>)> =
            BTreeMap::new();
        for (row, plan) in run.preview.rows.iter().zip(run.rows) {
            let (Some(email), Some(policy)) = (&row.customer_email, &plan.policy) else {
                continue;
            };
            if !row.errors.is_empty() {
                continue;
            }
            let product = run.catalog.product(&policy.product_id);
            let entry = by_customer
                .entry(email.to_lowercase())
                .or_insert_with(|| (row.customer_name.clone(), email.clone(), Vec::new()));
            for (seq, license, _, _) in sql::order_documents(self.store.db(), &row.order_id)? {
                if seq > i64::from(row.quantity) {
                    continue;
                }
                let path = license_file_path(dir, &row.order_id, seq);
                let attachment = match std::fs::read(&path) {
                    Ok(bytes) => Some((
                        path.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        bytes,
                    )),
                    Err(_) => None,
                };
                entry.2.push(mail::Item {
                    product: product.map(|p| p.name.clone()).unwrap_or_default(),
                    policy: policy.name.clone(),
                    order_id: row.order_id.clone(),
                    seq,
                    key: license.key,
                    expiry: license.expiry,
                    support: product.and_then(|p| p.support_message.clone()),
                    attachment,
                });
            }
        }
        let drafts: Vec<(PathBuf, Vec<u8>)> = by_customer
            .into_values()
            .filter(|(_, _, items)| !items.is_empty())
            .map(|(name, email, items)| {
                Ok((
                    dir.join(format!("{}.eml", file_stem(&email))),
                    mail::draft(name.as_deref(), &email, &items, run.now)?,
                ))
            })
            .collect::<Result<_>>()?;
        // Drafts hold no new signature (their files were audited when signed).
        for chunk in drafts.chunks(CHUNK) {
            let pairs: Vec<(&Path, &[u8])> = chunk
                .iter()
                .map(|(p, m)| (p.as_path(), m.as_slice()))
                .collect();
            write_files_atomically(dir, self.store.path(), &pairs)?;
        }
        Ok(drafts.len() as u64)
    }
}

/// One license file to seal and write.
struct FileJob<'a> {
    path: PathBuf,
    document: LicenseDocument,
    included: Option<Included>,
    ttl: Option<i64>,
    alg: FileAlgorithm,
    private: &'a PrivateKey,
    license_id: String,
    kid: String,
    text: String,
}

/// Seals every file of a chunk, spread over the machine's cores.
fn seal_all(jobs: &mut [FileJob<'_>], issued: Timestamp) -> Result<()> {
    let seal = |part: &mut [FileJob<'_>]| -> Result<()> {
        for j in part {
            j.text = seal_license_file(
                &j.document,
                j.included.as_ref(),
                issued,
                j.ttl,
                j.alg,
                j.private,
            )?;
        }
        Ok(())
    };
    in_parallel(jobs, seal)
}

/// Writes many files atomically (each a temp file, flushed, renamed), with the
/// flushes running side by side so the file system can group them, and one flush
/// of the folder at the end. On failure, the files already written are removed.
fn write_files_atomically<'p>(
    dir: &Path,
    store: &Path,
    files: &[(&'p Path, &[u8])],
) -> Result<Vec<&'p Path>> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    // Every name is checked first: none may be the store, a device or a dangling link.
    for (path, _) in files {
        crate::files::check_output(path, store)?;
    }
    let mut slots: Vec<(&Path, &[u8], Option<tempfile::NamedTempFile>)> =
        files.iter().map(|(p, b)| (*p, *b, None)).collect();
    // Waiting on the disk, not the CPU: more writers than cores let the file system
    // commit many flushes at once.
    let staged = in_threads(&mut slots, 16, |part| {
        for (path, bytes, tmp) in part {
            let mut file = tempfile::Builder::new()
                .prefix(".keywright-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| io("create a temporary file next to", path, e))?;
            std::io::Write::write_all(&mut file, bytes).map_err(|e| io("write", path, e))?;
            file.as_file()
                .sync_all()
                .map_err(|e| io("flush", path, e))?;
            *tmp = Some(file);
        }
        Ok(())
    });
    // Temporary files not persisted are deleted when dropped.
    staged?;
    let mut written = Vec::with_capacity(slots.len());
    for (path, _, tmp) in slots {
        let Some(tmp) = tmp else { continue };
        if let Err(e) = tmp.persist(path) {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(io("replace", path, e.error));
        }
        written.push(path);
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_do_not_collide() {
        assert_eq!(file_stem("A-1001"), "A-1001");
        assert_ne!(file_stem("a/b"), file_stem("a_b"));
        assert!(!file_stem("../x").contains('/'));
    }
}
