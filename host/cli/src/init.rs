//! `dossier init`: a commented config and an empty database.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;

use super::Out;
use dossier_host::Host;
use dossier_host::config::Config;
use dossier_host::{Error, Result};

/// The config `init` writes: every section commented, with example custom fields.
pub(crate) const TEMPLATE: &str = include_str!("dossier.toml");

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Overwrite an existing config file.
    #[arg(long)]
    force: bool,
    /// The login of the store's first admin [default: $DOSSIER_AGENT, then $USER].
    #[arg(long, value_name = "LOGIN")]
    admin: Option<String>,
}

pub(crate) fn run(path: &Path, args: InitArgs, out: &Out) -> Result<()> {
    // A config without its store (a fresh deployment of a kept config):
    // init creates the store the config names and leaves the config alone.
    let kept = path.exists() && !args.force;
    let config = if kept {
        let config = Config::load(path)?;
        if config.store_path().exists() {
            return Err(Error::Refused(format!(
                "{} already exists: pass --force to overwrite it",
                path.display()
            )));
        }
        config
    } else {
        // Check the template parses before writing it, so init never leaves a broken file.
        let config = Config::parse(TEMPLATE, path)?;
        dossier_host::files::write(path, TEMPLATE.as_bytes())?;
        config
    };
    let scripts = config.resolve(&config.scripts.dir);
    dossier_host::files::create_dir_all(&scripts)?;
    let db = config.store_path();
    // The one command that creates a store; every other refuses a missing one.
    let host = Host::builder(config).create_if_missing().open()?;
    let named = args.admin.is_some();
    let login = args.admin.unwrap_or_else(super::default_login);
    let admin = host.first_admin(&login)?;
    // A first admin named on the command line can sign in to `dossier
    // serve` at once: asked at a terminal, generated (and shown once)
    // when init runs from a script.
    let generated = match (&admin, named) {
        (Some(a), true) if std::io::stdin().is_terminal() => {
            host.set_password(&a.login, &super::agents::ask_password(&a.login)?)?;
            None
        }
        (Some(a), true) => {
            let password = dossier_host::generate_password()?;
            host.set_password(&a.login, &password)?;
            Some(password)
        }
        _ => None,
    };
    let summary = serde_json::json!({
        "config": path.display().to_string(),
        "database": db.display().to_string(),
        "scripts": scripts.display().to_string(),
        "admin": admin.as_ref().map(|a| a.login.clone()),
        "password": generated,
    });
    out.one(&summary, |_| {
        let admin = match &admin {
            Some(a) => {
                let mut s = format!(
                    "first admin: {} (add agents with `dossier agent add`)\n",
                    a.login
                );
                if let Some(p) = &generated {
                    s.push_str(&format!(
                        "their password for `dossier serve`, shown once: {p}\n(change it with `dossier agent password {}`)\n",
                        a.login
                    ));
                }
                s
            }
            None => "the store already has agents\n".to_owned(),
        };
        format!(
            "{} {}\ncreated database {}\nscripts go in {}/\n{admin}",
            if kept { "kept" } else { "wrote" },
            path.display(),
            db.display(),
            scripts.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_host::config::{Security, Transport};

    /// The template with its `which`th commented `[email.smtp]` example
    /// (counting from 0) turned on.
    fn with_smtp_example(which: usize) -> String {
        let mut out = String::new();
        let mut in_example = false;
        let mut seen = 0;
        for line in TEMPLATE.lines() {
            let starts = line == "# [email.smtp]";
            in_example = (in_example && line.starts_with("# ")) || (starts && seen == which);
            seen += usize::from(starts);
            out.push_str(if in_example { &line[2..] } else { line });
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_template_loads_and_so_do_its_smtp_examples() {
        let path = Path::new("/nonexistent/dossier.toml");
        let plain = Config::parse(TEMPLATE, path).expect("the template loads");
        assert!(plain.email.smtp.is_none(), "commented out: nothing is sent");

        let text = with_smtp_example(0);
        assert!(text.contains("\n[email.smtp]\ntransport = \"smtp\""));
        let config = Config::parse(&text, path).expect("the example loads");
        let smtp = config.email.smtp.clone().expect("[email.smtp]");
        assert_eq!(smtp.transport, Transport::Smtp);
        assert_eq!(smtp.host, "smtp.example.com");
        assert_eq!(smtp.security, Security::Starttls);
        assert_eq!(smtp.port(), 587);
        assert_eq!(smtp.user.as_deref(), Some("dossier@example.com"));
        assert_eq!(smtp.password_env.as_deref(), Some("SMTP_PASSWORD"));
        assert_eq!(smtp.timeout_ms, 30_000);
        assert_eq!(smtp.hello_name.as_deref(), Some("crm.example.com"));

        let file = Config::parse(&with_smtp_example(1), path).expect("the file example loads");
        let settings = file.smtp_settings().expect("[email.smtp]");
        assert_eq!(settings.transport, Transport::File);
        assert_eq!(
            settings.folder.as_deref(),
            Some(Path::new("/nonexistent/outbox-mail"))
        );
        assert_eq!(config.email.addresses, ["support@example.com"]);
    }
}
