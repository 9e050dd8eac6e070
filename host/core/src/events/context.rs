//! The handler context: who is acting, how deep in a causal chain, and the
//! reads and writes a handler may make.
//!
//! Every host operation runs with a [`Ctx`]. The facade makes a root one
//! (depth 0) for each call an embedder or the CLI makes; the runner hands
//! the same context to every handler of the event that operation fires; a
//! write a handler makes through the context runs one level deeper, with the
//! handler's name added to the chain. Going past the configured maximum
//! depth is [`Error::ChainTooDeep`], naming the whole chain.
//!
//! Scripts and plugin callbacks cannot be handed a Rust reference (Rhai
//! calls registered functions with script values only; a plugin calls back
//! through C), so the runner also makes the context of the handler it is
//! calling the *current* one of the thread ([`enter`]); their callbacks
//! find it with [`with_current`]. That is the only such mechanism.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::{
    Agent, Case, CaseNumber, Customer, CustomerId, CustomerQuery, FollowUp, FollowUpKind, Group,
    NewFollowUp, NewTask, Task, TaskId,
};
use serde::{Deserialize, Serialize};

use crate::runtime::Runtime;
use dossier_store::Page;
use dossier_types::{Error, Result};

/// Who an operation runs as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "actor", content = "login", rename_all = "snake_case")]
pub enum Actor {
    /// Work no agent started: reminder passes, outbox delivery, ingest.
    System,
    /// An agent, by login.
    Agent(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Agent(login) => write!(f, "agent {login}"),
        }
    }
}

/// The most rows one paged read returns (scripts and plugins alike).
pub const MAX_PER_PAGE: u32 = 500;

/// How many follow-ups are read at a time while filtering by kind.
const SCAN_CHUNK: u32 = 200;

/// A write put off by [`Ctx::defer`].
pub type Deferred = Box<dyn FnOnce() -> Result<()>>;

/// The context a [`Handler`](crate::Handler) receives with each event.
///
/// It says who the operation runs as ([`actor`](Ctx::actor)), how deep in a
/// causal chain it is ([`depth`](Ctx::depth), [`chain`](Ctx::chain)),
/// whether a write transaction is open, and offers the reads and writes a
/// handler may make. Reads made during a guarding event see the
/// transaction's own uncommitted rows; writes join that transaction, run
/// their own hooks, and count one level deeper.
pub struct Ctx {
    state: Rc<State>,
}

struct State {
    rt: Arc<Runtime>,
    actor: Actor,
    depth: u32,
    chain: Vec<String>,
    /// The handler (script file, plugin) running right now, set by the
    /// runner: a write it makes names it in the child's chain.
    running: RefCell<Option<Arc<str>>>,
    /// The handler whose write this context is (what `running` was in the
    /// parent when it made this child); `None` for a person's or the host's
    /// own operation.
    via: Option<String>,
    /// A write the running step put off until a handler first looks at
    /// the store (see [`Ctx::defer`]).
    deferred: RefCell<Option<Deferred>>,
    idempotency_key: Option<String>,
    /// Set when a child was refused for depth; shared by the whole family,
    /// so the origin learns of it however deep the refusal happened.
    exhausted: Rc<Cell<bool>>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("actor", &self.state.actor)
            .field("depth", &self.state.depth)
            .field("chain", &self.state.chain)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    fn new(
        rt: Arc<Runtime>,
        actor: Actor,
        depth: u32,
        chain: Vec<String>,
        key: Option<String>,
    ) -> Ctx {
        Ctx {
            state: Rc::new(State {
                rt,
                actor,
                depth,
                chain,
                running: RefCell::new(None),
                via: None,
                deferred: RefCell::new(None),
                idempotency_key: key,
                exhausted: Rc::new(Cell::new(false)),
            }),
        }
    }

    /// A new origin (depth 0): one CLI command, API call, reminder or
    /// imported row.
    pub(crate) fn root(rt: Arc<Runtime>, actor: Actor) -> Ctx {
        Ctx::new(rt, actor, 0, Vec::new(), None)
    }

