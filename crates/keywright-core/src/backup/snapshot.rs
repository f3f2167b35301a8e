//! The store snapshot a backup carries: taken with SQLite's online backup API into an
//! in-memory database and serialized there, never written to disk unencrypted.

use rusqlite::{Connection, MAIN_DB};

use super::format::damaged;
use crate::error::{Error, ErrorCode, Result};

/// Marks a database image as rollback-journal (file format bytes 18 and 19 = 1): a
/// snapshot has no WAL beside it, and an in-memory database cannot use one. The store
/// switches back to WAL when it is opened.
pub(crate) fn legacy_header(db: &mut [u8]) {
    if db.len() >= 100 {
        db[18] = 1;
        db[19] = 1;
    }
}

pub(crate) fn snapshot(conn: &Connection) -> Result<Vec<u8>> {
    let mut mem = Connection::open_in_memory()?;
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut mem)?;
        // All pages in one step, under one read lock: a consistent snapshot even if
        // another process writes meanwhile.
        let mut waits = 0;
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                // Another process holds a lock: wait as the busy timeout would.
                _ if waits < 50 => {
                    waits += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::Store,
                        "the store stayed locked by another process for 5 seconds; try the backup again",
                    ))
                }
            }
        }
    }
    let mut bytes = mem.serialize(MAIN_DB)?.to_vec();
    legacy_header(&mut bytes);
    Ok(bytes)
}

pub(super) fn load(image: &[u8]) -> Result<Connection> {
    let mut image = image.to_vec();
    legacy_header(&mut image);
    let mut conn = Connection::open_in_memory()?;
    let len = image.len();
    conn.deserialize_read_exact(MAIN_DB, &image[..], len, false)
        .map_err(|e| damaged(format!("its store snapshot cannot be read: {e}")))?;
    Ok(conn)
}
