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
use super::{in_parallel, in_threads, threads, BatchPreview, Run, Steps, CHUNK};
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
        let issued = parse_time(&stamp(run.now))?;
        // As with the licenses: while a helper thread seals a chunk's files (on every
        // core), this thread writes and audits the chunk sealed before it.
        let mut sealed: Option<(Vec<FileJob<'_>>, usize)> = None;
        let mut chunks = files.chunks(CHUNK);
        loop {
            // A cancel drops the chunk sealed but not written yet.
            if cancel.load(Ordering::SeqCst) {
                return Ok((written, true));
            }
            let next = match chunks.next() {
                Some(chunk) => Some((self.file_jobs(run, dir, chunk)?, chunk.len())),
                None => None,
            };
            let previous = sealed.take();
            let mut stored = Ok(0);
            let next = std::thread::scope(|scope| {
                let sealer = next.map(|(mut jobs, n)| {
                    scope.spawn(move || seal_all(&mut jobs, issued).map(|()| (jobs, n)))
                });
                if let Some((jobs, _)) = &previous {
                    stored = self.store_file_chunk(dir, jobs, issued);
                }
                sealer.map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorCode::Internal,
                            "the sealing thread panicked",
                        ))
                    })
                })
            });
            written += stored? as u64;
            if let Some((_, n)) = previous {
                steps.advance(n);
            }
            match next {
                Some(jobs) => sealed = Some(jobs?),
                None => break,
            }
        }
        Ok((written, false))
    }

    /// What sealing the license files of `chunk` ((row, seq) pairs) needs: each
    /// license's document, read from the store.
    fn file_jobs<'r>(
        &self,
        run: &Run<'r>,
        dir: &Path,
        chunk: &[(usize, i64)],
    ) -> Result<Vec<FileJob<'r>>> {
        let mut docs: HashMap<&str, Vec<(i64, License, String, String)>> = HashMap::new();
        let mut jobs: Vec<FileJob<'r>> = Vec::with_capacity(chunk.len());
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
        Ok(jobs)
    }

    /// Writes a chunk of sealed license files, each with its `license_file.sign` audit
    /// row, all in one transaction committed only after every file is on disk.
    fn store_file_chunk(
        &mut self,
        dir: &Path,
        jobs: &[FileJob<'_>],
        issued: Timestamp,
    ) -> Result<usize> {
        let at = stamp(issued);
        let audit_key = self.audit_key()?;
        let store = self.store.path().to_path_buf();
        let tx = self.store.transaction()?;
        for job in jobs {
            audit::append(
                tx.db(),
                &audit_key,
                &at,
                &self.actor,
                &Event {
                    action: "license_file.sign",
                    subject_type: Some("license"),
                    subject_id: Some(&job.license_id),
                    signing_key_kid: Some(&job.kid),
                    artifact_sha256: Some(audit::sha256_hex(job.text.as_bytes())),
                    detail: serde_json::json!({
                        "algorithm": job.alg.as_str(),
                        "path": job.path.display().to_string(),
                        "batch": true,
                    }),
                    ..Event::default()
                },
            )?;
        }
        let pairs: Vec<(&Path, &[u8])> = jobs
            .iter()
            .map(|j| (j.path.as_path(), j.text.as_bytes()))
            .collect();
        let written = write_files_atomically(dir, &store, &pairs)?;
        if let Err(e) = tx.commit() {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        self.committed();
        Ok(jobs.len())
    }

    /// One `.eml` draft per customer email, with their keys in the body and their
    /// license files attached. The store is read here; the drafts are built (their
    /// attachments read back from the folder) on every core and written together.
    pub(super) fn write_email_drafts(&self, run: &Run<'_>, dir: &Path) -> Result<u64> {
        // email (lowercase) -> (display name, email, items, their files)
        type Draft = (Option<String>, String, Vec<mail::Item>, Vec<PathBuf>);
        // A draft's file name and message, once built.
        type Built = Option<Result<(PathBuf, Vec<u8>)>>;
        let mut by_customer: BTreeMap<String, Draft> = BTreeMap::new();
        for (row, plan) in run.preview.rows.iter().zip(run.rows) {
            let (Some(email), Some(policy)) = (&row.customer_email, &plan.policy) else {
                continue;
            };
            if !row.errors.is_empty() {
                continue;
            }
            let product = run.catalog.product(&policy.product_id);
            let entry = by_customer.entry(email.to_lowercase()).or_insert_with(|| {
                (
                    row.customer_name.clone(),
                    email.clone(),
                    Vec::new(),
                    Vec::new(),
                )
            });
            for (seq, license, _, _) in sql::order_documents(self.store.db(), &row.order_id)? {
                if seq > i64::from(row.quantity) {
                    continue;
                }
                entry.2.push(mail::Item {
                    product: product.map(|p| p.name.clone()).unwrap_or_default(),
                    policy: policy.name.clone(),
                    order_id: row.order_id.clone(),
                    seq,
                    key: license.key,
                    expiry: license.expiry,
                    support: product.and_then(|p| p.support_message.clone()),
                    attachment: None,
                });
                entry.3.push(license_file_path(dir, &row.order_id, seq));
            }
        }
        let drafts: Vec<Draft> = by_customer
            .into_values()
            .filter(|(_, _, items, _)| !items.is_empty())
            .collect();
        // Built and written a few thousand at a time: memory stays bounded, flushes few.
        let mut written = 0u64;
        for chunk in drafts.chunks(4 * CHUNK) {
            let mut built: Vec<(&Draft, Built)> = chunk.iter().map(|d| (d, None)).collect();
            in_parallel(&mut built, |part| {
                for ((name, email, items, paths), out) in part {
                    let items: Vec<mail::Item> = items
                        .iter()
                        .zip(paths)
                        .map(|(item, path)| mail::Item {
                            // A file missing from the folder is left out of its draft.
                            attachment: std::fs::read(path).ok().map(|bytes| {
                                let name = path
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default();
                                (name, bytes)
                            }),
                            ..item.clone()
                        })
                        .collect();
                    *out = Some(
                        mail::draft(name.as_deref(), email, &items, run.now)
                            .map(|m| (dir.join(format!("{}.eml", file_stem(email))), m)),
                    );
                }
                Ok(())
            })?;
            let built: Vec<(PathBuf, Vec<u8>)> = built
                .into_iter()
                .filter_map(|(_, out)| out)
                .collect::<Result<_>>()?;
            // Drafts hold no new signature (their files were audited when signed).
            let pairs: Vec<(&Path, &[u8])> = built
                .iter()
                .map(|(p, m)| (p.as_path(), m.as_slice()))
                .collect();
            write_files_atomically(dir, self.store.path(), &pairs)?;
            written += built.len() as u64;
        }
        Ok(written)
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

/// Writes many files atomically: each to a temporary file beside its name, all of them
/// flushed to the disk, then each renamed over its name, and the folder flushed. On
/// Linux the flush is one `syncfs(2)` of the folder's file system for all the files
/// (a batch writes thousands: one fsync each cost seconds); elsewhere each file is
/// flushed, side by side. On failure, the files already written are removed.
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
    let one_flush = cfg!(target_os = "linux");
    // Creating files in one folder is serialized by the file system: a thread per core
    // is enough. Flushing them one by one waits on the disk: then more writers than
    // cores let it commit many flushes at once.
    let writers = if one_flush { threads() } else { 16 };
    let staged = in_threads(&mut slots, writers, |part| {
        for (path, bytes, tmp) in part {
            let mut file = tempfile::Builder::new()
                .prefix(".keywright-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| io("create a temporary file next to", path, e))?;
            std::io::Write::write_all(&mut file, bytes).map_err(|e| io("write", path, e))?;
            if !one_flush {
                file.as_file()
                    .sync_all()
                    .map_err(|e| io("flush", path, e))?;
            }
            *tmp = Some(file);
        }
        Ok(())
    });
    // Temporary files not persisted are deleted when dropped.
    staged?;
    #[cfg(target_os = "linux")]
    if let Some((_, _, Some(first))) = slots.first() {
        rustix::fs::syncfs(first.as_file())
            .map_err(|e| io("flush the files written to", dir, e.into()))?;
    }
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
