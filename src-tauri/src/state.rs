//! The state the commands share: the window's connection to the store and the settings
//! that chose it ([`Desk`]), the activation server the Server page runs ([`Server`]),
//! and the batch the Batch page runs ([`Batch`]).
//!
//! The window's connection sits behind one mutex, held for one short call at a time. A
//! long job (a batch, a backup) runs on a connection of its own to the same store
//! ([`Desk::job`]), so the window keeps answering while it runs: SQLite serialises the
//! writers (IMMEDIATE transactions, a 5 s busy timeout) and WAL lets reads go on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use keywright_core::applock::AppLockState;
use keywright_core::batch::{BatchOptions, BatchOutcome, BatchProgress};
use keywright_core::online::ServerStatus;
use keywright_core::store::{location, StoreCopied};
use keywright_core::{
    default_settings_path, default_store_path, os_user, CommandError, Error, ErrorCode, Keychain,
    Keywright, Settings, SettingsView, Store, StoreInfo, Vault,
};
use keywright_server::{ServerConfig, ServerError, ServerHandle};
use zeroize::Zeroizing;

/// What a command answers: a core type, or `{code, message}`.
pub type Reply<T> = Result<T, CommandError>;

/// The keychain that holds the keys of the store with a given id.
pub type StoreVault = Box<dyn Fn(&str) -> Box<dyn Vault> + Send + Sync>;

/// The keychains the window uses: the one that holds a store's keys (by store id; the OS
/// keychain, tests hand in a shared memory vault), and the one that holds PostgreSQL
/// stores' passwords.
pub struct Keychains {
    pub for_store: StoreVault,
    pub connections: Box<dyn Vault>,
}

impl Keychains {
    /// The OS keychain for both.
    pub fn os() -> Self {
        Self {
            for_store: Box::new(|id| Box::new(Keychain::for_store(id))),
            connections: Box::new(Keychain::for_connections()),
        }
    }
}

/// The open store (or why it could not be opened: every command then reports that),
/// where it is, and the settings that chose it.
pub struct Desk {
    kw: Mutex<Result<Keywright, Error>>,
    /// The open store's location as it is connected to: a file path, or a PostgreSQL
    /// URL with its password (never shown; the store names itself without it).
    location: Mutex<Zeroizing<String>>,
    settings: Mutex<SettingsState>,
    keychains: Keychains,
}

/// The settings file and what it holds.
pub struct SettingsState {
    /// Where settings are saved; `None` when there is no home folder.
    pub path: Option<PathBuf>,
    pub current: Settings,
    pub problem: Option<String>,
    pub store_from_env: bool,
}

impl Desk {
    /// Opens the store named by `KEYWRIGHT_STORE`, else the one chosen in Settings,
    /// else the per-user default, with its keys in the OS keychain.
    pub fn open_default() -> Self {
        let settings_path = std::env::var_os("KEYWRIGHT_SETTINGS")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .map_or_else(default_settings_path, Ok)
            .ok();
        let (current, problem) = match settings_path.as_deref().map(Settings::load) {
            Some(Ok(s)) => (s, None),
            Some(Err(e)) => (Settings::default(), Some(e.message)),
            None => (
                Settings::default(),
                Some("no home folder for settings".into()),
            ),
        };
        let from_env = std::env::var_os("KEYWRIGHT_STORE").filter(|p| !p.is_empty());
        let store_from_env = from_env.is_some();
        let location = from_env
            .map(|p| p.to_string_lossy().into_owned())
            .or_else(|| current.store_path.clone())
            .map_or_else(|| default_store_path().map(|p| p.display().to_string()), Ok);
        let settings = SettingsState {
            path: settings_path,
            current,
            problem,
            store_from_env,
        };
        Self::open(location, settings, Keychains::os())
    }

    /// Opens the store at `location` (a file path, or a PostgreSQL URL whose password,
    /// when it has none, comes from the connections keychain) and enforces the app lock
    /// on it, with the idle time from `settings`.
    pub fn open(
        location: keywright_core::Result<String>,
        settings: SettingsState,
        keychains: Keychains,
    ) -> Self {
        let location = location
            .and_then(|l| location::with_saved_password(keychains.connections.as_ref(), &l));
        let shown = location
            .as_deref()
            .map_or_else(|_| String::new(), |l| l.clone());
        let opened = location
            .and_then(|l| connect(&keychains, &l))
            .map(|mut kw| {
                kw.enforce_app_lock(idle(&settings.current));
                kw
            });
        if let Err(e) = &opened {
            log::warn!("store not opened: {:?}: {}", e.code, e.message);
        }
        Self {
            kw: Mutex::new(opened),
            location: Mutex::new(Zeroizing::new(shown)),
            settings: Mutex::new(settings),
            keychains,
        }
    }

