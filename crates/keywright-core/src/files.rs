//! Writing exported files: checked first, then written atomically (a temporary file in
//! the same folder, flushed to disk, then renamed over the target). A reader never
//! sees half a license file, and no export can land on the store.
//!
//! Before anything is written, [`check_output`] refuses:
//! - the store itself, its `-wal`, `-shm` and `-journal`, by any path that reaches
//!   them (a symbolic link, `..`, another spelling, or a hard link: existing files
//!   are compared by device and inode), and any other SQLite database (another
//!   store), with [`ErrorCode::OutputIsStore`];
//! - anything at the path that is not a regular file (a folder, a device, a fifo, a
//!   socket), which a rename would replace;
//! - a symbolic link that leads nowhere.
//!
//! A symbolic link to a regular file is written through: the file it points to is
//! replaced, the link stays.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};

/// What an export wrote.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    /// The file written.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Keygen's algorithm name (`aes-256-gcm+ed25519`); `csv` for an audit export.
    pub algorithm: String,
}

/// The files SQLite keeps beside a store.
const SIDECARS: [(&str, &str); 4] = [
    ("", "database"),
    ("-wal", "write-ahead log"),
    ("-shm", "shared-memory index"),
    ("-journal", "rollback journal"),
];

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn refused(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::OutputIsStore,
        format!(
            "{} is {why}; writing there would destroy it. Choose another file; nothing was written",
            path.display()
        ),
    )
}

/// The same path with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// `path` made absolute with every link and `..` resolved, as far as it exists: the
/// folder is resolved and the name kept when the file itself does not exist yet.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

/// Two resolved paths name the same file (case-insensitively where the file system
/// usually is).
fn same_name(a: &Path, b: &Path) -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        a.to_string_lossy().to_lowercase() == b.to_string_lossy().to_lowercase()
    } else {
        a == b
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a named pipe (fifo)";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Whether two existing paths are one file (a hard link). On Unix by device and
/// inode from the metadata: opening a fifo to ask would block.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        ::same_file::is_same_file(a, b).unwrap_or(false)
    }
}

/// Checks that an export may be written at `path` (see the module docs) without
/// harming the store at `store`; returns the file to replace (through a symbolic
/// link, the file it points to).
pub fn check_output(path: &Path, store: &Path) -> Result<PathBuf> {
    check(path, Some(store))
}

pub(crate) fn check(path: &Path, store: Option<&Path>) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::bad_input("no output file was named"));
    }
    let link = std::fs::symlink_metadata(path).ok();
    let target = match &link {
        Some(m) if m.file_type().is_symlink() => {
            let Ok(meta) = std::fs::metadata(path) else {
                return Err(Error::bad_input(format!(
                    "{} is a symbolic link to {}, which does not exist; nothing was written",
                    path.display(),
                    std::fs::read_link(path)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| "nothing".into())
                )));
            };
            Some(meta)
        }
        other => other.clone(),
    };
    let real = resolved(path).ok_or_else(|| {
        Error::new(
            ErrorCode::Io,
            format!("cannot write {}: its folder does not exist", path.display()),
        )
    })?;
    if let Some(store) = store {
        for (suffix, what) in SIDECARS {
            let protected = with_suffix(store, suffix);
            let this_store = |why: &str| refused(path, format!("this store's {why}"));
            if let Some(p) = resolved(&protected) {
                if same_name(&real, &p) {
                    return Err(this_store(what));
                }
            }
            if target.is_some() && same_file(path, &protected) {
                return Err(this_store(&format!("{what} (another name for it)")));
            }
        }
    }
    match &target {
        None => Ok(real),
        Some(meta) if meta.is_file() => {
            let mut head = [0u8; 16];
            let starts = std::fs::File::open(path)
                .and_then(|mut f| f.read_exact(&mut head))
                .is_ok();
            if starts && &head == SQLITE_MAGIC {
                return Err(refused(path, "a database (perhaps another store)"));
            }
            Ok(real)
        }
        Some(meta) => Err(Error::bad_input(format!(
            "{} is {}, not a regular file; nothing was written",
            path.display(),
            kind_of(meta)
        ))),
    }
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename) after
/// [`check_output`] (with `store` when a store is open).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], store: Option<&Path>) -> Result<()> {
    let real = check(path, store)?;
    let io = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keywright-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io("create a temporary file next to", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("flush", e))?;
    tmp.persist(&real).map_err(|e| io("replace", e.error))?;
    // The rename itself must survive a crash too.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes a file a shell produced without a store open (an activation request, a
/// deactivation receipt) with the same checks and atomic write, protecting the store
/// at `store` (the one the command would use).
pub fn write_output(path: &Path, bytes: &[u8], store: &Path) -> Result<()> {
    write_atomically(path, bytes, Some(store))
}