    /// Work carried forward from an earlier action (an outbox entry, a task
    /// a hook planned): the depth and chain stored with it.
    #[doc(hidden)]
    pub fn resumed(
        rt: Arc<Runtime>,
        actor: Actor,
        depth: u32,
        chain: Vec<String>,
        key: Option<String>,
    ) -> Ctx {
        Ctx::new(rt, actor, depth, chain, key)
    }

    /// The context for an operation the facade was asked for: a child of
    /// the thread's current context when called from inside a handler (an
    /// embedder's handler calling `Host` directly is still one level deeper),
    /// a new origin otherwise.
    #[doc(hidden)]
    pub fn for_call(rt: &Arc<Runtime>, actor: &Actor) -> Result<Ctx> {
        let current =
            with_current(|current| Arc::ptr_eq(&current.state.rt, rt).then(|| current.child()));
        match current.flatten() {
            Some(child) => child,
            None => Ok(Ctx::root(rt.clone(), actor.clone())),
        }
    }

    /// Who the operation runs as: an agent, or `system`.
    pub fn actor(&self) -> &Actor {
        &self.state.actor
    }

    /// How many levels of hook-caused writes lie between this operation and
    /// its origin (0 for the origin itself).
    pub fn depth(&self) -> u32 {
        self.state.depth
    }

    /// The scripts and plugins whose writes led here, origin first.
    pub fn chain(&self) -> &[String] {
        &self.state.chain
    }

    /// Whether a write transaction is open: during a guarding event, what a
    /// handler writes commits with the write it guards, or not at all.
    pub fn in_transaction(&self) -> bool {
        self.state.rt.store().in_write()
    }

