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

    /// The bytes of attachment `id`, when the actor may see a follow-up
    /// that carries it. `id` is the whole id or a prefix of at least
    /// [`SHORT_ID_MIN`] hex digits that no other stored attachment's id
    /// starts with (a short id, as [`EmailWorkbin::short_attachment_id`]
    /// makes); an ambiguous prefix is refused, listing what it could be.
    fn attachment(&self, ctx: &Ctx, id: &str) -> Result<Vec<u8>>;

    /// The shortest prefix of `blob`, at least [`SHORT_ID_SHOWN`] hex
    /// digits, that no other stored attachment's id starts with: what
    /// people are shown and type (as git shortens commit hashes).
    fn short_attachment_id(&self, blob: &str) -> Result<String>;
}

/// The fewest hex digits a short attachment id may have when typed.
pub const SHORT_ID_MIN: usize = 4;

/// The fewest hex digits a short attachment id is shown with.
pub const SHORT_ID_SHOWN: usize = 8;

/// How many candidates an ambiguous short id's refusal lists.
const CANDIDATES_SHOWN: u32 = 10;

/// The number of leading characters `a` and `b` share.
fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
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

    fn attachment(&self, ctx: &Ctx, id: &str) -> Result<Vec<u8>> {
        let typed = id.trim().to_ascii_lowercase();
        let hex = typed
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let blob = if typed.len() < 64 && typed.len() >= SHORT_ID_MIN && hex {
            let found = self
                .store()
                .read(|tx| tx.blobs_with_prefix(&typed, CANDIDATES_SHOWN + 1))?;
            match found.as_slice() {
                [] => {
                    return Err(Error::not_found(
                        ObjectKind::FollowUp,
                        format!("attachment {id}"),
                    ));
                }
                [one] => one.clone(),
                several => {
                    let mut shown: Vec<String> = several
                        .iter()
                        .take(CANDIDATES_SHOWN as usize)
                        .map(|b| b[..(typed.len() + 4).min(64)].to_owned())
                        .collect();
                    if several.len() > CANDIDATES_SHOWN as usize {
                        shown.push("...".to_owned());
                    }
                    return Err(Error::input(
                        "attachment",
                        format!(
                            "`{id}` is ambiguous: several attachments' ids start with it ({}); \
                             type more of the id",
                            shown.join(", ")
                        ),
                    ));
                }
            }
        } else {
            dossier_store::blobs::check_id(&typed).map_err(|_| {
                Error::input(
                    "attachment",
                    format!(
                        "`{id}` is not an attachment id (64 hexadecimal digits, or at least \
                         the first {SHORT_ID_MIN} of them)"
                    ),
                )
            })?;
            typed
        };
        let blob = blob.as_str();
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

    fn short_attachment_id(&self, blob: &str) -> Result<String> {
        let (before, after) = self.store().read(|tx| tx.blob_neighbours(blob))?;
        let shared = [before, after]
            .iter()
            .flatten()
            .map(|other| common_prefix(blob, other))
            .max()
            .unwrap_or(0);
        let len = (shared + 1).max(SHORT_ID_SHOWN).min(blob.len());
        Ok(blob[..len].to_owned())
    }
}
