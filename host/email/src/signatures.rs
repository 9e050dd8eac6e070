//! Signatures: each agent and each group has any number, by name, in text
//! and (optionally) HTML; at most one of an owner's is their default.
//!
//! An agent manages their own; managing another agent's or a group's needs
//! `manage_agents`. Reading them is open to every agent (sending needs the
//! sender's and their group's).

use dossier_sdk::{Permission, Signature, SignatureOwner};

use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_types::{Error, Result};

/// The longest signature name, in characters.
const MAX_NAME: usize = 64;
/// The longest signature text or HTML, in bytes.
const MAX_TEXT: usize = 10_000;

/// The line that separates a signature from the message (RFC 3676's
/// "dash dash space"), and the one way a signature is appended: both live
/// with the notification step, which signs every notification after its
/// hooks.
pub use dossier_interact::notify::{SEPARATOR, insert_signature_once};

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::input("signature name", "is empty"));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::input(
            "signature name",
            format!("`{name}` must be at most {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(())
}

fn check_text(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::input(what, "is empty"));
    }
    if text.len() > MAX_TEXT {
        return Err(Error::input(
            what,
            format!("is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

/// Agents' and groups' signatures, on the runtime.
pub trait EmailSignatures {
    /// Refuses unless the context's actor may manage `owner`'s signatures:
    /// their own, or anyone's with `manage_agents`. The owner must exist.
    fn may_manage_signatures(&self, ctx: &Ctx, owner: &SignatureOwner, action: &str) -> Result<()>;

    #[doc(hidden)]
    fn check_owner(&self, owner: &SignatureOwner) -> Result<()>;

    /// Adds a signature: see
    /// `Host::add_signature`.
    fn add_signature(
        &self,
        ctx: &Ctx,
        owner: &SignatureOwner,
        name: &str,
        text: &str,
        html: Option<&str>,
        default: bool,
    ) -> Result<Signature>;

    /// `owner`'s signatures, by name.
    fn signatures(&self, owner: &SignatureOwner) -> Result<Vec<Signature>>;

    /// Removes `owner`'s signature `name`; returns what it was.
    fn remove_signature(&self, ctx: &Ctx, owner: &SignatureOwner, name: &str) -> Result<Signature>;

    /// Makes `owner`'s signature `name` their default.
    fn set_default_signature(
        &self,
        ctx: &Ctx,
        owner: &SignatureOwner,
        name: &str,
    ) -> Result<Signature>;

    /// The signature to use for `agent`: see
    /// `Host::signature_for`.
    fn signature_for(
        &self,
        agent: &str,
        name: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Signature>>;
}

impl EmailSignatures for Runtime {
    fn may_manage_signatures(&self, ctx: &Ctx, owner: &SignatureOwner, action: &str) -> Result<()> {
        self.check_owner(owner)?;
        match (ctx.actor(), owner) {
            (Actor::Agent(login), SignatureOwner::Agent(of)) if login == of => Ok(()),
            _ => self.require(ctx, Permission::ManageAgents, action),
        }
    }

    fn check_owner(&self, owner: &SignatureOwner) -> Result<()> {
        let exists = self.store().read(|tx| match owner {
            SignatureOwner::Agent(login) => Ok(tx.agent(login)?.is_some()),
            SignatureOwner::Group(name) => Ok(tx.group(name)?.is_some()),
        })?;
        if exists {
            Ok(())
        } else {
            Err(Error::Refused(format!("there is no {owner}")))
        }
    }

    fn add_signature(
        &self,
        ctx: &Ctx,
        owner: &SignatureOwner,
        name: &str,
        text: &str,
        html: Option<&str>,
        default: bool,
    ) -> Result<Signature> {
        self.may_manage_signatures(ctx, owner, "manage others' signatures")?;
        let name = name.trim();
        check_name(name)?;
        check_text("signature text", text)?;
        let html = html.filter(|h| !h.trim().is_empty());
        if let Some(html) = html {
            check_text("signature html", html)?;
        }
        let signature = Signature {
            owner: owner.clone(),
            name: name.to_owned(),
            text: text.trim_end().to_owned(),
            html: html.map(|h| super::parse::html::sanitize(h.trim())),
            is_default: default,
            created_at: ctx.now(),
        };
        self.store().write("add signature", |tx| {
            // An owner's first signature is their default.
            let mut signature = signature.clone();
            if tx.default_signature(owner)?.is_none() {
                signature.is_default = true;
            }
            if tx.insert_signature(&signature)? {
                Ok(signature)
            } else {
                Err(Error::Refused(format!(
                    "{owner} already has a signature `{name}`"
                )))
            }
        })
    }

    fn signatures(&self, owner: &SignatureOwner) -> Result<Vec<Signature>> {
        self.check_owner(owner)?;
        self.store().read(|tx| tx.signatures(owner))
    }

    fn remove_signature(&self, ctx: &Ctx, owner: &SignatureOwner, name: &str) -> Result<Signature> {
        self.may_manage_signatures(ctx, owner, "manage others' signatures")?;
        self.store().write("remove signature", |tx| {
            let found = tx
                .signature(owner, name)?
                .ok_or_else(|| Error::Refused(format!("{owner} has no signature `{name}`")))?;
            tx.delete_signature(owner, name)?;
            Ok(found)
        })
    }

    fn set_default_signature(
        &self,
        ctx: &Ctx,
        owner: &SignatureOwner,
        name: &str,
    ) -> Result<Signature> {
        self.may_manage_signatures(ctx, owner, "manage others' signatures")?;
        self.store().write("set default signature", |tx| {
            if !tx.set_default_signature(owner, name)? {
                return Err(Error::Refused(format!("{owner} has no signature `{name}`")));
            }
            tx.signature(owner, name)?
                .ok_or_else(|| Error::Refused(format!("{owner} has no signature `{name}`")))
        })
    }

    fn signature_for(
        &self,
        agent: &str,
        name: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Signature>> {
        let of_agent = SignatureOwner::Agent(agent.to_owned());
        let of_group = group.map(|g| SignatureOwner::Group(g.to_owned()));
        self.store().read(|tx| match name {
            Some(name) => {
                if let Some(found) = tx.signature(&of_agent, name)? {
                    return Ok(Some(found));
                }
                if let Some(of_group) = &of_group
                    && let Some(found) = tx.signature(of_group, name)?
                {
                    return Ok(Some(found));
                }
                Err(Error::Refused(match group {
                    Some(g) => {
                        format!("neither agent {agent} nor group {g} has a signature `{name}`")
                    }
                    None => format!("agent {agent} has no signature `{name}`"),
                }))
            }
            None => {
                if let Some(found) = tx.default_signature(&of_agent)? {
                    return Ok(Some(found));
                }
                match &of_group {
                    Some(of_group) => tx.default_signature(of_group),
                    None => Ok(None),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_appended_after_the_separator() {
        assert_eq!(
            insert_signature_once("Hello,\nthanks.\n\n", "Ann\nSupport"),
            "Hello,\nthanks.\n\n-- \nAnn\nSupport"
        );
        assert_eq!(insert_signature_once("", "Ann"), "-- \nAnn");
    }

    #[test]
    fn a_signature_is_never_inserted_twice() {
        let once = insert_signature_once("Hello", "Ann\nSupport");
        assert_eq!(insert_signature_once(&once, "Ann\nSupport"), once);
        assert_eq!(insert_signature_once(&once, "Ann\nSupport\n"), once);
    }

    #[test]
    fn a_blank_signature_changes_nothing() {
        assert_eq!(insert_signature_once("Hello", "  \n"), "Hello");
    }
}