    /// For an after-save delivery, the idempotency key of the outbox entry:
    /// delivery is at-least-once, so a handler that reaches outside may use
    /// it to drop duplicates. Unique per entry and stable across retries.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.state.idempotency_key.as_deref()
    }

    /// The host clock's time, truncated to microseconds.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.rt.now()
    }

    pub(crate) fn rt(&self) -> &Arc<Runtime> {
        &self.state.rt
    }

    /// The configuration the host runs with.
    pub fn config(&self) -> &crate::config::Config {
        self.state.rt.config()
    }

    /// The compiled custom field schema.
    pub fn schema(&self) -> &dossier_types::schema::Schema {
        self.state.rt.schema()
    }

    /// Whether a write somewhere in this context's family was refused for
    /// going past the maximum depth (the outbox marks such a delivery dead,
    /// however the handler reported the failure).
    pub(crate) fn exhausted(&self) -> bool {
        self.state.exhausted.get()
    }

    /// The script or plugin hook this context's writes come from (`None`
    /// when no handler made them): stored with the follow-ups and tasks they
    /// create.
    pub fn via(&self) -> Option<&str> {
        self.state.via.as_deref()
    }

    /// Puts `write` off until a handler of this context first reads or
    /// writes the store ([`Ctx::flush`]): a new case or customer is written
    /// before its hooks only when a hook could see it, and once otherwise.
    /// A write already waiting on this context runs first.
    pub(crate) fn defer(&self, write: Deferred) -> Result<()> {
        self.flush()?;
        *self.state.deferred.borrow_mut() = Some(write);
        Ok(())
    }

    /// Runs the deferred write, if one is waiting.
    pub(crate) fn flush(&self) -> Result<()> {
        let write = self.state.deferred.borrow_mut().take();
        match write {
            Some(write) => write(),
            None => Ok(()),
        }
    }

    /// Drops the deferred write if it is still waiting; `true` if it was
    /// (so nothing wrote it yet).
    pub(crate) fn cancel_deferred(&self) -> bool {
        self.state.deferred.borrow_mut().take().is_some()
    }

    /// Marks `name` (a script file, a plugin) as the handler now running.
    /// Returns what was marked before, to restore afterwards.
    #[doc(hidden)]
    pub fn set_running(&self, name: Option<Arc<str>>) -> Option<Arc<str>> {
        self.state.running.replace(name)
    }

    /// The context of a write this one causes: one level deeper, the
    /// running handler added to the chain. Refused past the maximum depth.
    pub(crate) fn child(&self) -> Result<Ctx> {
        self.flush()?;
        let mut chain = self.state.chain.clone();
        let via = self.state.running.borrow().as_deref().map(str::to_owned);
        if let Some(running) = &via {
            chain.push(running.clone());
        }
        let depth = self.state.depth + 1;
        let limit = self.state.rt.max_depth();
        if depth > limit {
            self.state.exhausted.set(true);
            return Err(Error::ChainTooDeep { limit, chain });
        }
        let mut child = Ctx::new(
            self.state.rt.clone(),
            self.state.actor.clone(),
            depth,
            chain,
            None,
        );
        if let Some(state) = Rc::get_mut(&mut child.state) {
            state.exhausted = self.state.exhausted.clone();
            state.via = via;
        }
        Ok(child)
    }

    /// Another handle on the same context.
    pub(crate) fn share(&self) -> Ctx {
        Ctx {
            state: self.state.clone(),
        }
    }

    // ----- what a handler may read ------------------------------------------

    /// One customer by id.
    pub fn customer(&self, id: CustomerId) -> Result<Customer> {
        self.flush()?;
        self.rt().customer(self, id)
    }

    /// One case by number.
    pub fn case(&self, number: CaseNumber) -> Result<Case> {
        self.flush()?;
        self.rt().case(self, number)
    }

    /// One task by id.
    pub fn task(&self, id: TaskId) -> Result<Task> {
        self.flush()?;
        self.rt().task(self, id)
    }

    /// Customers matching every criterion of `query` (see
    /// `Host::find_customers`).
    pub fn find_customers(&self, query: &CustomerQuery) -> Result<Vec<Customer>> {
        self.flush()?;
        self.rt().find_customers(self, query)
    }

    /// A customer's cases, newest first; only open ones if `open_only`.
    pub fn cases_of(&self, customer: CustomerId, open_only: bool) -> Result<Vec<Case>> {
        self.flush()?;
        self.rt().cases_of(self, customer, open_only)
    }

    /// A page of a case's follow-ups, newest first, and the total count.
    pub fn follow_ups(&self, case: CaseNumber, page: Page) -> Result<(Vec<FollowUp>, u64)> {
        self.flush()?;
        self.rt().follow_ups(self, case, page)
    }

    /// A page of a case's follow-ups, newest first, only of `kinds` unless it
    /// is empty: what scripts' `follow_ups` and plugins' `HostApi::follow_ups`
    /// return.
    pub fn follow_up_page(
        &self,
        case: CaseNumber,
        kinds: &[FollowUpKind],
        page: Page,
    ) -> Result<Vec<FollowUp>> {
        if kinds.is_empty() {
            return self.follow_ups(case, page).map(|(rows, _)| rows);
        }
        // The store pages without a kind filter.
        filtered_page(
            page,
            |chunk| {
                let (rows, total) = self.follow_ups(case, chunk)?;
                let end = u64::from(chunk.offset) + rows.len() as u64;
                Ok((rows, end < total))
            },
            |f| kinds.contains(&f.kind),
        )
    }

    /// A page of a customer's cases, newest first, only open ones if
    /// `open_only`, only of `statuses` unless it is empty: what scripts'
    /// `cases_of` and plugins' `HostApi::cases` return.
    pub fn case_page(
        &self,
        customer: CustomerId,
        open_only: bool,
        statuses: &[String],
        page: Page,
    ) -> Result<Vec<Case>> {
        self.flush()?;
        let filter = |status: Option<&String>| dossier_store::CaseFilter {
            customer: Some(customer),
            open: open_only.then_some(true),
            status: status.cloned(),
            ..Default::default()
        };
        if let [] | [_] = statuses {
            // The store pages by one status, or none: the page it reads is
            // the page asked for, however far in.
            return self.rt().list_cases(self, &filter(statuses.first()), page);
        }
        // Several statuses.
        filtered_page(
            page,
            |chunk| {
                let rows = self.rt().list_cases(self, &filter(None), chunk)?;
                let more = rows.len() as u64 >= u64::from(chunk.limit);
                Ok((rows, more))
            },
            |c| statuses.contains(&c.status),
        )
    }

    /// The FAQ entry with this shortcut (with or without its `/`, any
    /// case), if there is one.
    pub fn faq(&self, shortcut: &str) -> Result<Option<dossier_sdk::FaqEntry>> {
        self.flush()?;
        self.rt().faq_find(shortcut)
    }

    /// The FAQ entries holding every word of `words`, best first, at most
    /// `limit`.
    pub fn faq_search(&self, words: &str, limit: u32) -> Result<Vec<dossier_sdk::FaqEntry>> {
        self.flush()?;
        self.rt().faq_search(words, limit)
    }

    /// The agent with this login, if there is one. Inside a write it reads
    /// through that write's transaction, so it sees an agent added earlier
    /// in it.
    pub fn agent(&self, login: &str) -> Result<Option<Agent>> {
        self.flush()?;
        self.rt().store().read(|tx| tx.agent(login))
    }

    /// The group with this name and the logins of its members (sorted), if
    /// there is one; read like [`Ctx::agent`].
    pub fn group(&self, name: &str) -> Result<Option<(Group, Vec<String>)>> {
        self.flush()?;
        self.rt().store().read(|tx| match tx.group(name)? {
            Some(group) => Ok(Some((group, tx.group_members(name)?))),
            None => Ok(None),
        })
    }

    // ----- what a handler may write -----------------------------------------

    /// Appends a follow-up to a case, one level deeper: during a guarding
    /// event it joins the guarded transaction. Its own hooks run.
    pub fn add_follow_up(&self, new: NewFollowUp) -> Result<FollowUp> {
        self.rt().add_follow_up(&self.child()?, new)
    }

    /// Plans a task, one level deeper; the depth is stored with the task, so
    /// its reminder, when it fires, continues this chain.
    pub fn add_task(&self, new: NewTask) -> Result<Task> {
        self.rt().add_task(&self.child()?, new)
    }
}

