//! A machine fingerprint for machine files (feature `fingerprint`, off by default).
//!
//! This is the only code in the crate that reads the operating system: a file on
//! Linux, the output of `ioreg` on macOS and of `reg query` on Windows. Everything
//! else in the crate is pure.
//!
//! The fingerprint is `hex(SHA-256(app_salt ‖ machine id))`: 64 lowercase hex digits,
//! stable for one machine and one salt, different across applications (give each
//! application its own salt), and it never reveals the raw machine id, which stays
//! on the machine.
//!
//! Where the machine id comes from, and its limits:
//!
//! - **Linux**: `/etc/machine-id`, else `/var/lib/dbus/machine-id` (systemd / D-Bus;
//!   128 random bits written at install or first boot). Cloned VMs and disk images
//!   share it unless the image was prepared (`systemd-machine-id-setup`, emptied
//!   file); reinstalling the OS changes it; containers usually see the image's id
//!   (the same in every container of that image) or none at all, so the call fails
//!   unless the host's file is mounted in.
//! - **macOS**: `IOPlatformUUID` from `/usr/sbin/ioreg -rd1 -c IOPlatformExpertDevice`:
//!   the hardware UUID, which survives reinstalls; VMs may share or randomize it.
//! - **Windows**: `HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid` via
//!   `reg query`: written at install, so reinstalling changes it, and sysprep-less
//!   clones of an image share it.
//! - Other systems: [`FormatError::MachineId`].

use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::FormatError;

const LINUX_PATHS: [&str; 2] = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
const IOREG: &str = "/usr/sbin/ioreg";
/// Longest machine id accepted (a UUID is 36 characters).
const MAX_ID_LEN: usize = 256;

/// This machine's fingerprint for the application salted with `app_salt`:
/// `hex(SHA-256(app_salt ‖ machine id))`. Error [`FormatError::MachineId`] when the
/// OS machine id cannot be read (see the module docs for where it comes from).
pub fn machine_fingerprint(app_salt: &str) -> Result<String, FormatError> {
    let id = os_machine_id()?;
    Ok(fingerprint_of(app_salt, &id))
}

/// The fingerprint for a given machine id: `hex(SHA-256(app_salt ‖ machine_id))`.
pub fn fingerprint_of(app_salt: &str, machine_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(app_salt.as_bytes());
    h.update(machine_id.as_bytes());
    hex::encode(h.finalize())
}

fn os_machine_id() -> Result<String, FormatError> {
    if cfg!(target_os = "linux") {
        linux_machine_id()
    } else if cfg!(target_os = "macos") {
        parse_ioreg(&run(IOREG, &["-rd1", "-c", "IOPlatformExpertDevice"])?)
    } else if cfg!(windows) {
        let reg = std::env::var_os("SystemRoot")
            .map(|root| {
                std::path::Path::new(&root)
                    .join("System32")
                    .join("reg.exe")
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_else(|| "reg.exe".to_owned());
        parse_reg_query(&run(
            &reg,
            &[
                "query",
                r"HKLM\SOFTWARE\Microsoft\Cryptography",
                "/v",
                "MachineGuid",
            ],
        )?)
    } else {
        Err(FormatError::MachineId(
            "no machine id source on this operating system".into(),
        ))
    }
}

fn linux_machine_id() -> Result<String, FormatError> {
    for path in LINUX_PATHS {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(id) = clean_id(&text) {
                // systemd writes "uninitialized" during early boot.
                if id != "uninitialized" {
                    return Ok(id);
                }
            }
        }
    }
    Err(FormatError::MachineId(
        "neither /etc/machine-id nor /var/lib/dbus/machine-id holds a machine id".into(),
    ))
}

fn run(program: &str, args: &[&str]) -> Result<String, FormatError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| FormatError::MachineId(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(FormatError::MachineId(format!(
            "{program} failed ({})",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A trimmed, non-empty id of sane length.
fn clean_id(text: &str) -> Option<String> {
    let id = text.trim();
    (!id.is_empty() && id.len() <= MAX_ID_LEN).then(|| id.to_owned())
}

/// `"IOPlatformUUID" = "XXXXXXXX-…"` out of `ioreg -rd1 -c IOPlatformExpertDevice`.
pub(crate) fn parse_ioreg(output: &str) -> Result<String, FormatError> {
    output
        .lines()
        .find(|line| line.contains("\"IOPlatformUUID\""))
        .and_then(|line| line.split('=').nth(1))
        .and_then(|value| clean_id(value.trim().trim_matches('"')))
        .ok_or_else(|| FormatError::MachineId("ioreg shows no IOPlatformUUID".into()))
}

/// `MachineGuid    REG_SZ    xxxxxxxx-…` out of `reg query`.
pub(crate) fn parse_reg_query(output: &str) -> Result<String, FormatError> {
    output
        .lines()
        .find(|line| line.trim_start().starts_with("MachineGuid"))
        .and_then(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("MachineGuid") && words.next() == Some("REG_SZ"))
                .then(|| words.next())
                .flatten()
        })
        .and_then(clean_id)
        .ok_or_else(|| FormatError::MachineId("reg query shows no MachineGuid".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_salt_then_id() {
        let fp = fingerprint_of("app", "id");
        assert_eq!(fp, hex::encode(Sha256::digest(b"appid")));
        assert_eq!(fp.len(), 64);
        assert_ne!(fingerprint_of("other", "id"), fp);
    }

    #[test]
    fn parses_ioreg() {
        let out = r#"+-o MacBookPro18,3  <class IOPlatformExpertDevice, id 0x100000224, registered>
    {
      "IOPlatformSerialNumber" = "C02XXXXXXX"
      "IOPlatformUUID" = "3F1A2B4C-5D6E-7F80-91A2-B3C4D5E6F708"
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
    }
"#;
        assert_eq!(
            parse_ioreg(out).unwrap(),
            "3F1A2B4C-5D6E-7F80-91A2-B3C4D5E6F708"
        );
        assert!(parse_ioreg("nothing here").is_err());
        assert!(parse_ioreg(r#"  "IOPlatformUUID" = """#).is_err());
    }

    #[test]
    fn parses_reg_query() {
        let out = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    8a7c3e1f-0b2d-4e5f-9a8b-7c6d5e4f3a2b\r\n\r\n";
        assert_eq!(
            parse_reg_query(out).unwrap(),
            "8a7c3e1f-0b2d-4e5f-9a8b-7c6d5e4f3a2b"
        );
        assert!(parse_reg_query(
            "ERROR: The system was unable to find the specified registry key or value."
        )
        .is_err());
        assert!(parse_reg_query("    MachineGuid    REG_DWORD    0x1").is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_machine_fingerprint() {
        // Only where the machine has an id (not in every container).
        let Ok(a) = machine_fingerprint("com.example.app") else {
            assert!(LINUX_PATHS
                .iter()
                .all(|p| std::fs::read_to_string(p).map_or(true, |t| t.trim().is_empty())));
            return;
        };
        let b = machine_fingerprint("com.example.app").unwrap();
        assert_eq!(a, b, "stable across calls");
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(machine_fingerprint("com.example.other").unwrap(), a);
        let raw = linux_machine_id().unwrap();
        assert!(!a.contains(&raw), "the raw id does not leak");
    }
}
