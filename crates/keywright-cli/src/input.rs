//! Reading the files the CLI is given (or standard input, `-`): never more than the
//! kind of file may hold. A reader that reads "everything" grows without end on
//! `/dev/zero` or a runaway pipe; here at most limit + 1 bytes are read, and one byte
//! past the limit is an error naming the file, its limit and "larger".

use std::io::Read;
use std::path::Path;

use keywright_core::{Error, ErrorCode};

/// A kind of input file: what it is called, the most bytes it may hold, and the error
/// class when it is larger or not text (the class its parser would give).
pub(crate) struct Input {
    what: &'static str,
    limit: usize,
    code: ErrorCode,
}

/// License and machine files: the format crate refuses anything larger.
pub(crate) const LICENSE_FILE: Input = Input {
    what: "license file",
    limit: keywright_license::MAX_FILE_SIZE,
    code: ErrorCode::Format,
};

/// Public keys (hex, PEM, base64 SPKI): the format crate's bound.
pub(crate) const PUBLIC_KEY: Input = Input {
    what: "public key file",
    limit: keywright_license::MAX_KEY_TEXT,
    code: ErrorCode::BadInput,
};

/// Activation requests written by the customer's application.
pub(crate) const ACTIVATION_REQUEST: Input = Input {
    what: "activation request",
    limit: keywright_license::activation::MAX_ACTIVATION_TEXT,
    code: ErrorCode::Format,
};

/// Deactivation receipts written by the customer's application.
pub(crate) const DEACTIVATION_RECEIPT: Input = Input {
    what: "deactivation receipt",
    limit: keywright_license::activation::MAX_ACTIVATION_TEXT,
    code: ErrorCode::Format,
};

/// Batch CSVs: the batch's own bound (a row is well under 1 KiB, so 64 MiB holds more
/// than the most rows a batch takes).
pub(crate) const BATCH_CSV: Input = Input {
    what: "CSV",
    limit: keywright_core::batch::MAX_FILE_BYTES,
    code: ErrorCode::BadInput,
};

/// Passphrase files (`--passphrase-file`, systemd's `LoadCredential=`).
pub(crate) const PASSPHRASE_FILE: Input = Input {
    what: "passphrase file",
    limit: 64 * 1024,
    code: ErrorCode::BadInput,
};

/// Key bundles (`serve --keys`): a few keys; larger is not one.
pub(crate) const KEY_BUNDLE: Input = Input {
    what: "key bundle",
    limit: keywright_core::bundle::MAX_BUNDLE_BYTES,
    code: ErrorCode::KeyBundleDamaged,
};

/// `1 MiB`, `64 KiB`, or bytes.
fn size_text(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "on standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The bytes of `path` (`-`: standard input), at most `input`'s limit.
pub(crate) fn read_bytes(path: &Path, input: &Input) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "larger".
    let cap = input.limit as u64 + 1;
    let result = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes))
    };
    result.map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("cannot read the {} {}: {e}", input.what, name(path)),
        )
    })?;
    if bytes.len() > input.limit {
        return Err(Error::new(
            input.code,
            format!(
                "the {} {} is larger than the limit for {}s, {} ({} bytes); nothing past that was read",
                input.what,
                name(path),
                input.what,
                size_text(input.limit),
                input.limit,
            ),
        ));
    }
    Ok(bytes)
}

/// The text of `path` (`-`: standard input), at most `input`'s limit; bytes that are
/// not UTF-8 are an error of `input`'s class (a license file in Latin-1 is a format
/// error, not an I/O error).
pub(crate) fn read_text(path: &Path, input: &Input) -> Result<String, Error> {
    let bytes = read_bytes(path, input)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Error::new(
            input.code,
            format!(
                "the {} {} is not UTF-8 text (byte 0x{:02X} at offset {at}), so it is no {}",
                input.what,
                name(path),
                e.as_bytes()[at],
                input.what
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(1 << 20), "1 MiB");
        assert_eq!(size_text(64 << 20), "64 MiB");
        assert_eq!(size_text(64 << 10), "64 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
    }
}
