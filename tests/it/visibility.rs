//! Private cases: readable only by their owner, the members of their group
//! and holders of `see_all_private`, on every read path, and the refusal
//! the same whether a case is hidden or absent.

use std::collections::BTreeSet;
use std::path::Path;

use dossier_host::{
    AgentChange, AgentState, CaseFilter, ChatFilter, ChatState, DraftStart, ExportFormat,
    ExportKind, Host, LogCustomer, Page, SearchFilter, TaskFilter,
};
use dossier_sdk::{
    Audience, Case, CaseNumber, Cause, Channel, CustomerId, DraftChange, DraftState, FollowUp,
    FollowUpId, Ingested, Interaction, Mailbox, NewAgent, NewCase, NewFollowUp, NewTask,
    Notification, Permission, Role, TaskId, TaskKind, Visibility,
};
use proptest::prelude::*;

use crate::util::{FIELDS, TestStore};

fn agent(host: &Host, login: &str, role: Role, groups: &[&str]) {
    host.add_agent(NewAgent {
        login: login.into(),
        role,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    })
    .expect("agent");
}

fn case(
    host: &Host,
    customer: CustomerId,
    visibility: Visibility,
    owner: Option<&str>,
    group: Option<&str>,
) -> CaseNumber {
    host.open_case(NewCase {
        visibility,
        owner: owner.map(str::to_owned),
        group: group.map(str::to_owned),
        ..NewCase::new(customer, "case")
    })
    .expect("case")
    .number
}

fn listed(host: &Host) -> BTreeSet<CaseNumber> {
    host.list_cases(
        &CaseFilter::default(),
        Page {
            offset: 0,
            limit: 1000,
        },
    )
    .expect("list")
    .into_iter()
    .map(|c| c.number)
    .collect()
}

#[test]
fn private_cases_are_seen_by_their_owner_group_and_supervisors_only() {
    let t = TestStore::new(FIELDS);
    t.host.add_group("tier2", None).expect("group");
    t.host.add_group("tier3", None).expect("group");
    agent(&t.host, "ann", Role::Agent, &["tier2"]);
    agent(&t.host, "bob", Role::Agent, &["tier3"]);
    agent(&t.host, "sue", Role::Supervisor, &[]);
    let c = t.customer("AC-1", "+33123456789");
    let public = case(&t.host, c, Visibility::Public, None, None);
    let anns = case(&t.host, c, Visibility::Private, Some("ann"), None);
    let tier2s = case(&t.host, c, Visibility::Private, None, Some("tier2"));
    t.host
        .add_follow_up(NewFollowUp::note(anns, "ann", "secret"))
        .expect("note");
    let (ann, bob, sue) = (
        t.host.as_agent("ann").expect("ann"),
        t.host.as_agent("bob").expect("bob"),
        t.host.as_agent("sue").expect("sue"),
    );
    let all: BTreeSet<_> = [public, anns, tier2s].into();
    assert_eq!(listed(&ann), all);
    assert_eq!(listed(&bob), [public].into());
    assert_eq!(listed(&sue), all);
    assert_eq!(listed(&t.host), all);
    assert_eq!(bob.cases_of(c, false).expect("cases").len(), 1);

    // Hidden and absent are refused alike.
    let hidden = bob.case(anns).expect_err("hidden").to_string();
    let absent = bob.case(CaseNumber(999)).expect_err("absent").to_string();
    assert_eq!(
        hidden,
        format!(
            "agent bob cannot see case {anns}: it does not exist, or it is private and seeing it needs the `see_all_private` permission"
        )
    );
    assert_eq!(absent.replace("999", &anns.to_string()), hidden);
    assert!(bob.follow_ups(anns, Page::default()).is_err());
    let note = ann.follow_ups(anns, Page::default()).expect("own").0[0].clone();
    assert_eq!(bob.follow_up(note.id).expect_err("hidden").code(), "hidden");

    // A pop lists only the open cases its agent may see; a case number
    // the caller gives is treated as unknown when it is hidden.
    let mut call = Interaction::new(Channel::Phone);
    call.caller = Some("+33123456789".into());
    call.agent = Some("bob".into());
    assert_eq!(
        bob.screen_pop(call.clone()).expect("pop").open_cases,
        vec![public]
    );
    assert_eq!(
        ann.screen_pop(call.clone()).expect("pop").open_cases.len(),
        3
    );
    call.case_number = Some(anns);
    let pop = bob.screen_pop(call).expect("pop");
    assert!(
        pop.reason.contains(&format!("case {anns} does not exist")),
        "{}",
        pop.reason
    );

    // Writes too: bob can neither note nor change ann's private case.
    assert_eq!(
        bob.add_follow_up(NewFollowUp::note(anns, "bob", "peek"))
            .expect_err("hidden")
            .code(),
        "hidden"
    );
    let mut changed = t.host.case(anns).expect("case");
    changed.subject = "mine now".into();
    assert_eq!(
        bob.update_case(changed).expect_err("hidden").code(),
        "hidden"
    );
    assert_eq!(t.host.case(anns).expect("case").subject, "case");
}

