//! Native plugins loaded from real built libraries: the handshake, changing
//! and vetoing events, callbacks into the host inside the guarded
//! transaction, serialized calls, and every kind of misbehaving plugin.

use std::path::Path;
use std::sync::Arc;

use dossier_host::{Error, Host, Page, TaskFilter};
use dossier_sdk::{
    Case, Channel, Event, EventKind, Interaction, NewCase, NewCustomer, PopTarget, Record,
    SaveEvent, SaveOp,
};

use crate::built::{entry, plugin, sha256};
use crate::util::TestStore;

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count rows")
}

fn open_error(config: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dossier.toml");
    std::fs::write(&path, config).expect("write config");
    let config = dossier_host::Config::load(&path).expect("config parses");
    match Host::builder(config).create_if_missing().open() {
        Ok(_) => panic!("the host opened with a plugin it should refuse"),
        Err(e) => e.to_string(),
    }
}

fn ada(host: &Host) -> dossier_sdk::Customer {
    host.create_customer(NewCustomer {
        account: "AC-1".into(),
        name: "Ada".into(),
        phones: vec![dossier_sdk::Phone {
            label: "main".into(),
            number: "+33 1 23 45 67 89".into(),
        }],
        ..Default::default()
    })
    .expect("customer created")
}

#[test]
fn inspect_reports_the_handshake_without_creating_anything() {
    let path = plugin("probe-plugin");
    let info = dossier_plugins::inspect(&path).expect("inspect");
    assert_eq!(info.name, "probe");
    assert_eq!(info.version, "0.1.0");
    assert_eq!(info.sdk_version, dossier_sdk::SDK_VERSION);
    assert_eq!(info.abi_version, dossier_sdk::abi::ABI_VERSION);
    assert_eq!(
        info.events,
        vec![
            EventKind::BeforeSave,
            EventKind::AfterSave,
            EventKind::ScreenPop,
            EventKind::Disposition,
            EventKind::EmailHeld,
            EventKind::ChatOffered,
            EventKind::ChatEnded
        ]
    );
    assert!(!info.thread_safe);
    assert_eq!(info.sha256, sha256(&path));
}

#[test]
fn a_plugin_changes_and_vetoes_before_save_and_the_veto_writes_nothing() {
    let t = TestStore::new(&entry(
        "probe-plugin",
        "priority = \"high\"\nveto_subject = \"forbidden\"",
    ));
    let ada = ada(&t.host);
    let case = t
        .host
        .open_case(NewCase::new(ada.id, "Printer on fire"))
        .expect("case opened");
    assert_eq!(case.priority, "high", "the plugin's change was saved");
    assert_eq!(
        t.host.case(case.number).expect("read back").priority,
        "high"
    );

    let err = t
        .host
        .open_case(NewCase::new(ada.id, "A forbidden topic"))
        .expect_err("vetoed");
    assert!(
        matches!(&err, Error::Vetoed { by, message } if by == "probe" && message == "subject mentions `forbidden`"),
        "{err}"
    );
    assert_eq!(
        count(&t.db_path(), "cases"),
        1,
        "the vetoed case was not written"
    );
}

#[test]
fn callbacks_from_a_before_hook_join_the_guarded_transaction() {
    // Two instances of the same library: the first adds a note through the
    // host on every case update, the second vetoes some updates.
    let config = format!(
        "{}{}",
        entry("probe-plugin", "note = \"case changed\""),
        entry("probe-plugin", "veto_subject = \"reject\"")
    );
    let t = TestStore::new(&config);
    let ada = ada(&t.host);
    let case = t
        .host
        .open_case(NewCase::new(ada.id, "Broken"))
        .expect("case opened");

    let renamed = Case {
        subject: "Still broken".into(),
        ..case.clone()
    };
    t.host.update_case(renamed).expect("update passes");
    assert_eq!(count(&t.db_path(), "follow_ups"), 1);
    let (notes, _) = t
        .host
        .follow_ups(case.number, Page::default())
        .expect("follow-ups");
    assert_eq!(notes[0].body, "case changed");
    assert_eq!(notes[0].author, "probe");

    let rejected = Case {
        subject: "Please reject this".into(),
        ..case.clone()
    };
    let err = t.host.update_case(rejected).expect_err("vetoed");
    assert!(matches!(err, Error::Vetoed { .. }), "{err}");
    // The first instance's note was written inside the vetoed transaction:
    // it went with it.
    assert_eq!(count(&t.db_path(), "follow_ups"), 1);
    assert_eq!(
        t.host.case(case.number).expect("case").subject,
        "Still broken"
    );
}

