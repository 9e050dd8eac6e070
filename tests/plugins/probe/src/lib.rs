//! A plugin for the host's tests that exercises every part of the plugin API:
//! changing events, vetoing, failing, and calling back into the host. What
//! it does is chosen by its config; with an empty config it does nothing.
//!
//! | key | effect |
//! |---|---|
//! | `veto_subject` | `before_save` of a case whose subject contains it: veto |
//! | `priority` | `before_save` of a case: set its priority |
//! | `set_custom` | `before_save` of a case: set these custom fields (a table of name to value, `{ text = "K-1" }`) |
//! | `remove_custom` | `before_save` of a case: remove these custom fields |
//! | `clear_owner` | `before_save` of a case: clear its owner |
//! | `note` | `before_save` of a case update: add a note with this body (host callback) |
//! | `fail_after_save` | `after_save`: fail |
//! | `overlap_check` | `before_save`: fail if another call is in progress (stays in flight, yielding the CPU, for a while) |
//! | `require_note` | `before_save` of a case update closing it: veto unless it holds a note (callbacks `follow_ups`, `cases`) |
//! | (always) | `screen_pop` with a caller: find the customer by phone (callback), pop its only open case or itself |
//! | (always) | `disposition` `callback`: read the case and customer, plan a call task (callbacks) |
//! | `chat_agent` | `chat_offered`: offer the chat to this agent instead |
//! | `veto_chat_from` | `chat_offered`: veto chats from this email address |
//! | `chat_footer` | `chat_ended`: append this line to the transcript |
//! | `held_notify` | `email_held`: tell these addresses instead, and note the held email's id and reason in the log |

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use dossier_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config {
    veto_subject: Option<String>,
    priority: Option<String>,
    set_custom: BTreeMap<String, FieldValue>,
    remove_custom: Vec<String>,
    clear_owner: bool,
    note: Option<String>,
    fail_after_save: bool,
    overlap_check: bool,
    require_note: bool,
    chat_agent: Option<String>,
    veto_chat_from: Option<String>,
    chat_footer: Option<String>,
    held_notify: Option<Vec<String>>,
}

/// The plugin instance.
struct Probe {
    config: Config,
    host: HostApi,
    in_flight: AtomicUsize,
}

