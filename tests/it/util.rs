//! Shared test setup: every test gets its own directory and store file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dossier_host::{Config, Handler, Host, ManualClock};
use dossier_sdk::{CustomerId, NewCustomer, Phone};
use tempfile::TempDir;

/// How long a test waits for something a real server or thread does at
/// once on an idle machine. Generous on purpose: a loaded machine (or a
/// first build running beside the tests) must not fail a test; only a hang
/// uses it up.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Custom fields most tests use.
pub const FIELDS: &str = r#"
[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "silver" }, { key = "bronze" }]
default = "bronze"
indexed = true

[fields.customer.loyalty_id]
type = "text"
pattern = "LC-[0-9]{6}"
indexed = true

[fields.customer.since]
type = "date"

[fields.customer.tags]
type = "multi_choice"
choices = [{ key = "vip" }, { key = "press" }]

[fields.case.contract_ref]
type = "text"
max_length = 8

[fields.case.escalation_contact]
type = "email"
required = false

[fields.case.budget]
type = "decimal"
"#;

/// Where every test clock starts. Not on a whole second: the host keeps
/// microseconds, and a clock with a nanosecond part (as real ones have)
/// shows whether every time it hands out was truncated the same way.
pub const START: &str = "2026-11-23T09:00:00.123456789Z";

/// A clock stopped at [`START`].
pub fn clock() -> ManualClock {
    ManualClock::new(
        DateTime::parse_from_rfc3339(START)
            .expect("START is RFC 3339")
            .with_timezone(&Utc),
    )
}

/// A store in a fresh temp dir with `config` written as its dossier.toml.
pub struct TestStore {
    pub dir: TempDir,
    pub host: Host,
    pub clock: ManualClock,
}

impl TestStore {
    pub fn new(config: &str) -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = clock();
        let host = open_with(dir.path(), config, &clock).expect("host opens");
        TestStore { dir, host, clock }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("dossier.db")
    }

    /// Opens another host on the same directory with a new config.
    pub fn reopen(&self, config: &str) -> dossier_host::Result<Host> {
        open_with(self.dir.path(), config, &self.clock)
    }

    /// Reopens the host on the same store and config with in-process
    /// `handlers` added after the configured scripts and plugins.
    pub fn set_handlers(&mut self, handlers: Vec<std::sync::Arc<dyn Handler>>) {
        let config = Config::load(&self.dir.path().join("dossier.toml")).expect("config");
        let mut builder = Host::builder(config).clock(std::sync::Arc::new(self.clock.clone()));
        for handler in handlers {
            builder = builder.handler(handler);
        }
        self.host = builder.open().expect("host reopens");
    }

    /// Makes the first admin `root` and a plain agent (no address) per
    /// login; root's handle.
    pub fn agents(&self, logins: &[&str]) -> Host {
        let root = self.host.first_admin("root").expect("admin").expect("made");
        let root = self.host.as_agent(&root.login).expect("root");
        for login in logins {
            root.add_agent(dossier_sdk::NewAgent {
                login: (*login).into(),
                display_name: (*login).into(),
                email: None,
                role: dossier_sdk::Role::Agent,
                groups: Vec::new(),
            })
            .expect("agent");
        }
        root
    }

    pub fn customer(&self, account: &str, phone: &str) -> CustomerId {
        self.host
            .create_customer(NewCustomer {
                account: account.into(),
                name: format!("Customer {account}"),
                phones: vec![Phone {
                    label: "main".into(),
                    number: phone.into(),
                }],
                ..Default::default()
            })
            .expect("customer created")
            .id
    }
}

pub fn open_with(dir: &Path, config: &str, clock: &ManualClock) -> dossier_host::Result<Host> {
    let path = dir.join("dossier.toml");
    std::fs::write(&path, config).expect("write config");
    Host::builder(Config::load(&path)?)
        .clock(std::sync::Arc::new(clock.clone()))
        .create_if_missing()
        .open()
}

/// Starts `hold-write` on the store file `db`: another process holding the
/// write lock (an uncommitted transaction) until its stdin is closed.
pub fn hold_write(db: &Path) -> std::process::Child {
    use std::io::BufRead as _;
    let mut holder = std::process::Command::new(env!("CARGO_BIN_EXE_hold-write"))
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the holder");
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("holder speaks");
    assert_eq!(line, "held\n");
    holder
}

/// Creates the store the `dossier.toml` in `dir` names, as `dossier init`
/// would, without running its scripts or plugins: for tests that write
/// their own config and then run the binary (which refuses a missing store).
pub fn create_store(dir: &Path) {
    let mut config = Config::load(&dir.join("dossier.toml")).expect("config");
    config.scripts.enabled = false;
    config.plugins.clear();
    drop(
        Host::builder(config)
            .create_if_missing()
            .open()
            .expect("store created"),
    );
}
