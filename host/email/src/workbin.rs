//! The agent's workbin (a personal holding area for emails and cases), and
//! reading attachments back.

use std::sync::Arc;

use dossier_sdk::{FollowUpId, ObjectKind, Permission, WorkbinItem};

use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_store::{NewWorkbinItem, Viewer};
use dossier_types::{Error, Result};

/// Agents' workbins, on the runtime.
pub trait EmailWorkbin {
    /// The login the context acts as, refusing `system` for `action`.
    fn agent_login(ctx: &Ctx, action: &str) -> Result<String>;

    /// What waits in `login`'s workbin (the actor's own when `None`):
    /// their entries and their groups', less those on cases the actor may
    /// not see. Another agent's workbin needs `reassign_cases`
    /// (supervisors, who rebalance work).
    fn workbin(
        &self,
        ctx: &Ctx,
        login: Option<&str>,
        include_done: bool,
    ) -> Result<Vec<WorkbinItem>>;

    /// Marks workbin entry `id` done: the email leaves the workbin. Its
    /// agent, a member of its group, or a holder of `reassign_cases` may.
    fn workbin_done(&self, ctx: &Ctx, id: i64) -> Result<WorkbinItem>;

    /// One workbin entry, if the actor may see it and its case; else
    /// `Error::Hidden` for an agent (as for an absent one).
    fn workbin_entry(&self, ctx: &Ctx, id: i64) -> Result<WorkbinItem>;

    /// Saves an email (or any follow-up's case) to the acting agent's
    /// workbin for later.
    fn save_to_workbin(self: &Arc<Self>, ctx: &Ctx, follow_up: FollowUpId) -> Result<WorkbinItem>;

    /// The bytes of attachment `blob`, when the actor may see a follow-up
    /// that carries it.
    fn attachment(&self, ctx: &Ctx, blob: &str) -> Result<Vec<u8>>;
}

impl EmailWorkbin for Runtime {
    fn agent_login(ctx: &Ctx, action: &str) -> Result<String> {
        match ctx.actor() {
            Actor::Agent(login) => Ok(login.clone()),
            Actor::System => Err(Error::Refused(format!(
                "{action} needs an agent (`--as LOGIN`): system has no workbin"
            ))),
        }
    }

    fn workbin(
        &self,
        ctx: &Ctx,
        login: Option<&str>,
        include_done: bool,
    ) -> Result<Vec<WorkbinItem>> {
        let login = match login {
            Some(l) => {
                if !matches!(ctx.actor(), Actor::Agent(me) if me == l) {
                    self.require(
                        ctx,
                        Permission::ReassignCases,
                        "read another agent's workbin",
                    )?;
                }
                l.to_owned()
            }
            None => Self::agent_login(ctx, "reading your workbin")?,
        };
        let agent =
            self.store()
                .read(|tx| tx.agent(&login))?
                .ok_or_else(|| Error::UnknownAgent {
                    login: login.clone(),
                })?;
        // Whoever's workbin it is, the reader sees only the entries on
        // cases they may see (a supervisor without `see_all_private`
        // reading an agent's, a member of a group the case is not in).
        let viewer = self.viewer(ctx)?;
        self.store().read(|tx| {
            let mut seen = Vec::new();
            for item in tx.workbin(&agent.login, &agent.groups, include_done)? {
                if tx.case_visible(item.case_number, &viewer)? {
                    seen.push(item);
                }
            }
            Ok(seen)
        })
    }

    fn workbin_done(&self, ctx: &Ctx, id: i64) -> Result<WorkbinItem> {
        let item = self.workbin_entry(ctx, id)?;
        let by = match ctx.actor() {
            Actor::Agent(l) => l.clone(),
            Actor::System => "system".to_owned(),
        };
        let now = self.now();
        if !self
            .store()
            .write("workbin done", |tx| tx.workbin_done(id, &by, now))?
        {
            return Err(Error::Refused(format!(
                "workbin entry {id} was marked done already{}",
                item.done_by.map(|b| format!(" by {b}")).unwrap_or_default()
            )));
        }
        self.workbin_entry(ctx, id)
    }

    fn workbin_entry(&self, ctx: &Ctx, id: i64) -> Result<WorkbinItem> {
        let viewer = self.viewer(ctx)?;
        // An agent who may not see every case is told the same whether the
        // entry does not exist, is not theirs to read, or sits on a case
        // they may not see.
        let missing = || match ctx.actor() {
            Actor::Agent(login) if viewer != Viewer::All => Error::Hidden {
                what: format!("workbin entry {id}"),
                login: login.clone(),
            },
            _ => Error::not_found(ObjectKind::Case, format!("workbin entry {id}")),
        };
        let (item, visible) = self
            .store()
            .read(|tx| match tx.workbin_item(id)? {
                Some(item) => {
                    let visible = tx.case_visible(item.case_number, &viewer)?;
                    Ok(Some((item, visible)))
                }
                None => Ok(None),
            })?
            .ok_or_else(missing)?;
        if !visible {
            return Err(missing());
        }
        if let Actor::Agent(login) = ctx.actor() {
            let agent = self.acting_agent(login)?;
            let mine = item.agent.as_deref() == Some(login.as_str())
                || item
                    .group
                    .as_ref()
                    .is_some_and(|g| agent.groups.contains(g));
            if !mine && !agent.has(Permission::ReassignCases) {
                return Err(missing());
            }
        }
        Ok(item)
    }

    fn save_to_workbin(self: &Arc<Self>, ctx: &Ctx, follow_up: FollowUpId) -> Result<WorkbinItem> {
        let login = Self::agent_login(ctx, "saving to your workbin")?;
        let f = self.follow_up(ctx, follow_up)?;
        let now = self.now();
        let reason = format!("saved for later by {login}");
        let id = self.store().write("save to workbin", |tx| {
            tx.insert_workbin(&NewWorkbinItem {
                agent: Some(&login),
                group: None,
                case_number: f.case,
                follow_up: Some(f.id),
                draft: None,
                reason: &reason,
                at: now,
            })
        })?;
        self.workbin_entry(ctx, id)
    }

    fn attachment(&self, ctx: &Ctx, blob: &str) -> Result<Vec<u8>> {
        dossier_store::blobs::check_id(blob)?;
        let viewer = self.viewer(ctx)?;
        let cases = self.store().read(|tx| tx.cases_with_blob(blob))?;
        let mut visible = false;
        for case in cases {
            if self.store().read(|tx| tx.case_visible(case, &viewer))? {
                visible = true;
                break;
            }
        }
        if !visible {
            return Err(Error::not_found(
                ObjectKind::FollowUp,
                format!("attachment {blob}"),
            ));
        }
        self.blobs().get(blob)
    }
}
