//! The `Host` facade: what embedders and the CLI call. Each method runs as
//! one operation with its own context (a new origin, or one level below the
//! handler calling it) and hands the work to the runtime; scripts and
//! plugins never see this type.

mod agents;
mod auth;
#[cfg(feature = "chat")]
mod chat;
#[cfg(feature = "email")]
mod email;
mod events;
mod faq;
mod interact;
#[cfg(feature = "chat")]
pub use chat::VisitorChat;
pub use events::PushedPop;
pub use interact::{NotifyOutcome, Tick};
#[cfg(feature = "scripts")]
mod scripting;
#[cfg(feature = "chat")]
mod wallboard;
#[cfg(feature = "chat")]
pub use wallboard::{HourBoard, QueueBoard, WALLBOARD_HOURS, Wallboard};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::{
    Case, CaseNumber, Customer, CustomerId, CustomerQuery, FollowUp, FollowUpId, NewCase,
    NewCustomer, NewFollowUp, NewTask, ObjectKind, Task, TaskId, TaskStatus,
};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::events::{Actor, Ctx, Handler, OutboxDelivery, Pipeline};
use crate::runtime::Runtime;
use crate::typed::closest;
use dossier_store::blobs::{BlobStore, FsBlobs, MemBlobs};
use dossier_store::{CaseFilter, Page, SearchFilter, SearchHit, TaskFilter};
use dossier_types::Result;
use dossier_types::schema::Schema;

/// A running Dossier: the store, the schema, the scripts and plugins.
///
/// `Host` is cheap to clone (an `Arc` inside) and `Send + Sync`: share it
/// between a CTI connector, agent desktops and the reminder loop. Writes are
/// serialized on one SQLite writer connection; reads use a pool of readers.
#[derive(Clone)]
pub struct Host {
    rt: Arc<Runtime>,
    /// The admin's scripts (also the pipeline's first handler), unless
    /// `[scripts] enabled = false`.
    #[cfg(feature = "scripts")]
    scripts: Option<Arc<crate::script::Scripts>>,
    /// Who this handle's operations run as (`system` unless
    /// [`Host::as_agent`] made it).
    actor: Actor,
}

/// Options for opening a [`Host`]; start with [`Host::builder`].
pub struct HostBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    in_memory: bool,
    create: bool,
    handlers: Vec<Arc<dyn Handler>>,
    lease_renewal: Option<std::time::Duration>,
}

impl HostBuilder {
    /// Uses `clock` instead of the system clock (tests, replays).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps the store in memory instead of the configured file.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// Creates the store file (and its folders) when it is missing, as
    /// `dossier init` does. Without it, a missing file is refused with
    /// [`Error::StoreMissing`](crate::Error::StoreMissing): a store
    /// that was moved, or a misspelt `[store] path`, never silently becomes
    /// a new empty store.
    pub fn create_if_missing(mut self) -> Self {
        self.create = true;
        self
    }