/// Who an agent is, for what they may read: their role and the overrides
/// that matter to drafts and workbins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persona {
    Agent,
    /// An agent granted `review_email`.
    Reviewer,
    Supervisor,
    /// A supervisor whose `see_all_private` is withheld.
    BlindSupervisor,
    Admin,
}

impl Persona {
    fn role(self) -> Role {
        match self {
            Persona::Agent | Persona::Reviewer => Role::Agent,
            Persona::Supervisor | Persona::BlindSupervisor => Role::Supervisor,
            Persona::Admin => Role::Admin,
        }
    }

    fn grants(self) -> Vec<(Permission, bool)> {
        match self {
            Persona::Reviewer => vec![(Permission::ReviewEmail, true)],
            Persona::BlindSupervisor => vec![(Permission::SeeAllPrivate, false)],
            _ => Vec::new(),
        }
    }

    fn sees_all(self) -> bool {
        matches!(self, Persona::Supervisor | Persona::Admin)
    }

    fn reviews(self) -> bool {
        self != Persona::Agent
    }

    fn reassigns(self) -> bool {
        self.role() != Role::Agent
    }
}

/// One generated world: agents (with groups and personas) and cases.
#[derive(Debug, Clone)]
struct World {
    agents: Vec<(Persona, Vec<usize>)>,
    cases: Vec<(bool, Option<usize>, Option<usize>)>,
}

const GROUPS: usize = 3;

fn world() -> impl Strategy<Value = World> {
    let persona = prop_oneof![
        3 => Just(Persona::Agent),
        1 => Just(Persona::Reviewer),
        1 => Just(Persona::Supervisor),
        1 => Just(Persona::BlindSupervisor),
        1 => Just(Persona::Admin)
    ];
    let agents = prop::collection::vec((persona, prop::collection::vec(0..GROUPS, 0..=2)), 1..=4);
    agents.prop_flat_map(|agents| {
        let n = agents.len();
        let cases = prop::collection::vec(
            (
                any::<bool>(),
                prop::option::of(0..n),
                prop::option::of(0..GROUPS),
            ),
            0..=8,
        );
        (Just(agents), cases).prop_map(|(agents, cases)| World { agents, cases })
    })
}

fn login(i: usize) -> String {
    format!("agent{i}")
}

fn group(i: usize) -> String {
    format!("g{i}")
}

/// Mail is reviewed before it goes out (nothing is sent: the relay on
/// port 9 refuses, so what is queued stays in the outbox); chats of queue
/// `desk` go to the first agent and are logged by hand.
fn reviewed_mail() -> String {
    format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n\
         [email.smtp]\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\n\
         [email.review]\nall = true\n\
         [chat]\nauto_log = false\n[chat.queues.desk]\nmembers = [\"{}\"]\n",
        login(0)
    )
}

/// What the generated world's case `k` holds besides its notes: the chat
/// logged as it, its thread token, an inbound email (with its Message-ID
/// and an attachment only it has) and a notification queued in the outbox.
struct CaseTrail {
    number: CaseNumber,
    chat: i64,
    token: String,
    email: FollowUpId,
    message_id: String,
    blob: String,
    bytes: Vec<u8>,
    queued: String,
}