#[test]
fn screen_pop_and_disposition_handlers_read_and_write_through_the_host() {
    let t = TestStore::new(&format!(
        "[dispositions.phone]\ncodes = [{{ code = \"callback\" }}]\n{}",
        entry("probe-plugin", "")
    ));
    let ada = ada(&t.host);
    let case = t
        .host
        .open_case(NewCase::new(ada.id, "Call me back"))
        .expect("case opened");

    let mut interaction = Interaction::new(Channel::Phone);
    interaction.caller = Some("01 23 45 67 89".into());
    interaction.agent = Some("agent7".into());
    let pop = t.host.screen_pop(interaction.clone()).expect("screen pop");
    assert_eq!(
        pop.target,
        PopTarget::Case {
            case_number: case.number,
            customer: ada.id
        }
    );
    assert_eq!(pop.reason, "probe: caller is AC-1");

    interaction.case_number = Some(case.number);
    t.host
        .dispose(interaction, "callback", None)
        .expect("disposition");
    let tasks = t
        .host
        .list_tasks(
            &TaskFilter {
                case: Some(case.number),
                ..Default::default()
            },
            Page::default(),
        )
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "Call Ada back");
    assert_eq!(tasks[0].assignee.as_deref(), Some("agent7"));
}

#[test]
fn calls_into_a_plugin_that_is_not_thread_safe_never_overlap() {
    // The probe stays in flight (yielding the CPU) per before_save and fails if another call is in
    // progress; it does not declare itself thread-safe, so the host must
    // serialize. `test_support::fire` calls handlers without taking the
    // write lock, so only that serialization
    // keeps the calls apart.
    let t = TestStore::new(&entry("probe-plugin", "overlap_check = true"));
    let ada = ada(&t.host);
    let event = Event::BeforeSave(SaveEvent {
        op: SaveOp::Update,
        record: Record::Customer(ada),
        changed: Vec::new(),
    });
    let host = Arc::new(t.host.clone());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let host = Arc::clone(&host);
            let event = event.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    dossier_host::test_support::fire(&host, event.clone())?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread").expect("no overlap");
    }
}

// ----- misbehaving plugins ---------------------------------------------------

#[test]
fn a_panicking_before_hook_rolls_back_and_the_host_stays_up() {
    let t = TestStore::new(&entry("panicky-plugin", ""));
    let err = t
        .host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada".into(),
            ..Default::default()
        })
        .expect_err("the plugin panics");
    assert_eq!(
        err.to_string(),
        "plugin panicky: panicked on the before_save event: panicky plugin panics in before_save"
    );
    assert_eq!(count(&t.db_path(), "customers"), 0);
    assert_eq!(count(&t.db_path(), "outbox"), 0);

    // Still up: it reads, and panics in other handlers are caught too.
    assert!(
        t.host
            .list_customers(Page::default())
            .expect("list")
            .is_empty()
    );
    let err = t
        .host
        .screen_pop(Interaction::new(Channel::Chat))
        .expect_err("panics again");
    assert!(
        err.to_string().contains("panicked on the screen_pop event"),
        "{err}"
    );
}

#[test]
fn a_panic_while_starting_refuses_the_plugin() {
    let err = open_error(&entry("panicky-plugin", "panic_in_new = true"));
    assert!(
        err.contains("plugin panicky (")
            && err.ends_with("panicked while starting: panicky plugin panics in new"),
        "{err}"
    );
}

#[test]
fn an_after_save_failure_is_logged_and_the_write_stands() {
    let t = TestStore::new(&entry("probe-plugin", "fail_after_save = true"));
    let ada = ada(&t.host);
    assert_eq!(count(&t.db_path(), "customers"), 1, "the write committed");
    let pending = t.host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1, "the failed delivery stays for a retry");
    assert_eq!(pending[0].attempts, 1);
    let error = pending[0].last_error.as_deref().unwrap_or_default();
    assert_eq!(
        error,
        format!(
            "plugin probe: failed on the after_save event: after_save of customer {} failed on purpose",
            ada.id
        )
    );
}

