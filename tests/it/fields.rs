//! Custom fields: validation messages, defaults, indexed lookups, and
//! config changes that existing records cannot follow.

use dossier_host::Error;
use dossier_sdk::{CustomerQuery, Email, FieldValue, NewCase, NewCustomer, Phone};

use crate::util::{FIELDS, TestStore};

fn customer(account: &str) -> NewCustomer {
    NewCustomer {
        account: account.into(),
        name: "Ada Lovelace".into(),
        ..Default::default()
    }
}

fn with_field(name: &str, value: FieldValue) -> NewCustomer {
    let mut c = customer("AC-9");
    c.custom.insert(name.into(), value);
    c
}

/// Every way a customer write can be refused, with the message the agent sees.
#[test]
fn validation_errors_name_the_object_field_and_rule() {
    let t = TestStore::new(FIELDS);
    t.host.create_customer(customer("AC-1")).unwrap();
    let cases: Vec<(&str, NewCustomer)> = vec![
        ("missing account", customer("  ")),
        ("duplicate account", customer("AC-1")),
        (
            "missing name",
            NewCustomer {
                name: String::new(),
                ..customer("AC-2")
            },
        ),
        (
            "bad phone",
            NewCustomer {
                phones: vec![Phone {
                    label: "main".into(),
                    number: "call me maybe".into(),
                }],
                ..customer("AC-3")
            },
        ),
        (
            "bad email",
            NewCustomer {
                emails: vec![Email {
                    label: "main".into(),
                    address: "ada at example.com".into(),
                }],
                ..customer("AC-4")
            },
        ),
        (
            "email over 254 characters",
            NewCustomer {
                emails: vec![Email {
                    label: "main".into(),
                    address: format!("{}@example.com", "a".repeat(250)),
                }],
                ..customer("AC-5")
            },
        ),
        (
            "unknown custom field",
            with_field("shoe_size", FieldValue::Integer(42)),
        ),
        (
            "wrong type",
            with_field("since", FieldValue::Text("yesterday".into())),
        ),
        (
            "unknown choice",
            with_field("tier", FieldValue::Choice("platinum".into())),
        ),
        (
            "unknown multi-choice key",
            with_field(
                "tags",
                FieldValue::MultiChoice(vec!["vip".into(), "spy".into()]),
            ),
        ),
        (
            "pattern",
            with_field("loyalty_id", FieldValue::Text("LC-12".into())),
        ),
    ];
    let mut rendered = String::new();
    for (what, input) in cases {
        let err = t.host.create_customer(input).unwrap_err();
        rendered.push_str(&format!("{what}: {err}\n"));
    }
    let mut case = NewCase::new(dossier_sdk::CustomerId(1), "Contract");
    case.custom.insert(
        "contract_ref".into(),
        FieldValue::Text("CONTRACT-2026-001".into()),
    );
    rendered.push_str(&format!(
        "max_length: {}\n",
        t.host.open_case(case).unwrap_err()
    ));
    let mut case = NewCase::new(dossier_sdk::CustomerId(1), "Email");
    case.custom.insert(
        "escalation_contact".into(),
        FieldValue::Email("nobody".into()),
    );
    rendered.push_str(&format!(
        "email field: {}\n",
        t.host.open_case(case).unwrap_err()
    ));
    let mut case = NewCase::new(dossier_sdk::CustomerId(77), "Orphan");
    case.priority = Some("whenever".into());
    rendered.push_str(&format!(
        "bad priority: {}\n",
        t.host.open_case(case).unwrap_err()
    ));
    rendered.push_str(&format!(
        "missing customer: {}\n",
        t.host
            .open_case(NewCase::new(dossier_sdk::CustomerId(77), "Orphan"))
            .unwrap_err()
    ));
    insta::assert_snapshot!(rendered);
    // Nothing but the first customer was written.
    assert_eq!(t.host.list_customers(Default::default()).unwrap().len(), 1);
}