thread_local! {
    /// The contexts of the handlers being called on this thread, innermost last.
    static CURRENT: RefCell<Vec<Ctx>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a context current on this thread until dropped.
pub struct Entered {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Makes `ctx` the thread's current context until the guard drops; nested
/// calls (a handler's write fires hooks of its own) stack.
pub fn enter(ctx: &Ctx) -> Entered {
    CURRENT.with(|c| c.borrow_mut().push(ctx.share()));
    Entered {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let popped = CURRENT.with(|c| c.borrow_mut().pop());
        drop(popped);
    }
}

/// Runs `f` with the thread's current context; `None` when no handler is
/// being called on this thread.
pub fn with_current<R>(f: impl FnOnce(&Ctx) -> R) -> Option<R> {
    // Take a handle out so no borrow of the stack is held while `f` runs
    // (it may enter contexts of its own).
    let ctx = CURRENT.with(|c| c.borrow().last().map(Ctx::share))?;
    Some(f(&ctx))
}

/// The thread's current context, if a handler is being called on it.
pub fn current() -> Option<Ctx> {
    CURRENT.with(|c| c.borrow().last().map(Ctx::share))
}

/// `page` of the rows `keep` accepts, for a store that cannot filter them
/// itself: reads chunk after chunk with `read` (which says whether more
/// rows follow) until the page is full or the rows run out.
fn filtered_page<T>(
    page: Page,
    mut read: impl FnMut(Page) -> Result<(Vec<T>, bool)>,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>> {
    let wanted = page.offset as usize + page.limit as usize;
    let mut matching = Vec::new();
    let mut offset = 0u32;
    loop {
        let (rows, more) = read(Page {
            offset,
            limit: SCAN_CHUNK,
        })?;
        let got = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        matching.extend(rows.into_iter().filter(|row| keep(row)));
        offset = offset.saturating_add(got);
        if matching.len() >= wanted || got == 0 || !more {
            break;
        }
    }
    Ok(matching
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect())
}
