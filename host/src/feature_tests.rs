//! A facade built without one of its features refuses, when the host opens,
//! a config that asks for what the feature carries, naming the feature:
//! nothing configured is silently ignored. (CI runs these with
//! `cargo test -p dossier-host --no-default-features --lib`.)

use crate::{Config, Host};
#[cfg(not(all(
    feature = "plugins",
    feature = "scripts",
    feature = "email",
    feature = "chat"
)))]
use {crate::Error, std::path::Path};

/// Opens a host on `text` (with a store in `dir`) and returns the refusal.
#[cfg(not(all(
    feature = "plugins",
    feature = "scripts",
    feature = "email",
    feature = "chat"
)))]
fn refusal(dir: &Path, text: &str) -> String {
    let config = Config::parse(text, &dir.join("dossier.toml")).expect("the config parses");
    match Host::open(config) {
        Err(Error::Config(message)) => message,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("opened although the build lacks what the config asks for"),
    }
}

#[test]
fn a_config_that_asks_for_nothing_missing_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::parse("", &dir.path().join("dossier.toml")).expect("config");
    assert!(Host::builder(config).create_if_missing().open().is_ok());
}

#[cfg(not(feature = "plugins"))]
#[test]
fn without_plugins_a_configured_plugin_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let message = refusal(
        dir.path(),
        "[[plugins]]\npath = \"libaudit.so\"\nsha256 = \"00\"\n",
    );
    assert!(
        message.contains("[[plugins]]") && message.contains("`plugins` feature"),
        "{message}"
    );
}

#[cfg(not(feature = "scripts"))]
#[test]
fn without_scripts_a_folder_of_scripts_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("scripts")).expect("scripts folder");
    std::fs::write(
        dir.path().join("scripts/pop.rhai"),
        "fn on_screen_pop(p) {}\n",
    )
    .expect("script");
    let message = refusal(dir.path(), "");
    assert!(
        message.contains("[scripts]") && message.contains("`scripts` feature"),
        "{message}"
    );
}

#[cfg(not(feature = "email"))]
#[test]
fn without_email_an_smtp_server_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let message = refusal(dir.path(), "[email.smtp]\nhost = \"smtp.example.com\"\n");
    assert!(
        message.contains("[email.smtp]") && message.contains("`email` feature"),
        "{message}"
    );
}

#[cfg(not(feature = "chat"))]
#[test]
fn without_chat_a_chat_queue_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let message = refusal(dir.path(), "[chat.queues.sales]\nmembers = [\"ann\"]\n");
    assert!(
        message.contains("[chat.queues]") && message.contains("`chat` feature"),
        "{message}"
    );
}
