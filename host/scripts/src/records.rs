//! Records as Rhai types: `Customer`, `Case`, `FollowUp`, `Task`.
//!
//! A script never holds a record by value: it holds a handle ([`Rec`]) to a
//! record shared with the host. In a `before_save_*` hook the handle points
//! at the record being saved, so setters change what will be written, even
//! when the script copies the handle into another variable or passes it to
//! a helper function. Records read from the store (a case's customer) are
//! read-only handles: their setters fail, since scripts cannot save them.
//!
//! Standard fields are properties (`c.subject`). Custom fields are read and
//! written by name (`c.custom("tier")`, `c.set_custom("tier", "gold")`, or
//! the indexer `c["tier"]`; `c.tier` works too, for a name that is not a
//! standard property), typed and checked by the schema.

use std::sync::Arc;

use dossier_sdk::{
    Case, CaseNumber, CustomFields, Customer, CustomerId, Email, FollowUp, ObjectKind, Phone,
    Record, Task, TaskKind, TaskStatus, Visibility,
};
use parking_lot::Mutex;
use rhai::INT;
use rhai::{Array, Dynamic, EvalAltResult, FuncRegistration, Map, Module, Position};

use super::convert::{
    dynamic_to_field, field_to_dynamic, opt_string, parse_time, time_to_string, to_opt_int,
    to_opt_string, to_string,
};
use dossier_core::events::{Ctx, context as event_context};

/// A script-side result.
pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A runtime error with `message`; Rhai fills in the position of the call.
pub fn script_error(message: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message.into()),
        Position::NONE,
    ))
}

/// What a script may do with a record handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The record a `before_save_*` hook is saving: writable.
    Saving {
        /// Whether the save creates the record.
        is_new: bool,
    },
    /// Any other record: read only.
    ReadOnly {
        /// Whether the event that carried it created the record.
        is_new: bool,
    },
}

/// What a save hook knows about the record before the save: the stored
/// version (read from the store the first time a script asks, since most
/// hooks never do) or, after the save, the names of the changed fields.
#[derive(Debug)]
pub enum Prior<T> {
    /// A record read from the store, or one created: no history.
    None,
    /// A `before_save_*` of an update: the stored record, read on first use.
    Stored(std::sync::OnceLock<Option<T>>),
    /// An `after_save_*`: the fields the write changed (`SaveEvent::changed`).
    Listed(Vec<String>),
}

/// A handle to a record shared between the host and a script.
#[derive(Debug)]
pub struct Rec<T> {
    cell: Arc<Mutex<T>>,
    access: Access,
    prior: Arc<Prior<T>>,
}

impl<T> Clone for Rec<T> {
    fn clone(&self) -> Self {
        Rec {
            cell: self.cell.clone(),
            access: self.access,
            prior: self.prior.clone(),
        }
    }
}

impl<T: ScriptRecord> Rec<T> {
    /// A handle on `record` with `access`.
    pub fn new(record: T, access: Access) -> Self {
        Rec::with_prior(record, access, Prior::None)
    }

    /// A handle that also knows what the record was before the save.
    pub fn with_prior(record: T, access: Access, prior: Prior<T>) -> Self {
        Rec {
            cell: Arc::new(Mutex::new(record)),
            access,
            prior: Arc::new(prior),
        }
    }

    /// The stored version of the record, for a `before_save_*` of an update;
    /// `None` on create, for records read from the store, and after saves.
    fn previous(&self) -> RhaiResult<Option<T>> {
        let Prior::Stored(slot) = &*self.prior else {
            return Ok(None);
        };
        if let Some(found) = slot.get() {
            return Ok(found.clone());
        }
        let ctx = host()?;
        let current = self.read(T::clone);
        let stored = match T::stored(&ctx, &current) {
            Ok(found) => found,
            // A dry run may describe an update of a record that was never
            // stored: there is nothing before it.
            Err(dossier_types::Error::NotFound { .. }) => None,
            Err(e) => return Err(script_error(e.to_string())),
        };
        Ok(slot.get_or_init(|| stored).clone())
    }

    /// The names of the fields the save changes (standard fields by their
    /// JSON name, custom fields as `custom.<name>`), or `None` for a record
    /// that is not being saved.
    fn changes(&self) -> RhaiResult<Option<Vec<String>>> {
        match &*self.prior {
            Prior::None if matches!(self.access, Access::ReadOnly { .. }) => Ok(None),
            Prior::Listed(names) => Ok(Some(names.clone())),
            Prior::None | Prior::Stored(_) => {
                let old = self.previous()?.map(T::into_record);
                let new = self.read(T::clone).into_record();
                Ok(Some(Record::changed_fields(old.as_ref(), &new)))
            }
        }
    }

