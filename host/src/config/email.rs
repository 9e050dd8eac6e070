//! `[email]`: the email channel.

use serde::Deserialize;

use dossier_types::{Error, Result};

/// Where a thread token may sit in an inbound email (and, when the outbound
/// side lands, where it is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlace {
    /// In the subject as `[#TOKEN]`.
    Subject,
    /// In an `X-Dossier-Thread` header.
    Header,
    /// As a plus-address of one of our addresses: `support+TOKEN@…`.
    PlusAddress,
}

/// Whose workbin an email that joins an existing case goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkbinRoute {
    /// The agent who last wrote on the case.
    LastAgent,
    /// The case's owner.
    Owner,
    /// The case's group.
    Group,
}

/// `[email]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Our own addresses (`support@example.com`). Mail from them is never
    /// answered automatically; their plus-addresses carry thread tokens.
    /// The first is the sender of acknowledgements.
    pub addresses: Vec<String>,
    /// Where inbound mail's thread token is looked for, in this order.
    /// Default `["subject", "header", "plus_address"]`.
    pub thread_token: Vec<TokenPlace>,
    /// How a case number is written in a subject, `{number}` standing for
    /// it. Default `[Case #{number}]`. Trusted only when the sender is the
    /// case's customer or already on its thread.
    pub case_number_form: String,
    /// Senders whose mail is dropped on ingest, with the reason recorded:
    /// an address (`spam@example.com`) or a whole domain (`@example.net`).
    pub blocked: Vec<String>,
    /// Whose workbin an email joining an existing case goes to: the first
    /// of these that names someone. Default `["last_agent", "owner",
    /// "group"]`; empty for none.
    pub workbin: Vec<WorkbinRoute>,
    /// Answer each email that opens a case with an acknowledgement (a
    /// notification with cause `acknowledgement`, from the first address).
    /// Never for automatic mail, bounces or our own. Default false.
    pub acknowledge: bool,
    /// How many messages `email ingest --maildir` commits per transaction.
    /// Default 100.
    pub maildir_batch: usize,
    /// `[email.smtp]`: the server the host sends mail through, after
    /// commit. Without it the host sends nothing itself.
    pub smtp: Option<crate::email::smtp::SmtpSettings>,
    /// `[email.review]`: whose outbound email goes to QA review first.
    pub review: ReviewConfig,
    /// Whether drafts may have an HTML body (sanitized with ammonia when
    /// saved, sent as multipart/alternative with a text part made from
    /// it). Off: drafts are text only. Default true.
    pub rich_text: bool,
    /// An inline image whose long side is over this many pixels is
    /// downscaled and recompressed when attached. Default 1600.
    pub max_image_px: u32,
}

/// `[email.review]`: whose outbound email a reviewer (`review_email`)
/// approves before it is sent. A `notification` hook may also require
/// review of any message by setting `review = true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// Every agent's email. Default false.
    pub all: bool,
    /// These agents' email.
    pub agents: Vec<String>,
    /// The email of these groups' members.
    pub groups: Vec<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            addresses: Vec::new(),
            thread_token: vec![
                TokenPlace::Subject,
                TokenPlace::Header,
                TokenPlace::PlusAddress,
            ],
            case_number_form: "[Case #{number}]".to_owned(),
            blocked: Vec::new(),
            workbin: vec![
                WorkbinRoute::LastAgent,
                WorkbinRoute::Owner,
                WorkbinRoute::Group,
            ],
            acknowledge: false,
            maildir_batch: 100,
            smtp: None,
            review: ReviewConfig::default(),
            rich_text: true,
            max_image_px: 1600,
        }
    }
}

/// The largest `maildir_batch`.
const MAX_BATCH: usize = 10_000;

impl EmailConfig {
    pub(super) fn check(&self) -> Result<()> {
        for address in &self.addresses {
            if let Err(rule) = dossier_types::contact::normalize_email(address) {
                return Err(Error::Config(format!(
                    "[email] addresses: `{address}` {rule}"
                )));
            }
        }
        if self.acknowledge && self.addresses.is_empty() {
            return Err(Error::Config(
                "[email] acknowledge needs at least one address in [email] addresses to send from"
                    .into(),
            ));
        }
        if self.case_number_form.matches("{number}").count() != 1 {
            return Err(Error::Config(format!(
                "[email] case_number_form `{}` must contain `{{number}}` exactly once",
                self.case_number_form
            )));
        }
        for entry in &self.blocked {
            let address = entry.strip_prefix('@').map(|d| format!("x@{d}"));
            let check = address.as_deref().unwrap_or(entry);
            if dossier_types::contact::normalize_email(check).is_err() {
                return Err(Error::Config(format!(
                    "[email] blocked: `{entry}` is neither an address nor `@domain`"
                )));
            }
        }
        if !(16..=20_000).contains(&self.max_image_px) {
            return Err(Error::Config(format!(
                "[email] max_image_px must be from 16 to 20000, not {}",
                self.max_image_px
            )));
        }
        if !(1..=MAX_BATCH).contains(&self.maildir_batch) {
            return Err(Error::Config(format!(
                "[email] maildir_batch must be from 1 to {MAX_BATCH}, not {}",
                self.maildir_batch
            )));
        }
        Ok(())
    }
}
