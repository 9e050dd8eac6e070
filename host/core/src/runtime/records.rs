//! Customers, cases, follow-ups and tasks: their reads, and the write
//! protocol every save goes through.
//!
//! A save is one run of the `before_save` event (`events::runner`): inside
//! the write transaction the record is built (its id allocated there, so
//! hooks see the final id and case numbers have no gaps), checked by the
//! built-in rules, then handed to hooks; a record a hook changed is checked
//! again; then it is written and its `after_save` event queued in the
//! outbox. New customers and cases are inserted before their hooks first
//! look at the store (and rewritten if a hook also changed them), so a hook
//! can attach a follow-up or task to the record being created; one whose
//! hooks only change it is written once, after them. Follow-ups and tasks,
//! which nothing refers to, are written once, after their hooks.

use std::sync::Arc;

use dossier_sdk::{
    Case, CaseNumber, Customer, CustomerId, CustomerQuery, Event, EventKind, FollowUp, FollowUpId,
    NewCase, NewCustomer, NewFollowUp, NewTask, ObjectKind, Record, SaveEvent, SaveOp, Task,
    TaskId, TaskStatus,
};

use super::Runtime;
use crate::events::{Actor, Ctx, Step};
use dossier_store::{CaseFilter, Page, TaskFilter, Tx, Viewer};
use dossier_types::contact::{normalize_email, normalize_phone};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// Builds the record to save inside the write transaction; for an update,
/// also returns the record as stored before.
type Build<'b> = Box<dyn FnOnce(&dyn Tx, &Schema) -> Result<(Record, Option<Record>)> + 'b>;

/// The `before_save` step of one save.
struct Save<'b> {
    op: SaveOp,
    label: &'b str,
    build: Option<Build<'b>>,
    old: Option<Record>,
    /// The record was inserted before its hooks (new customers and cases).
    early: bool,
    /// Hooks changed the record (so an early insert is rewritten).
    changed: bool,
    identity: Option<(ObjectKind, i64)>,
}

impl Step for Save<'_> {
    type Out = Record;

    fn kind(&self) -> EventKind {
        EventKind::BeforeSave
    }

    fn label(&self) -> &str {
        self.label
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, ctx: &Ctx) -> Result<Option<Event>> {
        let build = self
            .build
            .take()
            .ok_or_else(|| Error::Refused("internal error: a save was built twice".into()))?;
        let op = self.op;
        let (record, old) = rt.store().write(self.label, |tx| {
            let (mut record, old) = build(tx, rt.schema())?;
            rt.check(tx, op, &mut record)?;
            Ok((record, old))
        })?;
        // An agent writes only on cases they may see: changing a case,
        // adding a follow-up or a task to one.
        let viewer = rt.viewer(ctx)?;
        if viewer != Viewer::All {
            let case = match (&record, &old) {
                (Record::Case(_), Some(Record::Case(old))) => Some(old.number),
                (Record::FollowUp(f), _) => Some(f.case),
                (Record::Task(t), _) => t.case,
                _ => None,
            };
            if let Some(number) = case {
                rt.require_visible(ctx, &viewer, number)?;
            }
            // Nor may they move a task off a case they may not see.
            if let Some(Record::Task(Task {
                case: Some(number), ..
            })) = &old
            {
                rt.require_visible(ctx, &viewer, *number)?;
            }
        }
        // The caller's own assignment needs `reassign_cases` when it gives
        // the case to someone else; what the admin's hooks route afterwards
        // is policy, not the agent's request, and is not checked.
        if let Record::Case(case) = &record {
            let before = match &old {
                Some(Record::Case(old)) => (old.owner.as_deref(), old.group.as_deref()),
                _ => (None, None),
            };
            let owner = case.owner.as_deref().filter(|o| Some(*o) != before.0);
            let group = case.group.as_deref().filter(|g| Some(*g) != before.1);
            if owner.is_some() || group.is_some() {
                rt.check_assignment(ctx, case.number, owner, group)?;
            }
        }
        let kind = record.kind();
        self.identity = Some((kind, record.id()));
        self.old = old;
        // A new customer or case is inserted before its hooks look at the
        // store, so that what they write about it (a follow-up on a new
        // case) can refer to it; a veto or failure rolls the row back with
        // the rest. A hook that only changes the record never makes it
        // wait, and the record is written once, after the hooks.
        self.early =
            op == SaveOp::Create && matches!(kind, ObjectKind::Customer | ObjectKind::Case);
        if self.early {
            let early = record.clone();
            let rt = rt.clone();
            ctx.defer(Box::new(move || rt.persist_new(&early)))?;
        }
        Ok(Some(Event::BeforeSave(SaveEvent::new(op, record))))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        _ctx: &Ctx,
        _built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let Event::BeforeSave(save) = event else {
            return Err(Error::Refused(
                "a before_save hook replaced the event".into(),
            ));
        };
        let (kind, id) = self
            .identity
            .unwrap_or((save.record.kind(), save.record.id()));
        if save.record.kind() != kind || save.record.id() != id || save.op != self.op {
            return Err(Error::Refused(format!(
                "a before_save hook replaced the {kind} being saved with another record"
            )));
        }
        self.changed = true;
        let op = self.op;
        rt.store()
            .write(self.label, |tx| rt.check(tx, op, &mut save.record))
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Record> {
        let Some(Event::BeforeSave(save)) = event else {
            return Err(Error::Refused(
                "internal error: a save lost its record".into(),
            ));
        };
        let record = save.record;
        if !self.early || ctx.cancel_deferred() {
            // Not written yet: no hook looked at the store.
            rt.persist(ctx, self.op, &record)?;
        } else if self.changed {
            rt.persist(ctx, SaveOp::Update, &record)?;
        }
        rt.queue_after_save(ctx, self.op, record, self.old.as_ref())
    }
}

