//! The FAQ base (canned answers agents insert by `/shortcut`) and
//! signatures (an agent's or a group's sign-off, in text and HTML).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of the FAQ base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    /// The unique word that inserts it (`greeting` for `/greeting`):
    /// ASCII letters, digits, `-` and `_`, matched ignoring case.
    pub shortcut: String,
    /// A short title, searched with the body.
    pub title: String,
    /// The full text inserted in `Text` mode.
    pub body: String,
    /// A page with the answer, inserted in `Link` mode.
    #[serde(default)]
    pub link: Option<String>,
    /// The sanitized HTML version, when the entry was written in rich text
    /// (`[email] rich_text`); `body` is its text version.
    #[serde(default)]
    pub html: Option<String>,
    /// When the entry was added.
    pub created_at: DateTime<Utc>,
    /// When the entry was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new FAQ entry, as `dossier faq add` and `Host::faq_add` take it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFaqEntry {
    /// The unique shortcut (see [`FaqEntry::shortcut`]).
    pub shortcut: String,
    /// The title.
    pub title: String,
    /// The body: the text version (derived from `html` when blank).
    #[serde(default)]
    pub body: String,
    /// The link, an absolute `http`, `https` or `mailto` URL.
    #[serde(default)]
    pub link: Option<String>,
    /// An HTML version, sanitized when saved; needs `[email] rich_text`.
    #[serde(default)]
    pub html: Option<String>,
}

/// A change to an FAQ entry: each `Some` replaces that part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqChange {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new body.
    #[serde(default)]
    pub body: Option<String>,
    /// A new link (`Some(None)` removes it).
    #[serde(default)]
    pub link: Option<Option<String>>,
    /// A new HTML version, sanitized when saved (`Some(None)` removes it);
    /// a new HTML version without a new body replaces the body with its
    /// text. Needs `[email] rich_text`.
    #[serde(default)]
    pub html: Option<Option<String>>,
}

/// What a `/shortcut` expands to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpandMode {
    /// The entry's body.
    #[default]
    Text,
    /// The entry's link; its body when it has none.
    Link,
}

impl ExpandMode {
    /// The snake_case name used in the CLI, scripts and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpandMode::Text => "text",
            ExpandMode::Link => "link",
        }
    }
}

impl std::str::FromStr for ExpandMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(ExpandMode::Text),
            "link" => Ok(ExpandMode::Link),
            _ => Err(format!("unknown expand mode `{s}` (modes: text, link)")),
        }
    }
}

/// Whose a signature is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum SignatureOwner {
    /// An agent, by login.
    Agent(String),
    /// A group, by name.
    Group(String),
}

impl SignatureOwner {
    /// `agent` or `group`.
    pub fn kind(&self) -> &'static str {
        match self {
            SignatureOwner::Agent(_) => "agent",
            SignatureOwner::Group(_) => "group",
        }
    }

    /// The agent's login or the group's name.
    pub fn name(&self) -> &str {
        match self {
            SignatureOwner::Agent(n) | SignatureOwner::Group(n) => n,
        }
    }
}

impl fmt::Display for SignatureOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}

/// A signature: a sign-off appended to outbound mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The agent or group it belongs to.
    pub owner: SignatureOwner,
    /// Its name, unique for its owner.
    pub name: String,
    /// The plain-text version.
    pub text: String,
    /// The HTML version, if any.
    #[serde(default)]
    pub html: Option<String>,
    /// Whether it is its owner's default (at most one per owner).
    pub is_default: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}
