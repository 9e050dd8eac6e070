//! Customers, cases, follow-ups and tasks.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use dossier_host::{CaseFilter, TaskFilter};
use dossier_sdk::{
    Address, Case, CaseNumber, CustomFields, Customer, CustomerId, CustomerQuery, Email, FollowUp,
    FollowUpId, FollowUpKind, NewCase, NewCustomer, NewFollowUp, NewTask, Phone, Task, TaskId,
    TaskKind, TaskStatus, Visibility,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, Paging, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(list_cases, open_case))
        .routes(routes!(get_case, update_case))
        .routes(routes!(assign_case))
        .routes(routes!(close_case))
        .routes(routes!(list_follow_ups, add_follow_up))
        .routes(routes!(get_follow_up))
        .routes(routes!(list_tasks, add_task))
        .routes(routes!(get_task, update_task))
        .routes(routes!(finish_task))
}

// ----- customers -----------------------------------------------------------

/// Which customers to list: a lookup (any of phone, email, account, name)
/// or, with none, every customer by id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CustomerList {
    /// A phone number, in any common format.
    phone: Option<String>,
    /// An email address.
    email: Option<String>,
    /// An account number.
    account: Option<String>,
    /// A name, or its beginning.
    name: Option<String>,
    /// Items per page, 1 to 200 [default: 50].
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Customers: looked up by phone, email, account or name, or all of them
/// page by page.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerList),
    responses((status = 200, description = "a page of customers", body = Object),
        (status = 401, body = Problem)))]
async fn list_customers(
    caller: Caller,
    Query(q): Query<CustomerList>,
) -> Result<Json<Paged<Customer>>> {
    let paging = Paging {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, after) = (paging.limit()?, paging.position()?);
    let query = CustomerQuery {
        phone: q.phone,
        email: q.email,
        account: q.account,
        name: q.name,
        field: None,
    };
    let lookup = query.phone.is_some()
        || query.email.is_some()
        || query.account.is_some()
        || query.name.is_some();
    read_as(caller.host, move |host| {
        let fetched = if lookup {
            let mut all = host.find_customers(&query)?;
            all.retain(|c| c.id.0 > after);
            all.sort_by_key(|c| c.id);
            all.truncate(limit as usize + 1);
            all
        } else {
            host.customers_after(CustomerId(after), limit + 1)?
        };
        Ok(Paged::from_extra(fetched, limit, |kept| {
            kept.last().map_or(after, |c| c.id.0)
        }))
    })
    .await
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    /// The unique account number.
    account: String,
    /// The customer's name.
    name: String,
    /// Their postal address.
    #[serde(default)]
    #[schema(value_type = Object)]
    address: Address,
    /// Their phones (`{"label": "main", "number": "+33 1 ..."}`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    phones: Vec<Phone>,
    /// Their email addresses (`{"label": "main", "address": "..."}`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    emails: Vec<Email>,
    /// Custom fields, as `[fields.customer]` defines them.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: CustomFields,
}

/// Adds a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerBody,
    responses((status = 200, description = "the customer as stored", body = Object),
        (status = 422, body = Problem), (status = 409, body = Problem)))]
async fn create_customer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<CustomerBody>,
) -> Result<Json<Customer>> {
    let new = NewCustomer {
        account: b.account,
        name: b.name,
        address: b.address,
        phones: b.phones,
        emails: b.emails,
        custom: b.custom,
    };
    write_as(&state, caller.host, move |host| host.create_customer(new)).await
}

/// One customer by account number, or by id as `#12` (`%2312` in the
/// path): cases, pops and search hits name customers by id.
#[utoipa::path(get, path = "/api/v1/customers/{account}", tag = "customers",
    params(("account" = String, Path, description = "the account number, or `#` and the id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_customer(caller: Caller, Path(account): Path<String>) -> Result<Json<Customer>> {
    read_as(caller.host, move |host| host.customer_by_key(&account)).await
}

/// What a customer update changes; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomerChange {
    /// A new name.
    name: Option<String>,
    /// A new address, replacing the old one.
    #[schema(value_type = Option<Object>)]
    address: Option<Address>,
    /// The phones, replacing the old ones.
    #[schema(value_type = Option<Vec<Object>>)]
    phones: Option<Vec<Phone>>,
    /// The email addresses, replacing the old ones.
    #[schema(value_type = Option<Vec<Object>>)]
    emails: Option<Vec<Email>>,
    /// Custom fields to set (the others stay).
    #[schema(value_type = Option<Object>)]
    custom: Option<CustomFields>,
}

