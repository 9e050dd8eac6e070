//! Screen-pop: which record to show an agent when an interaction arrives.
//!
//! Built-in resolution, most specific first: a case number the customer gave,
//! an account number, the customer's phone number, their email address. The
//! first identifier that finds something decides; one that finds nothing (a
//! mistyped case number, an unknown phone) is mentioned in the reason and the
//! next one is tried. Nothing found: a new-customer form, prefilled. Then the
//! `screen_pop` event lets scripts and plugins change the outcome.

use std::collections::BTreeMap;

use std::sync::Arc;

use dossier_sdk::{
    CaseNumber, CustomerId, Direction, Event, EventKind, Interaction, ObjectKind, PopTarget,
    ScreenPop,
};

use dossier_core::events::{Actor, Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_store::{Tx, Viewer};
use dossier_types::contact::{normalize_email, normalize_phone};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// How many open cases a pop lists.
const MAX_OPEN_CASES: u32 = 20;
/// How many candidates a pop offers when several customers match.
const MAX_CANDIDATES: usize = 20;

/// The `screen_pop` step: resolve on a reader; when hooks want the event,
/// they run inside a write transaction (so a veto rolls back what they
/// wrote) and the host checks what they chose.
struct Pop {
    interaction: Option<Interaction>,
    /// Whose pop it is: which private cases it may name.
    viewer: Option<Viewer>,
    /// The caller shows the whole pop. Without that (email ingest needs
    /// only the target), the open cases and the customer's name in the
    /// reason are read only when a handler may see the pop.
    whole: bool,
}

impl Step for Pop {
    type Out = ScreenPop;

    fn kind(&self) -> EventKind {
        EventKind::ScreenPop
    }

    fn label(&self) -> &str {
        "screen-pop"
    }

    fn writes(&self) -> bool {
        false
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, ctx: &Ctx) -> Result<Option<Event>> {
        let interaction = self
            .interaction
            .take()
            .ok_or_else(|| Error::Refused("internal error: a pop was resolved twice".into()))?;
        let region = &rt.config().phone.default_region;
        // Handlers that decide by kind are asked with an empty pop.
        let whole = self.whole
            || rt.pipeline().may_handle(&Event::ScreenPop(ScreenPop {
                interaction: Interaction::new(interaction.channel),
                target: PopTarget::Candidates {
                    customers: Vec::new(),
                },
                reason: String::new(),
                open_cases: Vec::new(),
            }));
        // A call that carries only a phone number (what a CTI connector
        // sends) is resolved in one statement, which needs no snapshot
        // around it; anything else reads several and gets one.
        let phone_only = interaction.case_number.is_none()
            && non_empty(&interaction.account).is_none()
            && non_empty(&interaction.email).is_none();
        let read = |tx: &dyn Tx, schema: &Schema| {
            let mut sight = Sight { ctx, viewer: None };
            let pop = resolve(tx, schema, region, &mut sight, interaction, whole)?;
            // Every pop checks its agent, even one that read nothing.
            let viewer = sight.viewer(tx)?.clone();
            Ok((pop, viewer))
        };
        let (pop, viewer) = if phone_only {
            rt.read_each(read)?
        } else {
            rt.read(read)?
        };
        self.viewer = Some(viewer);
        Ok(Some(Event::ScreenPop(pop)))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        _ctx: &Ctx,
        built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let (Event::ScreenPop(pop), Event::ScreenPop(built)) = (event, built) else {
            return Err(Error::Refused(
                "a screen_pop hook replaced the event".into(),
            ));
        };
        let viewer = self.viewer.as_ref().unwrap_or(&Viewer::All);
        rt.read(|tx, _| {
            check_target(tx, viewer, &mut pop.target)?;
            if !same_choice(&pop.target, &built.target) && pop.reason == built.reason {
                pop.reason = format!(
                    "a screen_pop hook chose {} (built in: {})",
                    describe(tx, &pop.target)?,
                    built.reason
                );
            }
            pop.open_cases = open_cases_of(tx, viewer, &pop.target)?;
            Ok(())
        })
    }

    fn finish(self, _rt: &Arc<Runtime>, _ctx: &Ctx, event: Option<Event>) -> Result<ScreenPop> {
        match event {
            Some(Event::ScreenPop(pop)) => Ok(pop),
            _ => Err(Error::Refused(
                "internal error: a pop lost its event".into(),
            )),
        }
    }
}

/// Whether two targets show the same choice: the same records, or both
/// the new-customer form (whatever its prefill: filling in the form is not
/// choosing another record, so the built-in reason still holds).
fn same_choice(a: &PopTarget, b: &PopTarget) -> bool {
    match (a, b) {
        (PopTarget::NewCustomer { .. }, PopTarget::NewCustomer { .. }) => true,
        _ => a == b,
    }
}

/// Screen-pops, on the runtime.
pub trait ScreenPops {
    /// Decides what to show the agent for `interaction`: see
    /// `Host::screen_pop`.
    fn screen_pop(self: &Arc<Self>, ctx: &Ctx, interaction: Interaction) -> Result<ScreenPop>;

    /// The same pop for a caller that uses only its target: unless a
    /// handler may see the pop, its open cases are not listed and its
    /// reason names a customer by id, not by name and account.
    fn screen_pop_target(
        self: &Arc<Self>,
        ctx: &Ctx,
        interaction: Interaction,
    ) -> Result<ScreenPop>;
}

impl ScreenPops for Runtime {
    fn screen_pop(self: &Arc<Self>, ctx: &Ctx, interaction: Interaction) -> Result<ScreenPop> {
        self.run(
            ctx,
            Pop {
                interaction: Some(interaction),
                viewer: None,
                whole: true,
            },
        )
    }

    fn screen_pop_target(
        self: &Arc<Self>,
        ctx: &Ctx,
        interaction: Interaction,
    ) -> Result<ScreenPop> {
        self.run(
            ctx,
            Pop {
                interaction: Some(interaction),
                viewer: None,
                whole: false,
            },
        )
    }
}

/// Whose eyes a pop is for, found out by the first read that needs it: the
/// pop by phone reads the agent in its own statement.
struct Sight<'c> {
    ctx: &'c Ctx,
    viewer: Option<Viewer>,
}

