//! The operator's tools against other processes: a backup taken while a
//! writer in another process commits is one consistent snapshot with its
//! attachments; a restore refuses a store any other process (or this one)
//! has open, and a folder that is not an intact backup; `gc` run beside a
//! writer removes only unreferenced blobs written before it started.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use dossier_host::test_support::{attach, blob_path, put_blob, referenced_blobs};
use dossier_host::{Config, Error, Host, Progress};
use dossier_sdk::{NewCase, NewCustomer};
use sha2::Digest;

use crate::built::dossier_bin;
use crate::util::{FIELDS, PATIENCE, TestStore, hold_write};

/// `write-loop` on the store of `config`: its process, and the counts of
/// rounds it commits, as it prints them.
struct Writer {
    child: Child,
    rounds: mpsc::Receiver<u64>,
    last: u64,
}

impl Writer {
    fn start(config: &Path) -> Writer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_write-loop"))
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, rounds) = mpsc::channel();
        // Drained on its own thread, so the writer never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let n = line.trim_start_matches("done ").parse().unwrap_or(0);
                if tx.send(n).is_err() {
                    break;
                }
            }
        });
        let mut writer = Writer {
            child,
            rounds,
            last: 0,
        };
        writer.wait_for(1);
        writer
    }

    /// Waits until the writer has committed `n` rounds in all.
    fn wait_for(&mut self, n: u64) {
        let (last, rounds) = (&mut self.last, &self.rounds);
        dossier_tests::wait_until("the writer to keep committing", PATIENCE, || {
            while let Ok(done) = rounds.try_recv() {
                *last = done;
            }
            *last >= n
        });
    }

    /// Closes its stdin and returns how many rounds it committed.
    fn stop(mut self) -> u64 {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("writer ends");
        assert!(status.success(), "write-loop failed: {status}");
        while let Ok(n) = self.rounds.recv_timeout(PATIENCE) {
            self.last = self.last.max(n);
        }
        self.last
    }
}

/// A store with enough rows that its backup takes many steps.
fn seeded() -> TestStore {
    let t = TestStore::new(FIELDS);
    t.host
        .transaction("seed", |host| {
            for i in 0..3000 {
                host.create_customer(NewCustomer {
                    account: format!("AC-{i:05}"),
                    name: format!("Customer number {i} with a longer name to fill pages"),
                    ..Default::default()
                })?;
            }
            Ok(())
        })
        .expect("seed");
    t
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[test]
fn a_backup_taken_while_another_process_writes_is_one_consistent_snapshot() {
    let t = seeded();
    let mut writer = Writer::start(&t.dir.path().join("dossier.toml"));
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("backup");
    let mut steps = 0;
    let mut waited = false;
    let manifest = t
        .host
        .backup(&dir, &mut |p| {
            if let Progress::Pages { done, total } = p {
                steps += 1;
                // Halfway through the copy, the writer must go on
                // committing: the backup holds no lock writers wait for.
                if !waited && done < total {
                    waited = true;
                    let now = writer.last;
                    writer.wait_for(now + 3);
                }
            }
        })
        .expect("backup");
    assert!(waited && steps > 1, "the copy took {steps} step(s)");
    let rounds = writer.stop();

    dossier_host::verify(&dir, &mut |_| {}).expect("the backup checks out");
    let copy = rusqlite::Connection::open(dir.join("dossier.db")).expect("open copy");
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(check, "ok");
    // Each round is one transaction: a case, its note and its attachment.
    // A snapshot holds whole rounds only.
    let cases = count(&copy, "SELECT count(*) FROM cases");
    assert!(cases >= 1 && (cases as u64) < rounds, "{cases} of {rounds}");
    assert_eq!(
        count(
            &copy,
            "SELECT count(*) FROM cases c WHERE (SELECT count(*) FROM follow_ups f
             WHERE f.case_number = c.number) <> 2"
        ),
        0
    );
    assert_eq!(count(&copy, "SELECT count(*) FROM blob_refs"), cases);
    assert_eq!(count(&copy, "SELECT count(*) FROM customers"), 3001);
    // Every blob the copy references is in the backup, and only those.
    let refs: Vec<String> = copy
        .prepare("SELECT blob FROM blob_refs ORDER BY blob")
        .expect("refs")
        .query_map([], |r| r.get(0))
        .expect("refs")
        .collect::<Result<_, _>>()
        .expect("refs");
    let mut listed: Vec<String> = manifest
        .files
        .iter()
        .filter_map(|f| f.path.strip_prefix("blobs/"))
        .map(|p| p[3..].to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, refs);
    assert!(manifest.missing_blobs.is_empty());

    // Restored elsewhere, it opens and its attachments read back.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let config = elsewhere.path().join("dossier.toml");
    std::fs::write(&config, FIELDS).expect("config");
    let config = Config::load(&config).expect("config");
    dossier_host::restore(&config, &dir, &mut |_| {}).expect("restore");
    let restored = Host::open(config).expect("restored store opens");
    for id in &refs {
        let bytes = restored.attachment(id).expect("attachment restored");
        assert!(String::from_utf8_lossy(&bytes).starts_with("attachment of round"));
    }
    assert_eq!(
        restored
            .list_cases(&Default::default(), dossier_host::Page::number(1, 1000))
            .expect("cases")
            .len() as i64,
        cases
    );
}