    /// The record as the script left it.
    pub fn into_inner(self) -> T {
        match Arc::try_unwrap(self.cell) {
            Ok(m) => m.into_inner(),
            // Scripts cannot keep values between calls, but clones made
            // during the call may not be dropped yet: copy out.
            Err(shared) => shared.lock().clone(),
        }
    }

    /// Reads the record under its lock.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.cell.lock())
    }

    fn write<R>(&self, what: &str, f: impl FnOnce(&mut T) -> Result<R, String>) -> RhaiResult<R> {
        if let Access::ReadOnly { .. } = self.access {
            return Err(script_error(format!(
                "cannot set `{what}`: this {} is read-only (only the record a before_save hook receives can be changed)",
                T::KIND
            )));
        }
        let mut guard = self.cell.lock();
        f(&mut guard).map_err(|rule| script_error(format!("{} field `{what}` {rule}", T::KIND)))
    }

    fn is_new(&self) -> bool {
        match self.access {
            Access::Saving { is_new } | Access::ReadOnly { is_new } => is_new,
        }
    }
}

/// What the generic record functions need to know about a record type.
pub trait ScriptRecord: Clone + Send + Sync + 'static {
    /// The object kind (schema section, error messages).
    const KIND: ObjectKind;
    /// The Rhai type name.
    const TYPE: &'static str;
    /// The parameter name used in the generated reference.
    const VAR: &'static str;
    /// Doc comment of the type.
    const DOC: &'static str;
    /// The record's custom fields.
    fn custom(&self) -> &CustomFields;
    /// The record's custom fields, mutably.
    fn custom_mut(&mut self) -> &mut CustomFields;
    /// Wraps the record for capture and events.
    fn into_record(self) -> Record;
    /// The stored version of `record`, read through `ctx` (`None` for types
    /// that are never updated).
    fn stored(ctx: &Ctx, record: &Self) -> dossier_types::Result<Option<Self>>;
    /// The JSON name of the standard field a script property belongs to,
    /// where they differ (`customer_id` is `customer`).
    fn json_name(property: &str) -> &str;
}

macro_rules! script_record {
    ($t:ty, $kind:ident, $name:literal, $var:literal, $doc:literal,
     stored: $stored:expr, json_name: $json:expr) => {
        impl ScriptRecord for $t {
            const KIND: ObjectKind = ObjectKind::$kind;
            const TYPE: &'static str = $name;
            const VAR: &'static str = $var;
            const DOC: &'static str = $doc;
            fn custom(&self) -> &CustomFields {
                &self.custom
            }
            fn custom_mut(&mut self) -> &mut CustomFields {
                &mut self.custom
            }
            fn into_record(self) -> Record {
                Record::$kind(self)
            }
            fn stored(ctx: &Ctx, record: &Self) -> dossier_types::Result<Option<Self>> {
                let read: fn(&Ctx, &Self) -> dossier_types::Result<Option<Self>> = $stored;
                read(ctx, record)
            }
            fn json_name(property: &str) -> &str {
                let name: fn(&str) -> Option<&'static str> = $json;
                name(property).unwrap_or(property)
            }
        }
    };
}

script_record!(
    Customer,
    Customer,
    "Customer",
    "customer",
    "A person or company the contact centre serves.",
    stored: |ctx, r| ctx.customer(r.id).map(Some),
    json_name: |p| match p {
        "address_line1" | "address_line2" | "postal_code" | "city" | "region" | "country" => {
            Some("address")
        }
        _ => None,
    }
);
script_record!(
    Case,
    Case,
    "Case",
    "c",
    "One piece of feedback, question or problem of a customer. (`case` is a reserved word in Rhai: name variables `c` or `record`.)",
    stored: |ctx, r| ctx.case(r.number).map(Some),
    json_name: |p| match p {
        "customer_id" => Some("customer"),
        _ => None,
    }
);
script_record!(
    FollowUp,
    FollowUp,
    "FollowUp",
    "follow_up",
    "One communication on a case: a note, an email, a chat log. Never changed once saved.",
    stored: |_, _| Ok(None),
    json_name: |p| match p {
        "case_number" => Some("case"),
        "email_subject" | "email_from" => Some("email"),
        _ => None,
    }
);
script_record!(
    Task,
    Task,
    "Task",
    "task",
    "A call, email, meeting, chat or other communication with a customer, planned or done.",
    stored: |ctx, r| ctx.task(r.id).map(Some),
    json_name: |p| match p {
        "customer_id" => Some("customer"),
        "case_number" => Some("case"),
        _ => None,
    }
);

