//! `customer`, `case`, `followup` and `task` commands.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use dossier_sdk::{
    Address, CaseNumber, CustomFields, CustomerQuery, Email, FollowUpKind, NewCase, NewCustomer,
    NewFollowUp, NewTask, ObjectKind, Phone, TaskId, TaskKind, TaskStatus, Visibility,
};

use std::path::PathBuf;

use super::Out;
use super::input::Input;
use super::output;
use dossier_host::{CaseFilter, Page, TaskFilter};
use dossier_host::{Error, Result};
use dossier_host::{Host, emails_from, phones_from};

/// `--page` and `--per-page`.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct PageArgs {
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Rows per page.
    #[arg(long, default_value_t = 20)]
    per_page: u32,
}

impl PageArgs {
    fn page(self) -> Page {
        Page::number(self.page.max(1), self.per_page.clamp(1, 1000))
    }
}

/// Splits `name=value`.
fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
}

/// Parses `--field name=value` pairs against the schema of `object`.
fn custom_fields(
    host: &Host,
    object: ObjectKind,
    pairs: &[(String, String)],
) -> Result<CustomFields> {
    let mut custom = CustomFields::new();
    for (name, value) in pairs {
        host.check_custom_field(object, name)?;
        custom.insert(
            name.clone(),
            host.schema().parse_value(object, name, value)?,
        );
    }
    Ok(custom)
}

/// The agent name used when `--author` is not given.
/// The agent a command is for when the user names none: the agent acting
/// (`--as`), else `$DOSSIER_AGENT`, then `$USER`.
pub(crate) fn acting_login(host: &Host) -> String {
    match host.actor() {
        dossier_host::Actor::Agent(login) => login.clone(),
        dossier_host::Actor::System => default_agent(),
    }
}

pub(crate) fn default_agent() -> String {
    std::env::var("DOSSIER_AGENT")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "agent".to_owned())
}

/// Parses the time given to option `option` (`--due`), relative to the
/// host's clock and in its `[time] zone`; the error names the option.
pub(crate) fn parse_when(host: &Host, option: &str, input: &str) -> Result<DateTime<Utc>> {
    dossier_host::time::parse_when(input, host.now(), &host.config().time.time_zone())
        .map_err(|message| Error::input(option, message))
}

/// Refuses `value` for `option` unless it is one of `valid` (what the
/// config defines), naming the nearest valid one and listing them all.
fn one_of(
    option: &str,
    (what, plural): (&str, &str),
    value: String,
    valid: &[&str],
) -> Result<String> {
    if valid.contains(&value.as_str()) {
        return Ok(value);
    }
    let hint = dossier_host::closest(&value, valid)
        .map(|near| format!("did you mean `{near}`? "))
        .unwrap_or_default();
    Err(Error::input(
        option,
        format!(
            "`{value}` is not a {what}; {hint}({plural}: {})",
            valid.join(", ")
        ),
    ))
}

// ----- customers -----------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum CustomerCmd {
    /// Add a customer.
    Add(CustomerAdd),
    /// Show a customer (by account number, or `#ID`).
    Show {
        /// Account number, or `#ID`.
        key: String,
    },
    /// List customers by id.
    List(PageArgs),
    /// Change a customer. Options given replace the stored values.
    Update(CustomerUpdate),
    /// Find customers by phone, email, account, name or an indexed custom field.
    Find(CustomerFind),
}

#[derive(Debug, Args)]
pub(crate) struct CustomerAdd {
    /// Unique account number.
    #[arg(long)]
    account: String,
    /// Name of the person or company.
    #[arg(long)]
    name: String,
    /// Phone number, any common format (repeatable; `label:number` sets a label).
    #[arg(long)]
    phone: Vec<String>,
    /// Email address (repeatable; `label:address` sets a label).
    #[arg(long)]
    email: Vec<String>,
    #[command(flatten)]
    address: AddressArgs,
    /// Custom field value, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
}