/// Starts `dossier run` on `dir`'s store and waits until it has the host
/// open; returns it with the rest of its stderr, kept open so that it can
/// say `stopped`.
fn dossier_run(dir: &Path) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(dossier_bin())
        .current_dir(dir)
        .args(["run", "--poll", "3600"])
        .env_remove("DOSSIER_CONFIG")
        .env_remove("DOSSIER_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dossier run");
    let mut first = String::new();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    stderr.read_line(&mut first).expect("dossier run speaks");
    assert!(first.starts_with("dossier run:"), "{first}");
    (child, stderr)
}

#[test]
fn a_restore_refuses_a_store_in_use_and_leaves_it_untouched() {
    let t = TestStore::new(FIELDS);
    t.customer("AC-BEFORE", "+33123456789");
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("backup");
    t.host.backup(&dir, &mut |_| {}).expect("backup");
    t.customer("AC-AFTER", "+33123456780");
    let config_path = t.dir.path().join("dossier.toml");
    let config = Config::load(&config_path).expect("config");
    let refused = |who: &str| {
        let err = dossier_host::restore(&config, &dir, &mut |_| {}).expect_err(who);
        assert!(matches!(err, Error::StoreInUse { .. }), "{who}: {err}");
        assert_eq!(err.code(), "store_in_use");
    };

    // This process's own host has it open.
    refused("a host in this process");
    let TestStore {
        dir: store_dir,
        host,
        clock: _,
    } = t;
    drop(host);

    // An idle `dossier run` in another process.
    let (mut run, mut stderr) = dossier_run(store_dir.path());
    refused("dossier run");
    let kill = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert!(run.wait().expect("run ends").success(), "{rest}");

    // A process holding the write lock, and one writing in a loop.
    let mut holder = hold_write(&store_dir.path().join("dossier.db"));
    refused("a writer holding the lock");
    drop(holder.stdin.take());
    assert!(holder.wait().expect("holder ends").success());
    let writer = Writer::start(&config_path);
    refused("a writer in a loop");
    let rounds = writer.stop();

    // Nothing was overwritten: what was written after the backup is there.
    let host = Host::open(config.clone()).expect("reopen");
    host.customer_by_account("AC-AFTER").expect("untouched");
    assert_eq!(
        host.list_cases(&Default::default(), dossier_host::Page::number(1, 10_000))
            .expect("cases")
            .len() as u64,
        rounds
    );
    drop(host);

    // Alone on the file, the restore goes through, and gives the backup.
    let restored = dossier_host::restore(&config, &dir, &mut |_| {}).expect("restore");
    assert_eq!(restored.store, store_dir.path().join("dossier.db"));
    let host = Host::open(config).expect("reopen");
    host.customer_by_account("AC-BEFORE")
        .expect("from the backup");
    assert!(matches!(
        host.customer_by_account("AC-AFTER"),
        Err(Error::NotFound { .. })
    ));
    assert!(
        host.list_cases(&Default::default(), dossier_host::Page::default())
            .expect("cases")
            .is_empty()
    );
}

