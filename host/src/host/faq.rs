//! The facade's FAQ base and signature operations (the work is in
//! `crate::runtime::faq` and `crate::email::signatures`).

use dossier_sdk::{ExpandMode, FaqChange, FaqEntry, NewFaqEntry};
#[cfg(feature = "email")]
use dossier_sdk::{Signature, SignatureOwner};

use super::Host;
#[cfg(feature = "email")]
use crate::prelude::*;
use dossier_types::Result;

impl Host {
    /// Adds an FAQ entry. Needs `manage_faq` (supervisors and admins by
    /// default). The shortcut (ASCII letters, digits, `-`, `_`; a leading
    /// `/` is dropped) must be unique ignoring case; title and body must not
    /// be blank; the link, if any, must be an `http`, `https` or `mailto`
    /// URL. An HTML version is sanitized as an email draft's is and needs
    /// `[email] rich_text` (refused naming the setting when it is off); a
    /// blank body is then derived from it.
    pub fn faq_add(&self, mut new: NewFaqEntry) -> Result<FaqEntry> {
        if let Some(html) = new.html.take() {
            let (html, text) = self.faq_html(&html)?;
            if new.body.trim().is_empty() {
                new.body = text;
            }
            new.html = Some(html);
        }
        self.rt.faq_add(&self.ctx()?, new)
    }

    /// `html` sanitized, and its text version; refused when rich text is
    /// off (or the host is built without its `email` feature, which holds
    /// the sanitizer).
    fn faq_html(&self, html: &str) -> Result<(String, String)> {
        #[cfg(feature = "email")]
        {
            let html = self.rt.rich_html("html", html)?;
            let text = crate::email::parse::html::to_text(&html);
            Ok((html, text))
        }
        #[cfg(not(feature = "email"))]
        {
            let _ = html;
            Err(crate::Error::input(
                "html",
                "HTML bodies need the host's `email` feature (its sanitizer)",
            ))
        }
    }

    /// Every FAQ entry, by shortcut. Open to every agent.
    pub fn faq_list(&self) -> Result<Vec<FaqEntry>> {
        self.ctx()?;
        self.rt.faq_list()
    }

    /// The FAQ entry `shortcut` (with or without `/`, any case), or
    /// `Error::Refused` naming it when there is none.
    pub fn faq_entry(&self, shortcut: &str) -> Result<FaqEntry> {
        self.ctx()?;
        self.rt.faq_entry(shortcut)
    }

    /// Changes an FAQ entry's title, body, link or HTML version. Needs
    /// `manage_faq`. A new HTML version is sanitized and needs `[email]
    /// rich_text`, as in [`Host::faq_add`]; without a new body, the body
    /// becomes its text.
    pub fn faq_update(&self, shortcut: &str, mut change: FaqChange) -> Result<FaqEntry> {
        change.html = match change.html.take() {
            Some(Some(html)) => {
                let (html, text) = self.faq_html(&html)?;
                if change.body.as_deref().is_none_or(|b| b.trim().is_empty()) {
                    change.body = Some(text);
                }
                Some(Some(html))
            }
            other => other,
        };
        self.rt.faq_update(&self.ctx()?, shortcut, change)
    }

    /// Removes an FAQ entry and returns it. Needs `manage_faq`.
    pub fn faq_remove(&self, shortcut: &str) -> Result<FaqEntry> {
        self.rt.faq_remove(&self.ctx()?, shortcut)
    }

    /// The FAQ entries holding every word of `words` in their title or
    /// body, best first (bm25; a word in the title counts twice), at most
    /// `limit` (1 to 100). Words are matched as words, never read as
    /// search syntax.
    pub fn faq_search(&self, words: &str, limit: u32) -> Result<Vec<FaqEntry>> {
        self.ctx()?;
        self.rt.faq_search(words, limit)
    }

    /// `text` with each `/shortcut` that names an FAQ entry replaced by the
    /// entry's body ([`ExpandMode::Text`]) or its link
    /// ([`ExpandMode::Link`], the body for an entry without one). A token
    /// starts the text or follows whitespace and ends at the end,
    /// whitespace or punctuation; other `/words` (`/etc/passwd`) are kept.
    pub fn expand_faq(&self, text: &str, mode: ExpandMode) -> Result<String> {
        self.ctx()?;
        self.rt.expand_shortcuts(text, mode)
    }

    /// Adds a signature to an agent or group; `default` makes it the
    /// owner's default (an owner's first signature always is). An agent
    /// manages their own; another's, or a group's, needs `manage_agents`.
    /// The HTML is sanitized (ammonia).
    #[cfg(feature = "email")]
    pub fn add_signature(
        &self,
        owner: &SignatureOwner,
        name: &str,
        text: &str,
        html: Option<&str>,
        default: bool,
    ) -> Result<Signature> {
        self.rt
            .add_signature(&self.ctx()?, owner, name, text, html, default)
    }

    /// An agent's or group's signatures, by name.
    #[cfg(feature = "email")]
    pub fn signatures(&self, owner: &SignatureOwner) -> Result<Vec<Signature>> {
        self.ctx()?;
        self.rt.signatures(owner)
    }

    /// Removes a signature and returns it (same permission as adding).
    #[cfg(feature = "email")]
    pub fn remove_signature(&self, owner: &SignatureOwner, name: &str) -> Result<Signature> {
        self.rt.remove_signature(&self.ctx()?, owner, name)
    }

    /// Makes signature `name` its owner's default (kept with the agent's
    /// profile; same permission as adding).
    #[cfg(feature = "email")]
    pub fn set_default_signature(&self, owner: &SignatureOwner, name: &str) -> Result<Signature> {
        self.rt.set_default_signature(&self.ctx()?, owner, name)
    }

    /// The signature `agent` signs with: `name` among the agent's, else
    /// among `group`'s (an error when neither has it); with no name, the
    /// agent's default, else the group's default, else `None`.
    #[cfg(feature = "email")]
    pub fn signature_for(
        &self,
        agent: &str,
        name: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Signature>> {
        self.ctx()?;
        self.rt.signature_for(agent, name, group)
    }
}