/// Makes case `k` of the world through a chat the first agent takes and
/// logs for customer `c`, then gives it the world's visibility, owner and
/// group; then mails it (in and out) with a thread token.
fn case_with_trail(
    t: &TestStore,
    desk: &Host,
    c: CustomerId,
    k: usize,
    (private, owner, grp): (bool, Option<usize>, Option<usize>),
) -> CaseTrail {
    let mut visitor = Interaction::new(Channel::Chat);
    visitor.queue = Some("desk".into());
    visitor
        .context
        .insert("name".into(), format!("Visitor {k}"));
    let chat = t.host.chat_arrived(visitor).expect("arrived").chat;
    desk.accept_chat(chat).expect("accepted");
    t.host
        .customer_message(chat, format!("chat of case {k}"))
        .expect("message");
    desk.end_chat(chat, None, None).expect("ended");
    let number = desk
        .save_chat_log(chat, LogCustomer::Existing(c), None)
        .expect("logged")
        .case
        .number;
    t.host
        .modify_case(number, "world", |case| {
            case.visibility = if private {
                Visibility::Private
            } else {
                Visibility::Public
            };
            case.owner = owner.map(login);
            case.group = grp.map(group);
            Ok(())
        })
        .expect("world's case");
    t.host
        .add_follow_up(NewFollowUp::note(number, "system", "note zebra"))
        .expect("note");

    let token = t
        .host
        .thread_token(number)
        .expect("token")
        .as_str()
        .to_owned();
    let bytes = format!("only for case {number}").into_bytes();
    let raw = format!(
        "From: stranger@example.org\r\nTo: support@dossier.test\r\nSubject: Re: [#{token}]\r\n\
         Message-ID: <in{k}@example.org>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n\
         --sep\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --sep\r\nContent-Type: text/plain\r\n\
         Content-Disposition: attachment; filename=\"case{k}.txt\"\r\n\r\n{}\r\n--sep--\r\n",
        String::from_utf8_lossy(&bytes)
    );
    let email = match t.host.ingest_email(raw.as_bytes()).expect("ingest") {
        Ingested::Stored {
            case_number,
            follow_up,
            ..
        } => {
            assert_eq!(case_number, number, "joined by its token");
            follow_up
        }
        other => panic!("not stored: {other:?}"),
    };
    let stored = t.host.follow_up(email).expect("email");
    let message_id = stored
        .email
        .as_ref()
        .and_then(|e| e.message_id.clone())
        .expect("Message-ID");
    let blob = stored.attachments[0].blob.clone().expect("blob");
    assert_eq!(t.host.attachment(&blob).expect("bytes"), bytes);
    let sent = t
        .host
        .notify(Notification {
            case_number: Some(number),
            audience: Audience::Customer,
            cause: Cause::Manual,
            from: Mailbox {
                name: None,
                address: "support@dossier.test".into(),
            },
            to: vec![Mailbox {
                name: None,
                address: "ada@example.com".into(),
            }],
            cc: Vec::new(),
            bcc: Vec::new(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: Some(token.clone()),
            attachments: Vec::new(),
            subject: format!("About case {number}"),
            body: "We are on it.".into(),
            html: None,
            signature: None,
            review: false,
        })
        .expect("notified");
    let queued = sent.message_id.expect("queued with a Message-ID");
    CaseTrail {
        number,
        chat,
        token,
        email,
        message_id,
        blob,
        bytes,
        queued,
    }
}

/// Everything of kind `what` that `host` exports, as JSON lines.
fn exported(host: &Host, what: ExportKind, format: ExportFormat) -> String {
    let mut out = Vec::new();
    host.export(what, format, &mut out, Path::new("memory"))
        .expect("export");
    String::from_utf8(out).expect("utf-8")
}

/// A draft of the generated world: its id, its case's index, its writer,
/// and whether it waits for review.
struct MadeDraft {
    id: i64,
    case: usize,
    writer: usize,
    in_review: bool,
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24),
        .. ProptestConfig::default()
    })]

    /// For every actor and every read path: no case or follow-up the actor
    /// may not see is returned, and every one they may see is; drafts (one
    /// in review, one being written, per case), the review queue, workbins
    /// (one's own and others'), the chat logged as the case and its
    /// transcript, its thread token and the Message-ID of its inbound
    /// email, that email's attachment, tasks and the reminders shown, search
    /// and export are seen with their case; the outbox is an admin's.
    #[test]
    fn no_read_path_shows_a_case_its_actor_may_not_see(w in world()) {
        let t = TestStore::new(&reviewed_mail());
        for g in 0..GROUPS {
            t.host.add_group(&group(g), None).expect("group");
        }
        for (i, (persona, groups)) in w.agents.iter().enumerate() {
            let names: Vec<String> = groups.iter().map(|g| group(*g)).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            agent(&t.host, &login(i), persona.role(), &names);
            t.host
                .update_agent(&login(i), AgentChange { grant: persona.grants(), ..Default::default() })
                .expect("grant");
        }
        let c = t.customer("AC-1", "+33123456789");
        let desk = t.host.as_agent(&login(0)).expect("desk");
        desk.set_chat_state(AgentState::Available).expect("available");
        let trails: Vec<CaseTrail> = w
            .cases
            .iter()
            .enumerate()
            .map(|(k, case)| case_with_trail(&t, &desk, c, k, *case))
            .collect();
        let numbers: Vec<CaseNumber> = trails.iter().map(|x| x.number).collect();
        let queued: Vec<String> = t
            .host
            .pending_outbox()
            .expect("system reads the outbox")
            .into_iter()
            .map(|d| d.idempotency_key)
            .collect();
        for x in &trails {
            prop_assert!(queued.iter().any(|key| key.ends_with(&x.queued)), "{} queued", x.queued);
        }
        // A task on every case for every agent: agent `i`'s due first at
        // hour `i + 1`, their reminders 20 minutes before.
        let start = t.host.now();
        let slot = |i: usize| start + chrono::Duration::hours(i as i64 + 1);
        let mut tasks = Vec::new();
        for i in 0..w.agents.len() {
            for (k, n) in numbers.iter().enumerate() {
                let task = t.host.add_task(NewTask {
                    customer: Some(c),
                    case: Some(*n),
                    kind: TaskKind::Call,
                    subject: format!("call about case {k}"),
                    due_at: slot(i),
                    reminder_minutes: Some(20),
                    assignee: None,
                    custom: Default::default(),
                }).expect("task");
                tasks.push((i, k, task.id));
            }
        }
        let sees = |i: usize, k: usize| {
            let (persona, groups) = &w.agents[i];
            let (private, owner, grp) = &w.cases[k];
            !private
                || persona.sees_all()
                || *owner == Some(i)
                || grp.is_some_and(|g| groups.contains(&g))
        };
        // The first agent who may see a case writes two drafts on it.
        let mut drafts = Vec::new();
        for (k, n) in numbers.iter().enumerate() {
            let Some(writer) = (0..w.agents.len()).find(|i| sees(*i, k)) else {
                continue;
            };
            let me = t.host.as_agent(&login(writer)).expect("writer");
            for in_review in [true, false] {
                let d = me.start_draft(DraftStart::Case(*n)).expect("draft");
                me.edit_draft(d.id, DraftChange {
                    to: Some(vec![Mailbox { name: None, address: "ada@example.com".into() }]),
                    ..Default::default()
                }).expect("edit");
                if in_review {
                    prop_assert_eq!(me.send_draft(d.id).expect("submit").state, DraftState::InReview);
                }
                drafts.push(MadeDraft { id: d.id, case: k, writer, in_review });
            }
        }
        let case_of = |n: CaseNumber| numbers.iter().position(|m| *m == n).expect("ours");
        for (i, (persona, _)) in w.agents.iter().enumerate() {
            let me = t.host.as_agent(&login(i)).expect("agent");
            let expected: BTreeSet<CaseNumber> = numbers
                .iter()
                .enumerate()
                .filter(|(k, _)| sees(i, *k))
                .map(|(_, n)| *n)
                .collect();
            prop_assert_eq!(&listed(&me), &expected);
            let of_customer: BTreeSet<CaseNumber> =
                me.cases_of(c, false).expect("cases").into_iter().map(|c| c.number).collect();
            prop_assert_eq!(&of_customer, &expected);
            let mut call = Interaction::new(Channel::Phone);
            call.caller = Some("+33123456789".into());
            let popped: BTreeSet<CaseNumber> =
                me.screen_pop(call).expect("pop").open_cases.into_iter().collect();
            prop_assert_eq!(&popped, &expected);
            for n in &numbers {
                let sees = expected.contains(n);
                prop_assert_eq!(me.case(*n).is_ok(), sees);
                prop_assert_eq!(me.follow_ups(*n, Page::default()).is_ok(), sees);
            }

            // Drafts and the review queue.
            let queue = me.review_queue();
            if persona.reviews() {
                let got: BTreeSet<i64> = queue.expect("queue").into_iter().map(|d| d.id).collect();
                let want: BTreeSet<i64> = drafts
                    .iter()
                    .filter(|d| d.in_review && sees(i, d.case))
                    .map(|d| d.id)
                    .collect();
                prop_assert_eq!(got, want);
            } else {
                prop_assert_eq!(queue.expect_err("no review_email").code(), "permission_denied");
            }
            for d in &drafts {
                let read = me.draft(d.id);
                if sees(i, d.case) {
                    let may = d.writer == i
                        || persona.reassigns()
                        || (d.in_review && persona.reviews());
                    prop_assert_eq!(read.is_ok(), may, "draft {}", d.id);
                } else {
                    prop_assert_eq!(read.expect_err("hidden").code(), "hidden");
                    prop_assert_eq!(me.review_history(d.id).expect_err("hidden").code(), "hidden");
                }
            }
            let mine: BTreeSet<i64> = me.my_drafts().expect("drafts").into_iter().map(|d| d.id).collect();
            let want: BTreeSet<i64> = drafts
                .iter()
                .filter(|d| d.writer == i && !d.in_review)
                .map(|d| d.id)
                .collect();
            prop_assert_eq!(mine, want);

            // Workbins: one's own, and others' for supervisors.
            for j in 0..w.agents.len() {
                let theirs = t.host.workbin(&login(j)).expect("system reads any");
                if j == i || persona.reassigns() {
                    let got: BTreeSet<i64> =
                        me.workbin(&login(j)).expect("workbin").into_iter().map(|e| e.id).collect();
                    let want: BTreeSet<i64> = theirs
                        .iter()
                        .filter(|e| sees(i, case_of(e.case_number)))
                        .map(|e| e.id)
                        .collect();
                    prop_assert_eq!(got, want);
                }
                for e in &theirs {
                    if !sees(i, case_of(e.case_number)) {
                        prop_assert_eq!(me.workbin_entry(e.id).expect_err("hidden").code(), "hidden");
                    }
                }
            }
            let own: BTreeSet<i64> = me.my_workbin(false).expect("own").into_iter().map(|e| e.id).collect();
            let want: BTreeSet<i64> = t.host.workbin(&login(i)).expect("system")
                .into_iter()
                .filter(|e| sees(i, case_of(e.case_number)))
                .map(|e| e.id)
                .collect();
            prop_assert_eq!(own, want);

            // Tasks, and the reminders shown to whoever runs the pass: agent
            // `i` runs it when theirs are due (the earlier ones fired before).
            let tasks_seen: BTreeSet<TaskId> = tasks
                .iter()
                .filter(|(_, k, _)| sees(i, *k))
                .map(|(_, _, id)| *id)
                .collect();
            let listed_tasks: BTreeSet<TaskId> = me
                .list_tasks(&TaskFilter::default(), Page { offset: 0, limit: 1000 })
                .expect("tasks")
                .into_iter()
                .map(|t| t.id)
                .collect();
            prop_assert_eq!(&listed_tasks, &tasks_seen);
            for (_, k, id) in &tasks {
                let read = me.task(*id);
                if sees(i, *k) {
                    prop_assert_eq!(read.expect("task").id, *id);
                } else {
                    prop_assert_eq!(read.expect_err("hidden").code(), "hidden");
                }
            }
            let shown: BTreeSet<TaskId> = me
                .due_reminders(slot(i) - chrono::Duration::minutes(10))
                .expect("pass")
                .into_iter()
                .map(|f| f.reminder.task.id)
                .collect();
            let want: BTreeSet<TaskId> = tasks
                .iter()
                .filter(|(due, k, _)| *due == i && sees(i, *k))
                .map(|(_, _, id)| *id)
                .collect();
            prop_assert_eq!(shown, want);

            // Chats and transcripts: a chat is seen with the case it was
            // logged to, in every list and read.
            let chats_seen: BTreeSet<i64> = trails
                .iter()
                .enumerate()
                .filter(|(k, _)| sees(i, *k))
                .map(|(_, x)| x.chat)
                .collect();
            let ids = |chats: Vec<dossier_host::Chat>| -> BTreeSet<i64> {
                chats.into_iter().map(|c| c.id).collect()
            };
            prop_assert_eq!(&ids(me.chats(&ChatFilter::default()).expect("chats")), &chats_seen);
            prop_assert_eq!(&ids(me.chat_worklist(None, None, 100).expect("everyone's")), &chats_seen);
            prop_assert_eq!(
                &ids(me.chat_worklist(Some(login(0)), Some(ChatState::Ended), 100).expect("desk's")),
                &chats_seen
            );

            // Search: every case has a note saying `zebra`.
            let found: BTreeSet<CaseNumber> = me
                .search("zebra", &SearchFilter::default(), 1000)
                .expect("search")
                .into_iter()
                .map(|h| h.case_number.expect("a note's case"))
                .collect();
            prop_assert_eq!(&found, &expected);

            // Export: cases and follow-ups as JSON lines, and no trace of
            // what is hidden in any format.
            let cases_out = exported(&me, ExportKind::Cases, ExportFormat::Jsonl);
            let got: BTreeSet<CaseNumber> = cases_out
                .lines()
                .map(|l| serde_json::from_str::<Case>(l).expect("a case").number)
                .collect();
            prop_assert_eq!(&got, &expected);
            let follow_ups_out = exported(&me, ExportKind::FollowUps, ExportFormat::Jsonl);
            let got: BTreeSet<CaseNumber> = follow_ups_out
                .lines()
                .map(|l| serde_json::from_str::<FollowUp>(l).expect("a follow-up").case)
                .collect();
            prop_assert_eq!(&got, &expected);
            let everything = [
                cases_out,
                follow_ups_out,
                exported(&me, ExportKind::Cases, ExportFormat::RawCsv),
                exported(&me, ExportKind::FollowUps, ExportFormat::RawCsv),
            ]
            .concat();

            // Thread tokens, Message-IDs, attachments, chats, one by one.
            for (k, x) in trails.iter().enumerate() {
                let sees = sees(i, k);
                prop_assert_eq!(
                    me.case_by_thread_token(&x.token).expect("by token").map(|c| c.number),
                    sees.then_some(x.number)
                );
                prop_assert_eq!(
                    me.follow_up_by_message_id(&x.message_id).expect("by Message-ID").map(|f| f.id),
                    sees.then_some(x.email)
                );
                let attachment = me.attachment(&x.blob);
                let chat = me.chat(x.chat);
                let transcript = me.chat_transcript(x.chat);
                let token = me.thread_token(x.number);
                if sees {
                    prop_assert_eq!(attachment.expect("attachment"), x.bytes.clone());
                    prop_assert_eq!(chat.expect("chat").case_number, Some(x.number));
                    prop_assert!(!transcript.expect("transcript").is_empty());
                    prop_assert_eq!(token.expect("token").as_str().to_owned(), x.token.clone());
                } else {
                    // Refused as if absent: the attachment as an unknown
                    // one, the chat and the case's token as hidden.
                    let absent: String = x.blob.chars().map(|h| if h == '0' { '1' } else { '0' }).collect();
                    prop_assert_eq!(
                        attachment.expect_err("hidden").code(),
                        me.attachment(&absent).expect_err("absent").code()
                    );
                    prop_assert_eq!(chat.expect_err("hidden").code(), "hidden");
                    prop_assert_eq!(transcript.expect_err("hidden").code(), "hidden");
                    prop_assert_eq!(token.expect_err("hidden").code(), "hidden");
                    for secret in [&x.token, &x.message_id, &x.blob, &x.queued] {
                        prop_assert!(!everything.contains(secret.as_str()), "{} exported", secret);
                    }
                }
            }

            // The outbox names every case's mail: an admin's (and the
            // system's) only.
            let outbox = me.pending_outbox();
            if *persona == Persona::Admin {
                let keys: Vec<String> =
                    outbox.expect("admin").into_iter().map(|d| d.idempotency_key).collect();
                for x in &trails {
                    prop_assert!(keys.iter().any(|key| key.ends_with(&x.queued)), "{} listed", x.queued);
                }
            } else {
                prop_assert_eq!(outbox.expect_err("not an admin").code(), "permission_denied");
            }
        }
    }
}

