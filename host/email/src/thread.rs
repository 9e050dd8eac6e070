//! Threading: which case an inbound email belongs to.
//!
//! The rules, in order; the first that finds a case decides:
//!
//! 1. **Thread token**: ours, 12 upper-case letters and digits, in the
//!    subject as `[#TOKEN]`, in an `X-Dossier-Thread` header, or as a
//!    plus-address of one of our addresses (`support+TOKEN@…`), in the
//!    places `[email] thread_token` enables. A token that names no case is
//!    noted and the next rule decides.
//! 2. **In-Reply-To / References** naming a Message-ID sent or received on
//!    a case (In-Reply-To first, then References newest first), when the
//!    sender is a participant of that case's thread: its customer, an
//!    address on one of its emails (From, To, Cc), or one of our own
//!    addresses. Message-IDs travel (forwards, quotes, mailing lists), so a
//!    stranger's reference does not make them part of a case, private ones
//!    included: their email opens a new case that names the case it
//!    referred to (`referred_case`), for an agent to move by hand.
//! 3. **A case number in the subject**, in the form `[email]
//!    case_number_form`. Case numbers are sequential and guessable, so this
//!    rule is trusted only when the sender is the case's customer or
//!    already on the case's thread; otherwise it is skipped, and the note
//!    says why.
//! 4. Otherwise a **new case**.
//!
//! Other systems' tags in a subject (`[RT #4521]`, `[Ticket#…]`) are
//! kept as they are: nothing here rewrites the subject.

use std::sync::LazyLock;

use dossier_sdk::{CaseNumber, FollowUpId, FollowUpKind, ThreadToken};
use regex::Regex;

use super::parse::ParsedEmail;
use dossier_core::config::{EmailConfig, TokenPlace};
use dossier_core::runtime::Runtime;
use dossier_store::{Tx, Viewer};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// The name the follow-up and the `email_received` event give each rule.
pub mod rule {
    /// Rule 1.
    pub const TOKEN: &str = "thread_token";
    /// Rule 2.
    pub const REPLY: &str = "in_reply_to";
    /// Rule 3.
    pub const CASE_NUMBER: &str = "case_number";
    /// Rule 4.
    pub const NEW_CASE: &str = "new_case";
}

/// The host's proposal: a case (or none, for a new one), the rule, and the
/// note the follow-up keeps (the rule, and what was skipped before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The case, or `None` for a new case.
    pub case: Option<CaseNumber>,
    /// Which rule decided.
    pub rule: &'static str,
    /// What the follow-up records.
    pub note: String,
    /// The follow-up the In-Reply-To header names, when rule 2 matched on
    /// it: its id and kind (ingest asks whether it was a consultation).
    pub in_reply_to: Option<(FollowUpId, FollowUpKind)>,
    /// The case a header named whose thread the sender is not on.
    pub referred: Option<CaseNumber>,
}

static SUBJECT_TOKEN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\[#([A-Z0-9]{12})\]").ok());

/// The `[email]` rules compiled once per host.
pub struct Rules {
    /// The case number pattern, or why it does not compile.
    case_number: std::result::Result<Regex, String>,
}

/// The compiled `[email]` rules on the runtime, made on first use.
pub trait EmailRules {
    /// The rules (the case-number pattern).
    fn email_rules(&self) -> std::sync::Arc<Rules>;
}

impl EmailRules for Runtime {
    fn email_rules(&self) -> std::sync::Arc<Rules> {
        self.state(|config| Rules::new(&config.email))
    }
}

impl Rules {
    /// Compiles `[email]`'s rules (the case-number pattern).
    pub fn new(cfg: &EmailConfig) -> Rules {
        Rules {
            case_number: case_number_regex(&cfg.case_number_form).map_err(|e| e.to_string()),
        }
    }

    /// The regex finding a case number in a subject.
    pub fn case_number(&self) -> Result<&Regex> {
        self.case_number
            .as_ref()
            .map_err(|e| Error::Config(e.clone()))
    }
}

/// The regex that finds a case number written in `form`.
pub fn case_number_regex(form: &str) -> Result<Regex> {
    let escaped = regex::escape(form).replace(r"\{number\}", r"(\d{1,18})");
    Regex::new(&format!("(?i){escaped}")).map_err(|e| {
        Error::Config(format!(
            "[email] case_number_form `{form}` cannot be matched: {e}"
        ))
    })
}

/// Where a token was found, for the note.
fn place_name(place: TokenPlace) -> &'static str {
    match place {
        TokenPlace::Subject => "in the subject",
        TokenPlace::Header => "in the X-Dossier-Thread header",
        TokenPlace::PlusAddress => "in a plus-address",
    }
}