#[test]
fn garbage_answers_are_errors_and_roll_the_write_back() {
    for (mode, expected) in [
        (
            "bytes",
            "answered the before_save event with an unreadable reply: expected value at line 1 column 1",
        ),
        (
            "status",
            "answered the before_save event with unknown status 42",
        ),
        (
            "wrong_kind",
            "turned a before_save event into a chat_ended event; a handler may change an event but not its kind",
        ),
        (
            "wrong_record",
            "answered the before_save event with a patch that does not fit it: a patch for a case record cannot apply to a customer record",
        ),
        (
            "bad_value",
            "answered the before_save event with an unreadable reply: invalid type: integer `5`, expected a string",
        ),
        (
            "unknown_field",
            "answered the before_save event with an unreadable reply: unknown field `nickname`, expected one of `id`, `account`, `name`",
        ),
        (
            "old_reply",
            "answered the before_save event with an unreadable reply: unknown field `event`, expected `outcome` or `patch`",
        ),
    ] {
        let t = TestStore::new(&entry("garbage-plugin", &format!("mode = \"{mode}\"")));
        let err = t
            .host
            .create_customer(NewCustomer {
                account: "AC-1".into(),
                name: "Ada".into(),
                ..Default::default()
            })
            .expect_err(mode);
        assert!(
            matches!(&err, Error::Plugin { plugin, .. } if plugin == "garbage"),
            "{mode}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("plugin garbage: {expected}")),
            "{mode}: {message}"
        );
        // The customer was inserted before its hooks ran: it went with the
        // rolled-back write, and so did its after_save entry.
        assert_eq!(count(&t.db_path(), "customers"), 0, "{mode}");
        assert_eq!(count(&t.db_path(), "outbox"), 0, "{mode}");
    }
    let err = open_error(&entry("garbage-plugin", "mode = \"created\""));
    assert!(
        err.contains("answered an unreadable creation report"),
        "{err}"
    );
}

#[test]
fn a_plugins_changes_arrive_through_its_patch() {
    // The probe changes a standard field, sets one custom field, removes
    // another and clears the owner; its reply carries only those, and the
    // host applies them to the case it holds.
    let t = TestStore::new(&format!(
        "{}{}",
        crate::util::FIELDS,
        entry(
            "probe-plugin",
            "priority = \"high\"\nset_custom = { contract_ref = { text = \"K-77\" } }\n\
             remove_custom = [\"budget\"]\nclear_owner = true"
        )
    ));
    let ada = ada(&t.host);
    let mut new = NewCase::new(ada.id, "Printer on fire");
    new.owner = Some("grace".into());
    new.group = Some("tier2".into());
    new.custom.insert(
        "contract_ref".into(),
        dossier_sdk::FieldValue::Text("K-1".into()),
    );
    new.custom.insert(
        "budget".into(),
        dossier_sdk::FieldValue::Decimal("12.50".parse().expect("decimal")),
    );
    new.custom.insert(
        "escalation_contact".into(),
        dossier_sdk::FieldValue::Email("boss@example.com".into()),
    );
    let case = t.host.open_case(new).expect("case opened");
    let stored = t.host.case(case.number).expect("read back");
    assert_eq!(stored, case, "what the write returned is what it stored");
    assert_eq!(case.priority, "high");
    assert_eq!(case.owner, None, "the owner was cleared");
    assert_eq!(case.group.as_deref(), Some("tier2"), "untouched");
    assert_eq!(case.subject, "Printer on fire", "untouched");
    assert_eq!(
        case.custom,
        dossier_sdk::CustomFields::from([
            (
                "contract_ref".to_owned(),
                dossier_sdk::FieldValue::Text("K-77".into())
            ),
            (
                "escalation_contact".to_owned(),
                dossier_sdk::FieldValue::Email("boss@example.com".into())
            ),
        ]),
        "one custom field changed, one removed, one untouched"
    );

    // A patched value goes through the host's checks like any change: the
    // schema allows 8 characters of `contract_ref`.
    let t = TestStore::new(&format!(
        "{}{}",
        crate::util::FIELDS,
        entry(
            "probe-plugin",
            "set_custom = { contract_ref = { text = \"MUCH-TOO-LONG\" } }"
        )
    ));
    let ada = self::ada(&t.host);
    let err = t
        .host
        .open_case(NewCase::new(ada.id, "Printer on fire"))
        .expect_err("the patched field is checked");
    assert!(err.to_string().contains("contract_ref"), "{err}");
    assert_eq!(count(&t.db_path(), "cases"), 0);
}