impl Runtime {
    /// Saves the record `build` makes, through the `before_save` event.
    fn save<'b>(
        self: &Arc<Self>,
        ctx: &Ctx,
        op: SaveOp,
        label: &'b str,
        build: impl FnOnce(&dyn Tx, &Schema) -> Result<(Record, Option<Record>)> + 'b,
    ) -> Result<Record> {
        let saved = self.run(
            ctx,
            Save {
                op,
                label,
                build: Some(Box::new(build)),
                old: None,
                early: false,
                changed: false,
                identity: None,
            },
        );
        if saved.is_err() {
            // A refused save's record must not be written by whoever
            // looks at the store next through this context.
            ctx.cancel_deferred();
        }
        saved
    }

    /// Inserts a new customer or case before its hooks see the store.
    fn persist_new(&self, record: &Record) -> Result<()> {
        let is_open = |status: &str| self.config().case.is_open(status);
        self.store().write("write record", |tx| match record {
            Record::Customer(c) => tx.insert_customer(c),
            Record::Case(c) => tx.insert_case(c, is_open(&c.status)),
            other => Err(Error::Refused(format!(
                "internal error: a new {} cannot be written before its hooks",
                other.kind()
            ))),
        })
    }

    fn persist(&self, ctx: &Ctx, op: SaveOp, record: &Record) -> Result<()> {
        let is_open = |status: &str| self.config().case.is_open(status);
        self.store().write("write record", |tx| match (record, op) {
            (Record::Customer(c), SaveOp::Create) => tx.insert_customer(c),
            (Record::Customer(c), SaveOp::Update) => tx.update_customer(c),
            (Record::Case(c), SaveOp::Create) => tx.insert_case(c, is_open(&c.status)),
            (Record::Case(c), SaveOp::Update) => tx.update_case(c, is_open(&c.status)),
            (Record::FollowUp(f), SaveOp::Create) => tx.insert_follow_up(f),
            (Record::FollowUp(f), SaveOp::Update) => Err(Error::FollowUpImmutable(f.id.0)),
            (Record::Task(t), SaveOp::Create) => {
                tx.insert_task(t)?;
                if ctx.depth() > 0 {
                    // A task planned by a hook carries its chain forward:
                    // its reminder continues it.
                    tx.set_task_origin(t.id, ctx.depth(), ctx.chain())?;
                }
                Ok(())
            }
            (Record::Task(t), SaveOp::Update) => tx.update_task(t),
        })
    }

    // ----- customers -------------------------------------------------------

    /// Creates a customer through the `Save` step (hooks, checks, one write).
    pub fn create_customer(self: &Arc<Self>, ctx: &Ctx, new: NewCustomer) -> Result<Customer> {
        let now = self.now();
        self.save(ctx, SaveOp::Create, "create customer", move |tx, _| {
            let customer = Customer {
                id: tx.next_customer_id()?,
                account: new.account,
                name: new.name,
                address: new.address,
                phones: new.phones,
                emails: new.emails,
                custom: new.custom,
                created_at: now,
                updated_at: now,
            };
            Ok((Record::Customer(customer), None))
        })
        .and_then(expect_record)
    }

    /// Saves a changed customer through the `Save` step.
    pub fn update_customer(self: &Arc<Self>, ctx: &Ctx, customer: Customer) -> Result<Customer> {
        let now = self.now();
        self.save(ctx, SaveOp::Update, "update customer", move |tx, schema| {
            let old = tx.get_customer(schema, customer.id)?;
            let new = Customer {
                created_at: old.created_at,
                updated_at: now,
                ..customer
            };
            Ok((Record::Customer(new), Some(Record::Customer(old))))
        })
        .and_then(expect_record)
    }

    /// One customer by id.
    pub fn customer(&self, _ctx: &Ctx, id: CustomerId) -> Result<Customer> {
        self.read(|tx, schema| tx.get_customer(schema, id))
    }

    /// One customer by account.
    pub fn customer_by_account(&self, _ctx: &Ctx, account: &str) -> Result<Customer> {
        self.read(|tx, schema| tx.customer_by_account(schema, account))?
            .ok_or_else(|| {
                Error::not_found(ObjectKind::Customer, format!("with account {account}"))
            })
    }

    /// Customers matching every criterion of `query`, lowest id first.
    pub fn find_customers(&self, _ctx: &Ctx, query: &CustomerQuery) -> Result<Vec<Customer>> {
        let criteria = self.customer_criteria(query)?;
        self.read(|tx, schema| tx.find_customers(schema, &criteria))
    }

    /// The query plan of the statement [`Runtime::find_customers`] runs for `query`.
    pub fn explain_find_customers(&self, query: &CustomerQuery) -> Result<String> {
        let criteria = self.customer_criteria(query)?;
        self.read(|tx, _| tx.find_customers_plan(&criteria))
    }

    /// The store criteria for `query`: phone and email normalized, an
    /// indexed custom field's value parsed by its type.
    fn customer_criteria(&self, query: &CustomerQuery) -> Result<Vec<dossier_store::Criterion>> {
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
        criteria.extend(phone.map(dossier_store::Criterion::Phone));
        criteria.extend(email.map(dossier_store::Criterion::Email));
        criteria.extend(query.account.clone().map(dossier_store::Criterion::Account));
        criteria.extend(field.map(|(name, value)| dossier_store::Criterion::Field(name, value)));
        criteria.extend(query.name.clone().map(dossier_store::Criterion::Name));
        if criteria.is_empty() {
            return Err(Error::Refused(
                "a customer search needs at least one of phone, email, account, name or field"
                    .into(),
            ));
        }
        Ok(criteria)
    }

    /// A page of customers, lowest id first.
    pub fn list_customers(&self, _ctx: &Ctx, page: Page) -> Result<Vec<Customer>> {
        self.read(|tx, schema| tx.list_customers(schema, page))
    }

    // ----- cases -----------------------------------------------------------

    /// Opens a case through the `Save` step.
    pub fn open_case(self: &Arc<Self>, ctx: &Ctx, new: NewCase) -> Result<Case> {
        let now = self.now();
        let cfg = self.config().case.clone();
        self.save(ctx, SaveOp::Create, "open case", move |tx, _| {
            let case = Case {
                number: tx.next_case_number()?,
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
            };
            Ok((Record::Case(case), None))
        })
        .and_then(expect_record)
    }

    /// One case by number, if the actor may see it.
    pub fn case(&self, ctx: &Ctx, number: CaseNumber) -> Result<Case> {
        let viewer = self.viewer(ctx)?;
        self.require_visible(ctx, &viewer, number)?;
        self.read(|tx, schema| tx.get_case(schema, number))
    }

    /// The case carrying thread token `token`, if the actor may see it.
    pub fn case_by_thread_token(&self, ctx: &Ctx, token: &str) -> Result<Option<Case>> {
        let viewer = self.viewer(ctx)?;
        self.read(|tx, schema| match tx.case_by_thread_token(schema, token)? {
            Some(case) if tx.case_visible(case.number, &viewer)? => Ok(Some(case)),
            _ => Ok(None),
        })
    }

    /// Saves a changed case through the `Save` step (visibility and reassignment checked).
    pub fn update_case(self: &Arc<Self>, ctx: &Ctx, case: Case) -> Result<Case> {
        let now = self.now();
        self.save(ctx, SaveOp::Update, "update case", move |tx, schema| {
            let old = tx.get_case(schema, case.number)?;
            let new = Case {
                created_at: old.created_at,
                updated_at: now,
                // Host-managed: made on the first outbound email.
                thread_token: old.thread_token.clone(),
                ..case
            };
            Ok((Record::Case(new), Some(Record::Case(old))))
        })
        .and_then(expect_record)
    }

    /// Loads a case, lets `change` edit it, saves it, all in one transaction.
    pub fn modify_case(
        self: &Arc<Self>,
        ctx: &Ctx,
        number: CaseNumber,
        label: &str,
        change: impl FnOnce(&mut Case) -> Result<()>,
    ) -> Result<Case> {
        let now = self.now();
        self.save(ctx, SaveOp::Update, label, move |tx, schema| {
            let old = tx.get_case(schema, number)?;
            let mut case = old.clone();
            change(&mut case)?;
            case.updated_at = now;
            Ok((Record::Case(case), Some(Record::Case(old))))
        })
        .and_then(expect_record)
    }

    /// A page of the cases `filter` selects that the actor may see.
    pub fn list_cases(&self, _ctx: &Ctx, filter: &CaseFilter, page: Page) -> Result<Vec<Case>> {
        self.read(|tx, schema| {
            let viewer = super::viewer_in(tx, _ctx)?;
            tx.list_cases(schema, filter, page, &viewer)
        })
    }

    /// All of a customer's cases the actor may see, newest first; only open
    /// ones if `open_only`. Read page after page from one snapshot, so a
    /// customer with more cases than a page gets them all.
    pub fn cases_of(&self, ctx: &Ctx, customer: CustomerId, open_only: bool) -> Result<Vec<Case>> {
        /// Cases read per statement.
        const CHUNK: u32 = 1000;
        let filter = CaseFilter {
            customer: Some(customer),
            open: open_only.then_some(true),
            ..Default::default()
        };
        self.read(|tx, schema| {
            let viewer = super::viewer_in(tx, ctx)?;
            let mut all: Vec<Case> = Vec::new();
            loop {
                let page = Page {
                    offset: u32::try_from(all.len()).unwrap_or(u32::MAX),
                    limit: CHUNK,
                };
                let rows = tx.list_cases(schema, &filter, page, &viewer)?;
                let more = rows.len() == CHUNK as usize;
                all.extend(rows);
                if !more {
                    return Ok(all);
                }
            }
        })
    }

    // ----- follow-ups ------------------------------------------------------

    /// Appends a follow-up to a case the actor may see, through the `Save` step.
    pub fn add_follow_up(self: &Arc<Self>, ctx: &Ctx, new: NewFollowUp) -> Result<FollowUp> {
        let now = self.now();
        self.save(ctx, SaveOp::Create, "add follow-up", move |tx, _| {
            let follow_up = FollowUp {
                id: tx.next_follow_up_id()?,
                case: new.case,
                kind: new.kind,
                author: new.author,
                body: new.body,
                html: new.html,
                email: new.email,
                attachments: new.attachments,
                custom: new.custom,
                created_at: now,
                via: ctx.via().map(str::to_owned),
            };
            Ok((Record::FollowUp(follow_up), None))
        })
        .and_then(expect_record)
    }

    /// One follow-up, if the actor may see its case.
    pub fn follow_up(&self, ctx: &Ctx, id: FollowUpId) -> Result<FollowUp> {
        let viewer = self.viewer(ctx)?;
        let found = self
            .read(|tx, schema| tx.get_follow_up(schema, id))
            .and_then(|f| self.require_visible(ctx, &viewer, f.case).map(|()| f));
        // An agent is told the same whether the follow-up does not exist or
        // sits on a case they may not see.
        match (found, ctx.actor()) {
            (Err(Error::NotFound { .. } | Error::Hidden { .. }), Actor::Agent(login))
                if viewer != Viewer::All =>
            {
                Err(Error::Hidden {
                    what: format!("follow-up {id}"),
                    login: login.clone(),
                })
            }
            (found, _) => found,
        }
    }

    /// The follow-up carrying `message_id`, if the actor may see its case.
    pub fn follow_up_by_message_id(&self, ctx: &Ctx, message_id: &str) -> Result<Option<FollowUp>> {
        let viewer = self.viewer(ctx)?;
        self.read(
            |tx, schema| match tx.follow_up_by_message_id(schema, message_id)? {
                Some(f) if tx.case_visible(f.case, &viewer)? => Ok(Some(f)),
                _ => Ok(None),
            },
        )
    }

    /// A page of a case's follow-ups, newest first, and their total.
    pub fn follow_ups(
        &self,
        ctx: &Ctx,
        case: CaseNumber,
        page: Page,
    ) -> Result<(Vec<FollowUp>, u64)> {
        let viewer = self.viewer(ctx)?;
        self.require_visible(ctx, &viewer, case)?;
        self.read(|tx, schema| {
            Ok((
                tx.list_follow_ups(schema, case, page)?,
                tx.count_follow_ups(case)?,
            ))
        })
    }

    // ----- tasks -----------------------------------------------------------

    /// Plans a task through the `Save` step.
    pub fn add_task(self: &Arc<Self>, ctx: &Ctx, new: NewTask) -> Result<Task> {
        let now = self.now();
        self.save(ctx, SaveOp::Create, "add task", move |tx, _| {
            let task = Task {
                id: tx.next_task_id()?,
                customer: new.customer,
                case: new.case,
                kind: new.kind,
                subject: new.subject,
                due_at: new.due_at,
                reminder_minutes: new.reminder_minutes,
                status: TaskStatus::Planned,
                assignee: new.assignee,
                custom: new.custom,
                via: ctx.via().map(str::to_owned),
                created_at: now,
                updated_at: now,
            };
            Ok((Record::Task(task), None))
        })
        .and_then(expect_record)
    }

    /// One task by id, if the actor may see its case (a task of no case
    /// is seen by everyone).
    pub fn task(&self, ctx: &Ctx, id: TaskId) -> Result<Task> {
        let viewer = self.viewer(ctx)?;
        let found = self
            .read(|tx, schema| tx.get_task(schema, id))
            .and_then(|t| match t.case {
                Some(case) => self.require_visible(ctx, &viewer, case).map(|()| t),
                None => Ok(t),
            });
        // An agent is told the same whether the task does not exist or sits
        // on a case they may not see.
        match (found, ctx.actor()) {
            (Err(Error::NotFound { .. } | Error::Hidden { .. }), Actor::Agent(login))
                if viewer != Viewer::All =>
            {
                Err(Error::Hidden {
                    what: format!("task {id}"),
                    login: login.clone(),
                })
            }
            (found, _) => found,
        }
    }

    /// Saves a changed task through the `Save` step.
    pub fn update_task(self: &Arc<Self>, ctx: &Ctx, task: Task) -> Result<Task> {
        let now = self.now();
        self.save(ctx, SaveOp::Update, "update task", move |tx, schema| {
            let old = tx.get_task(schema, task.id)?;
            let new = Task {
                created_at: old.created_at,
                updated_at: now,
                via: old.via.clone(),
                ..task
            };
            Ok((Record::Task(new), Some(Record::Task(old))))
        })
        .and_then(expect_record)
    }

    /// A page of the tasks `filter` selects that the actor may see: those
    /// of no case and those of a case the actor may see.
    pub fn list_tasks(&self, ctx: &Ctx, filter: &TaskFilter, page: Page) -> Result<Vec<Task>> {
        self.read(|tx, schema| {
            let viewer = super::viewer_in(tx, ctx)?;
            tx.list_tasks(schema, filter, page, &viewer)
        })
    }

    /// Whether the actor may see `task`: it has no case, or its case is
    /// one the actor may see. What an agent is shown of work the system
    /// did for everyone (reminders fired) is filtered with it.
    pub fn task_visible(&self, ctx: &Ctx, task: &Task) -> Result<bool> {
        match task.case {
            None => Ok(true),
            Some(case) => {
                let viewer = self.viewer(ctx)?;
                self.store().read(|tx| tx.case_visible(case, &viewer))
            }
        }
    }
}

/// Unwraps the record a save returns; the save step refuses hooks that
/// change its kind, so the error arm is only reachable through a bug.
pub fn expect_record<T: TryFrom<Record, Error = Record>>(r: Record) -> Result<T> {
    T::try_from(r)
        .map_err(|r| Error::Refused(format!("internal error: save returned a {}", r.kind())))
}

impl Runtime {
    /// Full-text search for the context's actor: see
    /// `Host::search`.
    pub fn search(
        &self,
        ctx: &Ctx,
        query: &str,
        filter: &dossier_store::SearchFilter,
        limit: u32,
    ) -> Result<Vec<dossier_store::SearchHit>> {
        let terms: Vec<String> = query.split_whitespace().map(str::to_owned).collect();
        if terms.is_empty() {
            return Err(Error::Refused(
                "a search needs at least one word to look for".into(),
            ));
        }
        // The agent and the index in one read, as a pop or a list does.
        self.store().read(|tx| {
            let viewer = super::viewer_in(tx, ctx)?;
            tx.search(&terms, filter, &viewer, limit.clamp(1, 1000))
        })
    }
}