/// The tokens `email` carries at `place`.
fn tokens_at(email: &ParsedEmail, place: TokenPlace, ours: &[String]) -> Vec<String> {
    match place {
        TokenPlace::Subject => SUBJECT_TOKEN
            .as_ref()
            .map(|re| {
                re.captures_iter(&email.headers.subject)
                    .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        TokenPlace::Header => email
            .thread_header
            .iter()
            .map(|t| t.trim().to_owned())
            .collect(),
        TokenPlace::PlusAddress => {
            let recipients = email
                .headers
                .to
                .iter()
                .chain(&email.headers.cc)
                .map(|m| m.address.as_str())
                .chain(email.delivered_to.iter().map(String::as_str));
            let mut out = Vec::new();
            for address in recipients {
                if let Some(token) = plus_token(address, ours) {
                    out.push(token);
                }
            }
            out
        }
    }
}

/// `support+TOKEN@example.com` → `TOKEN` when `support@example.com` is one
/// of `ours` (compared without regard to case; mail systems may lower-case
/// the token, so it is upper-cased back).
fn plus_token(address: &str, ours: &[String]) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, token) = local.split_once('+')?;
    let plain = format!("{base}@{domain}");
    ours.iter()
        .any(|o| o.eq_ignore_ascii_case(&plain))
        .then(|| token.to_ascii_uppercase())
}

/// Runs the rules on `email` from `sender` (lower case).
pub fn propose(
    tx: &dyn Tx,
    schema: &Schema,
    cfg: &EmailConfig,
    case_number: &Regex,
    email: &ParsedEmail,
    sender: &str,
) -> Result<Proposal> {
    let mut skipped: Vec<String> = Vec::new();
    let decided = |case: CaseNumber, rule: &'static str, why: String, skipped: &[String]| {
        let mut note = why;
        if !skipped.is_empty() {
            note.push_str(&format!(" ({})", skipped.join("; ")));
        }
        Proposal {
            case: Some(case),
            rule,
            note,
            in_reply_to: None,
            referred: None,
        }
    };

    // 1. Our thread token.
    for &place in &cfg.thread_token {
        for token in tokens_at(email, place, &cfg.addresses) {
            let Ok(token) = ThreadToken::parse(&token) else {
                skipped.push(format!(
                    "`{token}` {} is not a thread token",
                    place_name(place)
                ));
                continue;
            };
            match tx.case_by_thread_token(schema, token.as_str())? {
                Some(case) => {
                    let why = format!("thread token {token} {}", place_name(place));
                    return Ok(decided(case.number, rule::TOKEN, why, &skipped));
                }
                None => skipped.push(format!(
                    "thread token {token} {} names no case",
                    place_name(place)
                )),
            }
        }
    }

    // 2. A message we sent or received on a case.
    let replied = email
        .headers
        .in_reply_to
        .iter()
        .map(|id| ("In-Reply-To", id))
        .chain(
            email
                .headers
                .references
                .iter()
                .rev()
                .map(|id| ("References", id)),
        );
    let mut referred = None;
    for (header, id) in replied {
        if let Some((follow_up, case, kind)) = tx.message_follow_up(id)? {
            if !participant(tx, schema, cfg, case, sender)? {
                // The case is not named here: the note is shown with the
                // new case, to agents who may not see this one.
                skipped.push(format!(
                    "{header} <{id}> names an email of another case, but the sender is not on its thread"
                ));
                referred.get_or_insert(case);
                continue;
            }
            let why = format!("{header} <{id}> is an email on case {case}");
            let mut proposal = decided(case, rule::REPLY, why, &skipped);
            if header == "In-Reply-To" {
                proposal.in_reply_to = Some((follow_up, kind));
            }
            return Ok(proposal);
        }
    }

    // 3. A case number in the subject, from someone the case knows.
    for captures in case_number.captures_iter(&email.headers.subject) {
        let Some(number) = captures.get(1).and_then(|m| m.as_str().parse::<i64>().ok()) else {
            continue;
        };
        let number = CaseNumber(number);
        let Some((customer, _open)) = tx.case_owner(number, &Viewer::All)? else {
            skipped.push(format!("case {number} in the subject does not exist"));
            continue;
        };
        let is_customer = tx
            .get_customer(schema, customer)?
            .emails
            .iter()
            .any(|e| e.address.eq_ignore_ascii_case(sender));
        let on_thread = is_customer || tx.thread_addresses(number)?.iter().any(|a| a == sender);
        if on_thread {
            let who = if is_customer {
                "the sender is its customer"
            } else {
                "the sender is on its thread"
            };
            let why = format!("case number {number} in the subject ({who})");
            return Ok(decided(number, rule::CASE_NUMBER, why, &skipped));
        }
        skipped.push(format!(
            "case number {number} in the subject was not trusted: the sender is neither \
             the case's customer nor on its thread"
        ));
    }

    // 4. A new case.
    let mut note = "no thread token, reply header or trusted case number: a new case".to_owned();
    if !skipped.is_empty() {
        note.push_str(&format!(" ({})", skipped.join("; ")));
    }
    Ok(Proposal {
        case: None,
        rule: rule::NEW_CASE,
        note,
        in_reply_to: None,
        referred,
    })
}