#[test]
fn case_lists_filter_by_group_status_and_priority_and_sort_by_last_activity() {
    let t = TestStore::new(FIELDS);
    t.host.add_group("tier2", None).expect("group");
    let c = t.customer("AC-1", "+33123456789");
    let first = case(&t.host, c, Visibility::Public, None, Some("tier2"));
    let second = case(&t.host, c, Visibility::Public, None, None);
    let third = t
        .host
        .open_case(NewCase {
            priority: Some("high".into()),
            ..NewCase::new(c, "urgent")
        })
        .expect("case")
        .number;
    let order = |filter: &CaseFilter| -> Vec<CaseNumber> {
        t.host
            .list_cases(filter, Page::default())
            .expect("list")
            .into_iter()
            .map(|c| c.number)
            .collect()
    };
    assert_eq!(order(&CaseFilter::default()), vec![third, second, first]);
    // A note on the oldest case makes it the most recently active.
    t.clock.advance(chrono::Duration::minutes(5));
    t.host
        .add_follow_up(NewFollowUp::note(first, "ann", "called back"))
        .expect("note");
    assert_eq!(order(&CaseFilter::default()), vec![first, third, second]);
    let by = |group: Option<&str>, status: Option<&str>, priority: Option<&str>| CaseFilter {
        group: group.map(str::to_owned),
        status: status.map(str::to_owned),
        priority: priority.map(str::to_owned),
        ..Default::default()
    };
    assert_eq!(order(&by(Some("tier2"), None, None)), vec![first]);
    assert_eq!(order(&by(None, None, Some("high"))), vec![third]);
    assert!(order(&by(None, Some("closed"), None)).is_empty());
}