/// Changes a customer.
#[utoipa::path(patch, path = "/api/v1/customers/{account}", tag = "customers",
    params(("account" = String, Path, description = "the account number")),
    request_body = CustomerChange,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_customer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(account): Path<String>,
    Body(change): Body<CustomerChange>,
) -> Result<Json<Customer>> {
    write_as(&state, caller.host, move |host| {
        host.transaction("update customer", |host| {
            let mut c = host.customer_by_account(&account)?;
            if let Some(name) = change.name {
                c.name = name;
            }
            if let Some(address) = change.address {
                c.address = address;
            }
            if let Some(phones) = change.phones {
                c.phones = phones;
            }
            if let Some(emails) = change.emails {
                c.emails = emails;
            }
            c.custom.extend(change.custom.unwrap_or_default());
            host.update_customer(c)
        })
    })
    .await
}

// ----- cases -----------------------------------------------------------------

/// Which cases to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CaseList {
    /// Only this customer's cases (their id).
    customer: Option<i64>,
    /// Only open (`true`) or closed (`false`) cases.
    open: Option<bool>,
    /// Only cases owned by this agent.
    owner: Option<String>,
    /// Only cases of this group.
    group: Option<String>,
    /// Only cases in this status.
    status: Option<String>,
    /// Only cases of this priority.
    priority: Option<String>,
    /// Items per page, 1 to 200 [default: 50].
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The cases the caller may see, last activity first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseList),
    responses((status = 200, description = "a page of cases", body = Object), (status = 401, body = Problem)))]
async fn list_cases(caller: Caller, Query(q): Query<CaseList>) -> Result<Json<Paged<Case>>> {
    let paging = Paging {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = paging.page()?;
    let filter = CaseFilter {
        customer: q.customer.map(CustomerId),
        open: q.open,
        owner: q.owner,
        group: q.group,
        status: q.status,
        priority: q.priority,
    };
    read_as(caller.host, move |host| {
        Ok(Paged::after(host.list_cases(&filter, page)?, page))
    })
    .await
}

/// A new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    /// The customer's account number.
    customer: String,
    /// One line saying what it is about.
    subject: String,
    /// The longer description.
    #[serde(default)]
    description: String,
    /// A configured severity [default: the configured default].
    severity: Option<String>,
    /// A configured priority [default: the configured default].
    priority: Option<String>,
    /// `public` or `private` [default: public]. A private case is seen
    /// only by its owner, its group's members and holders of
    /// `see_all_private`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    visibility: Visibility,
    /// The agent who owns it [default: nobody; the caller, for a private case].
    owner: Option<String>,
    /// The group it belongs to.
    group: Option<String>,
    /// Custom fields, as `[fields.case]` defines them.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: CustomFields,
}

/// Opens a case for a customer.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseBody,
    responses((status = 200, description = "the case as stored", body = Object),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn open_case(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<CaseBody>,
) -> Result<Json<Case>> {
    // A private case nobody owns would be hidden from the agent opening
    // it: it is theirs unless `owner` says.
    let owner = match (b.owner, b.visibility, caller.host.actor()) {
        (None, Visibility::Private, dossier_host::Actor::Agent(login)) => Some(login.clone()),
        (owner, _, _) => owner,
    };
    write_as(&state, caller.host, move |host| {
        let customer = host.customer_by_account(&b.customer)?;
        if let Some(owner) = &owner {
            host.check_login("owner", owner)?;
        }
        host.open_case(NewCase {
            customer: customer.id,
            subject: b.subject,
            description: b.description,
            severity: b.severity,
            priority: b.priority,
            visibility: b.visibility,
            owner,
            group: b.group,
            custom: b.custom,
        })
    })
    .await
}

/// One case, if the caller may see it (404 otherwise, as for no case).
#[utoipa::path(get, path = "/api/v1/cases/{number}", tag = "cases",
    params(("number" = i64, Path, description = "the case number")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_case(caller: Caller, Path(number): Path<i64>) -> Result<Json<Case>> {
    read_as(caller.host, move |host| host.case(CaseNumber(number))).await
}

/// What a case update changes; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CaseChange {
    /// A new subject.
    subject: Option<String>,
    /// A new description.
    description: Option<String>,
    /// A configured status.
    status: Option<String>,
    /// A configured severity.
    severity: Option<String>,
    /// A configured priority.
    priority: Option<String>,
    /// `public` or `private`.
    #[schema(value_type = Option<String>)]
    visibility: Option<Visibility>,
    /// Custom fields to set (the others stay).
    #[schema(value_type = Option<Object>)]
    custom: Option<CustomFields>,
}

/// Changes a case.
#[utoipa::path(patch, path = "/api/v1/cases/{number}", tag = "cases",
    params(("number" = i64, Path, description = "the case number")), request_body = CaseChange,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_case(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(number): Path<i64>,
    Body(change): Body<CaseChange>,
) -> Result<Json<Case>> {
    write_as(&state, caller.host, move |host| {
        host.modify_case(CaseNumber(number), "update case", |c| {
            if let Some(v) = change.subject {
                c.subject = v;
            }
            if let Some(v) = change.description {
                c.description = v;
            }
            if let Some(v) = change.status {
                c.status = v;
            }
            if let Some(v) = change.severity {
                c.severity = v;
            }
            if let Some(v) = change.priority {
                c.priority = v;
            }
            if let Some(v) = change.visibility {
                c.visibility = v;
            }
            c.custom.extend(change.custom.unwrap_or_default());
            Ok(())
        })
    })
    .await
}

/// Whom a case goes to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Assignment {
    /// The agent who owns it from now on.
    owner: Option<String>,
    /// The group it belongs to from now on.
    group: Option<String>,
}

