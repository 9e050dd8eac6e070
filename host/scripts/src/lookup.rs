//! Reads scripts make beyond the record in hand: finding customers by phone,
//! email, account or an indexed field, and paging through a case's
//! follow-ups or a customer's cases, reading the FAQ base, agents and
//! groups, and what the config says about mail.
//!
//! Every read goes through the context of the event the hook serves, so it
//! sees the transaction's own uncommitted rows. Options come as an object
//! map whose unknown keys are errors naming the key.

use dossier_sdk::{Case, CaseNumber, CustomerId, CustomerQuery, FollowUpKind, ObjectKind};
use rhai::{Array, Dynamic, FuncRegistration, INT, Map, Module};

use super::api::reg;
use super::convert::type_name;
use super::records::{Rec, RhaiResult, doc_lines, host, host_read, read_only, script_error};
use dossier_core::events::MAX_PER_PAGE;
use dossier_store::Page;

/// Rows per page when a script does not say.
const DEFAULT_PER_PAGE: u32 = 50;

/// Registers the lookup functions into `module`.
pub fn register(module: &mut Module) {
    reg(
        "find_customers",
        &["query: Map", "Array"],
        "Customers matching every key of `query`, lowest id first (at most 100), read-only.\nKeys: `phone` (any common format), `email` (any case), `account`, `name` (a part of it,\nany case), or one indexed custom field by its name (`#{ tier: \"gold\" }`). An unknown\nkey, or a custom field that is not indexed, is an error.",
    )
    .set_into_module(module, |query: Map| -> RhaiResult<Array> {
        let query = customer_query("find_customers", query)?;
        let found = host_read(|ctx| ctx.find_customers(&query))?;
        Ok(found.into_iter().map(read_only).collect())
    });

    reg(
        "find_customer",
        &["query: Map", "?"],
        "The first customer `find_customers(query)` finds, or `()` when none matches: whether\na phone number or an address belongs to a customer.",
    )
    .set_into_module(module, |query: Map| -> RhaiResult<Dynamic> {
        let query = customer_query("find_customer", query)?;
        let found = host_read(|ctx| ctx.find_customers(&query))?;
        Ok(found.into_iter().next().map_or(Dynamic::UNIT, read_only))
    });

    reg(
        "follow_ups",
        &["case_number: INT", "Array"],
        "The case's first 50 follow-ups, newest first, read-only. See `follow_ups(case_number, options)`.",
    )
    .set_into_module(module, |number: INT| {
        follow_ups(CaseNumber(number), Map::new())
    });

    reg(
        "follow_ups",
        &["case_number: INT", "options: Map", "Array"],
        "A page of the case's follow-ups, newest first, read-only. Options: `kind` (a kind,\nor an array of kinds: \"note\", \"email_in\", \"email_out\", \"chat_log\", \"system\"),\n`page` (from 1, default 1), `per_page` (default 50, at most 500).",
    )
    .set_into_module(module, |number: INT, options: Map| {
        follow_ups(CaseNumber(number), options)
    });

    reg(
        "cases_of",
        &["customer_id: INT", "options: Map", "Array"],
        "A page of a customer's cases, newest first, read-only. Options: `open_only` (bool,\ndefault false), `status` (a status key, or an array of keys), `page` (from 1),\n`per_page` (default 50, at most 500).",
    )
    .set_into_module(module, |id: INT, options: Map| {
        cases(CustomerId(id), options)
    });

    reg(
        "faq",
        &["shortcut: &str", "?"],
        "The FAQ entry with this shortcut (with or without its `/`, any case) as a map:\n`shortcut`, `title`, `body`, `link` (`()` when it has none), `created_at`, `updated_at`;\nor `()` when there is none.",
    )
    .set_into_module(module, |shortcut: &str| -> RhaiResult<Dynamic> {
        match host_read(|ctx| ctx.faq(shortcut))? {
            Some(entry) => faq_map(&entry),
            None => Ok(Dynamic::UNIT),
        }
    });

    reg(
        "faq_search",
        &["words: &str", "Array"],
        "The FAQ entries holding every word of `words` in their title or body, best first\n(at most 20), as `faq` returns them. Words are matched as words, never as search syntax.",
    )
    .set_into_module(module, |words: &str| -> RhaiResult<Array> {
        host_read(|ctx| ctx.faq_search(words, 20))?
            .iter()
            .map(faq_map)
            .collect()
    });

    reg(
        "agent",
        &["login: &str", "?"],
        "The agent with this login as a map: `login`, `name`, `email` (their profile's address,\n`()` when they have none), `role` (\"agent\", \"supervisor\" or \"admin\"), `groups` (an array\nof group names) and `disabled`; or `()` when there is no such agent. Read-only.",
    )
    .set_into_module(module, |login: &str| -> RhaiResult<Dynamic> {
        Ok(host_read(|ctx| ctx.agent(login))?.map_or(Dynamic::UNIT, |a| agent_map(&a).into()))
    });

    reg(
        "group",
        &["name: &str", "?"],
        "The group with this name as a map: `name`, `email` (its shared address, `()` when it\nhas none) and `members` (an array of logins, sorted); or `()` when there is no such\ngroup. Read-only.",
    )
    .set_into_module(module, |name: &str| -> RhaiResult<Dynamic> {
        Ok(host_read(|ctx| ctx.group(name))?.map_or(Dynamic::UNIT, |(g, members)| {
            let mut map = Map::new();
            map.insert("name".into(), g.name.into());
            map.insert("email".into(), optional(g.email));
            map.insert(
                "members".into(),
                members.into_iter().map(Dynamic::from).collect::<Array>().into(),
            );
            map.into()
        }))
    });

    reg(
        "mail_settings",
        &["Map"],
        "What dossier.toml says about mail, as a map: `addresses` (our own addresses,\n`[email] addresses`, an array), `default_from` (the first of them, the sender of\nacknowledgements and held-mail notices; `()` when there is none) and `reminder_from`\n(`[reminders] from`, the sender of reminder notices, and the `from` a reminder's\nnotification gets when a hook leaves it out).",
    )
    .set_into_module(module, || -> RhaiResult<Map> {
        let ctx = host()?;
        let config = ctx.config();
        let addresses: Array = config
            .email
            .addresses
            .iter()
            .map(|a| Dynamic::from(a.clone()))
            .collect();
        let mut map = Map::new();
        map.insert(
            "default_from".into(),
            optional(config.email.addresses.first().cloned()),
        );
        map.insert("addresses".into(), addresses.into());
        map.insert(
            "reminder_from".into(),
            config.reminders.from.clone().into(),
        );
        Ok(map)
    });

    FuncRegistration::new("follow_ups")
        .in_global_namespace()
        .with_params_info(["c: &mut Case", "options: Map", "Array"])
        .with_comments([doc_lines(
            "A page of this case's follow-ups, newest first: `follow_ups(c.number, options)`.",
        )])
        .set_into_module(module, |h: &mut Rec<Case>, options: Map| {
            follow_ups(h.read(|c| c.number), options)
        });
    FuncRegistration::new("follow_ups")
        .in_global_namespace()
        .with_params_info(["c: &mut Case", "Array"])
        .with_comments([doc_lines("This case's first 50 follow-ups, newest first.")])
        .set_into_module(module, |h: &mut Rec<Case>| {
            follow_ups(h.read(|c| c.number), Map::new())
        });
    FuncRegistration::new("cases")
        .in_global_namespace()
        .with_params_info(["customer: &mut Customer", "options: Map", "Array"])
        .with_comments([doc_lines(
            "A page of this customer's cases, newest first: `cases_of(customer.id, options)`.",
        )])
        .set_into_module(
            module,
            |h: &mut Rec<dossier_sdk::Customer>, options: Map| cases(h.read(|c| c.id), options),
        );
}