impl Sight<'_> {
    /// The viewer, reading the acting agent if no read did yet.
    fn viewer(&mut self, tx: &dyn Tx) -> Result<&Viewer> {
        if self.viewer.is_none() {
            self.viewer = Some(dossier_core::runtime::viewer_in(tx, self.ctx)?);
        }
        self.viewer
            .as_ref()
            .ok_or_else(|| Error::Refused("internal error: a pop lost its viewer".into()))
    }

    /// The viewer for a statement that checks the agent itself.
    fn unchecked(&self) -> Viewer {
        match (&self.viewer, self.ctx.actor()) {
            (Some(viewer), _) => viewer.clone(),
            (None, Actor::System) => Viewer::All,
            (None, Actor::Agent(login)) => Viewer::Agent(login.clone()),
        }
    }
}

/// The built-in resolution. Not `whole`, it lists no open cases and names
/// a customer it found by id only.
fn resolve(
    tx: &dyn Tx,
    schema: &Schema,
    region: &str,
    sight: &mut Sight<'_>,
    interaction: Interaction,
    whole: bool,
) -> Result<ScreenPop> {
    let name_of = |tx: &dyn Tx, id: CustomerId| {
        if whole {
            name_of(tx, id)
        } else {
            Ok(format!("customer #{id}"))
        }
    };
    let mut misses: Vec<String> = Vec::new();
    let mut found = None;

    if let Some(number) = interaction.case_number {
        match tx.case_owner(number, sight.viewer(tx)?)? {
            Some((customer, is_open)) => {
                let state = if is_open { "" } else { " (closed)" };
                found = Some((
                    PopTarget::Case {
                        case_number: number,
                        customer,
                    },
                    format!("the customer gave case number {number}{state}"),
                ));
            }
            None => misses.push(format!("case {number} does not exist")),
        }
    }

    if found.is_none()
        && let Some(account) = non_empty(&interaction.account)
    {
        match tx.customer_id_by_account(account)? {
            Some(customer) => {
                found = Some((
                    PopTarget::Customer { customer },
                    format!(
                        "the customer gave account number {account}: {}",
                        name_of(tx, customer)?
                    ),
                ));
            }
            None => misses.push(format!("no customer has account number {account}")),
        }
    }

    // The customer's number: the caller on inbound calls, the number we
    // dialled on outbound ones.
    let (phone_role, raw_phone) = match interaction.direction {
        Direction::Inbound => ("caller number", non_empty(&interaction.caller)),
        Direction::Outbound => ("dialled number", non_empty(&interaction.dialled)),
    };
    let mut phone = None;
    let mut email = None;
    // What the phone lookup read besides the ids: the only customer's
    // account, name and open cases, so a pop by phone is one statement.
    let mut by_phone_only = None;
    if found.is_none() {
        let mut by_phone = Vec::new();
        let mut lookup = |number: &str| -> Result<Vec<CustomerId>> {
            let found = tx.pop_by_phone(number, MAX_OPEN_CASES, &sight.unchecked())?;
            let Some(viewer) = found.viewer else {
                return Err(unknown_agent(sight.ctx));
            };
            sight.viewer = Some(viewer);
            by_phone_only = found
                .only
                .and_then(|only| found.customers.first().map(|&id| (id, only)));
            Ok(found.customers)
        };
        if let Some(raw) = raw_phone {
            // Stored numbers are E.164, so a number already in that form that
            // matches needs no parsing, which is most of a pop's cost.
            if looks_e164(raw) {
                by_phone = lookup(raw)?;
            }
            if !by_phone.is_empty() {
                phone = Some(raw.to_owned());
            } else {
                match normalize_phone(raw, region) {
                    Ok(number) => {
                        if number != raw {
                            by_phone = lookup(&number)?;
                        }
                        phone = Some(number);
                    }
                    Err(_) => misses.push(format!("{phone_role} `{raw}` is not a phone number")),
                }
            }
        }
        let mut by_email = Vec::new();
        if let Some(raw) = non_empty(&interaction.email) {
            match normalize_email(raw) {
                Ok(address) => {
                    by_email = tx.customer_ids_by_email(&address)?;
                    email = Some(address);
                }
                Err(_) => misses.push(format!("`{raw}` is not an email address")),
            }
        }
        let (mut ids, source) = match (&phone, &email) {
            (Some(p), Some(e)) if !by_phone.is_empty() && !by_email.is_empty() => {
                // Both identify someone: prefer customers matching both.
                let both: Vec<CustomerId> = by_phone
                    .iter()
                    .copied()
                    .filter(|id| by_email.contains(id))
                    .collect();
                if both.is_empty() {
                    (by_phone, Source::One(phone_role, p))
                } else {
                    (both, Source::Both(phone_role, p, e))
                }
            }
            (Some(p), _) if !by_phone.is_empty() => (by_phone, Source::One(phone_role, p)),
            (_, Some(e)) if !by_email.is_empty() => (by_email, Source::One("email", e)),
            _ => {
                if let Some(p) = &phone {
                    misses.push(format!("no customer has {phone_role} {p}"));
                }
                if let Some(e) = &email {
                    misses.push(format!("no customer has email {e}"));
                }
                (Vec::new(), Source::One("", ""))
            }
        };
        match ids.len() {
            0 => {}
            1 => {
                let customer = ids[0];
                // One `format!` for the whole reason: a pop by phone is a
                // few microseconds, and each costs a few percent of it.
                let reason = match &by_phone_only {
                    Some((id, (account, name, _))) if *id == customer => {
                        format!("{source} matches {name} ({account})")
                    }
                    _ => format!("{source} matches {}", name_of(tx, customer)?),
                };
                found = Some((PopTarget::Customer { customer }, reason));
            }
            total => {
                rank_candidates(tx, &mut ids)?;
                ids.truncate(MAX_CANDIDATES);
                let shown = if total > ids.len() {
                    format!(", the {} likeliest shown", ids.len())
                } else {
                    String::new()
                };
                found = Some((
                    PopTarget::Candidates { customers: ids },
                    format!("{source} matches {total} customers{shown}: choose one"),
                ));
            }
        }
    }

    let (target, reason) = match found {
        Some((target, reason)) => (target, with_misses(reason, &misses)),
        None => {
            let reason = if misses.is_empty() {
                "the interaction carries no case, account, phone or email to look up: new customer"
                    .to_owned()
            } else {
                format!("{}: new customer", misses.join("; "))
            };
            (
                PopTarget::NewCustomer {
                    prefill: prefill(&interaction, schema, phone, email),
                },
                reason,
            )
        }
    };
    let open_cases = match (&target, by_phone_only) {
        _ if !whole => Vec::new(),
        (PopTarget::Customer { customer }, Some((id, (_, _, open)))) if *customer == id => open,
        _ => open_cases_of(tx, sight.viewer(tx)?, &target)?,
    };
    Ok(ScreenPop {
        interaction,
        target,
        reason,
        open_cases,
    })
}

