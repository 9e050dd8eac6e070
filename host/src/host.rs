//! The `Host` facade: what embedders, the CLI, scripts and plugins call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SubsecRound, Utc};
use dossier_sdk::{
    Case, CaseNumber, Customer, CustomerId, CustomerQuery, Event, FollowUp, FollowUpId, NewCase,
    NewCustomer, NewFollowUp, NewTask, ObjectKind, Record, SaveEvent, SaveOp, Task, TaskId,
    TaskStatus,
};
use rusqlite::Connection;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::contact::{normalize_email, normalize_phone};
use crate::error::{Error, Result};
use crate::pipeline::{Handler, Pipeline};
use crate::schema::Schema;
use crate::store::{self, CaseFilter, OutboxEntry, Page, Store, TaskFilter};

/// A running Dossier: the store, the schema, the scripts and plugins.
///
/// `Host` is cheap to clone (an `Arc` inside) and `Send + Sync`: share it
/// between a CTI connector, agent desktops and the reminder loop. Writes are
/// serialized on one SQLite writer connection; reads use a pool of readers.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    schema: Schema,
    store: Store,
    clock: Arc<dyn Clock>,
    pipeline: Pipeline,
    scripts: Option<Arc<crate::script::Scripts>>,
    /// Set when a write queued an after-save event, so that commits which
    /// queued nothing skip the outbox query. Failed deliveries wait for the
    /// next queued event or an explicit `deliver_outbox` (the `run` loop).
    outbox_queued: AtomicBool,
}

