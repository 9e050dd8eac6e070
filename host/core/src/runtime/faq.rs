//! The FAQ base: canned answers agents insert into what they write by
//! typing `/shortcut`, as the entry's full text or as its link.
//!
//! Managing entries needs `manage_faq`; reading, searching and expanding
//! them is open to every agent.

use dossier_sdk::{ExpandMode, FaqChange, FaqEntry, NewFaqEntry, Permission};

use crate::events::Ctx;
use crate::runtime::Runtime;
use dossier_types::{Error, Result};

/// The longest shortcut, in characters.
pub const MAX_SHORTCUT: usize = 64;
/// The longest title, in characters.
const MAX_TITLE: usize = 200;
/// The longest body, in bytes.
const MAX_BODY: usize = 100_000;
/// The most entries one search returns.
const MAX_SEARCH: u32 = 100;

/// Whether `c` may appear in a shortcut.
fn shortcut_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Refuses a shortcut that is empty, too long or has a character other than
/// ASCII letters, digits, `-` and `_` (a leading `/` is the caller's to strip).
pub fn check_shortcut(shortcut: &str) -> Result<()> {
    if shortcut.is_empty() {
        return Err(Error::input("shortcut", "is empty"));
    }
    if shortcut.chars().count() > MAX_SHORTCUT {
        return Err(Error::input(
            "shortcut",
            format!("`{shortcut}` is longer than {MAX_SHORTCUT} characters"),
        ));
    }
    if let Some(c) = shortcut.chars().find(|c| !shortcut_char(*c)) {
        return Err(Error::input(
            "shortcut",
            format!("`{shortcut}` has the character {c:?}: use ASCII letters, digits, `-` and `_`"),
        ));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::input("title", "is empty"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(Error::input(
            "title",
            format!("is longer than {MAX_TITLE} characters"),
        ));
    }
    Ok(())
}

fn check_body(body: &str) -> Result<()> {
    if body.trim().is_empty() {
        return Err(Error::input("body", "is empty"));
    }
    if body.len() > MAX_BODY {
        return Err(Error::input(
            "body",
            format!("is longer than {MAX_BODY} bytes"),
        ));
    }
    Ok(())
}

/// Refuses a link that is not an absolute `http`, `https` or `mailto` URL.
fn check_link(link: &str) -> Result<()> {
    let url = url::Url::parse(link)
        .map_err(|e| Error::input("link", format!("`{link}` is not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" | "mailto" => Ok(()),
        other => Err(Error::input(
            "link",
            format!("`{link}` has the scheme `{other}`: use http, https or mailto"),
        )),
    }
}

fn missing(shortcut: &str) -> Error {
    Error::Refused(format!("there is no FAQ entry `{shortcut}`"))
}

/// A shortcut as typed, without a leading `/`.
fn bare(shortcut: &str) -> &str {
    shortcut.strip_prefix('/').unwrap_or(shortcut)
}

/// Whether `c` ends a `/shortcut` token (besides the end of the text and
/// whitespace): sentence punctuation and closing brackets and quotes.
fn ends_token(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '"' | '\'' | '»'
        )
}

/// The `/shortcut` tokens of `text`: (byte range of the token with its
/// `/`, the shortcut). A token starts the text or follows whitespace, and
/// ends at the end, whitespace or punctuation (see `ends_token`); so
/// `/etc/passwd` or `a/b` hold none.
pub fn shortcut_tokens(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let starts = c == '/' && prev.is_none_or(char::is_whitespace);
        prev = Some(c);
        if !starts {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = iter.peek() {
            if shortcut_char(d) {
                end = j + d.len_utf8();
                prev = Some(d);
                iter.next();
            } else {
                break;
            }
        }
        let after = text[end..].chars().next();
        if end > start && after.is_none_or(ends_token) {
            out.push((i..end, &text[start..end]));
        }
    }
    out
}

impl Runtime {
    /// Adds an FAQ entry: see `Host::faq_add`.
    pub fn faq_add(&self, ctx: &Ctx, new: NewFaqEntry) -> Result<FaqEntry> {
        self.require(ctx, Permission::ManageFaq, "add FAQ entries")?;
        let shortcut = bare(new.shortcut.trim()).to_owned();
        check_shortcut(&shortcut)?;
        check_title(&new.title)?;
        check_body(&new.body)?;
        let link = new.link.filter(|l| !l.trim().is_empty());
        if let Some(link) = &link {
            check_link(link)?;
        }
        let now = ctx.now();
        let entry = FaqEntry {
            shortcut,
            title: new.title.trim().to_owned(),
            body: new.body,
            link,
            html: new.html,
            created_at: now,
            updated_at: now,
        };
        self.store().write("add FAQ entry", |tx| {
            if tx.insert_faq(&entry)? {
                Ok(entry.clone())
            } else {
                Err(Error::Refused(format!(
                    "there is already an FAQ entry `{}` (shortcuts ignore case)",
                    entry.shortcut
                )))
            }
        })
    }

    /// Every FAQ entry, by shortcut.
    pub fn faq_list(&self) -> Result<Vec<FaqEntry>> {
        self.store().read(|tx| tx.list_faq())
    }

    /// The FAQ entry `shortcut` (with or without its `/`, any case).
    pub fn faq_entry(&self, shortcut: &str) -> Result<FaqEntry> {
        let shortcut = bare(shortcut.trim());
        self.store()
            .read(|tx| tx.faq(shortcut))?
            .ok_or_else(|| missing(shortcut))
    }

    /// The FAQ entry `shortcut`, or `None`: what scripts' `faq` reads.
    pub fn faq_find(&self, shortcut: &str) -> Result<Option<FaqEntry>> {
        self.store().read(|tx| tx.faq(bare(shortcut.trim())))
    }

    /// Changes an FAQ entry: see `Host::faq_update`.
    pub fn faq_update(&self, ctx: &Ctx, shortcut: &str, change: FaqChange) -> Result<FaqEntry> {
        self.require(ctx, Permission::ManageFaq, "change FAQ entries")?;
        let shortcut = bare(shortcut.trim());
        if let Some(title) = &change.title {
            check_title(title)?;
        }
        if let Some(body) = &change.body {
            check_body(body)?;
        }
        let link = change.link.map(|l| l.filter(|l| !l.trim().is_empty()));
        if let Some(Some(link)) = &link {
            check_link(link)?;
        }
        let now = ctx.now();
        self.store().write("change FAQ entry", |tx| {
            let mut entry = tx.faq(shortcut)?.ok_or_else(|| missing(shortcut))?;
            if let Some(title) = change.title {
                entry.title = title.trim().to_owned();
            }
            if let Some(body) = change.body {
                entry.body = body;
            }
            if let Some(link) = link {
                entry.link = link;
            }
            if let Some(html) = change.html {
                entry.html = html;
            }
            entry.updated_at = now;
            if tx.update_faq(&entry)? {
                Ok(entry)
            } else {
                Err(missing(shortcut))
            }
        })
    }

    /// Removes an FAQ entry; returns what it was.
    pub fn faq_remove(&self, ctx: &Ctx, shortcut: &str) -> Result<FaqEntry> {
        self.require(ctx, Permission::ManageFaq, "remove FAQ entries")?;
        let shortcut = bare(shortcut.trim());
        self.store().write("remove FAQ entry", |tx| {
            let entry = tx.faq(shortcut)?.ok_or_else(|| missing(shortcut))?;
            tx.delete_faq(&entry.shortcut)?;
            Ok(entry)
        })
    }

    /// The entries containing every word of `words` in their title or body,
    /// best first (at most `limit`, at most 100).
    pub fn faq_search(&self, words: &str, limit: u32) -> Result<Vec<FaqEntry>> {
        let terms: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
        if terms.is_empty() {
            return Err(Error::Refused(
                "an FAQ search needs at least one word to look for".into(),
            ));
        }
        self.store()
            .read(|tx| tx.search_faq(&terms, limit.clamp(1, MAX_SEARCH)))
    }

    /// `text` with every `/shortcut` token naming an entry replaced by the
    /// entry's body (`Text`) or link (`Link`, the body when it has none);
    /// other `/words` are kept as they are.
    pub fn expand_shortcuts(&self, text: &str, mode: ExpandMode) -> Result<String> {
        let tokens = shortcut_tokens(text);
        if tokens.is_empty() {
            return Ok(text.to_owned());
        }
        self.store().read(|tx| {
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for (range, shortcut) in &tokens {
                let Some(entry) = tx.faq(shortcut)? else {
                    continue;
                };
                out.push_str(&text[last..range.start]);
                match (mode, &entry.link) {
                    (ExpandMode::Link, Some(link)) => out.push_str(link),
                    _ => out.push_str(&entry.body),
                }
                last = range.end;
            }
            out.push_str(&text[last..]);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortcuts(text: &str) -> Vec<&str> {
        shortcut_tokens(text).into_iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn tokens_start_the_text_or_follow_whitespace_and_end_at_punctuation() {
        assert_eq!(shortcuts("/hello there"), vec!["hello"]);
        assert_eq!(
            shortcuts("Hi,\n/greeting, then /bye."),
            vec!["greeting", "bye"]
        );
        assert_eq!(shortcuts("(/in-brackets) and /x_1!"), vec!["x_1"]);
        assert_eq!(shortcuts("see /etc/passwd or a/b or /"), Vec::<&str>::new());
        assert_eq!(shortcuts("url http://x/y and /é"), Vec::<&str>::new());
        assert_eq!(shortcuts("/a\t/b"), vec!["a", "b"]);
    }

    #[test]
    fn token_ranges_cover_the_slash_and_the_shortcut() {
        let text = "ok /abc.";
        let tokens = shortcut_tokens(text);
        assert_eq!(tokens.len(), 1);
        assert_eq!(&text[tokens[0].0.clone()], "/abc");
    }

    #[test]
    fn shortcuts_are_checked() {
        assert!(check_shortcut("refund-policy_2").is_ok());
        for bad in ["", "has space", "é", "a/b", &"x".repeat(65)] {
            let err = check_shortcut(bad).expect_err(bad);
            assert!(err.to_string().starts_with("shortcut: "), "{err}");
        }
    }

    #[test]
    fn links_must_be_web_or_mail_urls() {
        assert!(check_link("https://help.example.com/refunds").is_ok());
        assert!(check_link("mailto:help@example.com").is_ok());
        assert!(check_link("not a url").is_err());
        let err = check_link("javascript:alert(1)").expect_err("scheme");
        assert!(err.to_string().contains("javascript"), "{err}");
    }
}