/// Whether `sender` (lower case) takes part in case `case`'s thread: its
/// customer, an address on one of its emails, or one of our own.
fn participant(
    tx: &dyn Tx,
    schema: &Schema,
    cfg: &EmailConfig,
    case: CaseNumber,
    sender: &str,
) -> Result<bool> {
    let untagged = dossier_types::contact::address_without_tag(sender);
    if cfg
        .addresses
        .iter()
        .any(|ours| dossier_types::contact::address_without_tag(ours) == untagged)
    {
        return Ok(true);
    }
    if let Some((customer, _open)) = tx.case_owner(case, &Viewer::All)?
        && tx
            .get_customer(schema, customer)?
            .emails
            .iter()
            .any(|e| e.address.eq_ignore_ascii_case(sender))
    {
        return Ok(true);
    }
    Ok(tx.thread_addresses(case)?.iter().any(|a| a == sender))
}

/// The characters of a thread token.
const TOKEN_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A fresh random token (from the operating system's generator, so that
/// one case's token tells nothing about another's).
fn random_token() -> Result<ThreadToken> {
    let mut bytes = [0u8; ThreadToken::LEN];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("cannot draw a random thread token: {e}")))?;
    // 252 = 7 × 36: reject the bytes above it so every character is
    // equally likely.
    let mut token = String::with_capacity(ThreadToken::LEN);
    let mut pool = bytes.to_vec();
    while token.len() < ThreadToken::LEN {
        let Some(b) = pool.pop() else {
            let mut more = [0u8; ThreadToken::LEN];
            getrandom::fill(&mut more)
                .map_err(|e| Error::Refused(format!("cannot draw a random thread token: {e}")))?;
            pool.extend_from_slice(&more);
            continue;
        };
        if b < 252 {
            token.push(char::from(TOKEN_ALPHABET[usize::from(b % 36)]));
        }
    }
    ThreadToken::parse(&token).map_err(Error::Refused)
}

/// Cases' thread tokens, on the runtime.
pub trait ThreadTokens {
    /// Case `number`'s thread token, made (and saved on the case, through
    /// the normal case save and its hooks) the first time it is needed:
    /// on the case's first outbound email.
    fn thread_token(
        self: &std::sync::Arc<Self>,
        ctx: &dossier_core::events::Ctx,
        number: CaseNumber,
    ) -> Result<ThreadToken>;
}

impl ThreadTokens for Runtime {
    fn thread_token(
        self: &std::sync::Arc<Self>,
        ctx: &dossier_core::events::Ctx,
        number: CaseNumber,
    ) -> Result<ThreadToken> {
        let case = self.case(ctx, number)?;
        if let Some(token) = case.thread_token {
            return Ok(token);
        }
        let token = loop {
            let token = random_token()?;
            if self
                .read(|tx, schema| tx.case_by_thread_token(schema, token.as_str()))?
                .is_none()
            {
                break token;
            }
        };
        let saved = self.modify_case(ctx, number, "thread token", |case| {
            if case.thread_token.is_none() {
                case.thread_token = Some(token.clone());
            }
            Ok(())
        })?;
        saved
            .thread_token
            .ok_or_else(|| Error::Refused(format!("case {number} lost its thread token on save")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_well_formed_and_differ() {
        let a = random_token().expect("token");
        let b = random_token().expect("token");
        assert_eq!(a.as_str().len(), 12);
        assert_ne!(a, b);
    }

    #[test]
    fn a_plus_address_of_ours_carries_a_token_in_any_case() {
        let ours = vec!["support@example.com".to_owned()];
        assert_eq!(
            plus_token("support+jxa6pdrnq2so@Example.com", &ours).as_deref(),
            Some("JXA6PDRNQ2SO")
        );
        assert_eq!(plus_token("sales+JXA6PDRNQ2SO@example.com", &ours), None);
        assert_eq!(plus_token("support@example.com", &ours), None);
    }

    #[test]
    fn the_case_number_form_matches_only_its_own_shape() {
        let re = case_number_regex("[Case #{number}]").expect("regex");
        let found: Vec<_> = re
            .captures_iter("Re: [RT #4521] [case #12] [Case #x]")
            .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
            .collect();
        assert_eq!(found, ["12"]);
    }
}