/// What identified the customers of a pop, as its reason words it:
/// `caller number +33…`, `email a@b.example`, or both.
enum Source<'a> {
    One(&'a str, &'a str),
    Both(&'a str, &'a str, &'a str),
}

impl std::fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::One(what, value) => write!(f, "{what} {value}"),
            Source::Both(role, phone, email) => {
                write!(f, "{role} {phone} together with email {email}")
            }
        }
    }
}

/// The refusal of an agent the store does not know or has disabled.
fn unknown_agent(ctx: &Ctx) -> Error {
    Error::UnknownAgent {
        login: match ctx.actor() {
            Actor::Agent(login) => login.clone(),
            Actor::System => "system".to_owned(),
        },
    }
}

/// `+` and 7 to 15 digits, the first not zero: the form the store keeps.
fn looks_e164(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or_default().as_bytes();
    (7..=15).contains(&digits.len()) && digits[0] != b'0' && digits.iter().all(u8::is_ascii_digit)
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn with_misses(reason: String, misses: &[String]) -> String {
    if misses.is_empty() {
        reason
    } else {
        format!("{reason}; {}", misses.join("; "))
    }
}

/// `Grace Hopper (AC-000002)` (the same words as the pop by phone's).
fn name_of(tx: &dyn Tx, id: CustomerId) -> Result<String> {
    Ok(match tx.customer_brief(id)? {
        Some((account, name)) => format!("{name} ({account})"),
        None => format!("customer #{id}"),
    })
}

/// Likeliest first: see [`store::candidate_rank`]; ties keep the lowest id first.
fn rank_candidates(tx: &dyn Tx, ids: &mut [CustomerId]) -> Result<()> {
    let mut ranked = ids
        .iter()
        .map(|&id| Ok((tx.candidate_rank(id)?, id)))
        .collect::<Result<Vec<_>>>()?;
    ranked.sort_by(|(a, a_id), (b, b_id)| b.cmp(a).then(a_id.cmp(b_id)));
    for (slot, (_, id)) in ids.iter_mut().zip(ranked) {
        *slot = id;
    }
    Ok(())
}

/// Keys of the new-customer form besides custom field names.
const FORM_KEYS: &[&str] = &[
    "name",
    "account",
    "phone",
    "email",
    "line1",
    "line2",
    "postal_code",
    "city",
    "region",
    "country",
];

/// The new-customer form: what the interaction told us (the phone and email
/// only when they are valid), plus context data whose keys are customer
/// fields (`name`, an address part, or a custom field's name).
fn prefill(
    interaction: &Interaction,
    schema: &Schema,
    phone: Option<String>,
    email: Option<String>,
) -> BTreeMap<String, String> {
    let mut form = BTreeMap::new();
    for (key, value) in &interaction.context {
        if FORM_KEYS.contains(&key.as_str()) || schema.field(ObjectKind::Customer, key).is_some() {
            form.insert(key.clone(), value.clone());
        }
    }
    if let Some(p) = phone {
        form.insert("phone".to_owned(), p);
    }
    if let Some(e) = email {
        form.insert("email".to_owned(), e);
    }
    if let Some(a) = non_empty(&interaction.account) {
        form.insert("account".to_owned(), a.to_owned());
    }
    form
}

fn open_cases_of(tx: &dyn Tx, viewer: &Viewer, target: &PopTarget) -> Result<Vec<CaseNumber>> {
    match target {
        PopTarget::Case { customer, .. } | PopTarget::Customer { customer } => {
            tx.open_case_numbers(*customer, MAX_OPEN_CASES, viewer)
        }
        PopTarget::Candidates { .. } | PopTarget::NewCustomer { .. } => Ok(Vec::new()),
    }
}

/// Checks a target hooks may have written: every record exists; a case
/// pop's customer is the case's own (corrected if a hook got it wrong);
/// candidates are unique.
fn check_target(tx: &dyn Tx, viewer: &Viewer, target: &mut PopTarget) -> Result<()> {
    let missing = |object: ObjectKind, id: i64| {
        Error::Refused(format!(
            "a screen_pop hook chose {object} {}{id}, which does not exist",
            if object == ObjectKind::Case { "" } else { "#" }
        ))
    };
    match target {
        PopTarget::Case {
            case_number: case,
            customer,
        } => {
            let (owner, _) = tx
                .case_owner(*case, viewer)?
                .ok_or_else(|| missing(ObjectKind::Case, case.0))?;
            *customer = owner;
        }
        PopTarget::Customer { customer } => {
            tx.customer_brief(*customer)?
                .ok_or_else(|| missing(ObjectKind::Customer, customer.0))?;
        }
        PopTarget::Candidates { customers } => {
            let mut seen = std::collections::BTreeSet::new();
            customers.retain(|id| seen.insert(*id));
            for id in customers.iter() {
                tx.customer_brief(*id)?
                    .ok_or_else(|| missing(ObjectKind::Customer, id.0))?;
            }
            if customers.is_empty() {
                return Err(Error::Refused(
                    "a screen_pop hook left an empty candidate list; pop a new-customer form instead"
                        .into(),
                ));
            }
        }
        PopTarget::NewCustomer { .. } => {}
    }
    Ok(())
}

/// The target in words, for a reason a hook did not write.
fn describe(tx: &dyn Tx, target: &PopTarget) -> Result<String> {
    Ok(match target {
        PopTarget::Case {
            case_number: case,
            customer,
        } => {
            format!("case {case} of {}", name_of(tx, *customer)?)
        }
        PopTarget::Customer { customer } => name_of(tx, *customer)?,
        PopTarget::Candidates { customers } => format!("{} candidates", customers.len()),
        PopTarget::NewCustomer { .. } => "a new-customer form".to_owned(),
    })
}
