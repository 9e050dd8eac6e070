//! What the store promises, tested against a real file and, where it
//! matters, another process: reads never wait on a writer, follow-ups cannot
//! be replaced even with raw SQL, the pragmas ARCHITECTURE.md names are the
//! ones in force, a file from a newer build is refused.

use std::process::Command;

use dossier_sdk::{Interaction, NewCase, NewFollowUp};

use crate::built::dossier_bin;
use crate::util::{FIELDS, TestStore, hold_write};

#[test]
fn reads_complete_while_another_process_holds_the_write_lock() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    // The config the CLI reads: the same file.
    let mut holder = hold_write(&t.db_path());

    // A command that needed the write lock would wait `[store] busy_timeout_ms`
    // and fail with "database is locked"; these must succeed.
    for args in [
        &["--json", "pop", "--phone", "+33123456789"][..],
        &["--json", "case", "list"][..],
        &["--json", "customer", "find", "--phone", "01 23 45 67 89"][..],
    ] {
        let out = Command::new(dossier_bin())
            .current_dir(t.dir.path())
            .args(args)
            .env_remove("DOSSIER_LOG")
            .output()
            .expect("run dossier");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Opening a host in this process reads too, without the lock.
    let reopened = t.reopen(FIELDS).expect("opens while the lock is held");
    let pop = reopened
        .screen_pop(Interaction {
            caller: Some("+33123456789".into()),
            ..Interaction::new(dossier_sdk::Channel::Phone)
        })
        .expect("pop");
    assert_eq!(pop.open_cases.len(), 1);

    drop(holder.stdin.take());
    assert!(holder.wait().expect("holder ends").success());
}

#[test]
fn a_pop_whose_hooks_only_read_does_not_wait_for_a_writer_either() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts dir");
    std::fs::write(
        t.dir.path().join("scripts").join("pop.rhai"),
        "fn on_screen_pop(pop) { pop.reason = `seen ${pop.open_cases.len()} open`; }\n",
    )
    .expect("script");
    let scripted = t
        .reopen(&format!("[scripts]\nfiles = [\"pop.rhai\"]\n{FIELDS}"))
        .expect("host");
    let mut holder = hold_write(&t.db_path());
    let pop = scripted
        .screen_pop(Interaction {
            caller: Some("+33123456789".into()),
            ..Interaction::new(dossier_sdk::Channel::Phone)
        })
        .expect("the hook ran without the write lock");
    assert_eq!(pop.reason, "seen 1 open");
    drop(holder.stdin.take());
    assert!(holder.wait().expect("holder ends").success());
}

#[test]
fn follow_ups_cannot_be_replaced_even_with_raw_sql() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Broken")).expect("case");
    let f = t
        .host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "first words"))
        .expect("note");
    let raw = rusqlite::Connection::open(t.db_path()).expect("raw");
    for sql in [
        "INSERT OR REPLACE INTO follow_ups (id, case_number, kind, author, body, created_at)
         VALUES (?1, 1, 'note', 'mallory', 'rewritten', '2026-01-01T00:00:00.000000Z')",
        "REPLACE INTO follow_ups (id, case_number, kind, author, body, created_at)
         VALUES (?1, 1, 'note', 'mallory', 'rewritten', '2026-01-01T00:00:00.000000Z')",
        "UPDATE follow_ups SET body = 'rewritten' WHERE id = ?1",
        "DELETE FROM follow_ups WHERE id = ?1",
    ] {
        let err = raw.execute(sql, [f.id.0]).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(t.host.follow_up(f.id).expect("read").body, "first words");
    assert_eq!(t.host.follow_up(f.id).expect("read").author, "ann");
}

#[test]
fn the_pragmas_are_those_architecture_md_names() {
    let t = TestStore::new(FIELDS);
    t.customer("AC-1", "+33123456789");
    let architecture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md"),
    )
    .expect("ARCHITECTURE.md");
    assert!(
        architecture.contains(
            "SQLite with WAL, `synchronous = NORMAL`, foreign keys on,\n  a busy handler of its own"
        ) && architecture.contains("memory map of up to 1 GiB\n  (`mmap_size`)")
            && architecture.contains("temporary storage (statement journals"),
        "ARCHITECTURE.md no longer states the pragmas this test checks"
    );
    let pragmas = dossier_host::test_support::pragmas(&t.host).expect("pragmas");
    assert_eq!(
        pragmas,
        vec![
            ("journal_mode".to_owned(), "wal".to_owned()),
            ("synchronous".to_owned(), "1".to_owned()),
            ("foreign_keys".to_owned(), "1".to_owned()),
            ("busy_timeout".to_owned(), "30000".to_owned()),
            // 2 is MEMORY.
            ("temp_store".to_owned(), "2".to_owned()),
            ("mmap_size".to_owned(), (1_i64 << 30).to_string()),
        ]
    );
}

