//! What people type, as the host reads it: phones and email addresses
//! written `label:value` (the command line's `--phone`, an import's `phone`
//! cells), and the name nearest a misspelt one for "did you mean".

use dossier_sdk::{Email, Phone};

/// The candidate nearest to `typed`, if one is near enough to be a typo
/// (Jaro-Winkler similarity above 0.8, as clap uses for commands).
pub fn closest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(typed, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `label:value` split in two, or `default` and the whole of `s` when it
/// has no label (a colon after `@`, `+` or a space belongs to the value).
fn labelled(s: &str, default: &str) -> (String, String) {
    match s.split_once(':') {
        Some((label, value)) if !label.is_empty() && !label.contains(['@', '+', ' ']) => {
            (label.to_owned(), value.to_owned())
        }
        _ => (default.to_owned(), s.to_owned()),
    }
}

/// Phones as typed (`label:number` or a bare number, labelled `main`
/// first and `other` after): how the command line's `--phone` and an
/// import's `phone` cells are read. The numbers are normalized when the
/// customer is written.
pub fn phones_from<'a>(raw: impl Iterator<Item = &'a str>) -> Vec<Phone> {
    all_labelled(raw, |label, number| Phone { label, number })
}

/// Email addresses as typed, labelled like [`phones_from`].
pub fn emails_from<'a>(raw: impl Iterator<Item = &'a str>) -> Vec<Email> {
    all_labelled(raw, |label, address| Email { label, address })
}

/// Each of `raw` split by [`labelled`], the first defaulting to `main` and
/// the others to `other`, made into a `T` by `make(label, value)`.
fn all_labelled<'a, T>(
    raw: impl Iterator<Item = &'a str>,
    make: impl Fn(String, String) -> T,
) -> Vec<T> {
    raw.enumerate()
        .map(|(i, s)| {
            let (label, value) = labelled(s, if i == 0 { "main" } else { "other" });
            make(label, value)
        })
        .collect()
}