    /// Runs `f` on the window's connection (a short call: the mutex is held meanwhile).
    ///
    /// First, the connection is opened again if the store's write-ahead log was deleted
    /// under it (see [`Keywright::reconnect_if_moved`]: the native file dialogs read
    /// the files of the folders they show, which drops this process's SQLite locks).
    pub fn with<T>(&self, f: impl FnOnce(&mut Keywright) -> keywright_core::Result<T>) -> Reply<T> {
        let mut guard = self.store()?;
        let result = match guard.as_mut() {
            Ok(kw) => match kw.reconnect_if_moved() {
                Ok(reopened) => {
                    if reopened {
                        log::warn!("the store's write-ahead log was deleted by another process; reopened the store");
                    }
                    f(kw)
                }
                Err(e) => {
                    *guard = Err(e.clone());
                    Err(e)
                }
            },
            Err(e) => Err(e.clone()),
        };
        result.map_err(refused)
    }

    /// Runs a long job (a batch, a backup) on a connection of its own to the open
    /// store, so the window's connection stays free for other commands meanwhile.
    ///
    /// The job's connection signs only when the window's would: when signing is locked
    /// there (or whether it is cannot be read), the job's connection enforces the lock
    /// as well and refuses to sign with the same error, at the same point, as the
    /// window's did when the job ran on it. Locking signing while a batch runs stops it
    /// (see [`Batch::signing_locked`]).
    pub fn job<T>(&self, f: impl FnOnce(&mut Keywright) -> keywright_core::Result<T>) -> Reply<T> {
        let locked =
            self.with(|kw| Ok(kw.app_lock_state().map_or(true, |state| !state.unlocked)))?;
        let location = self.location()?;
        let idle = idle(&self.settings()?.current);
        connect(&self.keychains, &location)
            .and_then(|mut kw| {
                if locked {
                    kw.enforce_app_lock(idle);
                }
                f(&mut kw)
            })
            .map_err(refused)
    }

    /// Locks signing now: on the window's connection, and for a running batch, which
    /// signs nothing after the chunk it is committing.
    pub fn lock_app(&self, batch: &Batch) -> Reply<AppLockState> {
        batch.signing_locked();
        self.with(|kw| {
            kw.lock_app();
            kw.app_lock_state()
        })
    }

    /// Opens (or creates) the store at `location`, `None` = the default location, and
    /// makes it the one the window opens from now on. The location is a file's absolute
    /// path or a PostgreSQL URL; a URL's password (in the URL or as `password`, else the
    /// one saved for it) is used to connect and, once connected, saved in the OS
    /// keychain: settings keep the URL without it. The current store stays open if this
    /// fails.
    pub fn open_store(
        &self,
        location: Option<String>,
        password: Option<String>,
    ) -> Reply<StoreInfo> {
        let password = password.map(Zeroizing::new);
        let (saved_as, target) = match &location {
            Some(l) if location::is_postgres_url(l) => {
                let (bare, in_url) = location::split_password(l);
                let target = match password.as_ref().or(in_url.as_ref()) {
                    Some(p) => location::with_password(&bare, p),
                    None => {
                        location::with_saved_password(self.keychains.connections.as_ref(), &bare)?
                    }
                };
                (Some(bare), target)
            }
            Some(p) if !Path::new(p).is_absolute() => {
                return Err(Error::bad_input(format!(
                    "{p:?} is neither an absolute path to a store file nor a postgres:// URL"
                ))
                .into())
            }
            Some(p) => (Some(p.clone()), Zeroizing::new(p.clone())),
            None => (
                None,
                Zeroizing::new(default_store_path()?.display().to_string()),
            ),
        };
        let mut opened = connect(&self.keychains, &target)?;
        opened.enforce_app_lock(idle(&self.settings()?.current));
        let info = opened.store_info();
        if let Some(bare) = saved_as.as_deref().filter(|l| location::is_postgres_url(l)) {
            if let (_, Some(p)) = location::split_password(&target) {
                location::save_password(self.keychains.connections.as_ref(), bare, &p)?;
            }
        }
        let next = Settings {
            store_path: saved_as,
            ..self.settings()?.current.clone()
        };
        self.save_settings(next)?;
        *self.store()? = Ok(opened);
        *self.location.lock().map_err(|_| poisoned())? = target;
        log::info!("opened store {}", info.path);
        Ok(info)
    }