impl Plugin for Probe {
    const EVENTS: &'static [EventKind] = &[
        EventKind::BeforeSave,
        EventKind::AfterSave,
        EventKind::ScreenPop,
        EventKind::Disposition,
        EventKind::EmailHeld,
        EventKind::ChatOffered,
        EventKind::ChatEnded,
    ];

    fn new(config: dossier_sdk::serde_json::Value, host: HostApi) -> Result<Self> {
        let config: Config = dossier_sdk::serde_json::from_value(config).map_err(Error::config)?;
        host.info("probe created");
        Ok(Probe {
            config,
            host,
            in_flight: AtomicUsize::new(0),
        })
    }

    fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        if self.config.overlap_check {
            let others = self.in_flight.fetch_add(1, Ordering::SeqCst);
            // Stay in flight a while without sleeping: hand the CPU to any
            // other thread that might be calling in at the same time.
            for _ in 0..10_000 {
                std::thread::yield_now();
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if others > 0 {
                return Err(Error::failed("two calls overlapped"));
            }
        }
        let Record::Case(case) = &mut event.record else {
            return Ok(Outcome::Continue);
        };
        if let Some(word) = &self.config.veto_subject
            && case.subject.contains(word.as_str())
        {
            return Ok(Outcome::Veto(format!("subject mentions `{word}`")));
        }
        if self.config.require_note && event.op == SaveOp::Update && case.status == "closed" {
            let notes = self.host.follow_ups(&FollowUpQuery {
                case_number: case.number,
                kinds: vec![dossier_sdk::FollowUpKind::Note],
                ..FollowUpQuery::default()
            })?;
            if notes.is_empty() {
                let cases = self.host.cases(&CaseQuery {
                    customer: case.customer,
                    ..CaseQuery::default()
                })?;
                return Ok(Outcome::Veto(format!(
                    "case {} has no note (its customer has {} cases)",
                    case.number,
                    cases.len()
                )));
            }
            self.host.info(&format!("latest note: {}", notes[0].body));
        }
        if let Some(priority) = &self.config.priority {
            case.priority = priority.clone();
        }
        for (name, value) in &self.config.set_custom {
            case.custom.insert(name.clone(), value.clone());
        }
        for name in &self.config.remove_custom {
            case.custom.remove(name);
        }
        if self.config.clear_owner {
            case.owner = None;
        }
        if let (Some(body), SaveOp::Update) = (&self.config.note, event.op) {
            let saved =
                self.host
                    .add_follow_up(&NewFollowUp::note(case.number, "probe", body.clone()))?;
            self.host.info(&format!(
                "added follow-up {} to case {}",
                saved.id.0, case.number
            ));
        }
        Ok(Outcome::Continue)
    }

    fn after_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        if self.config.fail_after_save {
            return Err(Error::failed(format!(
                "after_save of {} {} failed on purpose",
                event.record.kind(),
                event.record.id()
            )));
        }
        Ok(Outcome::Continue)
    }

    fn screen_pop(&self, pop: &mut ScreenPop) -> Result<Outcome> {
        let Some(caller) = pop.interaction.caller.clone() else {
            return Ok(Outcome::Continue);
        };
        let query = CustomerQuery {
            phone: Some(caller),
            ..CustomerQuery::default()
        };
        let found = self.host.find_customers(&query)?;
        let [customer] = found.as_slice() else {
            return Ok(Outcome::Continue);
        };
        let open = self.host.open_cases(customer.id)?;
        pop.target = match open.as_slice() {
            [case] => PopTarget::Case {
                case_number: case.number,
                customer: customer.id,
            },
            _ => PopTarget::Customer {
                customer: customer.id,
            },
        };
        pop.reason = format!("probe: caller is {}", customer.account);
        Ok(Outcome::Continue)
    }

    fn email_held(&self, held: &mut EmailHeld) -> Result<Outcome> {
        if let Some(notify) = &self.config.held_notify {
            self.host.info(&format!(
                "email held #{}: {}",
                held.held.id, held.held.reason
            ));
            held.notify = notify.clone();
        }
        Ok(Outcome::Continue)
    }

    fn chat_offered(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        if let Some(from) = &self.config.veto_chat_from
            && chat.interaction.email.as_deref() == Some(from.as_str())
        {
            return Ok(Outcome::Veto(format!("probe: no chats from {from}")));
        }
        if let Some(agent) = &self.config.chat_agent {
            self.host.info(&format!(
                "chat {} offered to {:?}, giving it to {agent}",
                chat.chat, chat.agent
            ));
            chat.agent = Some(agent.clone());
        }
        Ok(Outcome::Continue)
    }

    fn chat_ended(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        if let (Some(footer), Some(transcript)) = (&self.config.chat_footer, &mut chat.transcript) {
            transcript.push_str(footer);
            transcript.push('\n');
        }
        Ok(Outcome::Continue)
    }

    fn disposition(&self, disposition: &mut Disposition) -> Result<Outcome> {
        if disposition.code != "callback" {
            return Ok(Outcome::Continue);
        }
        let Some(number) = disposition.case_number else {
            return Ok(Outcome::Veto("a callback needs a case".into()));
        };
        let Some(case) = self.host.case(number)? else {
            return Ok(Outcome::Veto(format!("case {number} does not exist")));
        };
        let customer = self
            .host
            .customer(case.customer)?
            .ok_or_else(|| Error::failed(format!("customer {} is missing", case.customer)))?;
        let task = self.host.add_task(&NewTask {
            customer: Some(customer.id),
            case: Some(case.number),
            kind: TaskKind::Call,
            subject: format!("Call {} back", customer.name),
            due_at: case.updated_at + chrono::Duration::days(1),
            reminder_minutes: Some(10),
            assignee: disposition.interaction.agent.clone(),
            custom: Default::default(),
        })?;
        self.host.info(&format!("planned task {}", task.id.0));
        Ok(Outcome::Continue)
    }
}

declare_plugin!(Probe, name = "probe");