/// A text that may be missing: `()` when it is.
fn optional(text: Option<String>) -> Dynamic {
    text.map_or(Dynamic::UNIT, Into::into)
}

/// An agent as the map `agent(login)` returns.
fn agent_map(a: &dossier_sdk::Agent) -> Map {
    let mut map = Map::new();
    map.insert("login".into(), a.login.clone().into());
    map.insert("name".into(), a.display_name.clone().into());
    map.insert("email".into(), optional(a.email.clone()));
    map.insert("role".into(), a.role.as_str().into());
    map.insert(
        "groups".into(),
        a.groups
            .iter()
            .map(|g| Dynamic::from(g.clone()))
            .collect::<Array>()
            .into(),
    );
    map.insert("disabled".into(), a.disabled.into());
    map
}

/// An FAQ entry as the map scripts get.
fn faq_map(entry: &dossier_sdk::FaqEntry) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(entry).map_err(|e| script_error(format!("faq: {e}")))
}

/// A value a query compares with, as text.
fn text(what: &str, key: &str, v: &Dynamic) -> RhaiResult<String> {
    if v.is_string() || v.is_char() || v.is_int() || v.is_bool() || v.is_decimal() {
        Ok(v.to_string())
    } else {
        Err(script_error(format!(
            "{what}: `{key}` expects a string, got {}",
            type_name(v)
        )))
    }
}

