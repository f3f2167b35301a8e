//! Writing exported files atomically: a temporary file in the same folder, flushed to
//! disk, then renamed over the target. A reader never sees half a license file.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, ErrorCode, Result};

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
