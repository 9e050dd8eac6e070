//! Made-up events with every field filled, for tests and documentation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    Audience, Cause, Channel, ChatEvent, Direction, DirectoryChange, DirectoryChanged, Disposition,
    EmailHeld, EmailReceived, Event, Interaction, Notification, PopTarget, SaveEvent, SaveOp,
    ScreenPop, TaskReminder,
};
use crate::agents::{Agent, Group, Permission, Role};
use crate::fields::FieldValue;
use crate::model::{
    Address, Attachment, Case, CaseNumber, CustomFields, Customer, CustomerId, Email, EmailHeaders,
    FollowUp, FollowUpId, FollowUpKind, Mailbox, Phone, Record, Task, TaskId, TaskKind, TaskStatus,
    ThreadToken, Visibility,
};

impl Event {
    /// Example events: at least one of every [`EventKind`](super::EventKind)
    /// (a save event per object kind for `before_save` and `after_save`, a
    /// screen-pop per [`PopTarget`] variant), with every optional field
    /// filled so that every key appears when they are serialized. The values
    /// are made up; use them to exercise a handler or to look at the JSON a
    /// plugin receives.
    pub fn examples() -> Vec<Event> {
        let records = [
            Record::Customer(customer()),
            Record::Case(case()),
            Record::FollowUp(follow_up()),
            Record::Task(task()),
        ];
        let mut events = Vec::new();
        for record in &records {
            events.push(Event::BeforeSave(SaveEvent {
                op: SaveOp::Create,
                record: record.clone(),
                changed: Vec::new(),
            }));
        }
        for record in records {
            let changed = Record::changed_fields(None, &record);
            events.push(Event::AfterSave(SaveEvent {
                op: SaveOp::Create,
                record,
                changed,
            }));
        }
        let targets = [
            PopTarget::Case {
                case_number: CaseNumber(14355),
                customer: CustomerId(7),
            },
            PopTarget::Customer {
                customer: CustomerId(7),
            },
            PopTarget::Candidates {
                customers: vec![CustomerId(7), CustomerId(9)],
            },
            PopTarget::NewCustomer {
                prefill: BTreeMap::from([("phone".to_owned(), "+33612345678".to_owned())]),
            },
        ];
        for target in targets {
            events.push(Event::ScreenPop(ScreenPop {
                interaction: interaction(Channel::Phone),
                target,
                reason: "the caller's number matches one customer".to_owned(),
                open_cases: vec![CaseNumber(14355)],
            }));
        }
        events.push(Event::Disposition(Disposition {
            interaction: interaction(Channel::Phone),
            code: "resolved".to_owned(),
            note: Some("Reset the password".to_owned()),
            case_number: Some(CaseNumber(14355)),
            close_case: true,
        }));
        events.push(Event::Notification(notification()));
        events.push(Event::EmailReceived(EmailReceived {
            headers: headers(),
            body: "The scheduler is down again.".to_owned(),
            case_number: Some(CaseNumber(14355)),
            rule: "in_reply_to".to_owned(),
            priority: Some("high".to_owned()),
            fields: [("contract_ref".to_owned(), serde_json::json!("K-1"))].into(),
            attachments: vec![attachment()],
            queue: Some("billing".to_owned()),
        }));
        events.push(Event::EmailHeld(EmailHeld {
            held: crate::email::HeldEmail {
                id: 3,
                key: "CAF=1@mail.example.com".to_owned(),
                source: "new/1700000000.M1.host".to_owned(),
                sender: "ada@example.com".to_owned(),
                subject: "The scheduler is down again".to_owned(),
                reason: "vetoed by scripts/rules.rhai: no cases for trial accounts".to_owned(),
                size: 2_048,
                held_at: at(1_767_258_000),
                state: crate::email::HeldState::Held,
                // Filled, as every optional field here, so the docs show
                // their type (held again after a release keeps them).
                closed_by: Some("grace".to_owned()),
                closed_at: Some(at(1_767_261_600)),
            },
            notify: vec!["postmaster@example.com".to_owned()],
        }));
        let chat = ChatEvent {
            chat: 42,
            interaction: interaction(Channel::Chat),
            agent: Some("grace".to_owned()),
            transcript: Some("visitor: hello\ngrace: hello, how can I help?".to_owned()),
        };
        events.push(Event::ChatOffered(chat.clone()));
        events.push(Event::ChatEnded(chat));
        events.push(Event::TaskReminder(TaskReminder {
            task: task(),
            fired_at: at(1_767_258_000),
            notification: Some(Notification {
                audience: Audience::Agent,
                cause: Cause::Reminder,
                ..notification()
            }),
        }));
        events.push(Event::DirectoryChanged(DirectoryChanged {
            agent: Some(Agent {
                login: "grace".to_owned(),
                display_name: "Grace Hopper".to_owned(),
                email: Some("grace@example.com".to_owned()),
                role: Role::Supervisor,
                groups: vec!["billing".to_owned()],
                overrides: BTreeMap::from([
                    (Permission::ManageFaq, true),
                    (Permission::ReviewEmail, false),
                ]),
                disabled: false,
                created_at: at(1_767_225_600),
                updated_at: at(1_767_258_000),
            }),
            group: None,
            changes: vec![
                DirectoryChange::Role {
                    from: Role::Agent,
                    to: Role::Supervisor,
                },
                DirectoryChange::Groups {
                    joined: vec!["billing".to_owned()],
                    left: vec!["sales".to_owned()],
                },
                DirectoryChange::Permissions {
                    granted: vec![Permission::ManageFaq],
                    withheld: vec![Permission::ReviewEmail],
                    reset: vec![Permission::SendAs],
                },
                DirectoryChange::Enabled,
                DirectoryChange::Profile {
                    fields: vec!["display_name".to_owned()],
                },
            ],
        }));
        events.push(Event::DirectoryChanged(DirectoryChanged {
            agent: None,
            group: Some(Group {
                name: "billing".to_owned(),
                email: Some("billing@example.com".to_owned()),
                created_at: at(1_767_225_600),
            }),
            changes: vec![DirectoryChange::Added],
        }));
        events
    }
}