#[test]
fn defaults_fill_new_records_and_values_are_normalized() {
    let t = TestStore::new(FIELDS);
    let mut c = customer("AC-1");
    c.custom.insert(
        "since".into(),
        FieldValue::parse(dossier_sdk::FieldType::Date, "2024-02-29").unwrap(),
    );
    let saved = t.host.create_customer(c).unwrap();
    assert_eq!(saved.custom["tier"], FieldValue::Choice("bronze".into()));
    let back = t.host.customer(saved.id).unwrap();
    assert_eq!(back, saved);

    let mut case = NewCase::new(saved.id, "Budget");
    case.custom.insert(
        "escalation_contact".into(),
        FieldValue::Email("Boss@Example.COM".into()),
    );
    case.custom.insert(
        "budget".into(),
        FieldValue::Decimal("1999.90".parse().unwrap()),
    );
    let case = t.host.open_case(case).unwrap();
    let back = t.host.case(case.number).unwrap();
    assert_eq!(
        back.custom["escalation_contact"],
        FieldValue::Email("boss@example.com".into())
    );
    assert_eq!(back.custom["budget"].to_string(), "1999.90");
}

#[test]
fn lookups_by_phone_email_account_and_indexed_field() {
    let t = TestStore::new(FIELDS);
    let mut ada = customer("AC-1");
    ada.phones = vec![Phone {
        label: "mobile".into(),
        number: "+33 6 12 34 56 78".into(),
    }];
    ada.emails = vec![Email {
        label: "work".into(),
        address: "Ada@Example.com".into(),
    }];
    ada.custom
        .insert("tier".into(), FieldValue::Choice("gold".into()));
    ada.custom
        .insert("loyalty_id".into(), FieldValue::Text("LC-000042".into()));
    let ada = t.host.create_customer(ada).unwrap();
    t.host.create_customer(customer("AC-2")).unwrap();

    let find = |q: CustomerQuery| -> Vec<String> {
        t.host
            .find_customers(&q)
            .unwrap()
            .into_iter()
            .map(|c| c.account)
            .collect()
    };
    let q = CustomerQuery::default;
    assert_eq!(
        find(CustomerQuery {
            phone: Some("06.12.34.56.78".into()),
            ..q()
        }),
        ["AC-1"]
    );
    assert_eq!(
        find(CustomerQuery {
            phone: Some("+33612345678".into()),
            ..q()
        }),
        ["AC-1"]
    );
    assert_eq!(
        find(CustomerQuery {
            email: Some("ADA@example.com".into()),
            ..q()
        }),
        ["AC-1"]
    );
    assert_eq!(
        find(CustomerQuery {
            account: Some("AC-2".into()),
            ..q()
        }),
        ["AC-2"]
    );
    assert_eq!(
        find(CustomerQuery {
            field: Some(("tier".into(), "bronze".into())),
            ..q()
        }),
        ["AC-2"]
    );
    assert_eq!(
        find(CustomerQuery {
            field: Some(("loyalty_id".into(), "LC-000042".into())),
            ..q()
        }),
        ["AC-1"]
    );
    assert_eq!(
        find(CustomerQuery {
            name: Some("lovelace".into()),
            field: Some(("tier".into(), "gold".into())),
            ..q()
        }),
        ["AC-1"]
    );
    assert!(
        find(CustomerQuery {
            phone: Some("+1 212 555 0100".into()),
            ..q()
        })
        .is_empty()
    );
    assert_eq!(t.host.customer_by_account("AC-1").unwrap().id, ada.id);

    // A field that is not indexed cannot be searched: a scan would be silent and slow.
    let err = t
        .host
        .find_customers(&CustomerQuery {
            field: Some(("since".into(), "2024-01-01".into())),
            ..q()
        })
        .unwrap_err();
    assert!(err.to_string().contains("is not indexed"), "{err}");

    // The lookups are index lookups, not scans: the plan of the very
    // statement `find_customers` runs.
    for (query, index) in [
        (
            CustomerQuery {
                field: Some(("tier".into(), "gold".into())),
                ..q()
            },
            "INDEX cf_customer_tier",
        ),
        (
            CustomerQuery {
                field: Some(("loyalty_id".into(), "LC-000001".into())),
                ..q()
            },
            "INDEX cf_customer_loyalty_id",
        ),
        (
            CustomerQuery {
                phone: Some("01 23 45 67 89".into()),
                ..q()
            },
            "INDEX customer_phones_number",
        ),
        (
            CustomerQuery {
                email: Some("ADA@example.com".into()),
                ..q()
            },
            "INDEX customer_emails_address",
        ),
        (
            CustomerQuery {
                account: Some("AC-1".into()),
                phone: Some("+33612345678".into()),
                ..q()
            },
            "INDEX sqlite_autoindex_customers_1",
        ),
    ] {
        let plan = t.host.explain_find_customers(&query).unwrap();
        assert!(plan.contains(index), "{query:?}: {plan}");
        assert!(!plan.contains("SCAN customer"), "{query:?}: {plan}");
    }
}