/// Tasks are read with their case: an agent never lists, reads, finishes
/// or is shown the reminder of a task on a private case they may not see;
/// reminders still fire for everyone, whoever runs the pass.
#[test]
fn tasks_and_their_reminders_are_seen_with_their_case_only() {
    use dossier_sdk::TaskStatus;

    let t = TestStore::new(FIELDS);
    agent(&t.host, "ann", Role::Agent, &[]);
    agent(&t.host, "bob", Role::Agent, &[]);
    let c = t.customer("AC-1", "+33123456789");
    let public = case(&t.host, c, Visibility::Public, None, None);
    let anns = case(&t.host, c, Visibility::Private, Some("ann"), None);
    let task = |case: Option<CaseNumber>, subject: &str| {
        t.host
            .add_task(NewTask {
                customer: Some(c),
                case,
                kind: TaskKind::Call,
                subject: subject.into(),
                due_at: t.host.now() + chrono::Duration::minutes(30),
                reminder_minutes: Some(20),
                assignee: None,
                custom: Default::default(),
            })
            .expect("task")
            .id
    };
    let on_public = task(Some(public), "public call");
    let on_private = task(Some(anns), "ann's secret call");
    let on_customer = task(None, "customer call");
    let (ann, bob) = (
        t.host.as_agent("ann").expect("ann"),
        t.host.as_agent("bob").expect("bob"),
    );
    let listed = |host: &Host, filter: TaskFilter| -> BTreeSet<_> {
        host.list_tasks(&filter, Page::default())
            .expect("tasks")
            .into_iter()
            .map(|t| t.id)
            .collect()
    };
    let everything = [on_public, on_private, on_customer].into();
    assert_eq!(listed(&t.host, TaskFilter::default()), everything);
    assert_eq!(listed(&ann, TaskFilter::default()), everything);
    assert_eq!(
        listed(&bob, TaskFilter::default()),
        [on_public, on_customer].into()
    );
    for filter in [
        TaskFilter {
            case: Some(anns),
            ..Default::default()
        },
        TaskFilter {
            customer: Some(c),
            status: Some(TaskStatus::Planned),
            ..Default::default()
        },
    ] {
        assert!(!listed(&bob, filter).contains(&on_private));
    }
    assert_eq!(bob.task(on_private).expect_err("hidden").code(), "hidden");
    assert_eq!(
        bob.task(dossier_sdk::TaskId(999))
            .expect_err("absent")
            .code(),
        "hidden"
    );
    assert_eq!(
        bob.finish_task(on_private, TaskStatus::Done)
            .expect_err("hidden")
            .code(),
        "hidden"
    );
    assert_eq!(
        ann.task(on_private).expect("own").subject,
        "ann's secret call"
    );

    // Bob runs the pass: all three fire, he is shown the two he may see.
    t.clock.advance(chrono::Duration::minutes(15));
    let shown: BTreeSet<_> = bob
        .due_reminders(t.host.now())
        .expect("pass")
        .into_iter()
        .map(|f| f.reminder.task.id)
        .collect();
    assert_eq!(shown, [on_public, on_customer].into());
    assert_eq!(t.host.count_due_reminders(t.host.now()).expect("count"), 0);
}

