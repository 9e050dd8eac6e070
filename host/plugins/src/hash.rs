//! The SHA-256 check that stands between a config entry and loading code.

use std::path::Path;

use sha2::{Digest, Sha256};

use dossier_types::{Error, Result};

/// The lower-case hex SHA-256 of the file at `path`.
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        what: "cannot read plugin library",
        path: path.to_owned(),
        source,
    })?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// `bytes` as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// How a library's hash compares with what its config entry allows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HashStatus {
    /// The entry's `sha256` matches the file.
    Verified {
        /// The hash.
        sha256: String,
    },
    /// The entry has no `sha256` but says `trust = true`.
    Trusted {
        /// The file's hash, to copy into the entry.
        sha256: String,
    },
    /// The entry's `sha256` differs from the file's: refused.
    Mismatch {
        /// What the entry says.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// The entry has neither `sha256` nor `trust = true`: refused.
    Missing {
        /// The file's hash, to copy into the entry.
        sha256: String,
    },
}

impl HashStatus {
    /// Compares the file at `path` with the entry's `expected` hash and `trust` flag.
    pub fn check(path: &Path, expected: Option<&str>, trust: bool) -> Result<HashStatus> {
        let actual = file_sha256(path)?;
        Ok(match expected {
            Some(expected) if expected.trim().eq_ignore_ascii_case(&actual) => {
                HashStatus::Verified { sha256: actual }
            }
            Some(expected) => HashStatus::Mismatch {
                expected: expected.trim().to_ascii_lowercase(),
                actual,
            },
            None if trust => HashStatus::Trusted { sha256: actual },
            None => HashStatus::Missing { sha256: actual },
        })
    }

    /// Why loading is refused, as the end of a sentence naming the library;
    /// `None` when it is allowed.
    pub fn refusal(&self) -> Option<String> {
        match self {
            HashStatus::Verified { .. } | HashStatus::Trusted { .. } => None,
            HashStatus::Mismatch { expected, actual } => Some(format!(
                "refused: its SHA-256 is {actual} but its [[plugins]] entry expects {expected}; \
                 if you rebuilt or upgraded it on purpose, put the new hash in `sha256`"
            )),
            HashStatus::Missing { sha256 } => Some(format!(
                "refused: its [[plugins]] entry has no `sha256`; after checking the file is the \
                 one you mean to run, add `sha256 = \"{sha256}\"` (or `trust = true` while developing)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_expected_hash_and_trust() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("lib.so");
        std::fs::write(&path, b"abc").unwrap_or_else(|e| panic!("{e}"));
        // SHA-256 of "abc" (FIPS 180-2 example).
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let check = |e: Option<&str>, t| HashStatus::check(&path, e, t).ok();
        assert_eq!(
            check(Some(&abc.to_uppercase()), false),
            Some(HashStatus::Verified { sha256: abc.into() })
        );
        assert_eq!(
            check(None, true),
            Some(HashStatus::Trusted { sha256: abc.into() })
        );
        let missing = check(None, false);
        assert!(missing.as_ref().is_some_and(|s| s.refusal().is_some()));
        let refusal = missing.and_then(|s| s.refusal()).unwrap_or_default();
        assert!(refusal.contains(abc), "{refusal}");
        let mismatch = check(Some("00ff"), true)
            .and_then(|s| s.refusal())
            .unwrap_or_default();
        assert!(
            mismatch.contains("expects 00ff") && mismatch.contains(abc),
            "{mismatch}"
        );
        assert!(HashStatus::check(&dir.path().join("nope.so"), None, true).is_err());
    }
}
