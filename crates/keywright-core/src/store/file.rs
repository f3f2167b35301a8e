//! The store file on disk, before and around SQLite: what is at the path (a folder, an
//! unreadable or foreign file, a truncated one), whether this user can write it, the
//! folder and file permissions, and SQLite's errors in words.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

/// `path` with `suffix` appended to its file name (`store.db-wal`).
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An SQLite `file:` URI for `path` (query parameters follow it).
pub(super) fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy();
    #[cfg(windows)]
    let text = {
        let t = text.replace('\\', "/");
        if t.as_bytes().get(1) == Some(&b':') {
            format!("/{t}")
        } else {
            t
        }
    };
    let mut uri = String::from("file:");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri
}

/// The SQLite stores this process holds open, by file (device and inode), with how
/// many connections hold each and why it is read-only, if it is.
///
/// SQLite's locks on Unix are POSIX advisory locks, which belong to the process: closing
/// ANY descriptor of a file drops every lock the process holds on it, its SQLite
/// connections' included (SQLite's "how to corrupt" §2.2). A store whose connection lost
/// its locks looks unused to other processes: the next one to close its own connection
/// checkpoints and deletes the write-ahead log under this one, whose later commits then
/// go to a deleted file. So a store already open here is never opened with `std::fs`
/// again (header check, writability probe): the first opening looked, and what it found
/// is kept here.
#[cfg(unix)]
static OPEN_HERE: std::sync::Mutex<Vec<OpenHere>> = std::sync::Mutex::new(Vec::new());