#[derive(Debug, Args, Default)]
pub(crate) struct AddressArgs {
    /// Street and number.
    #[arg(long)]
    street: Option<String>,
    /// Postal code.
    #[arg(long)]
    postal_code: Option<String>,
    /// City.
    #[arg(long)]
    city: Option<String>,
    /// Country.
    #[arg(long)]
    country: Option<String>,
}

impl AddressArgs {
    fn is_set(&self) -> bool {
        self.street.is_some()
            || self.postal_code.is_some()
            || self.city.is_some()
            || self.country.is_some()
    }

    fn apply(self, a: &mut Address) {
        if let Some(v) = self.street {
            a.line1 = v;
        }
        if let Some(v) = self.postal_code {
            a.postal_code = v;
        }
        if let Some(v) = self.city {
            a.city = v;
        }
        if let Some(v) = self.country {
            a.country = v;
        }
    }
}

fn phones(raw: &[String]) -> Vec<Phone> {
    phones_from(raw.iter().map(String::as_str))
}

fn emails(raw: &[String]) -> Vec<Email> {
    emails_from(raw.iter().map(String::as_str))
}

#[derive(Debug, Args)]
pub(crate) struct CustomerUpdate {
    /// Account number, or `#ID`.
    key: String,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New account number.
    #[arg(long)]
    account: Option<String>,
    /// Replace the phone numbers with these (repeatable).
    #[arg(long)]
    phone: Vec<String>,
    /// Replace the email addresses with these (repeatable).
    #[arg(long)]
    email: Vec<String>,
    #[command(flatten)]
    address: AddressArgs,
    /// Set a custom field, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// Remove a custom field's value (repeatable).
    #[arg(long)]
    unset: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CustomerFind {
    /// Phone number, any common format.
    #[arg(long)]
    phone: Option<String>,
    /// Email address, any case.
    #[arg(long)]
    email: Option<String>,
    /// Exact account number.
    #[arg(long)]
    account: Option<String>,
    /// Part of the name, any case.
    #[arg(long)]
    name: Option<String>,
    /// An indexed custom field, NAME=VALUE.
    #[arg(long, value_parser = key_value)]
    field: Option<(String, String)>,
}

pub(crate) fn customer(host: &Host, cmd: CustomerCmd, out: &Out) -> Result<()> {
    match cmd {
        CustomerCmd::Add(a) => {
            let mut address = Address::default();
            a.address.apply(&mut address);
            let c = host.create_customer(NewCustomer {
                account: a.account,
                name: a.name,
                address,
                phones: phones(&a.phone),
                emails: emails(&a.email),
                custom: custom_fields(host, ObjectKind::Customer, &a.fields)?,
            })?;
            out.one(&c, output::customer)?;
        }
        CustomerCmd::Show { key } => out.one(&host.customer_by_key(&key)?, output::customer)?,
        CustomerCmd::List(p) => {
            output::customers(out, &host.list_customers(p.page())?, "no customers")?;
        }
        CustomerCmd::Update(u) => {
            let mut c = host.customer_by_key(&u.key)?;
            if let Some(n) = u.name {
                c.name = n;
            }
            if let Some(a) = u.account {
                c.account = a;
            }
            if !u.phone.is_empty() {
                c.phones = phones(&u.phone);
            }
            if !u.email.is_empty() {
                c.emails = emails(&u.email);
            }
            if u.address.is_set() {
                u.address.apply(&mut c.address);
            }
            for name in &u.unset {
                host.check_custom_field(ObjectKind::Customer, name)?;
                c.custom.remove(name);
            }
            c.custom
                .extend(custom_fields(host, ObjectKind::Customer, &u.fields)?);
            let c = host.update_customer(c)?;
            out.one(&c, output::customer)?;
        }
        CustomerCmd::Find(f) => {
            if let Some((name, _)) = &f.field {
                host.check_custom_field(ObjectKind::Customer, name)?;
            }
            let found = host.find_customers(&CustomerQuery {
                phone: f.phone,
                email: f.email,
                account: f.account,
                name: f.name,
                field: f.field,
            })?;
            output::customers(out, &found, "no customer matches")?;
        }
    }
    Ok(())
}

// ----- cases ---------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum CaseCmd {
    /// Open a case for a customer.
    Open(CaseOpen),
    /// Show a case.
    Show {
        /// Case number.
        number: i64,
    },
    /// List cases, newest first.
    List(CaseList),
    /// Change a case.
    Update(CaseUpdate),
    /// Assign an open case to an agent and/or group.
    Assign {
        /// Case number.
        number: i64,
        /// Agent login.
        #[arg(long)]
        owner: Option<String>,
        /// Group.
        #[arg(long)]
        group: Option<String>,
    },
    /// Close a case.
    Close {
        /// Case number.
        number: i64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CaseOpen {
    /// The customer's account number, or `#ID`.
    #[arg(long)]
    customer: String,
    /// One-line summary.
    #[arg(long)]
    subject: String,
    /// Longer description (`-` reads it from stdin).
    #[arg(long, conflicts_with = "description_file")]
    description: Option<String>,
    /// Read the description from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    description_file: Option<PathBuf>,
    /// Severity (default from config).
    #[arg(long)]
    severity: Option<String>,
    /// Priority (default from config).
    #[arg(long)]
    priority: Option<String>,
    /// Make the case private: only its owner, its group's members and
    /// agents holding see_all_private see it. Unless --owner names
    /// someone else, you own it.
    #[arg(long)]
    private: bool,
    /// Agent who owns it [default: nobody; you, for a --private case].
    #[arg(long)]
    owner: Option<String>,
    /// Group it is assigned to.
    #[arg(long)]
    group: Option<String>,
    /// Custom field value, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub(crate) struct CaseList {
    /// Only this customer's cases (account number or `#ID`).
    #[arg(long)]
    customer: Option<String>,
    /// Only open cases.
    #[arg(long, conflicts_with = "closed")]
    open: bool,
    /// Only closed cases.
    #[arg(long)]
    closed: bool,
    /// Only cases owned by this agent.
    #[arg(long, conflicts_with = "mine")]
    owner: Option<String>,
    /// Only cases you own (you: --as, $DOSSIER_AGENT or $USER).
    #[arg(long)]
    mine: bool,
    /// Only cases of this group.
    #[arg(long)]
    group: Option<String>,
    /// Only cases in this status.
    #[arg(long)]
    status: Option<String>,
    /// Only cases of this priority.
    #[arg(long)]
    priority: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CaseUpdate {
    /// Case number.
    number: i64,
    /// New subject.
    #[arg(long)]
    subject: Option<String>,
    /// New description (`-` reads it from stdin).
    #[arg(long, conflicts_with = "description_file")]
    description: Option<String>,
    /// Read the new description from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    description_file: Option<PathBuf>,
    /// New status.
    #[arg(long)]
    status: Option<String>,
    /// New severity.
    #[arg(long)]
    severity: Option<String>,
    /// New priority.
    #[arg(long)]
    priority: Option<String>,
    /// public or private.
    #[arg(long)]
    visibility: Option<Visibility>,
    /// Set a custom field, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// Remove a custom field's value (repeatable).
    #[arg(long)]
    unset: Vec<String>,
}

pub(crate) fn case(host: &Host, cmd: CaseCmd, out: &Out) -> Result<()> {
    let show = |c: &dossier_sdk::Case| output::case(c);
    match cmd {
        CaseCmd::Open(o) => {
            let description = Input::default()
                .inline_or_file(
                    ("--description", o.description),
                    ("--description-file", o.description_file),
                )?
                .unwrap_or_default();
            let customer = host.customer_by_key(&o.customer)?;
            if let Some(owner) = &o.owner {
                host.check_login("--owner", owner)?;
            }
            let c = host.open_case(NewCase {
                customer: customer.id,
                subject: o.subject,
                description,
                severity: o.severity,
                priority: o.priority,
                visibility: if o.private {
                    Visibility::Private
                } else {
                    Visibility::Public
                },
                // A private case nobody owns would be hidden from the
                // agent opening it: it is theirs unless --owner says.
                owner: o.owner.or_else(|| match host.actor() {
                    dossier_host::Actor::Agent(login) if o.private => Some(login.clone()),
                    _ => None,
                }),
                group: o.group,
                custom: custom_fields(host, ObjectKind::Case, &o.fields)?,
            })?;
            out.one(&c, show)?;
        }
        CaseCmd::Show { number } => out.one(&host.case(CaseNumber(number))?, show)?,
        CaseCmd::List(l) => {
            let cfg = &host.config().case;
            // A disabled agent's cases may still be listed; a login no
            // agent ever had is a typo.
            if let Some(owner) = &l.owner
                && !host.agents()?.iter().any(|a| &a.login == owner)
            {
                host.check_login("--owner", owner)?;
            }
            let customer = l
                .customer
                .as_deref()
                .map(|k| host.customer_by_key(k).map(|c| c.id))
                .transpose()?;
            let filter = CaseFilter {
                customer,
                open: if l.open {
                    Some(true)
                } else if l.closed {
                    Some(false)
                } else {
                    None
                },
                owner: if l.mine {
                    match host.actor() {
                        dossier_host::Actor::Agent(login) => Some(login.clone()),
                        dossier_host::Actor::System => {
                            return Err(Error::Refused(
                                "--mine needs an agent: pass --as LOGIN (this store has no agents yet)"
                                    .into(),
                            ));
                        }
                    }
                } else {
                    l.owner
                },
                group: l.group,
                status: l
                    .status
                    .map(|s| {
                        let valid: Vec<&str> =
                            cfg.statuses.iter().map(|s| s.key.as_str()).collect();
                        one_of("--status", ("case status", "case statuses"), s, &valid)
                    })
                    .transpose()?,
                priority: l
                    .priority
                    .map(|p| {
                        let valid: Vec<&str> = cfg.priorities.iter().map(String::as_str).collect();
                        one_of("--priority", ("priority", "priorities"), p, &valid)
                    })
                    .transpose()?,
            };
            output::cases(out, &host.list_cases(&filter, l.page.page())?, "no cases")?;
        }
        CaseCmd::Update(u) => {
            let description = Input::default().inline_or_file(
                ("--description", u.description),
                ("--description-file", u.description_file),
            )?;
            let custom = custom_fields(host, ObjectKind::Case, &u.fields)?;
            for name in &u.unset {
                host.check_custom_field(ObjectKind::Case, name)?;
            }
            let c = host.modify_case(CaseNumber(u.number), "update case", |c| {
                if let Some(v) = u.subject {
                    c.subject = v;
                }
                if let Some(v) = description {
                    c.description = v;
                }
                if let Some(v) = u.status {
                    c.status = v;
                }
                if let Some(v) = u.severity {
                    c.severity = v;
                }
                if let Some(v) = u.priority {
                    c.priority = v;
                }
                if let Some(v) = u.visibility {
                    c.visibility = v;
                }
                for name in &u.unset {
                    c.custom.remove(name);
                }
                c.custom.extend(custom);
                Ok(())
            })?;
            out.one(&c, show)?;
        }
        CaseCmd::Assign {
            number,
            owner,
            group,
        } => {
            if owner.is_none() && group.is_none() {
                return Err(Error::Refused(
                    "case assign needs --owner, --group or both".into(),
                ));
            }
            if let Some(owner) = &owner {
                host.check_login("--owner", owner)?;
            }
            out.one(&host.assign_case(CaseNumber(number), owner, group)?, show)?;
        }
        CaseCmd::Close { number } => out.one(&host.close_case(CaseNumber(number))?, show)?,
    }
    Ok(())
}

// ----- follow-ups ----------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum FollowUpCmd {
    /// Add a follow-up to a case. Follow-ups cannot be changed afterwards.
    Add(Box<FollowUpAdd>),
    /// Show one follow-up: its text, an email's headers, its attachments
    /// (with the short ids `attachment get` takes).
    Show {
        /// The follow-up's id.
        id: i64,
    },
    /// List a case's follow-ups, newest first.
    List {
        /// Case number.
        #[arg(long)]
        case: i64,
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("body_text").args(["body", "body_file"])))]
pub(crate) struct FollowUpAdd {
    /// Case number.
    #[arg(long)]
    case: i64,
    /// The text of a note (`-` reads it from stdin).
    #[arg(long, conflicts_with_all = ["note_file", "body_text", "kind"])]
    note: Option<String>,
    /// Read the note's text from this file (`-` for stdin).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["body_text", "kind"])]
    note_file: Option<PathBuf>,
    /// Kind: note, email_out, email_saved or chat_log; `system` and
    /// `email_in` are Dossier's own, refused to an agent.
    #[arg(long, requires = "body_text")]
    kind: Option<FollowUpKind>,
    /// The text, with --kind (`-` reads it from stdin).
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the text from this file (`-` for stdin), with --kind.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// Who wrote it (default: $DOSSIER_AGENT, then $USER).
    #[arg(long)]
    author: Option<String>,
    /// Custom field value, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// An HTML body (`-` reads stdin), sanitized when saved; needs [email]
    /// rich_text. Without a text, the text is made from it.
    #[arg(long, conflicts_with = "html_file")]
    html: Option<String>,
    /// Read the HTML body from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    html_file: Option<PathBuf>,
    /// Show this PNG or JPEG inside the HTML body (at most 10 MB; large ones
    /// are downscaled); it goes where the HTML names cid:FILENAME, else at the end.
    #[arg(long, value_name = "FILE")]
    inline: Vec<PathBuf>,
    /// The alt text of the --inline images.
    #[arg(long, default_value = "")]
    alt: String,
}

pub(crate) fn follow_up(host: &Host, cmd: FollowUpCmd, out: &Out) -> Result<()> {
    let zone = host.config().time.time_zone();
    let show = |f: &dossier_sdk::FollowUp| {
        // Short attachment ids, read as the follow-up is shown; JSON keeps
        // the whole ids and needs none.
        let ids = if out.json() {
            Ok(output::ShortIds::new())
        } else {
            output::short_ids(host, [f])
        };
        ids.map(|ids| output::follow_up(f, &zone, &ids))
    };
    match cmd {
        FollowUpCmd::Add(a) => {
            let input = Input::default();
            let note = input.inline_or_file(("--note", a.note), ("--note-file", a.note_file))?;
            let body = input.inline_or_file(("--body", a.body), ("--body-file", a.body_file))?;
            let html = input.inline_or_file(("--html", a.html), ("--html-file", a.html_file))?;
            let rich = html.is_some() || !a.inline.is_empty();
            let (kind, body) = match (note, a.kind, body) {
                (Some(note), _, _) => (FollowUpKind::Note, note),
                (None, kind, Some(body)) => (kind.unwrap_or(FollowUpKind::Note), body),
                (None, None, None) if rich => (FollowUpKind::Note, String::new()),
                _ => {
                    return Err(Error::Refused(
                        "followup add needs --note TEXT (or --note-file PATH), --html HTML \
                         (or --html-file PATH), or --body TEXT (or --body-file PATH) with an \
                         optional --kind"
                            .into(),
                    ));
                }
            };
            let mut new = NewFollowUp::note(
                CaseNumber(a.case),
                a.author.unwrap_or_else(|| acting_login(host)),
                body,
            );
            new.kind = kind;
            new.custom = custom_fields(host, ObjectKind::FollowUp, &a.fields)?;
            new.html = html;
            let mut images = Vec::with_capacity(a.inline.len());
            for path in a.inline {
                let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                    what: "cannot read",
                    path: path.clone(),
                    source,
                })?;
                let name = path
                    .file_name()
                    .map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
                images.push(dossier_host::InlineImage {
                    name,
                    bytes,
                    alt: a.alt.clone(),
                });
            }
            let f = host.add_rich_note(new, images)?;
            let text = show(&f)?;
            out.one(&f, |_| text)?;
        }
        FollowUpCmd::Show { id } => {
            let f = host.follow_up(dossier_sdk::FollowUpId(id))?;
            let text = show(&f)?;
            out.one(&f, |_| text)?;
        }
        FollowUpCmd::List { case, page } => {
            let (items, total) = host.follow_ups(CaseNumber(case), page.page())?;
            let ids = if out.json() {
                output::ShortIds::new()
            } else {
                output::short_ids(host, &items)?
            };
            output::follow_ups(out, &items, &zone, &ids, "no follow-ups")?;
            let pages = total.div_ceil(u64::from(page.per_page.max(1))).max(1);
            out.say(format!(
                "page {} of {pages} ({total} follow-ups, newest first)",
                page.page
            ))?;
        }
    }
    Ok(())
}