#[test]
fn a_restore_refuses_a_folder_that_is_not_an_intact_backup() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    attach(&t.host, case.number, "a.txt", b"some bytes").expect("attach");
    let out = tempfile::tempdir().expect("temp dir");
    let good = out.path().join("good");
    let manifest = t.host.backup(&good, &mut |_| {}).expect("backup");
    assert_eq!(manifest.files.len(), 2, "{manifest:?}");
    // The target is another, unused store, so only the folder is at fault.
    let target = tempfile::tempdir().expect("temp dir");
    std::fs::write(target.path().join("dossier.toml"), FIELDS).expect("config");
    let config = Config::load(&target.path().join("dossier.toml")).expect("config");
    Host::builder(config.clone())
        .create_if_missing()
        .open()
        .expect("target")
        .create_customer(NewCustomer {
            account: "TARGET".into(),
            name: "Still here".into(),
            ..Default::default()
        })
        .expect("target row");

    let copy = |name: &str, change: &dyn Fn(&Path)| {
        let dir = out.path().join(name);
        std::fs::create_dir_all(dir.join("blobs")).expect("dir");
        for f in &manifest.files {
            let to = dir.join(&f.path);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("dirs");
            std::fs::copy(good.join(&f.path), to).expect("copy");
        }
        std::fs::copy(good.join("manifest.json"), dir.join("manifest.json")).expect("copy");
        change(&dir);
        dir
    };
    let edit_manifest = |from: &str, to: &str| {
        let (from, to) = (from.to_owned(), to.to_owned());
        move |dir: &Path| {
            let path = dir.join("manifest.json");
            let text = std::fs::read_to_string(&path).expect("manifest");
            assert!(text.contains(&from), "{from}");
            std::fs::write(&path, text.replacen(&from, &to, 1)).expect("edit");
        }
    };
    let db_sha = &manifest.files[0].sha256;
    let blob = &manifest.files[1].path;
    let cases: Vec<(&str, std::path::PathBuf, &str, &str)> = vec![
        (
            "an empty folder",
            {
                let d = out.path().join("empty");
                std::fs::create_dir_all(&d).expect("dir");
                d
            },
            "not_a_backup",
            "has no manifest.json",
        ),
        (
            "a changed database",
            copy("changed-db", &|dir| {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(dir.join("dossier.db"))
                    .expect("db");
                f.write_all(&[0u8; 4096]).expect("grow");
            }),
            "not_a_backup",
            "dossier.db does not match the manifest",
        ),
        (
            "a missing blob",
            copy("missing-blob", &|dir| {
                std::fs::remove_file(dir.join(blob)).expect("rm")
            }),
            "not_a_backup",
            "is missing",
        ),
        (
            "a path outside the folder",
            copy("outside", &edit_manifest(blob, "../../etc/passwd")),
            "not_a_backup",
            "not a plain path inside the folder",
        ),
        (
            "another format",
            copy("format", &edit_manifest("dossier-backup", "tarball")),
            "not_a_backup",
            "format `tarball`",
        ),
        (
            "a newer schema",
            copy(
                "newer",
                &edit_manifest(
                    &format!("\"schema_version\": {}", manifest.schema_version),
                    "\"schema_version\": 9999",
                ),
            ),
            "schema_too_new",
            "9999",
        ),
        (
            "a wrong hash",
            copy("hash", &edit_manifest(db_sha, &"0".repeat(64))),
            "not_a_backup",
            "does not match the manifest",
        ),
    ];
    // An extra blob whose name is not its content's hash (the manifest's
    // size and hash being right for its bytes).
    let stray: &[u8] = b"bytes under another blob's name";
    let misnamed = copy("misnamed", &|dir| {
        let path = format!("blobs/00/{}", "0".repeat(64));
        std::fs::create_dir_all(dir.join("blobs/00")).expect("dir");
        std::fs::write(dir.join(&path), stray).expect("blob");
        let at = dir.join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&at).expect("manifest")).expect("json");
        let sha: String = sha2::Sha256::digest(stray)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        m["files"]
            .as_array_mut()
            .expect("files")
            .push(serde_json::json!({"path": path, "size": stray.len(), "sha256": sha}));
        std::fs::write(&at, m.to_string()).expect("manifest");
    });
    let mut cases = cases;
    cases.push((
        "a misnamed blob",
        misnamed,
        "not_a_backup",
        "does not hold the content its name says",
    ));
    for (what, dir, code, words) in cases {
        let err = dossier_host::restore(&config, &dir, &mut |_| {}).expect_err(what);
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(err.to_string().contains(words), "{what}: {err}");
    }
    // Nothing of a refused backup reached the live store's files.
    let mut found = Vec::new();
    let mut dirs = vec![target.path().to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| b == stray) {
                found.push(path);
            }
        }
    }
    assert!(found.is_empty(), "a refused backup wrote {found:?}");
    let host = Host::open(config.clone()).expect("target opens");
    host.customer_by_account("TARGET")
        .expect("the target was not touched");
    drop(host);
    dossier_host::restore(&config, &good, &mut |_| {}).expect("the intact one restores");
}