fn customer_query(what: &str, map: Map) -> RhaiResult<CustomerQuery> {
    let mut query = CustomerQuery::default();
    let ctx = host()?;
    for (key, value) in map {
        if value.is_unit() {
            continue;
        }
        let value = text(what, &key, &value)?;
        match key.as_str() {
            "phone" => query.phone = Some(value),
            "email" => query.email = Some(value),
            "account" => query.account = Some(value),
            "name" => query.name = Some(value),
            field => {
                let def = ctx.schema().field(ObjectKind::Customer, field).ok_or_else(|| {
                    let fields = ctx.schema().fields(ObjectKind::Customer);
                    let names = fields.iter().map(|f| f.name.as_str());
                    let hint = super::check::did_you_mean(field, names.chain(["phone", "email", "account", "name"]))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    script_error(format!(
                        "{what}: unknown key `{field}`{hint}; keys: phone, email, account, name, or an indexed customer field"
                    ))
                })?;
                if !def.indexed {
                    return Err(script_error(format!(
                        "{what}: customer field `{field}` is not indexed; set `indexed = true` on it in dossier.toml to look customers up by it"
                    )));
                }
                if query.field.is_some() {
                    return Err(script_error(format!(
                        "{what}: at most one custom field per query"
                    )));
                }
                query.field = Some((field.to_owned(), value));
            }
        }
    }
    if query == CustomerQuery::default() {
        return Err(script_error(format!(
            "{what}: give at least one of phone, email, account, name or an indexed customer field"
        )));
    }
    Ok(query)
}

/// The paging options of a listing, taken out of `options`.
fn page(what: &str, options: &mut Map) -> RhaiResult<Page> {
    let mut number = |key: &str, default: u32, max: u32| -> RhaiResult<u32> {
        match options.remove(key) {
            None => Ok(default),
            Some(v) if v.is_unit() => Ok(default),
            Some(v) => {
                let n = v.as_int().map_err(|_| {
                    script_error(format!(
                        "{what}: `{key}` expects an integer, got {}",
                        type_name(&v)
                    ))
                })?;
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        script_error(format!(
                            "{what}: `{key}` must be between 1 and {max}, got {n}"
                        ))
                    })
            }
        }
    };
    let page = number("page", 1, u32::MAX)?;
    let per_page = number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?;
    Ok(Page::number(page, per_page))
}

/// A string option, or an array of strings, as a list; `None` when absent.
fn strings(what: &str, key: &str, options: &mut Map) -> RhaiResult<Option<Vec<String>>> {
    let Some(v) = options.remove(key).filter(|v| !v.is_unit()) else {
        return Ok(None);
    };
    let items = if v.is_array() {
        v.into_array().unwrap_or_default()
    } else {
        vec![v]
    };
    items
        .into_iter()
        .map(|i| {
            if i.is_string() || i.is_char() {
                Ok(i.to_string())
            } else {
                Err(script_error(format!(
                    "{what}: `{key}` expects a string or an array of strings, got {}",
                    type_name(&i)
                )))
            }
        })
        .collect::<RhaiResult<Vec<_>>>()
        .map(Some)
}

fn no_more(what: &str, options: &Map, keys: &str) -> RhaiResult<()> {
    match options.keys().next() {
        None => Ok(()),
        Some(k) => Err(script_error(format!(
            "{what}: unknown option `{k}` (options: {keys})"
        ))),
    }
}

fn follow_ups(case: CaseNumber, mut options: Map) -> RhaiResult<Array> {
    const WHAT: &str = "follow_ups";
    let page = page(WHAT, &mut options)?;
    let kinds = strings(WHAT, "kind", &mut options)?
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    n.parse::<FollowUpKind>()
                        .map_err(|e| script_error(format!("{WHAT}: {e}")))
                })
                .collect::<RhaiResult<Vec<_>>>()
        })
        .transpose()?;
    no_more(WHAT, &options, "kind, page, per_page")?;
    let ctx = host()?;
    let rows = ctx
        .follow_up_page(case, kinds.as_deref().unwrap_or(&[]), page)
        .map_err(|e| script_error(e.to_string()))?;
    Ok(rows.into_iter().map(read_only).collect())
}

fn cases(customer: CustomerId, mut options: Map) -> RhaiResult<Array> {
    const WHAT: &str = "cases_of";
    let page = page(WHAT, &mut options)?;
    let statuses = strings(WHAT, "status", &mut options)?;
    let open_only = match options.remove("open_only") {
        None => false,
        Some(v) => v.as_bool().map_err(|_| {
            script_error(format!(
                "{WHAT}: `open_only` expects a bool, got {}",
                type_name(&v)
            ))
        })?,
    };
    no_more(WHAT, &options, "open_only, status, page, per_page")?;
    let found = host_read(|ctx| {
        ctx.case_page(
            customer,
            open_only,
            statuses.as_deref().unwrap_or(&[]),
            page,
        )
    })?;
    Ok(found.into_iter().map(read_only).collect())
}
