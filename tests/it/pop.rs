//! Screen-pop: the built-in resolution order on a real store, and what
//! handlers may change. Pops are rendered with account numbers instead of
//! internal ids, so the snapshots read like what an agent sees.

use std::fmt::Write as _;

use dossier_host::Host;
use dossier_sdk::{
    CaseNumber, Channel, CustomerId, Direction, Email, Interaction, NewCase, NewCustomer, Phone,
    PopTarget, ScreenPop,
};

use crate::util::TestStore;

pub const INTERACT: &str = r#"
[phone]
default_region = "FR"

[fields.customer.language]
type = "choice"
choices = [{ key = "fr" }, { key = "en" }]

[dispositions.phone]
required = true
codes = [
    { code = "resolved", label = "Resolved", closes_case = true },
    { code = "callback", label = "Call back" },
]

[dispositions.chat]
codes = [{ code = "answered", closes_case = true }]
"#;

pub fn add_customer(
    host: &Host,
    account: &str,
    name: &str,
    phone: &str,
    email: &str,
) -> CustomerId {
    host.create_customer(NewCustomer {
        account: account.into(),
        name: name.into(),
        phones: (!phone.is_empty())
            .then(|| Phone {
                label: "main".into(),
                number: phone.into(),
            })
            .into_iter()
            .collect(),
        emails: (!email.is_empty())
            .then(|| Email {
                label: "main".into(),
                address: email.into(),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    })
    .unwrap()
    .id
}

/// The pop as one line, with customers by account number.
pub fn render(host: &Host, pop: &ScreenPop) -> String {
    let account = |id: &CustomerId| host.customer(*id).unwrap().account;
    let mut s = match &pop.target {
        PopTarget::Case {
            case_number: case,
            customer,
        } => format!("case {case} of {}", account(customer)),
        PopTarget::Customer { customer } => format!("customer {}", account(customer)),
        PopTarget::Candidates { customers } => format!(
            "candidates {}",
            customers.iter().map(account).collect::<Vec<_>>().join(", ")
        ),
        PopTarget::NewCustomer { prefill } => format!("new customer {prefill:?}"),
    };
    if !pop.open_cases.is_empty() {
        let cases: Vec<String> = pop.open_cases.iter().map(|c| c.to_string()).collect();
        let _ = write!(s, " [open cases {}]", cases.join(", "));
    }
    let _ = write!(s, "\n    because {}", pop.reason);
    s
}

fn phone(caller: &str) -> Interaction {
    Interaction {
        caller: Some(caller.into()),
        ..Interaction::new(Channel::Phone)
    }
}

/// A store with a few customers: Grace (two open cases, one closed), Ada
/// (no case), and a shared switchboard number for three of the Babbages.
fn desk() -> TestStore {
    let t = TestStore::new(INTERACT);
    let h = &t.host;
    let grace = add_customer(
        h,
        "AC-000002",
        "Grace Hopper",
        "+1 212 555 0100",
        "grace@navy.mil",
    );
    add_customer(
        h,
        "AC-000003",
        "Ada Lovelace",
        "01 23 45 67 89",
        "ada@example.com",
    );
    for (account, name) in [
        ("AC-000010", "Charles Babbage"),
        ("AC-000011", "Georgiana Babbage"),
    ] {
        add_customer(h, account, name, "+44 20 7946 0000", "");
    }
    let henry = add_customer(
        h,
        "AC-000012",
        "Henry Babbage",
        "+44 20 7946 0000",
        "henry@example.org",
    );
    let c1 = h.open_case(NewCase::new(grace, "Compiler bug")).unwrap();
    h.open_case(NewCase::new(grace, "Moth in relay")).unwrap();
    h.close_case(c1.number).unwrap();
    h.open_case(NewCase::new(grace, "COBOL question")).unwrap();
    // Henry has the only open case among the Babbages: he ranks first.
    h.open_case(NewCase::new(henry, "Difference engine"))
        .unwrap();
    t
}

#[test]
fn the_built_in_resolution_order() {
    let t = desk();
    let cases: Vec<(&str, Interaction)> = vec![
        (
            "case number wins over everything else",
            Interaction {
                case_number: Some(CaseNumber(2)),
                account: Some("AC-000003".into()),
                ..phone("+33123456789")
            },
        ),
        (
            "a closed case still pops",
            Interaction {
                case_number: Some(CaseNumber(1)),
                ..Interaction::new(Channel::Chat)
            },
        ),
        (
            "unknown case falls through to the phone",
            Interaction {
                case_number: Some(CaseNumber(99)),
                ..phone("01 23 45 67 89")
            },
        ),
        (
            "account number",
            Interaction {
                account: Some("AC-000002".into()),
                ..Interaction::new(Channel::Chat)
            },
        ),
        (
            "phone in any format, normalized",
            phone("+1 (212) 555-0100"),
        ),
        (
            "one customer with open cases pops the customer",
            phone("+12125550100"),
        ),
        (
            "shared number: candidates, open cases first",
            phone("+442079460000"),
        ),
        (
            "shared number narrowed by email",
            Interaction {
                email: Some("Henry@Example.org".into()),
                ..phone("+442079460000")
            },
        ),
        (
            "email only",
            Interaction {
                email: Some("ADA@example.com".into()),
                ..Interaction::new(Channel::Email)
            },
        ),
        (
            "outbound call: the dialled number is the customer's",
            Interaction {
                direction: Direction::Outbound,
                caller: Some("+33 9 99 99 99 99".into()),
                dialled: Some("+12125550100".into()),
                ..Interaction::new(Channel::Phone)
            },
        ),
        (
            "unknown number: prefilled form with context data",
            Interaction {
                context: [
                    ("name".to_owned(), "Alan Turing".to_owned()),
                    ("language".to_owned(), "en".to_owned()),
                ]
                .into(),
                ..phone("06 12 34 56 78")
            },
        ),
        ("withheld number", phone("anonymous")),
        (
            "chat visitor with nothing known",
            Interaction {
                ip: Some("192.0.2.7".into()),
                ..Interaction::new(Channel::Chat)
            },
        ),
        (
            "unknown account and unknown email",
            Interaction {
                account: Some("AC-999999".into()),
                email: Some("nobody@example.net".into()),
                ..Interaction::new(Channel::Email)
            },
        ),
    ];
    let mut out = String::new();
    for (name, interaction) in cases {
        let pop = t.host.screen_pop(interaction).unwrap();
        let _ = writeln!(out, "{name}:\n  {}", render(&t.host, &pop));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn a_pop_by_phone_carries_the_interaction_and_lists_open_cases_newest_first() {
    let t = desk();
    let interaction = Interaction {
        queue: Some("billing".into()),
        agent: Some("agent.smith".into()),
        context: [("ivr_choice".to_owned(), "2".to_owned())].into(),
        ..phone("+1 212 555 0100")
    };
    let pop = t.host.screen_pop(interaction.clone()).unwrap();
    assert_eq!(
        pop.interaction, interaction,
        "the interaction comes back untouched"
    );
    assert_eq!(
        pop.target,
        PopTarget::Customer {
            customer: t.host.customer_by_account("AC-000002").unwrap().id
        }
    );
    assert_eq!(pop.open_cases, vec![CaseNumber(3), CaseNumber(2)]);
}

#[test]
fn many_matches_are_capped_and_say_so() {
    let t = TestStore::new(INTERACT);
    for i in 0..25 {
        add_customer(
            &t.host,
            &format!("AC-{i:06}"),
            "Front desk",
            "+33 1 40 00 00 00",
            "",
        );
    }
    let pop = t.host.screen_pop(phone("+33140000000")).unwrap();
    match &pop.target {
        PopTarget::Candidates { customers } => assert_eq!(customers.len(), 20),
        other => panic!("expected candidates, got {other:?}"),
    }
    assert!(
        pop.reason
            .contains("matches 25 customers, the 20 likeliest shown"),
        "{}",
        pop.reason
    );
}