#[test]
fn gc_beside_a_writer_removes_only_unreferenced_blobs_written_before_it_started() {
    let t = TestStore::new(&format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n"
    ));
    // An attachment stored by email ingest, the product's own path.
    let raw = "From: files@example.com\r\nTo: support@dossier.test\r\nSubject: a file\r\n\
               Message-ID: <gc-file@x>\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n\
               --sep\r\nContent-Type: text/plain\r\n\r\nOne file attached.\r\n\
               --sep\r\nContent-Type: text/plain\r\n\
               Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\n\
               the attached notes\r\n--sep--\r\n";
    let emailed = match t.host.ingest_email(raw.as_bytes()).expect("ingest") {
        dossier_sdk::Ingested::Stored { follow_up, .. } => {
            t.host.follow_up(follow_up).expect("follow-up").attachments[0]
                .blob
                .clone()
                .expect("blob")
        }
        other => panic!("not stored: {other:?}"),
    };
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    let kept = attach(&t.host, case.number, "kept.txt", b"referenced bytes")
        .expect("attach")
        .attachments[0]
        .blob
        .clone()
        .expect("blob");
    // Orphans from rolled-back writes of more than gc's grace period ago.
    let long_ago = std::time::SystemTime::now() - dossier_host::GC_GRACE * 2;
    let orphans: Vec<String> = (0..20)
        .map(|i| {
            let id = put_blob(&t.host, format!("orphan {i}").as_bytes()).expect("orphan");
            std::fs::File::options()
                .append(true)
                .open(blob_path(&t.host, &id).expect("path"))
                .and_then(|f| f.set_modified(long_ago))
                .expect("backdate");
            id
        })
        .collect();
    // An orphan within the grace period: a blob whose rows may commit yet
    // (email ingest writes attachments before its transaction).
    let pending = put_blob(&t.host, b"rows not committed yet").expect("pending");
    std::fs::File::options()
        .append(true)
        .open(blob_path(&t.host, &pending).expect("path"))
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - dossier_host::GC_GRACE / 2))
        .expect("half the grace ago");
    // An orphan written "after gc started": its time is in the future.
    let late = put_blob(&t.host, b"written after gc started").expect("late");
    let late_path = blob_path(&t.host, &late).expect("path");
    std::fs::File::options()
        .append(true)
        .open(&late_path)
        .expect("late")
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .expect("touch");

    let mut writer = Writer::start(&t.dir.path().join("dossier.toml"));
    let first = t.host.gc().expect("gc");
    let mut removed = first.removed_ids.clone();
    removed.sort();
    let mut expected = orphans.clone();
    expected.sort();
    assert_eq!(removed, expected);
    assert!(first.recent >= 1, "{first:?}");
    // Collections while the writer attaches a blob per round: none of its
    // blobs is ever removed.
    for _ in 0..10 {
        let now = writer.last;
        writer.wait_for(now + 2);
        let round = t.host.gc().expect("gc");
        assert_eq!(round.removed, 0, "{round:?}");
    }
    let rounds = writer.stop();
    let refs = referenced_blobs(&t.host).expect("refs");
    assert_eq!(refs.len() as u64, rounds + 2);
    for id in &refs {
        t.host
            .attachment(id)
            .unwrap_or_else(|e| panic!("blob {id} referenced but gone: {e}"));
    }
    assert!(
        late_path.exists(),
        "a blob newer than gc's start was removed"
    );
    assert!(
        blob_path(&t.host, &pending).expect("path").exists(),
        "a blob written within the grace period was removed"
    );
    assert!(t.host.attachment(&kept).is_ok());
    assert!(t.host.attachment(&emailed).is_ok());
    for id in &orphans {
        assert!(!blob_path(&t.host, id).expect("path").exists(), "{id}");
    }
    // Agents who are not admins may not collect.
    for (login, role) in [
        ("boss", dossier_sdk::Role::Admin),
        ("ann", dossier_sdk::Role::Agent),
    ] {
        t.host
            .add_agent(dossier_sdk::NewAgent {
                login: login.into(),
                display_name: String::new(),
                email: None,
                role,
                groups: Vec::new(),
            })
            .expect("agent");
    }
    let err = t
        .host
        .as_agent("ann")
        .expect("ann")
        .gc()
        .expect_err("refused");
    assert!(err.to_string().contains("only admins"), "{err}");
}