/// Assigns an open case to an agent and/or a group (someone else, or a
/// group one is not in, needs `reassign_cases`).
#[utoipa::path(post, path = "/api/v1/cases/{number}/assign", tag = "cases",
    params(("number" = i64, Path, description = "the case number")), request_body = Assignment,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn assign_case(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(number): Path<i64>,
    Body(a): Body<Assignment>,
) -> Result<Json<Case>> {
    write_as(&state, caller.host, move |host| {
        if let Some(owner) = &a.owner {
            host.check_login("owner", owner)?;
        }
        host.assign_case(CaseNumber(number), a.owner, a.group)
    })
    .await
}

/// Closes a case (the configured closing status).
#[utoipa::path(post, path = "/api/v1/cases/{number}/close", tag = "cases",
    params(("number" = i64, Path, description = "the case number")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn close_case(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Json<Case>> {
    write_as(&state, caller.host, move |host| {
        host.close_case(CaseNumber(number))
    })
    .await
}

// ----- follow-ups ------------------------------------------------------------

/// A case's follow-ups, newest first, page by page.
#[utoipa::path(get, path = "/api/v1/cases/{number}/follow-ups", tag = "follow-ups",
    params(("number" = i64, Path, description = "the case number"), Paging),
    responses((status = 200, description = "a page of follow-ups", body = Object), (status = 404, body = Problem)))]
async fn list_follow_ups(
    caller: Caller,
    Path(number): Path<i64>,
    Query(paging): Query<Paging>,
) -> Result<Json<Paged<FollowUp>>> {
    let page = paging.page()?;
    read_as(caller.host, move |host| {
        let (fetched, _) = host.follow_ups(CaseNumber(number), page)?;
        Ok(Paged::after(fetched, page))
    })
    .await
}

/// A note on a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    /// The text (made from `html` when blank).
    #[serde(default)]
    body: String,
    /// An HTML body, sanitized when saved (needs `[email] rich_text`);
    /// images pasted as `data:image/png` or `data:image/jpeg` URIs are kept
    /// as the note's inline images.
    #[serde(default)]
    html: Option<String>,
    /// Custom fields, as `[fields.follow_up]` defines them.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: CustomFields,
}

/// Adds a note to a case, written as the caller.
#[utoipa::path(post, path = "/api/v1/cases/{number}/follow-ups", tag = "follow-ups",
    params(("number" = i64, Path, description = "the case number")), request_body = NoteBody,
    responses((status = 200, description = "the follow-up as stored", body = Object),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_follow_up(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(number): Path<i64>,
    Body(b): Body<NoteBody>,
) -> Result<Json<FollowUp>> {
    let author = caller.login();
    write_as(&state, caller.host, move |host| {
        host.add_follow_up(NewFollowUp {
            case: CaseNumber(number),
            kind: FollowUpKind::Note,
            author,
            body: b.body,
            html: b.html,
            email: None,
            attachments: Vec::new(),
            custom: b.custom,
        })
    })
    .await
}

/// One follow-up, if the caller may see its case.
#[utoipa::path(get, path = "/api/v1/follow-ups/{id}", tag = "follow-ups",
    params(("id" = i64, Path, description = "the follow-up's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_follow_up(caller: Caller, Path(id): Path<i64>) -> Result<Json<FollowUp>> {
    read_as(caller.host, move |host| host.follow_up(FollowUpId(id))).await
}

// ----- tasks -------------------------------------------------------------------

/// Which tasks to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TaskList {
    /// Only this case's tasks.
    case: Option<i64>,
    /// Only this customer's tasks (their id).
    customer: Option<i64>,
    /// Only tasks assigned to this agent.
    assignee: Option<String>,
    /// `planned`, `done` or `cancelled`.
    #[param(value_type = Option<String>)]
    status: Option<TaskStatus>,
    /// Items per page, 1 to 200 [default: 50].
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Tasks, soonest due first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskList),
    responses((status = 200, description = "a page of tasks", body = Object), (status = 401, body = Problem)))]