/// Regression: `Host::chats` (and so the chat worklist) listed every chat,
/// those logged to a private case included, to any agent.
#[test]
fn a_chat_logged_to_a_private_case_is_left_out_of_the_chat_lists_of_agents_who_may_not_see_it() {
    let t = TestStore::new(&reviewed_mail());
    agent(&t.host, &login(0), Role::Agent, &[]);
    agent(&t.host, "bob", Role::Agent, &[]);
    let c = t.customer("AC-1", "+33123456789");
    let desk = t.host.as_agent(&login(0)).expect("desk");
    desk.set_chat_state(AgentState::Available)
        .expect("available");
    let private = case_with_trail(&t, &desk, c, 0, (true, Some(0), None));
    let public = case_with_trail(&t, &desk, c, 1, (false, None, None));
    let bob = t.host.as_agent("bob").expect("bob");
    let ids =
        |chats: Vec<dossier_host::Chat>| -> Vec<i64> { chats.into_iter().map(|c| c.id).collect() };
    assert_eq!(
        ids(bob.chats(&ChatFilter::default()).expect("chats")),
        vec![public.chat]
    );
    assert_eq!(
        ids(bob.chat_worklist(None, None, 10).expect("worklist")),
        vec![public.chat]
    );
    assert_eq!(
        ids(desk.chats(&ChatFilter::default()).expect("chats")),
        vec![public.chat, private.chat]
    );
    assert_eq!(
        ids(t.host.chats(&ChatFilter::default()).expect("chats")).len(),
        2
    );
}

