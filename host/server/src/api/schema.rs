//! What a screen needs to draw records: the custom fields the admin
//! declared, with their types and rules, and the case's keyed values.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use dossier_sdk::ObjectKind;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{Problem, Result};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(schema))
}

/// One choice of a choice field.
#[derive(Debug, Serialize, ToSchema)]
struct ChoiceView {
    /// The stored key.
    key: String,
    /// What agents see.
    label: String,
}

/// One custom field, as declared in `[fields.*]`.
#[derive(Debug, Serialize, ToSchema)]
struct FieldView {
    /// Its name (the key in a record's `custom`).
    name: String,
    /// `text`, `integer`, `decimal`, `bool`, `date`, `datetime`, `choice`,
    /// `multi_choice`, `email`, `phone` or `url`.
    #[serde(rename = "type")]
    ty: String,
    /// What agents see.
    label: String,
    /// Whether a record must hold a value.
    required: bool,
    /// The allowed keys of a choice field, in declaration order.
    choices: Vec<ChoiceView>,
    /// The longest text allowed, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_length: Option<usize>,
    /// The regular expression the whole text must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
}

/// A case status.
#[derive(Debug, Serialize, ToSchema)]
struct StatusView {
    /// The stored key.
    key: String,
    /// What agents see.
    label: String,
    /// Whether a case in it counts as open.
    open: bool,
}

/// The case's keyed values.
#[derive(Debug, Serialize, ToSchema)]
struct CaseKeys {
    /// The statuses, in declaration order.
    statuses: Vec<StatusView>,
    /// The severities.
    severities: Vec<String>,
    /// The priorities.
    priorities: Vec<String>,
}

/// The record schema.
#[derive(Debug, Serialize, ToSchema)]
struct SchemaView {
    /// Custom fields by object: `customer`, `case`, `follow_up`, `task`.
    fields: BTreeMap<String, Vec<FieldView>>,
    /// The case's statuses, severities and priorities.
    case: CaseKeys,
    /// The store's time zone (`[time] zone`, an IANA name): screens show
    /// times in it.
    time_zone: String,
    /// Whether drafts, notes and FAQ entries may have an HTML body
    /// (`[email] rich_text`).
    rich_text: bool,
}

/// The custom fields of every record kind, with their types and rules, and
/// the case's statuses, severities and priorities, and the store's time
/// zone: what a form needs.
#[utoipa::path(get, path = "/api/v1/schema", tag = "records",
    responses((status = 200, body = SchemaView), (status = 401, body = Problem)))]
async fn schema(caller: Caller) -> Result<Json<SchemaView>> {
    let host = caller.host;
    let schema = host.schema();
    let mut fields = BTreeMap::new();
    for (object, name) in [
        (ObjectKind::Customer, "customer"),
        (ObjectKind::Case, "case"),
        (ObjectKind::FollowUp, "follow_up"),
        (ObjectKind::Task, "task"),
    ] {
        let defs = schema
            .fields(object)
            .iter()
            .map(|d| FieldView {
                name: d.name.clone(),
                ty: d.ty.as_str().to_owned(),
                label: d.label.clone(),
                required: d.required,
                choices: d
                    .choices
                    .iter()
                    .map(|c| ChoiceView {
                        key: c.key.clone(),
                        label: c.label.clone(),
                    })
                    .collect(),
                max_length: d.max_length,
                pattern: d.pattern.as_ref().map(|p| p.as_str().to_owned()),
            })
            .collect();
        fields.insert(name.to_owned(), defs);
    }
    let case = &host.config().case;
    let time_zone = host
        .config()
        .time
        .time_zone()
        .iana_name()
        .unwrap_or("UTC")
        .to_owned();
    Ok(Json(SchemaView {
        rich_text: host.config().email.rich_text,
        time_zone,
        fields,
        case: CaseKeys {
            statuses: case
                .statuses
                .iter()
                .map(|s| StatusView {
                    key: s.key.clone(),
                    label: s.label.clone().unwrap_or_else(|| s.key.clone()),
                    open: s.open,
                })
                .collect(),
            severities: case.severities.clone(),
            priorities: case.priorities.clone(),
        },
    }))
}
