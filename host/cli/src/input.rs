//! Text that commands read from somewhere else: `-` for stdin, as in cargo,
//! gh and ripgrep, and `--note-file PATH`-style options for long texts.
//!
//! Stdin can be read once per command: a second option asking for it is an
//! error naming both, never an empty text. What is read is kept exactly
//! (trailing newlines included); text that is not UTF-8 is refused naming
//! the option, never replaced.

use std::cell::RefCell;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use dossier_host::{Error, Result};

/// The spelling that means stdin.
pub(crate) const STDIN: &str = "-";

/// Hands out stdin once per command.
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// The option that read stdin, once one has.
    taken_by: RefCell<Option<String>>,
}

impl Input {
    /// `value` as given, or stdin's text when it is `-`.
    pub(crate) fn text(&self, option: &str, value: String) -> Result<String> {
        if value == STDIN {
            self.stdin(option)
        } else {
            Ok(value)
        }
    }

    /// The text of the file at `path` (stdin when it is `-`).
    pub(crate) fn file(&self, option: &str, path: &Path) -> Result<String> {
        if path.as_os_str() == STDIN {
            return self.stdin(option);
        }
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            what: "cannot read",
            path: path.to_owned(),
            source,
        })?;
        String::from_utf8(bytes).map_err(|e| {
            Error::input(
                option,
                format!(
                    "{} is not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }

    /// The text given either inline (`--note`, where `-` is stdin) or as a
    /// file (`--note-file`); clap makes the two options conflict.
    pub(crate) fn inline_or_file(
        &self,
        (option, inline): (&str, Option<String>),
        (file_option, file): (&str, Option<PathBuf>),
    ) -> Result<Option<String>> {
        match (inline, file) {
            (Some(text), _) => self.text(option, text).map(Some),
            (None, Some(path)) => self.file(file_option, &path).map(Some),
            (None, None) => Ok(None),
        }
    }

    fn stdin(&self, option: &str) -> Result<String> {
        if let Some(first) = self.taken_by.borrow().as_deref() {
            return Err(Error::input(
                option,
                format!("stdin was already read for {first}; only one option can read `-`"),
            ));
        }
        *self.taken_by.borrow_mut() = Some(option.to_owned());
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                what: "cannot read",
                path: PathBuf::from("stdin"),
                source,
            })?;
        String::from_utf8(bytes).map_err(|e| {
            Error::input(
                option,
                format!(
                    "stdin is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }
}