    /// The open store's location as it is connected to (a PostgreSQL URL with its
    /// password): for a second connection (a job, the activation server), never shown.
    pub fn location(&self) -> Reply<Zeroizing<String>> {
        Ok(self.location.lock().map_err(|_| poisoned())?.clone())
    }

    /// Copies the open store to `to` (a new file, or an empty PostgreSQL database with
    /// `password`, else the one saved for its URL): see [`keywright_core::store::copy_store`].
    /// The window's connection is held meanwhile, so nothing it does lands in the
    /// source halfway through. The target's password is saved in the keychain once the
    /// copy verifies, so the copy can be opened without typing it again.
    pub fn copy_store(
        &self,
        to: &str,
        password: Option<String>,
        progress: impl FnMut(&str, i64),
    ) -> Reply<StoreCopied> {
        let password = password.map(Zeroizing::new);
        let (bare, target) = if location::is_postgres_url(to) {
            let (bare, in_url) = location::split_password(to);
            let target = match password.as_ref().or(in_url.as_ref()) {
                Some(p) => location::with_password(&bare, p),
                None => location::with_saved_password(self.keychains.connections.as_ref(), &bare)?,
            };
            (bare, target)
        } else if !Path::new(to).is_absolute() {
            return Err(Error::bad_input(format!(
                "{to:?} is neither an absolute path to a new store file nor a postgres:// URL"
            ))
            .into());
        } else {
            (to.to_owned(), Zeroizing::new(to.to_owned()))
        };
        let source = self.location()?;
        // Held through the copy, so nothing the window does lands in the source halfway.
        let actor = self.with(|kw| Ok(kw.actor().to_owned()))?;
        let guard = self.store()?;
        let copied = keywright_core::store::copy_store(
            &source,
            &target,
            &actor,
            |id| (self.keychains.for_store)(id),
            progress,
        )
        .map_err(refused)?;
        drop(guard);
        if location::is_postgres_url(&bare) {
            if let (_, Some(p)) = location::split_password(&target) {
                location::save_password(self.keychains.connections.as_ref(), &bare, &p)?;
            }
        }
        log::info!("copied store {} to {}", copied.from, copied.to);
        Ok(copied)
    }

    pub fn settings(&self) -> Reply<MutexGuard<'_, SettingsState>> {
        self.settings.lock().map_err(|_| {
            CommandError::from(Error::new(
                ErrorCode::Internal,
                "settings are unavailable; restart Keywright",
            ))
        })
    }

    pub fn settings_view(&self) -> Reply<SettingsView> {
        let state = self.settings()?;
        Ok(SettingsView {
            settings: state.current.clone(),
            default_store_path: default_store_path()?.display().to_string(),
            store_from_env: state.store_from_env,
            problem: state.problem.clone(),
        })
    }

    /// Saves `next` (validated first); the file and the state change together or not at all.
    pub fn save_settings(&self, next: Settings) -> Reply<()> {
        let mut state = self.settings()?;
        let path = state.path.clone().ok_or_else(|| {
            CommandError::from(Error::new(
                ErrorCode::Io,
                "no home folder to save settings in",
            ))
        })?;
        next.save(&path)?;
        state.current = next;
        state.problem = None;
        Ok(())
    }

    fn store(&self) -> Reply<MutexGuard<'_, Result<Keywright, Error>>> {
        self.kw.lock().map_err(|_| {
            CommandError::from(Error::new(
                ErrorCode::Internal,
                "an earlier command failed midway; restart Keywright",
            ))
        })
    }
}

/// Connects to the store at `location` with its keys in `keychains`.
fn connect(keychains: &Keychains, location: &str) -> keywright_core::Result<Keywright> {
    let store = Store::open_location(location)?;
    let vault = (keychains.for_store)(store.store_id());
    Ok(Keywright::with_vault(store, vault, os_user()))
}

fn poisoned() -> CommandError {
    CommandError::from(Error::new(
        ErrorCode::Internal,
        "an earlier command failed midway; restart Keywright",
    ))
}