/// Options for opening a [`Host`]; start with [`Host::builder`].
pub struct HostBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    in_memory: bool,
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

    /// Opens the store (creating and migrating it if needed), checks the
    /// custom field schema against the records, loads scripts and plugins.
    pub fn open(self) -> Result<Host> {
        let schema = Schema::from_config(&self.config.fields, &self.config.phone.default_region)?;
        let store = if self.in_memory {
            Store::in_memory()?
        } else {
            Store::open(&self.config.store_path())?
        };
        store.write("custom field definitions", |conn| {
            store::sync_field_defs(conn, &schema)
        })?;
        let scripts = crate::script::Scripts::from_config(&self.config)?.map(Arc::new);
        let host = Host {
            inner: Arc::new(Inner {
                config: self.config,
                schema,
                store,
                clock: self.clock,
                pipeline: Pipeline::default(),
                scripts: scripts.clone(),
                outbox_queued: AtomicBool::new(false),
            }),
        };
        if let Some(scripts) = scripts {
            host.set_script_handler(Some(scripts));
        }
        let plugins = crate::plugin::load(host.config())?;
        host.set_plugin_handlers(plugins.into_iter().map(|p| p as Arc<dyn Handler>).collect());
        Ok(host)
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("store", &self.inner.config.store_path())
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
        }
    }

    /// Opens the host on the store file named in `config`.
    pub fn open(config: Config) -> Result<Host> {
        Host::builder(config).open()
    }

    /// Opens the host on an empty in-memory store.
    pub fn open_in_memory(config: Config) -> Result<Host> {
        Host::builder(config).in_memory().open()
    }

    /// The configuration the host runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The compiled custom field schema.
    pub fn schema(&self) -> &Schema {
        &self.inner.schema
    }

    /// The host clock's current time.
    /// Truncated to microseconds, the precision the store keeps, so a record
    /// returned by a write equals the same record read back.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now().trunc_subsecs(6)
    }

    #[allow(dead_code)] // for the modules that extend Host (scripts, interactions)
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    #[allow(dead_code)] // for the modules that extend Host (scripts, plugins)
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The scripts loaded at open (see `script/`).
    pub(crate) fn script_set(&self) -> Option<&Arc<crate::script::Scripts>> {
        self.inner.scripts.as_ref()
    }

    /// Registers the handler that runs the admin's scripts (first in the pipeline).
    pub fn set_script_handler(&self, handler: Option<Arc<dyn Handler>>) {
        self.inner.pipeline.set_scripts(handler);
    }

    /// Registers native plugin handlers, in the order they run (after scripts).
    pub fn set_plugin_handlers(&self, handlers: Vec<Arc<dyn Handler>>) {
        self.inner.pipeline.set_plugins(handlers);
    }

    /// Fires `event` through scripts and plugins and returns it as they left it.
    /// A veto or handler error is returned as an error. When called during a
    /// write (from a hook), handlers' writes join that write's transaction.
    pub fn fire(&self, mut event: Event) -> Result<Event> {
        self.inner.pipeline.run(self, &mut event)?;
        Ok(event)
    }

    /// Runs `f` inside one write transaction: every host write `f` makes
    /// commits together, or none does if `f` fails. After-save events are
    /// delivered once it commits.
    pub fn transaction<T>(&self, label: &str, f: impl FnOnce(&Host) -> Result<T>) -> Result<T> {
        let out = self.inner.store.write(label, |_| f(self))?;
        self.after_commit();
        Ok(out)
    }

    // ----- customers -------------------------------------------------------

    /// Creates a customer: normalizes phones and emails, fills custom field
    /// defaults, runs `before_save_customer` hooks, writes.
    pub fn create_customer(&self, new: NewCustomer) -> Result<Customer> {
        let now = self.now();
        self.save(SaveOp::Create, "create customer", |conn| {
            Ok(Record::Customer(Customer {
                id: store::next_customer_id(conn)?,
                account: new.account,
                name: new.name,
                address: new.address,
                phones: new.phones,
                emails: new.emails,
                custom: new.custom,
                created_at: now,
                updated_at: now,
            }))
        })
        .and_then(expect_record)
    }

    /// Saves changes to an existing customer (all fields as given).
    pub fn update_customer(&self, customer: Customer) -> Result<Customer> {
        let now = self.now();
        let schema = self.schema();
        self.save(SaveOp::Update, "update customer", |conn| {
            let old = store::get_customer(conn, schema, customer.id)?;
            Ok(Record::Customer(Customer {
                created_at: old.created_at,
                updated_at: now,
                ..customer
            }))
        })
        .and_then(expect_record)
    }

    /// One customer by id.
    pub fn customer(&self, id: CustomerId) -> Result<Customer> {
        self.read(|conn, schema| store::get_customer(conn, schema, id))
    }

    /// One customer by account number.
    pub fn customer_by_account(&self, account: &str) -> Result<Customer> {
        self.read(|conn, schema| store::customer_by_account(conn, schema, account))?
            .ok_or_else(|| {
                Error::not_found(ObjectKind::Customer, format!("with account {account}"))
            })
    }

    /// Customers matching every criterion of `query`, lowest id first (at
    /// most 100). Phone, email, account and indexed custom fields are index
    /// lookups.
    pub fn find_customers(&self, query: &CustomerQuery) -> Result<Vec<Customer>> {
        let phone = query
            .phone
            .as_deref()
            .map(|p| normalize_phone(p, &self.config().phone.default_region))
            .transpose()
            .map_err(|e| Error::invalid(ObjectKind::Customer, "phone", e))?;
        let email = query
            .email
            .as_deref()
            .map(normalize_email)
            .transpose()
            .map_err(|e| Error::invalid(ObjectKind::Customer, "email", e))?;
        let field = match &query.field {
            Some((name, text)) => {
                let def = self.schema().require_field(ObjectKind::Customer, name)?;
                if !def.indexed {
                    return Err(Error::invalid(
                        ObjectKind::Customer,
                        name,
                        "is not indexed: set `indexed = true` in its [fields.customer] definition to look customers up by it",
                    ));
                }
                let value = self
                    .schema()
                    .parse_value(ObjectKind::Customer, name, text)?;
                Some((name.clone(), value.to_plain_json()))
            }
            None => None,
        };
        let mut criteria = Vec::new();
        criteria.extend(phone.map(store::Criterion::Phone));
        criteria.extend(email.map(store::Criterion::Email));
        criteria.extend(query.account.clone().map(store::Criterion::Account));
        criteria.extend(field.map(|(name, value)| store::Criterion::Field(name, value)));
        criteria.extend(query.name.clone().map(store::Criterion::Name));
        if criteria.is_empty() {
            return Err(Error::Refused(
                "a customer search needs at least one of phone, email, account, name or field"
                    .into(),
            ));
        }
        self.read(|conn, schema| store::find_customers(conn, schema, &criteria))
    }

    /// A page of customers, by id.
    pub fn list_customers(&self, page: Page) -> Result<Vec<Customer>> {
        self.read(|conn, schema| store::list_customers(conn, schema, page))
    }

    // ----- cases -----------------------------------------------------------

    /// Opens a case for a customer, with the configured default status,
    /// severity and priority where `new` leaves them unset.
    pub fn open_case(&self, new: NewCase) -> Result<Case> {
        let now = self.now();
        let cfg = &self.config().case;
        self.save(SaveOp::Create, "open case", |conn| {
            Ok(Record::Case(Case {
                number: store::next_case_number(conn)?,
                customer: new.customer,
                subject: new.subject,
                description: new.description,
                status: cfg.initial_status().to_owned(),
                visibility: new.visibility,
                severity: new.severity.unwrap_or_else(|| cfg.default_severity.clone()),
                priority: new.priority.unwrap_or_else(|| cfg.default_priority.clone()),
                owner: new.owner,
                group: new.group,
                last_disposition: None,
                thread_token: None,
                custom: new.custom,
                created_at: now,
                updated_at: now,
            }))
        })
        .and_then(expect_record)
    }

    /// One case by number.
    pub fn case(&self, number: CaseNumber) -> Result<Case> {
        self.read(|conn, schema| store::get_case(conn, schema, number))
    }

    /// The case carrying this email thread token.
    pub fn case_by_thread_token(&self, token: &str) -> Result<Option<Case>> {
        self.read(|conn, schema| store::case_by_thread_token(conn, schema, token))
    }

    /// Saves changes to an existing case (all fields as given).
    pub fn update_case(&self, case: Case) -> Result<Case> {
        let now = self.now();
        let schema = self.schema();
        self.save(SaveOp::Update, "update case", |conn| {
            let old = store::get_case(conn, schema, case.number)?;
            Ok(Record::Case(Case {
                created_at: old.created_at,
                updated_at: now,
                ..case
            }))
        })
        .and_then(expect_record)
    }

    /// Assigns an open case to an agent and/or group. Closed cases cannot be assigned.
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
        let now = self.now();
        let schema = self.schema();
        self.save(SaveOp::Update, label, |conn| {
            let mut case = store::get_case(conn, schema, number)?;
            change(&mut case)?;
            case.updated_at = now;
            Ok(Record::Case(case))
        })
        .and_then(expect_record)
    }

    /// Cases matching `filter`, highest number first.
    pub fn list_cases(&self, filter: &CaseFilter, page: Page) -> Result<Vec<Case>> {
        self.read(|conn, schema| store::list_cases(conn, schema, filter, page))
    }

    /// A customer's cases, newest first; only open ones if `open_only`.
    pub fn cases_of(&self, customer: CustomerId, open_only: bool) -> Result<Vec<Case>> {
        let filter = CaseFilter {
            customer: Some(customer),
            open: open_only.then_some(true),
            owner: None,
        };
        self.list_cases(
            &filter,
            Page {
                offset: 0,
                limit: 1000,
            },
        )
    }

    // ----- follow-ups ------------------------------------------------------

    /// Appends a follow-up to a case. Follow-ups are never modified afterwards.
    pub fn add_follow_up(&self, new: NewFollowUp) -> Result<FollowUp> {
        let now = self.now();
        self.save(SaveOp::Create, "add follow-up", |conn| {
            Ok(Record::FollowUp(FollowUp {
                id: store::next_follow_up_id(conn)?,
                case: new.case,
                kind: new.kind,
                author: new.author,
                body: new.body,
                html: new.html,
                email: new.email,
                attachments: new.attachments,
                custom: new.custom,
                created_at: now,
            }))
        })
        .and_then(expect_record)
    }

    /// One follow-up by id.
    pub fn follow_up(&self, id: FollowUpId) -> Result<FollowUp> {
        self.read(|conn, schema| store::get_follow_up(conn, schema, id))
    }

    /// The follow-up that recorded the email with this Message-ID.
    pub fn follow_up_by_message_id(&self, message_id: &str) -> Result<Option<FollowUp>> {
        self.read(|conn, schema| store::follow_up_by_message_id(conn, schema, message_id))
    }

    /// A page of a case's follow-ups, newest first, and the total count.
    pub fn follow_ups(&self, case: CaseNumber, page: Page) -> Result<(Vec<FollowUp>, u64)> {
        self.read(|conn, schema| {
            if !store::case_exists(conn, case)? {
                return Err(Error::not_found(ObjectKind::Case, format!("#{case}")));
            }
            Ok((
                store::list_follow_ups(conn, schema, case, page)?,
                store::count_follow_ups(conn, case)?,
            ))
        })
    }

    // ----- tasks -----------------------------------------------------------

    /// Plans a task for a customer and/or case.
    pub fn add_task(&self, new: NewTask) -> Result<Task> {
        let now = self.now();
        self.save(SaveOp::Create, "add task", |conn| {
            Ok(Record::Task(Task {
                id: store::next_task_id(conn)?,
                customer: new.customer,
                case: new.case,
                kind: new.kind,
                subject: new.subject,
                due_at: new.due_at,
                reminder_minutes: new.reminder_minutes,
                status: TaskStatus::Planned,
                assignee: new.assignee,
                custom: new.custom,
                created_at: now,
                updated_at: now,
            }))
        })
        .and_then(expect_record)
    }

    /// One task by id.
    pub fn task(&self, id: TaskId) -> Result<Task> {
        self.read(|conn, schema| store::get_task(conn, schema, id))
    }

    /// Saves changes to an existing task (all fields as given).
    pub fn update_task(&self, task: Task) -> Result<Task> {
        let now = self.now();
        let schema = self.schema();
        self.save(SaveOp::Update, "update task", |conn| {
            let old = store::get_task(conn, schema, task.id)?;
            Ok(Record::Task(Task {
                created_at: old.created_at,
                updated_at: now,
                ..task
            }))
        })
        .and_then(expect_record)
    }

    /// Marks a task done (or cancelled).
    pub fn finish_task(&self, id: TaskId, status: TaskStatus) -> Result<Task> {
        let mut task = self.task(id)?;
        task.status = status;
        self.update_task(task)
    }

    /// Tasks matching `filter`, soonest due first.
    pub fn list_tasks(&self, filter: &TaskFilter, page: Page) -> Result<Vec<Task>> {
        self.read(|conn, schema| store::list_tasks(conn, schema, filter, page))
    }

    // ----- outbox ----------------------------------------------------------

    /// Delivers due after-save events to their handlers; returns how many
    /// were delivered. Failures are retried later with exponential backoff.
    pub fn deliver_outbox(&self) -> Result<usize> {
        let now = self.now();
        let due = self
            .inner
            .store
            .read(|conn| store::outbox_due(conn, now, 100))?;
        let mut delivered = 0;
        for entry in due {
            let lease = now + chrono::Duration::seconds(60);
            let claimed = self.inner.store.write("outbox claim", |conn| {
                store::outbox_claim(conn, entry.id, now, lease)
            })?;
            if !claimed {
                continue;
            }
            let outcome = serde_json::from_str::<Event>(&entry.event)
                .map_err(|e| Error::Corrupt(format!("outbox entry {}: {e}", entry.id)))
                .and_then(|event| self.fire(event));
            self.inner
                .store
                .write("outbox delivery", |conn| match &outcome {
                    Ok(_) => store::outbox_mark_delivered(conn, entry.id, now),
                    Err(e) => {
                        let backoff = chrono::Duration::seconds(1i64 << entry.attempts.min(12));
                        store::outbox_mark_failed(conn, entry.id, &e.to_string(), now + backoff)
                    }
                })?;
            match outcome {
                Ok(_) => delivered += 1,
                Err(e) => eprintln!(
                    "warning: after-save delivery {} failed (attempt {}): {e}",
                    entry.idempotency_key,
                    entry.attempts + 1
                ),
            }
        }
        Ok(delivered)
    }

    /// After-save events not yet delivered, oldest first.
    pub fn pending_outbox(&self) -> Result<Vec<OutboxEntry>> {
        self.inner
            .store
            .read(|conn| store::outbox_pending(conn, 1000))
    }

    /// How SQLite looks up records by a custom field (`EXPLAIN QUERY PLAN`).
    pub fn explain_field_lookup(&self, object: ObjectKind, field: &str) -> Result<String> {
        self.schema().require_field(object, field)?;
        self.inner
            .store
            .read(|conn| store::field_lookup_plan(conn, object, field))
    }

    // ----- the write path ---------------------------------------------------

    fn read<T>(&self, f: impl FnOnce(&Connection, &Schema) -> Result<T>) -> Result<T> {
        self.inner.store.read(|conn| f(conn, &self.inner.schema))
    }

    /// Builds a record inside the write transaction, validates it, runs the
    /// before-save hooks, validates again, writes it and queues after-save.
    fn save(
        &self,
        op: SaveOp,
        label: &str,
        build: impl FnOnce(&Connection) -> Result<Record>,
    ) -> Result<Record> {
        let saved = self.inner.store.write(label, |conn| {
            let record = build(conn)?;
            self.save_in_tx(conn, op, record)
        })?;
        self.after_commit();
        Ok(saved)
    }

    fn save_in_tx(&self, conn: &Connection, op: SaveOp, mut record: Record) -> Result<Record> {
        let kind = record.kind();
        let id = record.id();
        self.check(conn, op, &mut record)?;
        // A new customer or case is inserted before its hooks run, so that
        // what they write about it (a follow-up on a new case) can refer to
        // it; a veto or failure rolls the row back with the rest. Nothing
        // refers to follow-ups and tasks, which are written once, after.
        let early = op == SaveOp::Create && matches!(kind, ObjectKind::Customer | ObjectKind::Case);
        if early {
            self.persist(conn, op, &record)?;
        }
        if !self.inner.pipeline.is_empty() {
            let checked = record.clone();
            let event = self.fire(Event::BeforeSave(SaveEvent::new(op, record)))?;
            record = match event {
                Event::BeforeSave(e) if e.record.kind() == kind && e.record.id() == id => e.record,
                _ => {
                    return Err(Error::Refused(format!(
                        "a before_save hook replaced the {kind} being saved with another record"
                    )));
                }
            };
            if record != checked {
                self.check(conn, op, &mut record)?;
                if early {
                    self.persist(conn, SaveOp::Update, &record)?;
                }
            }
        }
        if !early {
            self.persist(conn, op, &record)?;
        }
        let after = Event::AfterSave(SaveEvent {
            op,
            record: record.clone(),
            changed: Vec::new(),
        });
        if self.handled(&after) {
            let key = format!(
                "{kind}:{id}:{}:{}",
                match op {
                    SaveOp::Create => "create",
                    SaveOp::Update => "update",
                },
                store::ts(self.now())
            );
            store::outbox_enqueue(conn, &key, &store::to_json(&after), self.now())?;
            self.inner.outbox_queued.store(true, Ordering::Release);
        }
        Ok(record)
    }

    fn persist(&self, conn: &Connection, op: SaveOp, record: &Record) -> Result<()> {
        let is_open = |status: &str| self.config().case.is_open(status);
        match (record, op) {
            (Record::Customer(c), SaveOp::Create) => store::insert_customer(conn, c),
            (Record::Customer(c), SaveOp::Update) => store::update_customer(conn, c),
            (Record::Case(c), SaveOp::Create) => store::insert_case(conn, c, is_open(&c.status)),
            (Record::Case(c), SaveOp::Update) => store::update_case(conn, c, is_open(&c.status)),
            (Record::FollowUp(f), SaveOp::Create) => store::insert_follow_up(conn, f),
            (Record::FollowUp(f), SaveOp::Update) => Err(Error::FollowUpImmutable(f.id.0)),
            (Record::Task(t), SaveOp::Create) => store::insert_task(conn, t),
            (Record::Task(t), SaveOp::Update) => store::update_task(conn, t),
        }
    }

    fn handled(&self, event: &Event) -> bool {
        !self.inner.pipeline.is_empty() && self.inner.pipeline.any_handles(event)
    }

    /// After the outermost write commits: deliver after-save events.
    fn after_commit(&self) {
        if self.inner.store.in_write() || !self.inner.outbox_queued.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.deliver_outbox() {
            eprintln!("warning: after-save delivery failed: {e}");
        }
    }

    /// Built-in checks and normalization of a record about to be written.
    fn check(&self, conn: &Connection, op: SaveOp, record: &mut Record) -> Result<()> {
        let is_new = op == SaveOp::Create;
        let kind = record.kind();
        self.schema().apply(kind, record.custom_mut(), is_new)?;
        let invalid = |field: &str, rule: &str| Error::invalid(kind, field, rule);
        match record {
            Record::Customer(c) => {
                c.account = c.account.trim().to_owned();
                c.name = c.name.trim().to_owned();
                if c.account.is_empty() {
                    return Err(invalid("account", "is required"));
                }
                if c.account.chars().count() > 64 || c.account.chars().any(char::is_whitespace) {
                    return Err(invalid(
                        "account",
                        "must be at most 64 characters without spaces",
                    ));
                }
                if c.name.is_empty() {
                    return Err(invalid("name", "is required"));
                }
                let region = &self.config().phone.default_region;
                for p in &mut c.phones {
                    p.number = normalize_phone(&p.number, region)
                        .map_err(|e| Error::invalid(kind, "phone", e))?;
                }
                for e in &mut c.emails {
                    e.address = normalize_email(&e.address)
                        .map_err(|rule| Error::invalid(kind, "email", rule))?;
                }
            }
            Record::Case(c) => {
                let cfg = &self.config().case;
                if c.subject.trim().is_empty() {
                    return Err(invalid("subject", "is required"));
                }
                if !cfg.statuses.iter().any(|s| s.key == c.status) {
                    let keys: Vec<&str> = cfg.statuses.iter().map(|s| s.key.as_str()).collect();
                    return Err(Error::invalid(
                        kind,
                        "status",
                        format!(
                            "has no status `{}` (statuses: {})",
                            c.status,
                            keys.join(", ")
                        ),
                    ));
                }
                if !cfg.severities.contains(&c.severity) {
                    return Err(Error::invalid(
                        kind,
                        "severity",
                        format!(
                            "has no severity `{}` (severities: {})",
                            c.severity,
                            cfg.severities.join(", ")
                        ),
                    ));
                }
                if !cfg.priorities.contains(&c.priority) {
                    return Err(Error::invalid(
                        kind,
                        "priority",
                        format!(
                            "has no priority `{}` (priorities: {})",
                            c.priority,
                            cfg.priorities.join(", ")
                        ),
                    ));
                }
                store::get_customer(conn, self.schema(), c.customer).map_err(|_| {
                    Error::invalid(
                        kind,
                        "customer",
                        format!("refers to missing customer #{}", c.customer),
                    )
                })?;
                if !cfg.is_open(&c.status) {
                    let old_owner = match op {
                        SaveOp::Create => None,
                        SaveOp::Update => store::get_case(conn, self.schema(), c.number)?.owner,
                    };
                    if c.owner.is_some() && c.owner != old_owner {
                        return Err(Error::Refused(format!(
                            "case {} is {}: only open cases can be assigned",
                            c.number, c.status
                        )));
                    }
                }
            }
            Record::FollowUp(f) => {
                if f.author.trim().is_empty() {
                    return Err(invalid("author", "is required"));
                }
                if f.body.trim().is_empty() && f.html.as_deref().is_none_or(|h| h.trim().is_empty())
                {
                    return Err(invalid("body", "is required"));
                }
                if !store::case_exists(conn, f.case)? {
                    return Err(Error::invalid(
                        kind,
                        "case",
                        format!("refers to missing case #{}", f.case),
                    ));
                }
            }
            Record::Task(t) => {
                if t.subject.trim().is_empty() {
                    return Err(invalid("subject", "is required"));
                }
                if let Some(number) = t.case {
                    let case = store::get_case(conn, self.schema(), number).map_err(|_| {
                        Error::invalid(kind, "case", format!("refers to missing case #{number}"))
                    })?;
                    match t.customer {
                        None => t.customer = Some(case.customer),
                        Some(c) if c != case.customer => {
                            return Err(Error::invalid(
                                kind,
                                "customer",
                                format!(
                                    "is #{c} but case #{number} belongs to customer #{}",
                                    case.customer
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                match t.customer {
                    Some(c) => {
                        store::get_customer(conn, self.schema(), c).map_err(|_| {
                            Error::invalid(
                                kind,
                                "customer",
                                format!("refers to missing customer #{c}"),
                            )
                        })?;
                    }
                    None => return Err(invalid("customer", "or case is required")),
                }
            }
        }
        Ok(())
    }
}

/// Unwraps the record `save` returns; `save_in_tx` refuses hooks that change
/// its kind, so the error arm is only reachable through a bug.
fn expect_record<T: TryFrom<Record, Error = Record>>(r: Record) -> Result<T> {
    T::try_from(r)
        .map_err(|r| Error::Refused(format!("internal error: save returned a {}", r.kind())))
}
