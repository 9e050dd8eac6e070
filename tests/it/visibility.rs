//! Private cases: readable only by their owner, the members of their group
//! and holders of `see_all_private`, on every read path, and the refusal
//! the same whether a case is hidden or absent.

use std::collections::BTreeSet;

use dossier_host::{AgentChange, CaseFilter, DraftStart, Host, Page};
use dossier_sdk::{
    CaseNumber, Channel, CustomerId, DraftChange, DraftState, Interaction, Mailbox, NewAgent,
    NewCase, NewFollowUp, Permission, Role, Visibility,
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

/// Mail is reviewed before it goes out (nothing is sent: no outbox runs).
fn reviewed_mail() -> String {
    format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n\
         [email.smtp]\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\n\
         [email.review]\nall = true\n"
    )
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
    /// in review, one being written, per case), the review queue and
    /// workbins (one's own and others') are seen with their case.
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
        let mut numbers = Vec::new();
        for (private, owner, grp) in &w.cases {
            let visibility = if *private { Visibility::Private } else { Visibility::Public };
            let owner = owner.map(login);
            let grp = grp.map(group);
            let n = case(&t.host, c, visibility, owner.as_deref(), grp.as_deref());
            t.host.add_follow_up(NewFollowUp::note(n, "system", "note")).expect("note");
            numbers.push(n);
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
    use dossier_host::TaskFilter;
    use dossier_sdk::{NewTask, TaskKind, TaskStatus};

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