/// Regression: `Host::pending_outbox` showed any agent every queued mail
/// and after-save delivery, those of private cases included; it is an
/// admin's (`manage_agents`), as over HTTP.
#[test]
fn the_outbox_is_refused_to_agents_without_manage_agents() {
    let t = TestStore::new(&reviewed_mail());
    agent(&t.host, &login(0), Role::Agent, &[]);
    agent(&t.host, "sue", Role::Supervisor, &[]);
    agent(&t.host, "root", Role::Admin, &[]);
    let c = t.customer("AC-1", "+33123456789");
    let desk = t.host.as_agent(&login(0)).expect("desk");
    desk.set_chat_state(AgentState::Available)
        .expect("available");
    let private = case_with_trail(&t, &desk, c, 0, (true, Some(0), None));
    for login in [login(0), "sue".to_owned()] {
        let err = t
            .host
            .as_agent(&login)
            .expect("agent")
            .pending_outbox()
            .expect_err("not an admin");
        assert_eq!(
            err.to_string(),
            format!(
                "agent {login} may not see the outbox: the `manage_agents` permission is missing"
            )
        );
    }
    let root = t.host.as_agent("root").expect("root");
    assert!(
        root.pending_outbox()
            .expect("admin")
            .iter()
            .any(|d| d.idempotency_key.ends_with(&private.queued))
    );
}