/// Turns `text` into the doc-comment form Rhai's metadata expects.
pub fn doc_lines(text: &str) -> String {
    text.lines()
        .map(|l| format!("/// {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The context of the event a registered function serves, or an error
/// outside hooks.
pub fn host() -> RhaiResult<Ctx> {
    event_context::current()
        .ok_or_else(|| script_error("this function can only be called while a hook runs"))
}

/// Registers record functions of one type into a module, with docs.
struct Reg<'m, T> {
    module: &'m mut Module,
    /// The read-only properties registered so far, for the indexer (see
    /// [`register_common`]).
    props: Vec<&'static str>,
    _t: std::marker::PhantomData<T>,
}

impl<T: ScriptRecord> Reg<'_, T> {
    fn this(&self) -> String {
        format!("{}: &mut {}", T::VAR, T::TYPE)
    }

    /// A read-only property.
    fn get<R: rhai::Variant + Clone>(
        &mut self,
        prop: &'static str,
        ty: &str,
        doc: &str,
        f: fn(&T) -> R,
    ) -> &mut Self {
        self.props.push(prop);
        FuncRegistration::new_getter(prop)
            .with_params_info([self.this(), ty.to_owned()])
            .with_comments([doc_lines(doc)])
            .set_into_module(self.module, move |h: &mut Rec<T>| h.read(f));
        self
    }

    /// A writable property (the record being saved only).
    fn get_set<R: rhai::Variant + Clone>(
        &mut self,
        prop: &'static str,
        ty: &str,
        doc: &str,
        get: fn(&T) -> R,
        set: fn(&mut T, Dynamic) -> Result<(), String>,
    ) -> &mut Self {
        self.get(prop, ty, doc, get);
        self.props.pop();
        FuncRegistration::new_setter(prop)
            .with_params_info([self.this(), format!("value: {ty}")])
            .with_comments([doc_lines(doc)])
            .set_into_module(self.module, move |h: &mut Rec<T>, v: Dynamic| {
                h.write(prop, |r| set(r, v))
            });
        self
    }
}

fn string_setter(slot: &mut String, v: Dynamic) -> Result<(), String> {
    *slot = to_string(v)?;
    Ok(())
}

fn opt_setter(slot: &mut Option<String>, v: Dynamic) -> Result<(), String> {
    *slot = to_opt_string(v)?;
    Ok(())
}

fn parsed<V: std::str::FromStr<Err = String>>(v: Dynamic) -> Result<V, String> {
    to_string(v)?.parse()
}

/// Checks a case status, severity or priority key against the config
/// (`keys` picks the list), without copying the list on the happy path.
fn case_key(
    kind: &str,
    keys: fn(&dossier_core::config::CaseConfig) -> Vec<&str>,
    v: Dynamic,
) -> Result<String, String> {
    let key = to_string(v)?;
    let host =
        event_context::current().ok_or_else(|| "cannot be checked outside a hook".to_owned())?;
    let known = keys(&host.config().case);
    if known.contains(&key.as_str()) {
        Ok(key)
    } else {
        Err(format!(
            "has no {kind} `{key}` ({kind} keys: {})",
            known.join(", ")
        ))
    }
}

/// Registers every record type into `module`.
pub fn register(module: &mut Module) {
    let props = register_customer(module);
    register_common::<Customer>(module, props);
    let props = register_case(module);
    register_common::<Case>(module, props);
    let props = register_follow_up(module);
    register_common::<FollowUp>(module, props);
    let props = register_task(module);
    register_common::<Task>(module, props);
}

/// The custom-field API, `is_new`, `previous` and `changed`, shared by every
/// record type. `props` are the type's standard properties.
fn register_common<T: ScriptRecord>(module: &mut Module, props: Vec<&'static str>) {
    module.set_custom_type_with_comments::<Rec<T>>(T::TYPE, &[&doc_lines(T::DOC)]);
    let this = format!("{}: &mut {}", T::VAR, T::TYPE);
    FuncRegistration::new_getter("is_new")
        .with_params_info([this.clone(), "bool".into()])
        .with_comments([doc_lines(
            "Whether the record is being created (true) rather than changed (false).",
        )])
        .set_into_module(module, |h: &mut Rec<T>| h.is_new());

    FuncRegistration::new_getter("previous")
        .with_params_info([this.clone(), "?".into()])
        .with_comments([doc_lines(&format!(
            "In a `before_save_*` hook of an update: the {} as it is stored, before this save,\nread-only. `()` on create, in after-save hooks (the store holds the new version\nonly; use `changed`) and for records read from the store.",
            T::KIND
        ))])
        .set_into_module(module, |h: &mut Rec<T>| -> RhaiResult<Dynamic> {
            Ok(h.previous()?.map_or(Dynamic::UNIT, read_only))
        });

    FuncRegistration::new("changed")
        .in_global_namespace()
        .with_params_info([this.clone(), "name: &str".into(), "bool".into()])
        .with_comments([doc_lines(
            "Whether this save changes field `name`: a standard property (`\"status\"`,\n`\"customer_id\"`; `\"city\"` and the other address parts count as `\"address\"`) or a\ncustom field (`\"tier\"` or `\"custom.tier\"`). In `before_save_*` the record as the hooks\nhave left it so far is compared with the stored one; in `after_save_*` the event's list\nof changed fields is asked. On create every field with a value counts as changed.\nAn error for records that are not being saved.",
        )])
        .set_into_module(module, |h: &mut Rec<T>, name: &str| -> RhaiResult<bool> {
            let Some(changes) = h.changes()? else {
                return Err(not_saved::<T>());
            };
            let json = T::json_name(name);
            let custom = format!("custom.{name}");
            Ok(changes
                .iter()
                .any(|c| c == json || c == name || *c == custom))
        });

    FuncRegistration::new("changed_fields")
        .in_global_namespace()
        .with_params_info([this.clone(), "Array".into()])
        .with_comments([doc_lines(
            "The names of the fields this save changes: standard fields by their JSON name\n(`status`, `customer`, `address`), custom fields as `custom.<name>`. See `changed`.",
        )])
        .set_into_module(module, |h: &mut Rec<T>| -> RhaiResult<Array> {
            let Some(changes) = h.changes()? else {
                return Err(not_saved::<T>());
            };
            Ok(changes.into_iter().map(Dynamic::from).collect())
        });

    FuncRegistration::new("custom")
        .in_global_namespace()
        .with_params_info([this.clone(), "name: &str".into(), "?".into()])
        .with_comments([doc_lines(
            "The value of custom field `name`, or `()` when unset. Text, choice, email, phone and url\nfields are strings; integer, decimal and bool are numbers and booleans; date is\n\"YYYY-MM-DD\", datetime RFC 3339 text; multi_choice an array of strings.\nAn unknown name is an error.",
        )])
        .set_into_module(module, |h: &mut Rec<T>, name: &str| get_custom(h, name));

    FuncRegistration::new("get_custom")
        .in_global_namespace()
        .with_params_info([this.clone(), "name: &str".into(), "?".into()])
        .with_comments([doc_lines("Same as `custom(name)`.")])
        .set_into_module(module, |h: &mut Rec<T>, name: &str| get_custom(h, name));

    FuncRegistration::new("set_custom")
        .in_global_namespace()
        .with_purity(false)
        .with_params_info([this.clone(), "name: &str".into(), "value: ?".into()])
        .with_comments([doc_lines(
            "Sets custom field `name`, checked against the schema: the value must have the field's\ntype (or its text form, e.g. \"2024-01-31\" for a date) and pass its rules (choices,\nmax_length, pattern). `()` clears the field. Errors name the field.",
        )])
        .set_into_module(module, |h: &mut Rec<T>, name: &str, v: Dynamic| {
            set_custom(h, name, v)
        });

    FuncRegistration::new("custom_fields")
        .in_global_namespace()
        .with_params_info([this.clone(), "Map".into()])
        .with_comments([doc_lines(
            "Every set custom field, as a map from name to value.",
        )])
        .set_into_module(module, |h: &mut Rec<T>| {
            h.read(|r| {
                r.custom()
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), field_to_dynamic(v)))
                    .collect::<Map>()
            })
        });

    FuncRegistration::new_index_getter()
        .with_params_info([this.clone(), "name: &str".into(), "?".into()])
        .with_comments([doc_lines(
            "`record[\"name\"]` (and `record.name` for a name that is not a standard property):\nsame as `custom(name)`.",
        )])
        .set_into_module(module, |h: &mut Rec<T>, name: &str| get_custom(h, name));

    FuncRegistration::new_index_setter()
        .with_params_info([this, "name: &str".into(), "value: ?".into()])
        .with_comments([doc_lines(
            "`record[\"name\"] = value` (and `record.name = value`): same as `set_custom(name, value)`.",
        )])
        .set_into_module(module, move |h: &mut Rec<T>, name: &str, v: Dynamic| {
            if props.contains(&name) || matches!(name, "is_new" | "is_open" | "previous") {
                // Rhai feeds a property back through the indexer after a
                // method call on it (`customer.phones.len()`) when the
                // property has no setter. Nothing is to be written back
                // to a read-only property; this error tells Rhai so, and is
                // what `record["phones"] = v` reports.
                return Err(Box::new(EvalAltResult::ErrorIndexingType(
                    format!("`{name}` is a read-only property of {}", T::TYPE),
                    Position::NONE,
                )));
            }
            set_custom(h, name, v)
        });
}