/// A core error on its way to the window, logged by code and message (neither ever
/// holds key material).
fn refused(e: Error) -> CommandError {
    log::warn!("command refused: {:?}: {}", e.code, e.message);
    CommandError::from(e)
}

/// The app lock's idle time from Settings.
fn idle(settings: &Settings) -> Duration {
    Duration::from_secs(u64::from(settings.lock_idle_minutes) * 60)
}

/// The batch the Batch page runs. Its flags live outside the store's mutex: the batch
/// reads them between chunks while the window's commands go on.
#[derive(Default)]
pub struct Batch {
    /// Set by `batch_cancel` (and by locking signing); the running batch stops after
    /// the chunk it is committing.
    cancel: AtomicBool,
    /// Set with `cancel` when signing was locked while a batch ran.
    locked: AtomicBool,
    /// A batch is running: a second is refused rather than left waiting (a window
    /// reloaded mid-batch could otherwise start one behind it).
    running: AtomicBool,
}

/// Clears [`Batch::running`] however the batch ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Batch {
    /// Issues what the CSV orders on a connection of its own ([`Desk::job`]), reporting
    /// progress after every chunk.
    pub fn issue(
        &self,
        desk: &Desk,
        csv: &[u8],
        options: &BatchOptions,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Reply<BatchOutcome> {
        if self
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::conflict(
                "a batch is already running; wait for it to finish, or cancel it, before starting another",
            )
            .into());
        }
        let _running = Running(&self.running);
        self.cancel.store(false, Ordering::SeqCst);
        self.locked.store(false, Ordering::SeqCst);
        let mut outcome =
            desk.job(|kw| kw.issue_batch(csv, options, Timestamp::now(), progress, &self.cancel))?;
        if outcome.cancelled && self.locked.load(Ordering::SeqCst) {
            outcome.message = format!(
                "{}. Signing was locked while the batch ran: unlock it first",
                outcome.message
            );
        }
        Ok(outcome)
    }

    /// The running batch stops after the chunk it is committing.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Signing was locked: a running batch signs nothing after the chunk it is
    /// committing (it started on the lock state of its start, on its own connection).
    pub fn signing_locked(&self) {
        self.locked.store(true, Ordering::SeqCst);
        self.cancel.store(true, Ordering::SeqCst);
    }
}

/// The activation server the Server page started, with its address and start time.
#[derive(Default)]
pub struct Server(tauri::async_runtime::Mutex<Option<(ServerHandle, ServerStatus)>>);

impl Server {
    pub async fn status(&self) -> ServerStatus {
        self.0
            .lock()
            .await
            .as_ref()
            .map(|(_, status)| status.clone())
            .unwrap_or_default()
    }

    /// Serves the store at `path` on `addr` (its own connections, the OS keychain).
    /// The server signs its answers: refused while signing is locked (`lock`).
    pub async fn start(
        &self,
        path: &Path,
        lock: &AppLockState,
        addr: std::net::SocketAddr,
    ) -> Reply<ServerStatus> {
        if !lock.unlocked {
            return Err(Error::new(
                ErrorCode::SigningLocked,
                "the server signs its answers: unlock signing first",
            )
            .into());
        }
        let mut running = self.0.lock().await;
        if let Some((_, status)) = running.as_ref() {
            return Err(Error::conflict(format!(
                "the server is already running on {}",
                status.address.as_deref().unwrap_or("?")
            ))
            .into());
        }
        let handle = keywright_server::start_store(path, addr, ServerConfig::default())
            .await
            .map_err(|e| match e {
                ServerError::Core(e) => CommandError::from(e),
                ServerError::Io(e) => {
                    Error::new(ErrorCode::Io, format!("cannot listen on {addr}: {e}")).into()
                }
            })?;
        let status = ServerStatus {
            running: true,
            address: Some(format!("http://{}", handle.local_addr())),
            started_at: Some(Timestamp::now().to_string()),
        };
        log::info!("activation server listening on {}", handle.local_addr());
        *running = Some((handle, status.clone()));
        Ok(status)
    }

    pub async fn stop(&self) -> Reply<ServerStatus> {
        if let Some((handle, _)) = self.0.lock().await.take() {
            handle
                .stop()
                .await
                .map_err(|e| Error::new(ErrorCode::Io, format!("stopping the server: {e}")))?;
        }
        Ok(ServerStatus::default())
    }
}

#[cfg(test)]
mod tests;