#[test]
fn a_store_from_a_newer_build_is_refused() {
    let t = TestStore::new(FIELDS);
    let raw = rusqlite::Connection::open(t.db_path()).expect("raw");
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    raw.pragma_update(None, "user_version", version + 1)
        .expect("bump");
    drop(raw);
    let err = t.reopen(FIELDS).expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "database schema version {} is newer than this dossier supports ({version}); upgrade dossier",
            version + 1
        )
    );
}

fn open_at(dir: &std::path::Path) -> dossier_host::Result<dossier_host::Host> {
    let path = dir.join("dossier.toml");
    std::fs::write(&path, FIELDS).expect("config");
    dossier_host::Host::builder(dossier_host::Config::load(&path)?)
        .create_if_missing()
        .open()
}

#[test]
fn a_file_that_is_not_a_store_is_refused_in_one_sentence() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("dossier.db");
    let cases: [(&str, &dyn Fn()); 3] = [
        (
            "the file is empty (0 bytes); remove it and run `dossier init` to create a new store there",
            &|| std::fs::write(&db, b"").expect("empty file"),
        ),
        (
            "it is not a SQLite database; point [store] path at a new file",
            &|| std::fs::write(&db, b"customer,case\nAda,12\n").expect("csv"),
        ),
        (
            "it is a SQLite database with 1 objects of another program's; point [store] path at a new file",
            &|| {
                let _ = std::fs::remove_file(&db);
                rusqlite::Connection::open(&db)
                    .expect("other db")
                    .execute_batch("CREATE TABLE invoices (id INTEGER)")
                    .expect("table");
            },
        ),
    ];
    for (reason, make) in cases {
        make();
        let before = std::fs::read(&db).expect("read");
        let err = open_at(dir.path()).expect_err("refused");
        assert_eq!(err.code(), "not_a_store");
        assert_eq!(
            err.to_string(),
            format!("{} is not a Dossier store: {reason}", db.display())
        );
        assert_eq!(std::fs::read(&db).expect("read"), before, "left as it was");
    }
}

#[cfg(unix)]
#[test]
fn a_new_store_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestStore::new(FIELDS);
    t.customer("AC-1", "+33123456789");
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", t.db_path().display());
        let mode = std::fs::metadata(&path).expect(&path).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{path}: {mode:o}");
    }
}

#[test]
fn a_time_the_store_could_not_read_back_is_refused_from_the_library_too() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let task = |due_at: chrono::DateTime<chrono::Utc>, remind: Option<u32>| dossier_sdk::NewTask {
        customer: Some(c),
        case: None,
        kind: dossier_sdk::TaskKind::Call,
        subject: "far away".into(),
        due_at,
        reminder_minutes: remind,
        assignee: None,
        custom: Default::default(),
    };
    let year_10000 = chrono::DateTime::parse_from_rfc3339("+10000-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let err = t
        .host
        .add_task(task(year_10000, None))
        .expect_err("too late");
    assert_eq!(err.code(), "validation");
    assert!(
        err.to_string()
            .starts_with("task is invalid: field `due_at`"),
        "{err}"
    );
    let early = chrono::DateTime::parse_from_rfc3339("0001-01-02T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let err = t
        .host
        .add_task(task(early, Some(u32::MAX)))
        .expect_err("reminder before year 1");
    assert!(
        err.to_string()
            .starts_with("task is invalid: field `reminder_minutes`"),
        "{err}"
    );
    // Nothing was written, and every list still reads.
    assert!(
        t.host
            .list_tasks(&Default::default(), dossier_host::Page::default())
            .expect("tasks read")
            .is_empty()
    );
}

#[test]
fn a_missing_store_is_refused_naming_the_path_and_nothing_is_created() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("dossier.toml");
    // A misspelt folder and file, as a typo in `[store] path` gives.
    std::fs::write(&path, "[store]\npath = \"dat/dosier.db\"\n").expect("config");
    let config = dossier_host::Config::load(&path).expect("config");
    let db = dir.path().join("dat/dosier.db");
    let err = dossier_host::Host::open(config.clone()).expect_err("refused");
    assert_eq!(err.code(), "store_missing");
    assert_eq!(
        err.to_string(),
        format!(
            "there is no store at {}: correct [store] path if the file was moved or the \
             path is misspelt, or create a new store with `dossier init`",
            db.display()
        )
    );
    assert!(!dir.path().join("dat").exists(), "no folder was made");
    // Asked to, the builder creates it; afterwards a plain open finds it.
    dossier_host::Host::builder(config.clone())
        .create_if_missing()
        .open()
        .expect("created");
    assert!(db.is_file());
    dossier_host::Host::open(config).expect("opens the store it created");
    // An in-memory host never looks for the file.
    let elsewhere = dossier_host::Config::parse(
        "[store]\npath = \"nowhere/x.db\"\n",
        &dir.path().join("other.toml"),
    )
    .expect("config");
    dossier_host::Host::open_in_memory(elsewhere).expect("in memory");
    assert!(!dir.path().join("nowhere").exists());
}