fn not_saved<T: ScriptRecord>() -> Box<EvalAltResult> {
    script_error(format!(
        "this {} is not being saved, so it has no changes (only the record a save hook receives has)",
        T::KIND
    ))
}

fn unknown_field<T: ScriptRecord>(host: &Ctx, name: &str) -> Box<EvalAltResult> {
    let known: Vec<&str> = host
        .schema()
        .fields(T::KIND)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let hint = super::check::did_you_mean(name, known.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    script_error(format!(
        "{} has no field `{name}` ({hint}custom fields: {})",
        T::KIND,
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

fn get_custom<T: ScriptRecord>(h: &mut Rec<T>, name: &str) -> RhaiResult<Dynamic> {
    let host = host()?;
    if host.schema().field(T::KIND, name).is_none() {
        // A value the schema no longer declares is still readable.
        return h
            .read(|r| r.custom().get(name).map(field_to_dynamic))
            .ok_or_else(|| unknown_field::<T>(&host, name));
    }
    Ok(h.read(|r| {
        r.custom()
            .get(name)
            .map(field_to_dynamic)
            .unwrap_or(Dynamic::UNIT)
    }))
}

fn set_custom<T: ScriptRecord>(h: &mut Rec<T>, name: &str, v: Dynamic) -> RhaiResult<()> {
    let host = host()?;
    let Some(def) = host.schema().field(T::KIND, name) else {
        return Err(unknown_field::<T>(&host, name));
    };
    if v.is_unit() {
        return h.write(name, |r| {
            r.custom_mut().remove(name);
            Ok(())
        });
    }
    let ty = def.ty;
    let value = dynamic_to_field(ty, v)
        .map_err(|rule| script_error(format!("{} field `{name}` {rule}", T::KIND)))?;
    let value = host
        .schema()
        .check_value(T::KIND, name, value)
        .map_err(|e| script_error(e.to_string()))?;
    h.write(name, |r| {
        r.custom_mut().insert(name.to_owned(), value);
        Ok(())
    })
}

/// Builds read-only handles on related records.
pub fn read_only<T: ScriptRecord>(record: T) -> Dynamic {
    Dynamic::from(Rec::new(record, Access::ReadOnly { is_new: false }))
}

/// Runs a host read for a script, turning errors into script errors.
pub fn host_read<R>(f: impl FnOnce(&Ctx) -> dossier_types::Result<R>) -> RhaiResult<R> {
    let host = host()?;
    f(&host).map_err(|e| script_error(e.to_string()))
}

fn register_customer(module: &mut Module) -> Vec<&'static str> {
    let mut r = Reg::<Customer> {
        module,
        props: Vec::new(),
        _t: std::marker::PhantomData,
    };
    r.get(
        "id",
        "INT",
        "The customer's internal id (0 while being created).",
        |c| c.id.0 as INT,
    )
    .get_set(
        "account",
        "String",
        "The account number, unique in the store.",
        |c| c.account.clone(),
        |c, v| string_setter(&mut c.account, v),
    )
    .get_set(
        "name",
        "String",
        "Display name of the person or company.",
        |c| c.name.clone(),
        |c, v| string_setter(&mut c.name, v),
    )
    .get_set(
        "address_line1",
        "String",
        "Street and number.",
        |c| c.address.line1.clone(),
        |c, v| string_setter(&mut c.address.line1, v),
    )
    .get_set(
        "address_line2",
        "String",
        "Building, floor, c/o.",
        |c| c.address.line2.clone(),
        |c, v| string_setter(&mut c.address.line2, v),
    )
    .get_set(
        "postal_code",
        "String",
        "Postal or ZIP code.",
        |c| c.address.postal_code.clone(),
        |c, v| string_setter(&mut c.address.postal_code, v),
    )
    .get_set(
        "city",
        "String",
        "City or town.",
        |c| c.address.city.clone(),
        |c, v| string_setter(&mut c.address.city, v),
    )
    .get_set(
        "region",
        "String",
        "State, province or region.",
        |c| c.address.region.clone(),
        |c, v| string_setter(&mut c.address.region, v),
    )
    .get_set(
        "country",
        "String",
        "Country name or ISO code.",
        |c| c.address.country.clone(),
        |c, v| string_setter(&mut c.address.country, v),
    )
    .get(
        "phones",
        "Array",
        "Phone numbers, primary first, as maps `#{label, number}` (E.164 once saved).",
        |c| {
            c.phones
                .iter()
                .map(|p| pair("label", &p.label, "number", &p.number))
                .collect::<Array>()
        },
    )
    .get(
        "emails",
        "Array",
        "Email addresses, primary first, as maps `#{label, address}`.",
        |c| {
            c.emails
                .iter()
                .map(|e| pair("label", &e.label, "address", &e.address))
                .collect::<Array>()
        },
    )
    .get(
        "primary_phone",
        "?",
        "The first phone number, or `()`.",
        |c| opt_string(&c.phones.first().map(|p| p.number.clone())),
    )
    .get(
        "primary_email",
        "?",
        "The first email address, or `()`.",
        |c| opt_string(&c.emails.first().map(|e| e.address.clone())),
    )
    .get(
        "created_at",
        "String",
        "When first saved (RFC 3339).",
        |c| time_to_string(c.created_at),
    )
    .get("updated_at", "String", "When last saved (RFC 3339).", |c| {
        time_to_string(c.updated_at)
    });
    let props = std::mem::take(&mut r.props);
    let this = "customer: &mut Customer";
    FuncRegistration::new("add_phone")
        .in_global_namespace()
        .with_purity(false)
        .with_params_info([this, "label: &str", "number: &str"])
        .with_comments([doc_lines(
            "Adds a phone number (any common format; normalized when saved).",
        )])
        .set_into_module(
            module,
            |h: &mut Rec<Customer>, label: &str, number: &str| {
                h.write("phones", |c| {
                    c.phones.push(Phone {
                        label: label.to_owned(),
                        number: number.to_owned(),
                    });
                    Ok(())
                })
            },
        );
    FuncRegistration::new("add_email")
        .in_global_namespace()
        .with_purity(false)
        .with_params_info([this, "label: &str", "address: &str"])
        .with_comments([doc_lines("Adds an email address (lower-cased when saved).")])
        .set_into_module(module, |h: &mut Rec<Customer>, label: &str, addr: &str| {
            h.write("emails", |c| {
                c.emails.push(Email {
                    label: label.to_owned(),
                    address: addr.to_owned(),
                });
                Ok(())
            })
        });
    FuncRegistration::new("open_cases")
        .in_global_namespace()
        .with_params_info([this, "Array"])
        .with_comments([doc_lines(
            "The customer's open cases, newest first, as read-only `Case`s.",
        )])
        .set_into_module(module, |h: &mut Rec<Customer>| {
            let id = h.read(|c| c.id);
            cases_array(id, true)
        });
    FuncRegistration::new("all_cases")
        .in_global_namespace()
        .with_params_info([this, "Array"])
        .with_comments([doc_lines(
            "All the customer's cases, newest first, as read-only `Case`s.",
        )])
        .set_into_module(module, |h: &mut Rec<Customer>| {
            let id = h.read(|c| c.id);
            cases_array(id, false)
        });
    props
}

fn pair(k1: &str, v1: &str, k2: &str, v2: &str) -> Dynamic {
    let mut m = Map::new();
    m.insert(k1.into(), v1.to_owned().into());
    m.insert(k2.into(), v2.to_owned().into());
    m.into()
}

/// A customer's cases as read-only handles.
pub fn cases_array(id: CustomerId, open_only: bool) -> RhaiResult<Array> {
    let cases = host_read(|h| h.cases_of(id, open_only))?;
    Ok(cases.into_iter().map(read_only).collect())
}

fn register_case(module: &mut Module) -> Vec<&'static str> {
    let mut r = Reg::<Case> {
        module,
        props: Vec::new(),
        _t: std::marker::PhantomData,
    };
    r.get(
        "number",
        "INT",
        "The case number (assigned before hooks run).",
        |c| c.number.0 as INT,
    )
    .get_set(
        "customer_id",
        "INT",
        "The id of the customer the case belongs to.",
        |c| c.customer.0 as INT,
        |c, v| {
            c.customer =
                CustomerId(to_opt_int(v)?.ok_or_else(|| "expects an integer, got ()".to_owned())?);
            Ok(())
        },
    )
    .get_set(
        "subject",
        "String",
        "One-line summary.",
        |c| c.subject.clone(),
        |c, v| string_setter(&mut c.subject, v),
    )
    .get_set(
        "description",
        "String",
        "Longer description.",
        |c| c.description.clone(),
        |c, v| string_setter(&mut c.description, v),
    )
    .get_set(
        "status",
        "String",
        "Status key from `[case] statuses`.",
        |c| c.status.clone(),
        |c, v| {
            c.status = case_key(
                "status",
                |cfg| cfg.statuses.iter().map(|s| s.key.as_str()).collect(),
                v,
            )?;
            Ok(())
        },
    )
    .get_set(
        "severity",
        "String",
        "Severity key from `[case] severities`.",
        |c| c.severity.clone(),
        |c, v| {
            c.severity = case_key(
                "severity",
                |cfg| cfg.severities.iter().map(String::as_str).collect(),
                v,
            )?;
            Ok(())
        },
    )
    .get_set(
        "priority",
        "String",
        "Priority key from `[case] priorities`.",
        |c| c.priority.clone(),
        |c, v| {
            c.priority = case_key(
                "priority",
                |cfg| cfg.priorities.iter().map(String::as_str).collect(),
                v,
            )?;
            Ok(())
        },
    )
    .get_set(
        "visibility",
        "String",
        "\"public\" or \"private\".",
        |c| c.visibility.as_str().to_owned(),
        |c, v| {
            c.visibility = parsed::<Visibility>(v)?;
            Ok(())
        },
    )
    .get_set(
        "owner",
        "?",
        "The agent who owns the case, or `()`. Only open cases can be assigned.",
        |c| opt_string(&c.owner),
        |c, v| opt_setter(&mut c.owner, v),
    )
    .get_set(
        "group",
        "?",
        "The group the case is assigned to, or `()`.",
        |c| opt_string(&c.group),
        |c, v| opt_setter(&mut c.group, v),
    )
    .get(
        "last_disposition",
        "?",
        "The last disposition code recorded on the case, or `()`.",
        |c| opt_string(&c.last_disposition),
    )
    .get(
        "thread_token",
        "?",
        "The email thread token, or `()` before the first reply.",
        |c| opt_string(&c.thread_token.as_ref().map(|t| t.as_str().to_owned())),
    )
    .get("created_at", "String", "When opened (RFC 3339).", |c| {
        time_to_string(c.created_at)
    })
    .get("updated_at", "String", "When last saved (RFC 3339).", |c| {
        time_to_string(c.updated_at)
    });
    let props = std::mem::take(&mut r.props);
    FuncRegistration::new_getter("is_open")
        .with_params_info(["c: &mut Case", "bool"])
        .with_comments([doc_lines("Whether the case's status counts as open.")])
        .set_into_module(module, |h: &mut Rec<Case>| -> RhaiResult<bool> {
            let status = h.read(|c| c.status.clone());
            Ok(host()?.config().case.is_open(&status))
        });
    FuncRegistration::new("customer")
        .in_global_namespace()
        .with_params_info(["c: &mut Case", "Customer"])
        .with_comments([doc_lines("The case's customer, read-only.")])
        .set_into_module(module, |h: &mut Rec<Case>| -> RhaiResult<Dynamic> {
            let id = h.read(|c| c.customer);
            host_read(|host| host.customer(id)).map(read_only)
        });
    props
}

fn parent_case(number: Option<CaseNumber>) -> RhaiResult<Dynamic> {
    match number {
        Some(n) => host_read(|host| host.case(n)).map(read_only),
        None => Ok(Dynamic::UNIT),
    }
}

fn register_follow_up(module: &mut Module) -> Vec<&'static str> {
    let mut r = Reg::<FollowUp> {
        module,
        props: Vec::new(),
        _t: std::marker::PhantomData,
    };
    r.get("id", "INT", "The follow-up's id.", |f| f.id.0 as INT)
        .get("case_number", "INT", "The number of its case.", |f| {
            f.case.0 as INT
        })
        .get(
            "kind",
            "String",
            "\"note\", \"email_in\", \"email_out\", \"chat_log\" or \"system\".",
            |f| f.kind.as_str().to_owned(),
        )
        .get_set(
            "author",
            "String",
            "Who wrote it (agent login, `customer` or `system`).",
            |f| f.author.clone(),
            |f, v| string_setter(&mut f.author, v),
        )
        .get_set(
            "body",
            "String",
            "Plain-text body.",
            |f| f.body.clone(),
            |f, v| string_setter(&mut f.body, v),
        )
        .get_set(
            "html",
            "?",
            "HTML body, or `()`.",
            |f| opt_string(&f.html),
            |f, v| opt_setter(&mut f.html, v),
        )
        .get(
            "email_subject",
            "?",
            "The subject line, for email follow-ups; `()` otherwise.",
            |f| opt_string(&f.email.as_ref().map(|e| e.subject.clone())),
        )
        .get(
            "email_from",
            "?",
            "The sender's address, for email follow-ups; `()` otherwise.",
            |f| opt_string(&f.email.as_ref().map(|e| e.from.address.clone())),
        )
        .get("created_at", "String", "When saved (RFC 3339).", |f| {
            time_to_string(f.created_at)
        });
    let props = std::mem::take(&mut r.props);
    FuncRegistration::new("parent_case")
        .in_global_namespace()
        .with_params_info(["follow_up: &mut FollowUp", "Case"])
        .with_comments([doc_lines("The follow-up's case, read-only.")])
        .set_into_module(module, |h: &mut Rec<FollowUp>| {
            parent_case(Some(h.read(|f| f.case)))
        });
    props
}

fn register_task(module: &mut Module) -> Vec<&'static str> {
    let mut r = Reg::<Task> {
        module,
        props: Vec::new(),
        _t: std::marker::PhantomData,
    };
    r.get("id", "INT", "The task's id.", |t| t.id.0 as INT)
        .get_set(
            "customer_id",
            "?",
            "The id of the customer concerned, or `()`.",
            |t| match t.customer {
                Some(c) => Dynamic::from(c.0 as INT),
                None => Dynamic::UNIT,
            },
            |t, v| {
                t.customer = to_opt_int(v)?.map(CustomerId);
                Ok(())
            },
        )
        .get_set(
            "case_number",
            "?",
            "The number of the case concerned, or `()`.",
            |t| match t.case {
                Some(c) => Dynamic::from(c.0 as INT),
                None => Dynamic::UNIT,
            },
            |t, v| {
                t.case = to_opt_int(v)?.map(CaseNumber);
                Ok(())
            },
        )
        .get_set(
            "kind",
            "String",
            "\"call\", \"email\", \"meeting\", \"chat\" or \"other\".",
            |t| t.kind.as_str().to_owned(),
            |t, v| {
                t.kind = parsed::<TaskKind>(v)?;
                Ok(())
            },
        )
        .get_set(
            "subject",
            "String",
            "One-line summary.",
            |t| t.subject.clone(),
            |t, v| string_setter(&mut t.subject, v),
        )
        .get_set(
            "due_at",
            "String",
            "When it is scheduled (RFC 3339; a date means midnight UTC).",
            |t| time_to_string(t.due_at),
            |t, v| {
                t.due_at = parse_time(&to_string(v)?)?;
                Ok(())
            },
        )
        .get_set(
            "reminder_minutes",
            "?",
            "Minutes before `due_at` when the reminder fires, or `()` for none.",
            |t| match t.reminder_minutes {
                Some(m) => Dynamic::from(INT::from(m)),
                None => Dynamic::UNIT,
            },
            |t, v| {
                t.reminder_minutes = match to_opt_int(v)? {
                    Some(m) => Some(
                        u32::try_from(m)
                            .map_err(|_| format!("must be between 0 and {}, got {m}", u32::MAX))?,
                    ),
                    None => None,
                };
                Ok(())
            },
        )
        .get_set(
            "status",
            "String",
            "\"planned\", \"done\" or \"cancelled\".",
            |t| t.status.as_str().to_owned(),
            |t, v| {
                t.status = parsed::<TaskStatus>(v)?;
                Ok(())
            },
        )
        .get_set(
            "assignee",
            "?",
            "The agent who should carry it out, or `()`.",
            |t| opt_string(&t.assignee),
            |t, v| opt_setter(&mut t.assignee, v),
        )
        .get(
            "created_at",
            "String",
            "When first saved (RFC 3339).",
            |t| time_to_string(t.created_at),
        )
        .get("updated_at", "String", "When last saved (RFC 3339).", |t| {
            time_to_string(t.updated_at)
        });
    let props = std::mem::take(&mut r.props);
    FuncRegistration::new("parent_case")
        .in_global_namespace()
        .with_params_info(["task: &mut Task", "?"])
        .with_comments([doc_lines("The task's case, read-only, or `()`.")])
        .set_into_module(module, |h: &mut Rec<Task>| parent_case(h.read(|t| t.case)));
    FuncRegistration::new("customer")
        .in_global_namespace()
        .with_params_info(["task: &mut Task", "?"])
        .with_comments([doc_lines("The task's customer, read-only, or `()`.")])
        .set_into_module(module, |h: &mut Rec<Task>| -> RhaiResult<Dynamic> {
            match h.read(|t| t.customer) {
                Some(id) => host_read(|host| host.customer(id)).map(read_only),
                None => Ok(Dynamic::UNIT),
            }
        });
    props
}