#[cfg(unix)]
struct OpenHere {
    file: (u64, u64),
    holders: usize,
    read_only: Option<String>,
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A connection's hold on its store file in [`OPEN_HERE`], released on drop.
#[derive(Default)]
pub(super) struct Held {
    #[cfg(unix)]
    file: Option<(u64, u64)>,
}

impl Held {
    /// Records that a connection to the store at `path` is open, read-only for `why`.
    pub(super) fn new(path: &Path, why: Option<&str>) -> Self {
        #[cfg(unix)]
        {
            let file = file_id(path);
            if let (Some(file), Ok(mut open)) = (file, OPEN_HERE.lock()) {
                match open.iter_mut().find(|o| o.file == file) {
                    Some(entry) => entry.holders += 1,
                    None => open.push(OpenHere {
                        file,
                        holders: 1,
                        read_only: why.map(str::to_owned),
                    }),
                }
            }
            Self { file }
        }
        #[cfg(not(unix))]
        {
            let _ = (path, why);
            Self {}
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let (Some(file), Ok(mut open)) = (self.file, OPEN_HERE.lock()) {
            if let Some(at) = open.iter().position(|o| o.file == file) {
                open[at].holders -= 1;
                if open[at].holders == 0 {
                    open.swap_remove(at);
                }
            }
        }
    }
}

/// Which files the write-ahead log and its index of the store at `path` are now (device
/// and inode, by name: nothing is opened). A connection notes them when it opens; when
/// they change, another process deleted them as the last one out (see [`OPEN_HERE`] for
/// how the locks that should have stopped it can be lost) and the connection must be
/// opened again before it writes to a log no one else reads.
pub(super) fn journal_ids(path: &Path) -> Option<[(u64, u64); 2]> {
    #[cfg(unix)]
    {
        Some([
            file_id(&sibling(path, "-wal"))?,
            file_id(&sibling(path, "-shm"))?,
        ])
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// When this process already holds the store at `path` open: why it is read-only
/// (`Some(None)`: it is writable). `None`: not open here, so it may be looked at.
pub(super) fn open_here(path: &Path) -> Option<Option<String>> {
    #[cfg(unix)]
    {
        let file = file_id(path)?;
        let open = OPEN_HERE.lock().ok()?;
        open.iter()
            .find(|o| o.file == file)
            .map(|o| o.read_only.clone())
    }
    #[cfg(not(unix))]
    {
        // Windows' locks belong to the handle that took them: nothing to protect.
        let _ = path;
        None
    }
}

/// SQLite's file header: the first 16 bytes of every database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Looks at an existing store file before SQLite does: whether this user may read it,
/// whether it is an SQLite database at all, and whether it is shorter than its header
/// says (truncated). Each gets its own message; nothing is written.
pub(super) fn inspect_file(path: &Path) -> Result<()> {
    use std::io::Read as _;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(Error::new(
                ErrorCode::Store,
                format!(
                    "cannot read the store at {}: permission denied (its owner or permissions do not let this user read it)",
                    path.display()
                ),
            ))
        }
        Err(e) => {
            return Err(Error::new(
                ErrorCode::Store,
                format!("cannot read the store at {}: {e}", path.display()),
            ))
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut header = Vec::with_capacity(100);
    if let Err(e) = file.by_ref().take(100).read_to_end(&mut header) {
        return Err(Error::new(
            ErrorCode::Store,
            format!(
                "cannot read the store at {}: an I/O error ({e}); is its disk failing?",
                path.display()
            ),
        ));
    }
    if header.is_empty() {
        // SQLite makes an empty file a new database: a new store.
        return Ok(());
    }
    let magic = &SQLITE_MAGIC[..header.len().min(16)];
    if !header.starts_with(magic) {
        return Err(not_a_database(path));
    }
    if header.len() < 100 {
        return Err(damaged(
            path,
            &format!("it is truncated: {len} bytes, shorter than an SQLite header"),
        ));
    }
    // The page count in the header is only meaningful when the change counter (24)
    // matches its version-valid-for number (92). With a write-ahead log beside the
    // file, pages may live in the log instead.
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u64::from(be32(28));
    let log_has_pages = std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0);
    if be32(24) == be32(92) && pages > 0 && !log_has_pages && len < pages * page_size {
        return Err(damaged(
            path,
            &format!(
                "it is truncated: {len} bytes of the {} its header records",
                pages * page_size
            ),
        ));
    }
    Ok(())
}

fn not_a_database(path: &Path) -> Error {
    Error::new(
        ErrorCode::Store,
        format!(
            "{} is not a Keywright store: it is not a database (no SQLite header); nothing in it was changed",
            path.display()
        ),
    )
}

fn damaged(path: &Path, how: &str) -> Error {
    Error::new(
        ErrorCode::Store,
        format!(
            "the store at {} is damaged ({how}); nothing in it was changed. Restore it from a backup",
            path.display()
        ),
    )
}

/// An SQLite error while opening the store at `path`, in words that say which kind of
/// trouble it is.
pub(super) fn opening_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as Sql;
    match e.sqlite_error_code() {
        // (A store open here is a database: its locks must not be dropped by a look.)
        Some(Sql::NotADatabase) if open_here(path).is_some() => {
            damaged(path, &format!("SQLite: {e}"))
        }
        Some(Sql::NotADatabase) => {
            let sqlite = std::fs::File::open(path).ok().and_then(|mut f| {
                use std::io::Read as _;
                let mut magic = [0u8; 16];
                f.read_exact(&mut magic)
                    .ok()
                    .map(|()| &magic == SQLITE_MAGIC)
            });
            if sqlite == Some(true) {
                damaged(path, &format!("SQLite: {e}"))
            } else {
                not_a_database(path)
            }
        }
        Some(Sql::DatabaseCorrupt) => damaged(path, &format!("SQLite: {e}")),
        Some(Sql::SystemIoFailure) => Error::new(
            ErrorCode::Store,
            format!(
                "cannot read the store at {}: an I/O error (SQLite: {e}); is its disk failing?",
                path.display()
            ),
        ),
        Some(Sql::PermissionDenied) => Error::new(
            ErrorCode::Store,
            format!(
                "cannot open the store at {}: permission denied (SQLite: {e})",
                path.display()
            ),
        ),
        Some(Sql::ReadOnly) => Error::new(
            ErrorCode::Store,
            format!(
                "the store at {} is read-only (SQLite: {e}); nothing was changed",
                path.display()
            ),
        ),
        _ => Error::new(
            ErrorCode::Store,
            format!("cannot open the store at {}: {e}", path.display()),
        ),
    }
}

/// Why this user cannot write the store at `path`, found on the file system (SQLite
/// is not involved): the file is read-only for this user, its folder is (SQLite must
/// create its `-wal` and `-shm` files there), or the disk is mounted read-only.
/// `None` when it can be written, or when there is no regular file there yet.
pub fn read_only_reason(path: &Path) -> Option<String> {
    use std::io::ErrorKind;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let read_only_disk = || "the disk holding it is mounted read-only".to_owned();
    // Opening for writing changes nothing (no truncation, no creation).
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt as _;
                format!(", mode {:04o}", meta.permissions().mode() & 0o7777)
            };
            #[cfg(not(unix))]
            let mode = String::new();
            return Some(format!(
                "the store file is read-only for this user (its permissions{mode})"
            ));
        }
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => return Some(read_only_disk()),
        // Other trouble is SQLite's to report.
        Err(_) => return None,
    }
    let journals_writable = ["-wal", "-shm"].iter().all(|suffix| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(sibling(path, suffix))
            .is_ok()
    });
    if journals_writable {
        return None;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // An unnamed temporary file (O_TMPFILE where the OS has it): the folder is left
    // as it was.
    match tempfile::tempfile_in(dir) {
        Ok(_) => None,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(format!(
            "its folder {} is read-only for this user, and SQLite must create its journal files (-wal, -shm) there",
            dir.display()
        )),
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => Some(read_only_disk()),
        Err(_) => None,
    }
}

/// Creates `dir` (and parents) readable by the owner only on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("cannot create the store folder {}: {e}", dir.display()),
        )
    })
}

/// Owner-only permissions on the store file (best effort: SQLite created it).
pub(super) fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The default store file: `keywright.db` in the OS's per-user data folder
/// (`~/.local/share/keywright` on Linux, `~/Library/Application Support/keywright`
/// on macOS, `%APPDATA%\keywright\data` on Windows).
pub fn default_store_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "keywright").ok_or_else(|| {
        Error::new(
            ErrorCode::Io,
            "cannot find a home folder for the store; pass --store PATH",
        )
    })?;
    Ok(dirs.data_dir().join("keywright.db"))
}