    /// Adds an in-process handler: it runs after the admin's scripts and the
    /// configured plugins, in the order handlers were added. The configured
    /// scripts and plugins stay loaded.
    pub fn handler(mut self, handler: Arc<dyn Handler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Renews the outbox leases this host holds every `every` of real time
    /// instead of every third of `[outbox] lease_seconds` (tests driving a
    /// [`crate::ManualClock`] pick a short or a very long interval).
    pub fn lease_renewal(mut self, every: std::time::Duration) -> Self {
        self.lease_renewal = Some(every);
        self
    }

    /// Opens the store (migrating it if needed; creating it only after
    /// [`HostBuilder::create_if_missing`]), checks the custom field schema
    /// against the records, loads scripts and plugins.
    pub fn open(self) -> Result<Host> {
        let schema = Schema::from_config(&self.config.fields, &self.config.phone.default_region)?
            .with_standard(&self.config.standard_fields)?;
        // The config checked what it can alone; the mail channel checks
        // that `ca_file`'s certificates parse.
        #[cfg(feature = "email")]
        if let Some(smtp) = self.config.smtp_settings() {
            crate::email::smtp::check_settings(&smtp)?;
        }
        refuse_what_this_build_lacks(&self.config)?;
        let (store, blobs): (_, Box<dyn BlobStore>) = if self.in_memory {
            (dossier_store::in_memory()?, Box::new(MemBlobs::default()))
        } else {
            let path = self.config.store_path();
            let blobs = Box::new(FsBlobs::new(dossier_store::blobs::folder_for(&path)));
            let options = dossier_store::OpenOptions {
                create: self.create,
                readers: self.config.store.readers,
            };
            (dossier_store::open(&path, options)?, blobs)
        };
        store.set_busy_timeout(std::time::Duration::from_millis(
            self.config.store.busy_timeout_ms,
        ));
        // Most opens find the definitions as the config has them: check on
        // a reader first, so that a read-only command never waits for the
        // write lock behind a long writer.
        if !store.read(|tx| tx.field_defs_current(&schema))? {
            store.write("custom field definitions", |tx| tx.sync_field_defs(&schema))?;
        }
        // `[chat.queues]` are the store's initial queues: applied when the
        // config's differ from those last applied (a reader checks first).
        #[cfg(feature = "chat")]
        crate::chat::queues::apply_config(&*store, &self.config, self.clock.now())?;
        let mut handlers: Vec<Arc<dyn Handler>> = Vec::new();
        #[cfg(feature = "scripts")]
        let scripts = crate::script::Scripts::from_config(&self.config)?.map(Arc::new);
        #[cfg(feature = "scripts")]
        if let Some(scripts) = &scripts {
            handlers.push(scripts.clone());
        }
        #[cfg(feature = "plugins")]
        handlers.extend(
            crate::plugin::load(&self.config)?
                .into_iter()
                .map(|p| p as Arc<dyn Handler>),
        );
        let by_kind = handlers.len();
        handlers.extend(self.handlers);
        let rt = Runtime::new(
            self.config,
            schema,
            store,
            blobs,
            self.clock,
            Pipeline::new(handlers, by_kind),
            delivery(),
        )
        .with_redo(Arc::new(crate::interact::reminder::ReminderRetry));
        if let Some(every) = self.lease_renewal {
            rt.leases().renew_every(every);
        }
        Ok(Host {
            rt: Arc::new(rt),
            #[cfg(feature = "scripts")]
            scripts,
            actor: Actor::System,
        })
    }
}

/// Where notifications leave this build: SMTP with the mail channel,
/// nowhere without it.
fn delivery() -> Option<Arc<dyn crate::events::Delivery>> {
    #[cfg(feature = "email")]
    return Some(Arc::new(crate::email::send::Smtp));
    #[cfg(not(feature = "email"))]
    return None;
}

/// Refuses a config that asks for what this build of the facade was built
/// without (a Cargo feature turned off), so that nothing configured is
/// silently ignored.
fn refuse_what_this_build_lacks(config: &Config) -> Result<()> {
    let lacking = |what: &str, feature: &str| -> Result<()> {
        Err(dossier_types::Error::Config(format!(
            "{what}, but this build of dossier-host has no {feature} (its `{feature}` feature is off)"
        )))
    };
    #[cfg(not(feature = "plugins"))]
    if !config.plugins.is_empty() {
        return lacking("[[plugins]] lists plugins to load", "plugins");
    }
    #[cfg(not(feature = "scripts"))]
    if config.scripts.enabled && has_scripts(config) {
        return lacking("[scripts] has scripts to run", "scripts");
    }
    #[cfg(not(feature = "email"))]
    if config.email.smtp.is_some() {
        return lacking("[email.smtp] says where to send mail", "email");
    }
    #[cfg(not(feature = "chat"))]
    if !config.chat.queues.is_empty() {
        return lacking("[chat.queues] configures chat queues", "chat");
    }
    // Email offers are routed by the chat channel's routing (one agent
    // state, one queue model).
    #[cfg(not(feature = "chat"))]
    if !config.email.queues.is_empty() {
        return lacking("[email.queues] configures email queues", "chat");
    }
    let _ = (config, lacking);
    Ok(())
}

/// Whether `[scripts]` names files or its folder holds `.rhai` files.
#[cfg(not(feature = "scripts"))]
fn has_scripts(config: &Config) -> bool {
    !config.scripts.files.is_empty()
        || std::fs::read_dir(config.resolve(&config.scripts.dir)).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "rhai"))
        })
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("store", &self.rt.config().store_path())
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts building a host from `config`.
    pub fn builder(config: Config) -> HostBuilder {
        HostBuilder {
            config,
            clock: Arc::new(SystemClock),
            in_memory: false,
            create: false,
            handlers: Vec::new(),
            lease_renewal: None,
        }
    }

    /// Opens the host on the existing store file named in `config`; a
    /// missing one is refused (see [`HostBuilder::create_if_missing`]).
    pub fn open(config: Config) -> Result<Host> {
        Host::builder(config).open()
    }

    /// Opens the host on an empty in-memory store.
    pub fn open_in_memory(config: Config) -> Result<Host> {
        Host::builder(config).in_memory().open()
    }

    /// The configuration the host runs with.
    pub fn config(&self) -> &Config {
        self.rt.config()
    }

    /// The compiled custom field schema.
    pub fn schema(&self) -> &Schema {
        self.rt.schema()
    }

    /// Checks that `object` has a custom field `name`; the error for a
    /// misspelt one ([`Error::Validation`](crate::Error::Validation))
    /// suggests the nearest defined name ("did you mean `tier`?").
    pub fn check_custom_field(&self, object: ObjectKind, name: &str) -> Result<()> {
        let schema = self.schema();
        if schema.field(object, name).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = schema
            .fields(object)
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let rule = match (closest(name, &known), known.is_empty()) {
            (_, true) => format!("is not a custom field ({object} has none)"),
            (Some(near), false) => format!(
                "is not a custom field; did you mean `{near}`? (known: {})",
                known.join(", ")
            ),
            (None, false) => format!("is not a custom field (known: {})", known.join(", ")),
        };
        Err(crate::Error::invalid(object, name, rule))
    }

    /// The host clock's current time, truncated to microseconds, the
    /// precision the store keeps, so a record returned by a write equals
    /// the same record read back.
    pub fn now(&self) -> DateTime<Utc> {
        self.rt.now()
    }

    /// The context of one operation (see [`Ctx::for_call`]).
    fn ctx(&self) -> Result<Ctx> {
        Ctx::for_call(&self.rt, &self.actor)
    }

    /// A handle whose operations run as the agent `login`: permissions are
    /// checked against that agent, and hooks see them as the actor. The
    /// embedder authenticates people; Dossier authorizes what they do. An
    /// unknown or disabled agent is refused with
    /// [`Error::UnknownAgent`](crate::Error::UnknownAgent).
    pub fn as_agent(&self, login: &str) -> Result<Host> {
        self.rt.acting_agent(login)?;
        Ok(self.acting(login.to_owned()))
    }

    /// This handle acting as `login`, already checked enabled.
    fn acting(&self, login: String) -> Host {
        Host {
            actor: Actor::Agent(login),
            ..self.clone()
        }
    }

    /// Who this handle's operations run as.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Runs `f` inside one write transaction: every host write `f` makes
    /// commits together, or none does if `f` fails. After-save events are
    /// delivered once it commits.
    pub fn transaction<T>(&self, label: &str, f: impl FnOnce(&Host) -> Result<T>) -> Result<T> {
        self.rt.transaction(label, || f(self))
    }

    /// Runs `f` so that when it fails, only what `f` wrote is undone.
    /// Inside [`Host::transaction`] this is a savepoint: the transaction
    /// goes on with everything written before, and `f`'s error is returned
    /// for the caller to report (one bad row of an import rolls back alone
    /// while the batch commits). Outside a transaction `f` gets its own.
    pub fn savepoint<T>(&self, label: &str, f: impl FnOnce(&Host) -> Result<T>) -> Result<T> {
        if !self.rt.store().in_write() {
            return self.transaction(label, f);
        }
        self.rt.store().savepoint(label, |_| f(self))
    }

    // ----- customers -------------------------------------------------------

    /// Creates a customer: normalizes phones and emails, fills custom field
    /// defaults, runs `before_save_customer` hooks, writes.
    pub fn create_customer(&self, new: NewCustomer) -> Result<Customer> {
        self.rt.create_customer(&self.ctx()?, new)
    }

    /// Saves changes to an existing customer (all fields as given).
    pub fn update_customer(&self, customer: Customer) -> Result<Customer> {
        self.rt.update_customer(&self.ctx()?, customer)
    }

    /// One customer by id.
    pub fn customer(&self, id: CustomerId) -> Result<Customer> {
        self.rt.customer(&self.ctx()?, id)
    }

    /// One customer by account number.
    pub fn customer_by_account(&self, account: &str) -> Result<Customer> {
        self.rt.customer_by_account(&self.ctx()?, account)
    }

    /// One customer by account number, or by id when `key` is `#12`: how
    /// the command line and a case import's `customer` column name one.
    pub fn customer_by_key(&self, key: &str) -> Result<Customer> {
        match key.strip_prefix('#').map(str::parse::<i64>) {
            Some(Ok(id)) => self.customer(CustomerId(id)),
            _ => self.customer_by_account(key),
        }
    }

    /// Customers matching every criterion of `query`, lowest id first (at
    /// most 100). Phone, email, account and indexed custom fields are index
    /// lookups.
    pub fn find_customers(&self, query: &CustomerQuery) -> Result<Vec<Customer>> {
        self.rt.find_customers(&self.ctx()?, query)
    }

    /// A page of customers, by id.
    pub fn list_customers(&self, page: Page) -> Result<Vec<Customer>> {
        self.rt.list_customers(&self.ctx()?, page)
    }

    /// Up to `limit` customers whose id is above `after`, by id: pages for
    /// walking every customer (start at `CustomerId(0)`, continue after the
    /// last id returned), each one index seek however far in.
    pub fn customers_after(&self, after: CustomerId, limit: u32) -> Result<Vec<Customer>> {
        self.rt
            .read(|tx, schema| tx.customers_after(schema, after, limit.clamp(1, 10_000)))
    }

    // ----- cases -----------------------------------------------------------

    /// Opens a case for a customer, with the configured default status,
    /// severity and priority where `new` leaves them unset.
    pub fn open_case(&self, new: NewCase) -> Result<Case> {
        self.rt.open_case(&self.ctx()?, new)
    }

    /// One case by number.
    pub fn case(&self, number: CaseNumber) -> Result<Case> {
        self.rt.case(&self.ctx()?, number)
    }

    /// The case carrying this email thread token.
    pub fn case_by_thread_token(&self, token: &str) -> Result<Option<Case>> {
        self.rt.case_by_thread_token(&self.ctx()?, token)
    }

    /// Saves changes to an existing case (all fields as given).
    pub fn update_case(&self, case: Case) -> Result<Case> {
        self.rt.update_case(&self.ctx()?, case)
    }

    /// Assigns an open case to an agent and/or group. Closed cases cannot be
    /// assigned. An agent assigning a case to someone else, or to a group
    /// they are not in, needs the `reassign_cases` permission.
    pub fn assign_case(
        &self,
        number: CaseNumber,
        owner: Option<String>,
        group: Option<String>,
    ) -> Result<Case> {
        self.modify_case(number, "assign case", |case| {
            case.owner = owner.or(case.owner.take());
            case.group = group.or(case.group.take());
            Ok(())
        })
    }

    /// Closes a case (the configured closing status).
    pub fn close_case(&self, number: CaseNumber) -> Result<Case> {
        let status = self.config().case.closing_status().to_owned();
        self.modify_case(number, "close case", |case| {
            case.status = status;
            Ok(())
        })
    }

    /// Loads a case, lets `change` edit it, saves it, all in one transaction.
    pub fn modify_case(
        &self,
        number: CaseNumber,
        label: &str,
        change: impl FnOnce(&mut Case) -> Result<()>,
    ) -> Result<Case> {
        self.rt.modify_case(&self.ctx()?, number, label, change)
    }

    /// The cases matching `filter` that the acting agent may see, last
    /// activity first (the case's own last change or its newest follow-up,
    /// whichever is later), the newest case first among equals.
    pub fn list_cases(&self, filter: &CaseFilter, page: Page) -> Result<Vec<Case>> {
        self.rt.list_cases(&self.ctx()?, filter, page)
    }

    /// A customer's cases, newest first; only open ones if `open_only`.
    pub fn cases_of(&self, customer: CustomerId, open_only: bool) -> Result<Vec<Case>> {
        self.rt.cases_of(&self.ctx()?, customer, open_only)
    }

    /// Up to `limit` cases the acting agent may see whose number is above
    /// `after`, by number (pages as [`Host::customers_after`]).
    pub fn cases_after(&self, after: CaseNumber, limit: u32) -> Result<Vec<Case>> {
        let ctx = self.ctx()?;
        self.rt.read(|tx, schema| {
            let viewer = crate::runtime::viewer_in(tx, &ctx)?;
            tx.cases_after(schema, after, limit.clamp(1, 10_000), &viewer)
        })
    }

    // ----- follow-ups ------------------------------------------------------

    /// Appends a follow-up to a case. Follow-ups are never modified
    /// afterwards. An agent writes as themselves: only `system` and admins
    /// may give another author. Follow-ups of kind `system` and `email_in`
    /// record what Dossier did or received: an agent may not write them
    /// ([`Error::ReservedFollowUpKind`](crate::Error::ReservedFollowUpKind)).
    ///
    /// An HTML body is sanitized as an email draft's is; on a note it needs
    /// `[email] rich_text` (refused naming the setting when that is off),
    /// and a blank text is derived from it. Images pasted into it as
    /// `data:image/png` or `data:image/jpeg` URIs are stored as the note's
    /// inline images (see [`Host::add_rich_note`]).
    pub fn add_follow_up(&self, new: NewFollowUp) -> Result<FollowUp> {
        self.check_follow_up_author(&new)?;
        #[cfg(feature = "email")]
        {
            use crate::prelude::*;
            self.rt.add_rich_follow_up(&self.ctx()?, new, Vec::new())
        }
        #[cfg(not(feature = "email"))]
        {
            if new.html.is_some() {
                return Err(crate::Error::input(
                    "html",
                    "HTML bodies need the host's `email` feature (its sanitizer)",
                ));
            }
            self.rt.add_follow_up(&self.ctx()?, new)
        }
    }

    /// Adds a note (or another follow-up) with an HTML body and `images`
    /// shown inside it: as [`Host::add_follow_up`], each image (PNG or
    /// JPEG, at most 10 MB, downscaled over `[email] max_image_px`) goes
    /// where the HTML names `cid:NAME`, else at the end, and is kept as a
    /// blob listed in the follow-up's attachments with its Content-ID, as a
    /// sent draft's are. Needs `[email] rich_text`.
    #[cfg(feature = "email")]
    pub fn add_rich_note(
        &self,
        new: NewFollowUp,
        images: Vec<crate::InlineImage>,
    ) -> Result<FollowUp> {
        use crate::prelude::*;
        self.check_follow_up_author(&new)?;
        self.rt.add_rich_follow_up(&self.ctx()?, new, images)
    }

    /// Refuses a follow-up an agent may not write: a reserved kind, or
    /// another author (unless they are an admin).
    fn check_follow_up_author(&self, new: &NewFollowUp) -> Result<()> {
        if let Actor::Agent(login) = &self.actor
            && matches!(
                new.kind,
                dossier_sdk::FollowUpKind::System | dossier_sdk::FollowUpKind::EmailIn
            )
        {
            return Err(crate::Error::ReservedFollowUpKind {
                login: login.clone(),
                kind: new.kind.as_str().to_owned(),
            });
        }
        if let Actor::Agent(login) = &self.actor
            && new.author != *login
            && self.rt.acting_agent(login)?.role != dossier_sdk::Role::Admin
        {
            return Err(crate::Error::Refused(format!(
                "agent {login} may not write a follow-up as `{}`: agents write as themselves, \
                 only admins may give another author",
                new.author
            )));
        }
        Ok(())
    }

    /// One follow-up by id.
    pub fn follow_up(&self, id: FollowUpId) -> Result<FollowUp> {
        self.follow_up_as_seen(self.rt.follow_up(&self.ctx()?, id)?)
    }

    /// The follow-up that recorded the email with this Message-ID.
    pub fn follow_up_by_message_id(&self, message_id: &str) -> Result<Option<FollowUp>> {
        self.rt
            .follow_up_by_message_id(&self.ctx()?, message_id)?
            .map(|f| self.follow_up_as_seen(f))
            .transpose()
    }

    /// A page of a case's follow-ups, newest first, and the total count.
    pub fn follow_ups(&self, case: CaseNumber, page: Page) -> Result<(Vec<FollowUp>, u64)> {
        let (page, total) = self.rt.follow_ups(&self.ctx()?, case, page)?;
        let page = page
            .into_iter()
            .map(|f| self.follow_up_as_seen(f))
            .collect::<Result<Vec<_>>>()?;
        Ok((page, total))
    }

    /// `f` as the acting agent may see it: the case an email referred to
    /// (`referred_case`) is left out unless they may see that case too.
    fn follow_up_as_seen(&self, mut f: FollowUp) -> Result<FollowUp> {
        if let (Actor::Agent(_), Some(email)) = (&self.actor, f.email.as_mut())
            && let Some(referred) = email.referred_case
        {
            match self.case(referred) {
                Ok(_) => {}
                Err(crate::Error::Hidden { .. } | crate::Error::NotFound { .. }) => {
                    email.referred_case = None;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(f)
    }

    /// Up to `limit` follow-ups on cases the acting agent may see whose id
    /// is above `after`, by id (pages as [`Host::customers_after`]).
    pub fn follow_ups_after(&self, after: FollowUpId, limit: u32) -> Result<Vec<FollowUp>> {
        let ctx = self.ctx()?;
        let page = self.rt.read(|tx, schema| {
            let viewer = crate::runtime::viewer_in(tx, &ctx)?;
            tx.follow_ups_after(schema, after, limit.clamp(1, 10_000), &viewer)
        })?;
        page.into_iter()
            .map(|f| self.follow_up_as_seen(f))
            .collect()
    }

    // ----- tasks -----------------------------------------------------------

    /// Plans a task for a customer and/or case.
    pub fn add_task(&self, new: NewTask) -> Result<Task> {
        self.rt.add_task(&self.ctx()?, new)
    }

    /// One task by id.
    pub fn task(&self, id: TaskId) -> Result<Task> {
        self.rt.task(&self.ctx()?, id)
    }

    /// Saves changes to an existing task (all fields as given).
    pub fn update_task(&self, task: Task) -> Result<Task> {
        self.rt.update_task(&self.ctx()?, task)
    }

    /// Marks a task done (or cancelled).
    pub fn finish_task(&self, id: TaskId, status: TaskStatus) -> Result<Task> {
        let mut task = self.task(id)?;
        task.status = status;
        self.update_task(task)
    }

    /// Tasks matching `filter`, soonest due first.
    pub fn list_tasks(&self, filter: &TaskFilter, page: Page) -> Result<Vec<Task>> {
        self.rt.list_tasks(&self.ctx()?, filter, page)
    }

    // ----- search ----------------------------------------------------------

    /// The best `limit` matches of `query` among case subjects and
    /// descriptions, follow-up bodies and customers' names, accounts and
    /// email addresses, ranked by relevance (bm25), each with a snippet.
    /// Every word of `query` must appear (any case, accents ignored); what
    /// the acting agent may not see is never returned.
    pub fn search(&self, query: &str, filter: &SearchFilter, limit: u32) -> Result<Vec<SearchHit>> {
        self.rt.search(&self.ctx()?, query, filter, limit)
    }

    // ----- outbox ----------------------------------------------------------

    /// Delivers due after-save events, each delivery to its own handler;
    /// returns how many deliveries succeeded. A failed one is retried later,
    /// alone, with exponential backoff.
    pub fn deliver_outbox(&self) -> Result<usize> {
        self.rt.deliver_outbox()
    }

    /// Deliveries not yet made, oldest first: pending, failed (with their
    /// attempts and last error) and dead ones. They name records and mail
    /// of every case, private ones included, so an agent needs
    /// `manage_agents` ([`Error::PermissionDenied`](crate::Error::PermissionDenied)
    /// otherwise), as over HTTP.
    pub fn pending_outbox(&self) -> Result<Vec<OutboxDelivery>> {
        if let Actor::Agent(login) = &self.actor
            && !self
                .rt
                .acting_agent(login)?
                .has(dossier_sdk::Permission::ManageAgents)
        {
            return Err(crate::Error::PermissionDenied {
                login: login.clone(),
                permission: dossier_sdk::Permission::ManageAgents,
                action: "see the outbox".to_owned(),
            });
        }
        self.rt.undelivered()
    }

    /// Makes failed and dead deliveries due now (all of them, or the one
    /// with `id`) and delivers what is due; returns how many were revived.
    pub fn retry_outbox(&self, id: Option<i64>) -> Result<usize> {
        self.rt.retry_outbox(id)
    }

    /// How SQLite runs the very statement [`Host::find_customers`] runs for
    /// `query` (`EXPLAIN QUERY PLAN`, one step per `;`): each criterion
    /// should be an index lookup.
    pub fn explain_find_customers(&self, query: &CustomerQuery) -> Result<String> {
        self.rt.explain_find_customers(query)
    }

    /// The admin's scripts, unless `[scripts] enabled = false`.
    #[cfg(feature = "scripts")]
    pub fn scripts(&self) -> Option<&Arc<crate::script::Scripts>> {
        self.scripts.as_ref()
    }

    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        &self.rt
    }
}