#[test]
fn incompatible_libraries_are_refused_naming_the_file_and_what_to_rebuild() {
    let sdk = dossier_sdk::SDK_VERSION;
    let abi = dossier_sdk::abi::ABI_VERSION;
    let wrong_abi = plugin("wrong-abi-plugin");
    let err = open_error(&entry("wrong-abi-plugin", ""));
    assert_eq!(
        err,
        format!(
            "plugin {}: is incompatible: its plugin table speaks plugin ABI version {}, but this build speaks version {abi}; rebuild the plugin against dossier-sdk {sdk} (plugin ABI {abi})",
            wrong_abi.display(),
            abi + 1
        )
    );

    // A library of the previous ABI (whose replies carried the whole event)
    // has the same table layout: only its version tells it apart.
    let old_abi = plugin("old-abi-plugin");
    let err = open_error(&entry("old-abi-plugin", ""));
    assert_eq!(
        err,
        format!(
            "plugin {}: is incompatible: its plugin table speaks plugin ABI version {}, but this build speaks version {abi}; rebuild the plugin against dossier-sdk {sdk} (plugin ABI {abi})",
            old_abi.display(),
            abi - 1
        )
    );

    let err = open_error(&entry("old-sdk-plugin", ""));
    assert_eq!(
        err,
        format!(
            "plugin {}: (plugin `old-sdk`) was built with dossier-sdk 0.0.1, which is incompatible with this host's dossier-sdk {sdk}; rebuild the plugin against dossier-sdk {sdk}",
            plugin("old-sdk-plugin").display()
        )
    );

    let err = open_error(&entry("no-entry-plugin", ""));
    assert_eq!(
        err,
        format!(
            "plugin {}: is not a Dossier plugin: it exports no `dossier_plugin_entry` symbol; build it as a cdylib that calls dossier_sdk::declare_plugin!",
            plugin("no-entry-plugin").display()
        )
    );

    // `inspect` refuses them the same way.
    let err = dossier_plugins::inspect(&wrong_abi).expect_err("refused");
    assert!(err.to_string().contains("rebuild the plugin"), "{err}");
}

#[test]
fn a_library_whose_hash_differs_or_is_missing_is_refused() {
    let path = plugin("noop-plugin");
    let actual = sha256(&path);
    let display = path.display();
    let wrong = "0".repeat(64);

    let err = open_error(&format!(
        "[[plugins]]\npath = {:?}\nsha256 = \"{wrong}\"\n",
        display.to_string()
    ));
    assert_eq!(
        err,
        format!(
            "plugin {display}: refused: its SHA-256 is {actual} but its [[plugins]] entry expects {wrong}; if you rebuilt or upgraded it on purpose, put the new hash in `sha256`"
        )
    );
    // `trust` does not override a hash that is given.
    let err = open_error(&format!(
        "[[plugins]]\npath = {:?}\nsha256 = \"{wrong}\"\ntrust = true\n",
        display.to_string()
    ));
    assert!(err.contains("refused: its SHA-256 is"), "{err}");

    let err = open_error(&format!("[[plugins]]\npath = {:?}\n", display.to_string()));
    assert!(
        err.contains("has no `sha256`") && err.contains(&format!("sha256 = \"{actual}\"")),
        "{err}"
    );

    // Without a hash but trusted, it loads.
    let t = TestStore::new(&format!(
        "[[plugins]]\npath = {:?}\ntrust = true\n",
        display.to_string()
    ));
    ada(&t.host);

    let err = open_error("[[plugins]]\npath = \"missing/libnothing.so\"\ntrust = true\n");
    assert!(err.contains("libnothing.so: cannot be found"), "{err}");
}

#[test]
fn a_plugin_reads_a_cases_follow_ups_by_kind_and_a_customers_cases() {
    let t = TestStore::new(&entry("probe-plugin", "require_note = true"));
    let ada = ada(&t.host);
    t.host
        .open_case(NewCase::new(ada.id, "Older"))
        .expect("case opened");
    let case = t
        .host
        .open_case(NewCase::new(ada.id, "Broken"))
        .expect("case opened");
    // A system follow-up is not a note.
    t.host
        .add_follow_up(dossier_sdk::NewFollowUp {
            kind: dossier_sdk::FollowUpKind::System,
            ..dossier_sdk::NewFollowUp::note(case.number, "system", "assigned")
        })
        .expect("system follow-up");
    let err = t.host.close_case(case.number).expect_err("vetoed");
    assert!(
        matches!(&err, Error::Vetoed { by, message }
            if by == "probe" && *message == format!("case {} has no note (its customer has 2 cases)", case.number)),
        "{err}"
    );
    t.host
        .add_follow_up(dossier_sdk::NewFollowUp::note(
            case.number,
            "agent",
            "fixed the tray",
        ))
        .expect("note");
    t.host
        .close_case(case.number)
        .expect("closed once it holds a note");
}