#[test]
fn incompatible_field_changes_are_refused_at_load() {
    let t = TestStore::new(FIELDS);
    let mut c = customer("AC-1");
    c.custom
        .insert("tier".into(), FieldValue::Choice("gold".into()));
    c.custom.insert(
        "since".into(),
        FieldValue::parse(dossier_sdk::FieldType::Date, "2020-01-01").unwrap(),
    );
    t.host.create_customer(c).unwrap();

    let retyped = FIELDS.replace(
        "[fields.customer.since]\ntype = \"date\"",
        "[fields.customer.since]\ntype = \"integer\"",
    );
    let no_gold = FIELDS.replace("{ key = \"gold\" }, ", "");
    let removed = FIELDS.replace("[fields.customer.since]\ntype = \"date\"\n", "");
    let mut rendered = String::new();
    for (what, config) in [
        ("type change", &retyped),
        ("choice removed", &no_gold),
        ("field removed", &removed),
    ] {
        let err = t.reopen(config).unwrap_err();
        assert!(matches!(err, Error::IncompatibleField { .. }), "{err:?}");
        rendered.push_str(&format!("{what}: {err}\n"));
    }
    insta::assert_snapshot!(rendered);

    // Compatible changes are fine: a new choice, a new field, removing an unused choice.
    let compatible = FIELDS
        .replace(
            "{ key = \"bronze\" }]",
            "{ key = \"bronze\" }, { key = \"platinum\" }]",
        )
        .replace(
            "{ key = \"vip\" }, { key = \"press\" }",
            "{ key = \"vip\" }",
        )
        + "\n[fields.customer.nickname]\ntype = \"text\"\n";
    let host = t.reopen(&compatible).unwrap();
    assert_eq!(host.customer_by_account("AC-1").unwrap().custom.len(), 2);
    // And the original config still opens afterwards.
    drop(host);
    t.reopen(FIELDS).unwrap();
}

#[test]
fn bad_field_definitions_are_refused_with_the_field_named() {
    let t = TestStore::new("");
    let mut rendered = String::new();
    for config in [
        "[fields.customer.tier]\ntype = \"colour\"\n",
        "[fields.customer.tier]\ntype = \"choice\"\n",
        "[fields.customer.Tier]\ntype = \"text\"\n",
        "[fields.customer.code]\ntype = \"text\"\npattern = \"([a-z]\"\n",
        "[fields.customer.level]\ntype = \"integer\"\ndefault = \"high\"\n",
        "[fields.customer.tags]\ntype = \"multi_choice\"\nchoices = [{ key = \"a\" }]\nindexed = true\n",
        "[fields.customer.tier]\ntype = \"text\"\nrequird = true\n",
        "[fields.invoice.total]\ntype = \"decimal\"\n",
        "[case]\ndefault_priority = \"asap\"\n",
    ] {
        let err = t.reopen(config).unwrap_err();
        let msg = err
            .to_string()
            .replace(&t.dir.path().display().to_string(), "[dir]");
        rendered.push_str(&format!(
            "{}\n  -> {msg}\n",
            config.trim().replace('\n', " | ")
        ));
    }
    insta::assert_snapshot!(rendered);
}