// ----- tasks ---------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCmd {
    /// Plan a task for a customer and/or case.
    Add(TaskAdd),
    /// List tasks, soonest due first.
    List(TaskList),
    /// Change a task: subject, kind, due time (rescheduling), reminder,
    /// assignee. A reminder whose time changes fires again at its new time.
    Update(TaskUpdate),
    /// Mark a task done.
    Done {
        /// Task id.
        id: i64,
    },
    /// Cancel a task: it stays listed as cancelled and its reminder never fires.
    Cancel {
        /// Task id.
        id: i64,
    },
    /// Fire the reminders due now, once (`dossier run` keeps doing it).
    Reminders,
}

#[derive(Debug, Args)]
pub(crate) struct TaskAdd {
    /// The customer's account number, or `#ID`.
    #[arg(long)]
    customer: Option<String>,
    /// Case number.
    #[arg(long)]
    case: Option<i64>,
    /// call, email, meeting, chat or other.
    #[arg(long, default_value = "call")]
    kind: TaskKind,
    /// One-line summary.
    #[arg(long)]
    subject: String,
    /// When: +30m, +1h30m, "tomorrow 09:00", 2030-01-02, "2030-01-02 09:00"
    /// (in the [time] zone) or RFC 3339.
    #[arg(long, allow_hyphen_values = true)]
    due: String,
    /// Reminder, in minutes before the due time.
    #[arg(long)]
    remind: Option<u32>,
    /// Who should do it: an agent's login, or an email address.
    #[arg(long)]
    assignee: Option<String>,
    /// Custom field value, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub(crate) struct TaskUpdate {
    /// Task id.
    id: i64,
    /// New one-line summary.
    #[arg(long)]
    subject: Option<String>,
    /// New kind: call, email, meeting, chat or other.
    #[arg(long)]
    kind: Option<TaskKind>,
    /// New due time, as `task add --due` takes it: this reschedules the task.
    #[arg(long, allow_hyphen_values = true)]
    due: Option<String>,
    /// Reminder, in minutes before the (new) due time.
    #[arg(long, conflicts_with = "no_remind")]
    remind: Option<u32>,
    /// No reminder.
    #[arg(long)]
    no_remind: bool,
    /// Who should do it: an agent's login, or an email address.
    #[arg(long, conflicts_with = "no_assignee")]
    assignee: Option<String>,
    /// Nobody in particular.
    #[arg(long)]
    no_assignee: bool,
    /// Set a custom field, NAME=VALUE (repeatable).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// Remove a custom field's value (repeatable).
    #[arg(long)]
    unset: Vec<String>,
}

