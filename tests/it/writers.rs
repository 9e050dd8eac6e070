//! Writers of several processes on one store file (the CLI, `dossier run`,
//! embedders: no server in front): each waits its turn for the lock, up to
//! `[store] busy_timeout_ms`, long passes pause between batches so that the
//! others get it, and `dossier run` outlives a lock held past its patience.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use dossier_sdk::NewCase;
use dossier_tests::wait_until;

use crate::built::dossier_bin;
use crate::reminders::plan;
use crate::util::{FIELDS, TestStore, hold_write};

fn dossier(t: &TestStore, args: &[&str]) -> Command {
    let mut command = Command::new(dossier_bin());
    command
        .current_dir(t.dir.path())
        .args(args)
        .env_remove("DOSSIER_LOG")
        .env_remove("DOSSIER_CONFIG")
        .env_remove("DOSSIER_AGENT");
    command
}

/// Reminders not fired yet.
fn unfired(t: &TestStore) -> i64 {
    rusqlite::Connection::open(t.db_path())
        .expect("open")
        .query_row(
            "SELECT count(*) FROM tasks WHERE remind_at IS NOT NULL AND reminded_at IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("count")
}

/// A reminder hook doing some work in each reminder's transaction, as
/// admins' hooks do (a few milliseconds in a debug build): a pass holds the
/// lock most of the time.
fn busy_reminder_hook(t: &TestStore) {
    let scripts = t.dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("scripts folder");
    std::fs::write(
        scripts.join("busy.rhai"),
        "fn on_task_reminder(r) {\n    let n = 0;\n    for i in 0..5000 { n += i; }\n}\n",
    )
    .expect("script");
}

#[test]
fn dossier_run_keeps_going_when_the_store_stays_locked_past_its_busy_timeout() {
    let t = TestStore::new(&format!("{FIELDS}\n[store]\nbusy_timeout_ms = 200\n"));
    let c = t.customer("AC-1", "+33123456789");
    plan(&t.host, c, 1, 1, "ann");
    let mut holder = hold_write(&t.db_path());
    let mut run = dossier(&t, &["run", "--poll", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dossier run starts");
    let mut stderr = BufReader::new(run.stderr.take().expect("stderr"));
    let mut said = String::new();
    while !said.contains("this pass failed (store_busy)") {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).expect("read"),
            0,
            "dossier run ended: {said}"
        );
        said.push_str(&line);
    }
    assert!(
        said.contains("the store stayed locked by another writer for 200 ms"),
        "{said}"
    );
    assert_eq!(unfired(&t), 1);

    // The other writer finishes: the next pass fires the reminder.
    drop(holder.stdin.take());
    holder.wait().expect("holder ends");
    wait_until("the reminder fires", StdDuration::from_secs(60), || {
        unfired(&t) == 0
    });
    let term = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let status = run.wait().expect("dossier run ends");
    assert_eq!(status.code(), Some(0), "{said}");
}

/// The measure: beside a pass firing 1,500 reminders (one
/// transaction each, with a hook working in each: about 6 s in a debug
/// build), ten notes added from other processes at once all get in, each
/// within `busy_timeout_ms` (1 s here, far shorter than the pass).
#[test]
fn notes_from_other_processes_get_in_beside_a_1500_reminder_pass() {
    const REMINDERS: i64 = 1_500;
    let t = TestStore::new(&format!("{FIELDS}\n[store]\nbusy_timeout_ms = 1000\n"));
    let c = t.customer("AC-1", "+33123456789");
    busy_reminder_hook(&t);
    let case = t
        .host
        .open_case(NewCase::new(c, "Printer on fire"))
        .expect("case");
    t.host
        .transaction("plan", |host| {
            for _ in 0..REMINDERS {
                plan(host, c, 1, 1, "ann");
            }
            Ok(())
        })
        .expect("planned");
    let mut pass = dossier(&t, &["task", "reminders"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pass starts");
    wait_until("the pass fires", StdDuration::from_secs(120), || {
        unfired(&t) < REMINDERS
    });
    let number = case.number.0.to_string();
    // Ten agents add a note at once, while the pass runs.
    let notes: Vec<Child> = (0..10)
        .map(|i| {
            dossier(
                &t,
                &[
                    "followup",
                    "add",
                    "--case",
                    &number,
                    "--note",
                    &format!("note {i}"),
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dossier followup add")
        })
        .collect();
    let mut failed = Vec::new();
    for note in notes {
        let out = note.wait_with_output().expect("a note ends");
        if !out.status.success() {
            failed.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    let left = unfired(&t);
    let status = pass.wait().expect("the pass ends");
    assert!(status.success());
    assert!(
        failed.is_empty(),
        "{} of 10 notes failed: {failed:?}",
        failed.len()
    );
    assert!(
        left > 0,
        "the pass ended before the last note: the notes did not run beside it"
    );
    assert_eq!(unfired(&t), 0);
}

/// `dossier run --json` prints each reminder as its transaction commits:
/// killed with SIGKILL mid-pass, it has printed every reminder it fired
/// but at most the one in flight.
#[test]
fn run_json_prints_each_reminder_as_it_commits_so_a_kill_loses_none() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    busy_reminder_hook(&t);
    t.host
        .transaction("plan", |host| {
            for _ in 0..500 {
                plan(host, c, 1, 1, "ann");
            }
            Ok(())
        })
        .expect("planned");
    let mut run = dossier(&t, &["--json", "run", "--poll", "3600"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dossier run starts");
    let mut stdout = BufReader::new(run.stdout.take().expect("stdout"));
    let mut printed = 0;
    while printed < 5 {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).expect("read"), 0, "run ended");
        assert!(line.contains("\"task\""), "{line}");
        printed += 1;
    }
    run.kill().expect("SIGKILL");
    run.wait().expect("reaped");
    printed += stdout.lines().map_while(std::result::Result::ok).count();
    let fired = 500 - unfired(&t);
    assert!(fired < 500, "killed mid-pass");
    assert!(
        printed + 1 >= usize::try_from(fired).expect("small"),
        "{fired} reminders committed, {printed} printed"
    );
}
