//! Built-in rules: what every record must satisfy before it is written,
//! checked before hooks run and again after they changed it.

use chrono::SubsecRound;
use dossier_sdk::{FollowUpKind, Record, SaveOp};

use super::Runtime;
use dossier_store::Tx;
use dossier_types::contact::{normalize_email, normalize_phone};
use dossier_types::{Error, Result};

impl Runtime {
    /// Built-in checks and normalization of a record about to be written.
    pub fn check(&self, tx: &dyn Tx, op: SaveOp, record: &mut Record) -> Result<()> {
        let is_new = op == SaveOp::Create;
        let kind = record.kind();
        self.schema().apply(kind, record.custom_mut(), is_new)?;
        let invalid = |field: &str, rule: &str| Error::invalid(kind, field, rule);
        match record {
            Record::Customer(c) => {
                c.account = c.account.trim().to_owned();
                c.name = c.name.trim().to_owned();
                if c.account.is_empty() {
                    return Err(invalid("account", "is required"));
                }
                if c.account.chars().count() > 64 || c.account.chars().any(char::is_whitespace) {
                    return Err(invalid(
                        "account",
                        "must be at most 64 characters without spaces",
                    ));
                }
                let schema = self.schema();
                schema
                    .check_standard(kind, "account", &c.account)
                    .map_err(|rule| Error::invalid(kind, "account", rule))?;
                if c.name.is_empty() {
                    return Err(invalid("name", "is required"));
                }
                let region = &self.config().phone.default_region;
                for p in &mut c.phones {
                    p.number = normalize_phone(&p.number, region)
                        .map_err(|e| Error::invalid(kind, "phone", e))?;
                    schema
                        .check_standard(kind, "phone", &p.number)
                        .map_err(|rule| Error::invalid(kind, "phone", rule))?;
                }
                for e in &mut c.emails {
                    e.address = normalize_email(&e.address)
                        .map_err(|rule| Error::invalid(kind, "email", rule))?;
                    schema
                        .check_standard(kind, "email", &e.address)
                        .map_err(|rule| Error::invalid(kind, "email", rule))?;
                }
            }
            Record::Case(c) => {
                let cfg = &self.config().case;
                if c.subject.trim().is_empty() {
                    return Err(invalid("subject", "is required"));
                }
                if !cfg.statuses.iter().any(|s| s.key == c.status) {
                    let keys: Vec<&str> = cfg.statuses.iter().map(|s| s.key.as_str()).collect();
                    return Err(Error::invalid(
                        kind,
                        "status",
                        format!(
                            "has no status `{}` (statuses: {})",
                            c.status,
                            keys.join(", ")
                        ),
                    ));
                }
                if !cfg.severities.contains(&c.severity) {
                    return Err(Error::invalid(
                        kind,
                        "severity",
                        format!(
                            "has no severity `{}` (severities: {})",
                            c.severity,
                            cfg.severities.join(", ")
                        ),
                    ));
                }
                if !cfg.priorities.contains(&c.priority) {
                    return Err(Error::invalid(
                        kind,
                        "priority",
                        format!(
                            "has no priority `{}` (priorities: {})",
                            c.priority,
                            cfg.priorities.join(", ")
                        ),
                    ));
                }
                if tx.customer_brief(c.customer)?.is_none() {
                    return Err(Error::invalid(
                        kind,
                        "customer",
                        format!("refers to missing customer #{}", c.customer),
                    ));
                }
                if !cfg.is_open(&c.status) {
                    let old_owner = match op {
                        SaveOp::Create => None,
                        SaveOp::Update => tx.get_case(self.schema(), c.number)?.owner,
                    };
                    if c.owner.is_some() && c.owner != old_owner {
                        return Err(Error::Refused(format!(
                            "case {} is {}: only open cases can be assigned",
                            c.number, c.status
                        )));
                    }
                }
            }
            Record::FollowUp(f) => {
                if f.author.trim().is_empty() {
                    return Err(invalid("author", "is required"));
                }
                // An inbound email needs no text: a scan, a fax, a bounce or a
                // subject-only mail is kept with its subject and attachments
                // (readers show "(no text)").
                if f.kind != FollowUpKind::EmailIn
                    && f.body.trim().is_empty()
                    && f.html.as_deref().is_none_or(|h| h.trim().is_empty())
                {
                    return Err(invalid("body", "is required"));
                }
                if !tx.case_exists(f.case)? {
                    return Err(Error::invalid(
                        kind,
                        "case",
                        format!("refers to missing case #{}", f.case),
                    ));
                }
            }
            Record::Task(t) => {
                // The store keeps microseconds from year 1 to 9999: a time
                // it accepts must read back equal, whoever sent it (an
                // embedder, a script, the CLI).
                t.due_at = t.due_at.trunc_subsecs(6);
                crate::time::check_storable(kind, "due_at", t.due_at)?;
                if let Some(at) = t.reminder_at() {
                    crate::time::check_storable(kind, "reminder_minutes", at)?;
                }
                if t.subject.trim().is_empty() {
                    return Err(invalid("subject", "is required"));
                }
                if let Some(number) = t.case {
                    let case = tx.get_case(self.schema(), number).map_err(|_| {
                        Error::invalid(kind, "case", format!("refers to missing case #{number}"))
                    })?;
                    match t.customer {
                        None => t.customer = Some(case.customer),
                        Some(c) if c != case.customer => {
                            return Err(Error::invalid(
                                kind,
                                "customer",
                                format!(
                                    "is #{c} but case #{number} belongs to customer #{}",
                                    case.customer
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                match t.customer {
                    Some(c) => {
                        if tx.customer_brief(c)?.is_none() {
                            return Err(Error::invalid(
                                kind,
                                "customer",
                                format!("refers to missing customer #{c}"),
                            ));
                        }
                    }
                    None => return Err(invalid("customer", "or case is required")),
                }
            }
        }
        Ok(())
    }
}
