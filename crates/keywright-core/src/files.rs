//! Writing exported files atomically: a temporary file in the same folder, flushed to
//! disk, then renamed over the target. A reader never sees half a license file.

use std::io::Write;
use std::path::Path;

use crate::audit::{self, sha256_hex, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::model::ExportedFile;
use crate::Keywright;

/// Writes `bytes` to `path` atomically (temp file + fsync + rename).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(Error::bad_input(format!(
            "{} is a folder; give a file name",
            path.display()
        )));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".keywright-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io("create a temporary file next to", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("flush", e))?;
    tmp.persist(path).map_err(|e| io("replace", e.error))?;
    // The rename itself must survive a crash too.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Keywright {
    /// Writes an exported artifact and its audit row together: the row (with the
    /// artifact's SHA-256) is appended, the file written atomically, and only then the
    /// transaction committed; if the commit fails the file is removed. Either both
    /// exist or neither does.
    pub(crate) fn write_audited_file(
        &mut self,
        path: &Path,
        bytes: &[u8],
        at: &str,
        mut event: Event<'_>,
        algorithm: &str,
    ) -> Result<ExportedFile> {
        let sha = sha256_hex(bytes);
        event.artifact_sha256 = Some(sha.clone());
        let tx = self.store.conn.transaction()?;
        audit::append(&tx, at, &self.actor, &event)?;
        write_atomically(path, bytes)?;
        if let Err(e) = tx.commit() {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(ExportedFile {
            path: path.display().to_string(),
            sha256: sha,
            bytes: bytes.len() as u64,
            algorithm: algorithm.to_owned(),
        })
    }
}