/// A fixed instant, `secs` after the Unix epoch.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

fn custom() -> CustomFields {
    CustomFields::from([("tier".to_owned(), FieldValue::Choice("gold".to_owned()))])
}

fn mailbox(name: &str, address: &str) -> Mailbox {
    Mailbox {
        name: Some(name.to_owned()),
        address: address.to_owned(),
    }
}

fn interaction(channel: Channel) -> Interaction {
    Interaction {
        channel,
        direction: Direction::Inbound,
        caller: Some("+33612345678".to_owned()),
        dialled: Some("+33100000000".to_owned()),
        email: Some("ada@example.com".to_owned()),
        account: Some("AC-000007".to_owned()),
        case_number: Some(CaseNumber(14355)),
        ip: Some("192.0.2.10".to_owned()),
        queue: Some("support".to_owned()),
        agent: Some("grace".to_owned()),
        context: BTreeMap::from([("order".to_owned(), "SO-1042".to_owned())]),
    }
}

fn headers() -> EmailHeaders {
    EmailHeaders {
        from: mailbox("Ada Lovelace", "ada@example.com"),
        to: vec![mailbox("Support", "support@example.com")],
        cc: vec![mailbox("Charles Babbage", "charles@example.com")],
        bcc: vec![mailbox("Audit", "audit@example.com")],
        subject: "Scheduler down".to_owned(),
        date: Some(at(1_767_254_400)),
        message_id: Some("m2@example.com".to_owned()),
        in_reply_to: Some("m1@example.com".to_owned()),
        references: vec!["m1@example.com".to_owned()],
        threaded_by: None,
        referred_case: None,
        automatic: None,
        notes: Vec::new(),
    }
}

fn attachment() -> Attachment {
    Attachment {
        name: "log.txt".to_owned(),
        content_type: "text/plain".to_owned(),
        size: 2048,
        blob: Some("5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef".to_owned()),
        refused: None,
        content_id: None,
    }
}

fn notification() -> Notification {
    Notification {
        case_number: Some(CaseNumber(14355)),
        audience: Audience::Customer,
        cause: Cause::EmailReply,
        from: mailbox("Support", "support@example.com"),
        to: vec![mailbox("Ada Lovelace", "ada@example.com")],
        cc: vec![mailbox("Charles Babbage", "charles@example.com")],
        bcc: vec![mailbox("Audit", "audit@example.com")],
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: "Re: Scheduler down".to_owned(),
        body: "It is running again.".to_owned(),
        html: Some("<p>It is running again.</p>".to_owned()),
        signature: Some("The support team".to_owned()),
        review: true,
    }
}

fn customer() -> Customer {
    Customer {
        id: CustomerId(7),
        account: "AC-000007".to_owned(),
        name: "Ada Lovelace".to_owned(),
        address: Address {
            line1: "12 St James's Square".to_owned(),
            line2: "Second floor".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            city: "London".to_owned(),
            region: "Greater London".to_owned(),
            country: "GB".to_owned(),
        },
        phones: vec![Phone {
            label: "mobile".to_owned(),
            number: "+33612345678".to_owned(),
        }],
        emails: vec![Email {
            label: "work".to_owned(),
            address: "ada@example.com".to_owned(),
        }],
        custom: custom(),
        created_at: at(1_767_225_600),
        updated_at: at(1_767_229_200),
    }
}

fn case() -> Case {
    Case {
        number: CaseNumber(14355),
        customer: CustomerId(7),
        subject: "Scheduler down".to_owned(),
        description: "Jobs stopped at 09:00.".to_owned(),
        status: "open".to_owned(),
        visibility: Visibility::Public,
        severity: "major".to_owned(),
        priority: "high".to_owned(),
        owner: Some("grace".to_owned()),
        group: Some("tier2".to_owned()),
        last_disposition: Some("callback".to_owned()),
        thread_token: ThreadToken::parse("JXA6PDRNQ2SO").ok(),
        custom: custom(),
        created_at: at(1_767_225_600),
        updated_at: at(1_767_229_200),
    }
}

fn follow_up() -> FollowUp {
    FollowUp {
        id: FollowUpId(3),
        case: CaseNumber(14355),
        kind: FollowUpKind::EmailIn,
        author: "customer".to_owned(),
        body: "The scheduler is down again.".to_owned(),
        html: Some("<p>The scheduler is down again.</p>".to_owned()),
        email: Some(headers()),
        attachments: vec![attachment()],
        custom: custom(),
        created_at: at(1_767_254_400),
        via: Some("triage.rhai (before_save_case)".to_owned()),
    }
}

fn task() -> Task {
    Task {
        id: TaskId(5),
        customer: Some(CustomerId(7)),
        case: Some(CaseNumber(14355)),
        kind: TaskKind::Call,
        subject: "Call Ada back".to_owned(),
        due_at: at(1_767_258_900),
        reminder_minutes: Some(15),
        status: TaskStatus::Planned,
        assignee: Some("grace@example.com".to_owned()),
        custom: custom(),
        via: Some("callbacks.rhai (after_save_case)".to_owned()),
        created_at: at(1_767_225_600),
        updated_at: at(1_767_229_200),
    }
}