async fn list_tasks(caller: Caller, Query(q): Query<TaskList>) -> Result<Json<Paged<Task>>> {
    let paging = Paging {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = paging.page()?;
    let filter = TaskFilter {
        case: q.case.map(CaseNumber),
        customer: q.customer.map(CustomerId),
        assignee: q.assignee,
        status: q.status,
    };
    read_as(caller.host, move |host| {
        Ok(Paged::after(host.list_tasks(&filter, page)?, page))
    })
    .await
}

/// A new task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    /// The case it belongs to.
    case: Option<i64>,
    /// The customer it concerns (their account number).
    customer: Option<String>,
    /// `call`, `email`, `meeting` or `chat`.
    #[schema(value_type = String)]
    kind: TaskKind,
    /// What to do.
    subject: String,
    /// When it is due.
    due_at: DateTime<Utc>,
    /// Minutes before `due_at` to remind the assignee.
    reminder_minutes: Option<u32>,
    /// Whom it is for [default: the caller].
    assignee: Option<String>,
    /// Custom fields, as `[fields.task]` defines them.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: CustomFields,
}

/// Adds a task (a callback, a meeting, ...).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskBody,
    responses((status = 200, description = "the task as stored", body = Object), (status = 422, body = Problem)))]
async fn add_task(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<TaskBody>,
) -> Result<Json<Task>> {
    let me = caller.login();
    write_as(&state, caller.host, move |host| {
        let customer = match &b.customer {
            Some(account) => Some(host.customer_by_account(account)?.id),
            None => None,
        };
        if let Some(assignee) = &b.assignee {
            host.check_assignee(assignee)?;
        }
        host.add_task(NewTask {
            customer,
            case: b.case.map(CaseNumber),
            kind: b.kind,
            subject: b.subject,
            due_at: b.due_at,
            reminder_minutes: b.reminder_minutes,
            assignee: b.assignee.or(Some(me)),
            custom: b.custom,
        })
    })
    .await
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = i64, Path, description = "the task's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_task(caller: Caller, Path(id): Path<i64>) -> Result<Json<Task>> {
    read_as(caller.host, move |host| host.task(TaskId(id))).await
}

/// What a task update changes; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskChange {
    /// A new subject.
    subject: Option<String>,
    /// A new kind: `call`, `email`, `meeting`, `chat` or `other`.
    #[schema(value_type = Option<String>)]
    kind: Option<TaskKind>,
    /// A new due time: this reschedules the task, and a reminder whose
    /// time moves fires again at its new time.
    due_at: Option<DateTime<Utc>>,
    /// Minutes before `due_at` to remind the assignee (`null` removes the reminder).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    reminder_minutes: Option<Option<u32>>,
    /// Whom it is for: an agent's login or an email address (`null`: nobody).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    assignee: Option<Option<String>>,
    /// Custom fields to set, as `[fields.task]` defines them.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: CustomFields,
}

/// A field that may be absent (outer `None`), `null` (`Some(None)`) or set.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes a task: subject, kind, due time, reminder, assignee, fields.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = i64, Path, description = "the task's id")), request_body = TaskChange,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_task(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(change): Body<TaskChange>,
) -> Result<Json<Task>> {
    write_as(&state, caller.host, move |host| {
        let mut task = host.task(TaskId(id))?;
        if let Some(subject) = change.subject {
            task.subject = subject;
        }
        if let Some(kind) = change.kind {
            task.kind = kind;
        }
        if let Some(due_at) = change.due_at {
            task.due_at = due_at;
        }
        if let Some(minutes) = change.reminder_minutes {
            task.reminder_minutes = minutes;
        }
        if let Some(assignee) = change.assignee {
            if let Some(a) = &assignee {
                host.check_assignee(a)?;
            }
            task.assignee = assignee;
        }
        task.custom.extend(change.custom);
        host.update_task(task)
    })
    .await
}

/// How a task ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskEnd {
    /// `done` or `cancelled`.
    #[schema(value_type = String)]
    status: TaskStatus,
}

/// Marks a task done or cancelled.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/finish", tag = "tasks",
    params(("id" = i64, Path, description = "the task's id")), request_body = TaskEnd,
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn finish_task(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(end): Body<TaskEnd>,
) -> Result<Json<Task>> {
    write_as(&state, caller.host, move |host| {
        host.finish_task(TaskId(id), end.status)
    })
    .await
}
