//! Rhai scripting hooks end to end: real scripts in a temp dir, a real
//! SQLite file, the host's public API.

mod api;
mod bad;
mod cookbook;
mod doc_samples;
mod examples;
mod hooks;
mod tooling;

use std::path::{Path, PathBuf};

use dossier_host::{CaseFilter, Config, Host, Page, TaskFilter};
use dossier_sdk::{Case, Customer, NewCase, NewCustomer, Phone};
use tempfile::TempDir;

/// Custom fields the script tests use (also what `dossier init` writes).
pub const FIELDS: &str = r#"
[fields.customer.tier]
type = "choice"
choices = [{ key = "standard" }, { key = "silver" }, { key = "gold" }]
default = "standard"

[fields.customer.language]
type = "choice"
choices = [{ key = "en" }, { key = "fr" }, { key = "de" }]

[fields.case.sla_hours]
type = "integer"

[fields.case.resolution]
type = "text"
max_length = 500
"#;

/// A Dossier directory: `dossier.toml`, `scripts/`, the database.
pub struct Env {
    pub dir: TempDir,
}

impl Env {
    /// A directory with `FIELDS`, `extra` config, and `scripts` (name, text)
    /// written to `scripts/`, loaded in the order given.
    pub fn new(extra: &str, scripts: &[(&str, &str)]) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
        let files: Vec<String> = scripts.iter().map(|(n, _)| format!("{n:?}")).collect();
        let config = format!(
            "[store]\npath = \"dossier.db\"\n\n[scripts]\nfiles = [{}]\n{extra}\n{FIELDS}",
            files.join(", ")
        );
        std::fs::write(dir.path().join("dossier.toml"), config).expect("write config");
        let env = Env { dir };
        for (name, text) in scripts {
            env.write_script(name, text);
        }
        env
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("dossier.toml")
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path()).expect("config loads")
    }

    pub fn open(&self) -> dossier_host::Result<Host> {
        Host::builder(self.config()).create_if_missing().open()
    }

    pub fn host(&self) -> Host {
        self.open().expect("host opens")
    }

    pub fn script_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("scripts").join(name)
    }

    pub fn write_script(&self, name: &str, text: &str) {
        write_bumped(&self.script_path(name), text);
    }
}

/// Writes `text` to `path`, making sure its mtime moves even on file systems
/// with coarse timestamps (so change detection sees the new version).
pub fn write_bumped(path: &Path, text: &str) {
    let before = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    std::fs::write(path, text).expect("write script");
    if let Some(before) = before {
        let file = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open script");
        let later = before + std::time::Duration::from_secs(2);
        file.set_modified(later).expect("set mtime");
    }
}

pub fn ada(host: &Host) -> Customer {
    host.create_customer(NewCustomer {
        account: "AC-000001".into(),
        name: "Ada Lovelace".into(),
        phones: vec![Phone {
            label: "mobile".into(),
            number: "+33 6 12 34 56 78".into(),
        }],
        ..Default::default()
    })
    .expect("customer saved")
}

pub fn open_case(host: &Host, customer: &Customer, subject: &str) -> dossier_host::Result<Case> {
    host.open_case(NewCase::new(customer.id, subject))
}

pub fn all_cases(host: &Host) -> Vec<Case> {
    host.list_cases(&CaseFilter::default(), Page::default())
        .expect("cases listed")
}

pub fn all_tasks(host: &Host) -> Vec<dossier_sdk::Task> {
    host.list_tasks(&TaskFilter::default(), Page::default())
        .expect("tasks listed")
}