/// Refuses a reminder `minutes` before `due_at` that falls before the
/// earliest time the store keeps.
fn check_reminder(due_at: DateTime<Utc>, minutes: Option<u32>) -> Result<()> {
    if let Some(minutes) = minutes {
        let at = due_at - chrono::Duration::minutes(i64::from(minutes));
        if !dossier_host::time::is_storable(at) {
            return Err(Error::input(
                "--remind",
                format!(
                    "{minutes} minutes before the due time is before the year 0001, \
                     the earliest time the store keeps"
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct TaskList {
    /// Only this case's tasks.
    #[arg(long)]
    case: Option<i64>,
    /// Only this customer's tasks (account number or `#ID`).
    #[arg(long)]
    customer: Option<String>,
    /// Only this agent's tasks.
    #[arg(long)]
    assignee: Option<String>,
    /// planned, done or cancelled.
    #[arg(long)]
    status: Option<TaskStatus>,
    #[command(flatten)]
    page: PageArgs,
}

pub(crate) fn task(host: &Host, cmd: TaskCmd, out: &Out) -> Result<()> {
    let zone = host.config().time.time_zone();
    let show = |t: &dossier_sdk::Task| output::task(t, &zone);
    match cmd {
        TaskCmd::Add(a) => {
            let customer = a
                .customer
                .as_deref()
                .map(|k| host.customer_by_key(k).map(|c| c.id))
                .transpose()?;
            let due_at = parse_when(host, "--due", &a.due)?;
            check_reminder(due_at, a.remind)?;
            if let Some(assignee) = &a.assignee {
                host.check_assignee(assignee)?;
            }
            let t = host.add_task(NewTask {
                customer,
                case: a.case.map(CaseNumber),
                kind: a.kind,
                subject: a.subject,
                due_at,
                reminder_minutes: a.remind,
                assignee: a.assignee,
                custom: custom_fields(host, ObjectKind::Task, &a.fields)?,
            })?;
            out.one(&t, show)?;
        }
        TaskCmd::List(l) => {
            let customer = l
                .customer
                .as_deref()
                .map(|k| host.customer_by_key(k).map(|c| c.id))
                .transpose()?;
            let filter = TaskFilter {
                case: l.case.map(CaseNumber),
                customer,
                assignee: l.assignee,
                status: l.status,
            };
            output::tasks(
                out,
                &host.list_tasks(&filter, l.page.page())?,
                &zone,
                "no tasks",
            )?;
        }
        TaskCmd::Update(u) => {
            let mut t = host.task(TaskId(u.id))?;
            if let Some(subject) = u.subject {
                t.subject = subject;
            }
            if let Some(kind) = u.kind {
                t.kind = kind;
            }
            if let Some(due) = &u.due {
                t.due_at = parse_when(host, "--due", due)?;
            }
            if u.no_remind {
                t.reminder_minutes = None;
            } else if u.remind.is_some() {
                t.reminder_minutes = u.remind;
            }
            check_reminder(t.due_at, t.reminder_minutes)?;
            if u.no_assignee {
                t.assignee = None;
            } else if let Some(assignee) = u.assignee {
                host.check_assignee(&assignee)?;
                t.assignee = Some(assignee);
            }
            for name in &u.unset {
                host.check_custom_field(ObjectKind::Task, name)?;
                t.custom.remove(name);
            }
            t.custom
                .extend(custom_fields(host, ObjectKind::Task, &u.fields)?);
            out.one(&host.update_task(t)?, show)?;
        }
        TaskCmd::Done { id } => out.one(&host.finish_task(TaskId(id), TaskStatus::Done)?, show)?,
        TaskCmd::Cancel { id } => {
            out.one(&host.finish_task(TaskId(id), TaskStatus::Cancelled)?, show)?
        }
        TaskCmd::Reminders => super::run::reminders_once(host, out)?,
    }
    Ok(())
}
