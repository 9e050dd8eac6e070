//! Static checks of a compiled script, for `dossier script check`: the AST
//! is walked against the engine's own function metadata and the config's
//! custom field schema, so that a typo is reported with its position before
//! any hook runs, not as a failed write later.
//!
//! What is caught: a function nobody defines (`add_tsk`), a property a
//! record type does not have (`c.severty` where `c` is a record hook's
//! parameter), a custom field the schema does not declare
//! (`c.set_custom("tier", ..)` on a case), and a function named almost like
//! a hook (`before_save_cse`). Each comes with a "did you mean" when a known
//! name is close. Only what can be known without running is checked: the
//! type of a hook's parameter and of variables bound to records, literal
//! field names.

use std::collections::{BTreeSet, HashMap};

use dossier_sdk::ObjectKind;
use rhai::{ASTNode, Engine, Expr, Position};

use super::HOOKS;
use dossier_types::schema::Schema;

/// One problem found, at a position of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub pos: Position,
    pub message: String,
    /// For a function named almost like a hook: its name.
    pub misspelt_hook: Option<String>,
}

/// The names a script may use, gathered once per check from the engine.
pub struct Known {
    /// Every function name the engine has (Dossier's and the packages').
    functions: BTreeSet<String>,
    /// Properties per record type name (`Case` → `subject`, ...).
    properties: HashMap<String, BTreeSet<String>>,
}

/// Rhai's built-in functions, which are keywords rather than registered
/// functions, so the metadata does not list them.
const KEYWORD_FUNCTIONS: [&str; 9] = [
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
];

impl Known {
    /// Reads the function and property names from `engine`'s metadata.
    pub fn from_engine(engine: &Engine) -> Known {
        let mut functions: BTreeSet<String> =
            KEYWORD_FUNCTIONS.iter().map(|s| (*s).to_owned()).collect();
        let mut properties: HashMap<String, BTreeSet<String>> = HashMap::new();
        for sig in engine.gen_fn_signatures(true) {
            let Some((name, rest)) = sig.split_once('(') else {
                continue;
            };
            if let Some(prop) = name.strip_prefix("get$") {
                // `get$subject(c: &mut Case) -> String`: the type follows `&mut `.
                let this = rest
                    .split([',', ')'])
                    .next()
                    .and_then(|p| p.rsplit("&mut ").next())
                    .unwrap_or_default()
                    .trim();
                properties
                    .entry(this.to_owned())
                    .or_default()
                    .insert(prop.to_owned());
            } else {
                functions.insert(name.to_owned());
            }
        }
        Known {
            functions,
            properties,
        }
    }
}

/// The record type a record hook's parameter has, by hook name.
fn hook_param_type(hook: &str) -> Option<(ObjectKind, &'static str)> {
    let object = hook
        .strip_prefix("before_save_")
        .or_else(|| hook.strip_prefix("after_save_"))?;
    ObjectKind::ALL
        .into_iter()
        .find(|k| k.as_str() == object)
        .map(|k| (k, type_name(k)))
}

fn type_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Customer => "Customer",
        ObjectKind::Case => "Case",
        ObjectKind::FollowUp => "FollowUp",
        ObjectKind::Task => "Task",
    }
}

/// The closest of `candidates` to `name`, if one is close enough to be a
/// typo of it.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let allowed = (name.chars().count() / 3).clamp(1, 4);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= allowed && *c != name)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn hint(best: Option<&str>) -> String {
    best.map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Checks every function of `ast`; `fn_line` finds a function's line.
pub fn check(
    ast: &rhai::AST,
    known: &Known,
    schema: &Schema,
    fn_line: impl Fn(&str) -> u16,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let defined: BTreeSet<String> = ast.iter_functions().map(|f| f.name.to_owned()).collect();
    let lib = ast.shared_lib();
    for (_, _, name, _, def) in lib.iter_script_fn_info() {
        if !HOOKS.contains(&name)
            && (name.starts_with("before_save_")
                || name.starts_with("after_save_")
                || name.starts_with("on_"))
            && let Some(hook) = did_you_mean(name, HOOKS.iter().copied())
        {
            findings.push(Finding {
                pos: Position::new(fn_line(name), 1),
                message: format!(
                    "`{name}` is not a hook, so it never runs (did you mean `{hook}`?)"
                ),
                misspelt_hook: Some(name.to_owned()),
            });
        }
        // Anonymous functions (closures) are compiled to functions of
        // their own; their parameter is not a record.
        let param = match (hook_param_type(name), def.params.first()) {
            (Some((kind, _)), Some(p)) if HOOKS.contains(&name) => Some((p.to_string(), kind)),
            _ => None,
        };
        // One function at a time, to know whose parameter a variable is
        // (functions are shared, so the copy is cheap).
        let arity = def.params.len();
        let alone = ast.clone_functions_only_filtered(|_, _, _, n, a| n == name && a == arity);
        let types = local_types(&alone, param);
        alone.walk(&mut |nodes: &[ASTNode]| {
            match nodes.last() {
                Some(ASTNode::Expr(expr)) => {
                    check_expr(expr, &types, known, &defined, schema, &mut findings);
                }
                // A call standing alone as a statement is a statement node.
                Some(ASTNode::Stmt(rhai::Stmt::FnCall(call, pos))) => {
                    check_call(call, *pos, known, &defined, &mut findings);
                }
                _ => {}
            }
            true
        });
    }
    findings.sort_by_key(|f| (f.pos.line(), f.pos.position()));
    findings.dedup();
    findings
}

/// The variable name an expression is, if it is a plain variable.
fn variable(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Variable(v, _, _) => Some(v.1.as_str()),
        _ => None,
    }
}

/// The record type of each variable of a function whose type is certain:
/// the hook's parameter, and variables every `let` of which binds a record
/// of one type (`let owner = c.customer();`, `let old = c.previous;`,
/// `let c2 = find_case(n);`) and that are never assigned otherwise. A name
/// that is rebound to something else, or assigned, is left out, so the
/// checks never guess.
fn local_types(
    alone: &rhai::AST,
    param: Option<(String, ObjectKind)>,
) -> HashMap<String, ObjectKind> {
    let mut bindings: Vec<(String, Expr)> = Vec::new();
    let mut assigned: BTreeSet<String> = BTreeSet::new();
    alone.walk(&mut |nodes: &[ASTNode]| {
        match nodes.last() {
            Some(ASTNode::Stmt(rhai::Stmt::Var(var, _, _))) => {
                bindings.push((var.0.name.to_string(), var.1.clone()));
            }
            Some(ASTNode::Stmt(rhai::Stmt::Assignment(a))) => {
                if let Some(name) = variable(&a.1.lhs) {
                    assigned.insert(name.to_owned());
                }
            }
            _ => {}
        }
        true
    });
    let mut types: HashMap<String, ObjectKind> = HashMap::new();
    if let Some((name, kind)) = &param
        && !assigned.contains(name)
        && !bindings.iter().any(|(n, _)| n == name)
    {
        types.insert(name.clone(), *kind);
    }
    // Each round can type a variable bound from one typed in the last.
    for _ in 0..4 {
        let mut next = types.clone();
        let names: BTreeSet<&String> = bindings.iter().map(|(n, _)| n).collect();
        for name in names {
            if assigned.contains(name.as_str()) || param.as_ref().is_some_and(|(p, _)| p == name) {
                continue;
            }
            let mut kinds = bindings
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, e)| record_type_of(e, &types));
            if let Some(Some(first)) = kinds.next()
                && kinds.all(|k| k == Some(first))
            {
                next.insert(name.clone(), first);
            }
        }
        if next == types {
            break;
        }
        types = next;
    }
    types
}

/// The record type `expr` certainly evaluates to (or `()`), if any.
fn record_type_of(expr: &Expr, types: &HashMap<String, ObjectKind>) -> Option<ObjectKind> {
    match expr {
        Expr::FnCall(call, _) if call.op_token.is_none() => match call.name.as_str() {
            "customer" if call.args.len() == 1 => Some(ObjectKind::Customer),
            "find_case" => Some(ObjectKind::Case),
            _ => None,
        },
        Expr::Dot(dot, _, _) => {
            let of = types.get(variable(&dot.lhs)?).copied()?;
            match (&dot.rhs, of) {
                (Expr::Property(p, _), kind) if p.2.as_str() == "previous" => Some(kind),
                (Expr::MethodCall(call, _), ObjectKind::Case | ObjectKind::Task)
                    if call.name.as_str() == "customer" && call.args.is_empty() =>
                {
                    Some(ObjectKind::Customer)
                }
                (Expr::MethodCall(call, _), ObjectKind::FollowUp | ObjectKind::Task)
                    if call.name.as_str() == "parent_case" && call.args.is_empty() =>
                {
                    Some(ObjectKind::Case)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn check_expr(
    expr: &Expr,
    types: &HashMap<String, ObjectKind>,
    known: &Known,
    defined: &BTreeSet<String>,
    schema: &Schema,
    findings: &mut Vec<Finding>,
) {
    match expr {
        Expr::FnCall(call, pos) => check_call(call, *pos, known, defined, findings),
        Expr::Dot(dot, _, _) => {
            let Some(kind) = variable(&dot.lhs).and_then(|v| types.get(v)).copied() else {
                return;
            };
            let ty = type_name(kind);
            // `c.x`, `c.x.y`, `c.x[0]`, `c.m(..)`: the first link of the chain.
            let first = match &dot.rhs {
                Expr::Dot(inner, _, _) | Expr::Index(inner, _, _) => &inner.lhs,
                other => other,
            };
            match first {
                Expr::Property(p, pos) => {
                    let prop = p.2.as_str();
                    let props = known.properties.get(ty);
                    let is_prop = props.is_some_and(|s| s.contains(prop));
                    let is_custom = schema.field(kind, prop).is_some();
                    if !is_prop && !is_custom {
                        let custom: Vec<&str> = schema
                            .fields(kind)
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect();
                        let candidates = props
                            .into_iter()
                            .flatten()
                            .map(String::as_str)
                            .chain(custom.iter().copied());
                        findings.push(Finding {
                            pos: *pos,
                            message: format!(
                                "{ty} has no property or custom field `{prop}`{}",
                                hint(did_you_mean(prop, candidates))
                            ),
                            misspelt_hook: None,
                        });
                    }
                }
                Expr::MethodCall(call, _)
                    if matches!(call.name.as_str(), "custom" | "get_custom" | "set_custom") =>
                {
                    custom_name(call.args.first(), kind, schema, findings);
                }
                // A method of a record: some function must take it.
                Expr::MethodCall(call, pos) => check_call(call, *pos, known, defined, findings),
                _ => {}
            }
        }
        Expr::Index(index, _, _) => {
            if let Some(kind) = variable(&index.lhs).and_then(|v| types.get(v)).copied() {
                custom_name(Some(&index.rhs), kind, schema, findings);
            }
        }
        _ => {}
    }
}

/// Checks that a called function exists.
fn check_call(
    call: &rhai::FnCallExpr,
    pos: Position,
    known: &Known,
    defined: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) {
    let name = call.name.as_str();
    let is_word = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    if call.op_token.is_some() || !is_word {
        return;
    }
    if known.functions.contains(name) || defined.contains(name) {
        return;
    }
    let candidates = known
        .functions
        .iter()
        .chain(defined.iter())
        .map(String::as_str)
        .filter(|n| !n.contains('$'));
    findings.push(Finding {
        pos,
        message: format!(
            "unknown function `{name}`{}",
            hint(did_you_mean(name, candidates))
        ),
        misspelt_hook: None,
    });
}

/// Checks a literal custom field name against the schema.
fn custom_name(arg: Option<&Expr>, kind: ObjectKind, schema: &Schema, findings: &mut Vec<Finding>) {
    let Some(Expr::StringConstant(name, pos)) = arg else {
        return;
    };
    if schema.field(kind, name).is_some() {
        return;
    }
    let fields: Vec<&str> = schema
        .fields(kind)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    findings.push(Finding {
        pos: *pos,
        message: format!(
            "{kind} has no custom field `{name}`{} (custom fields: {})",
            hint(did_you_mean(name, fields.iter().copied())),
            if fields.is_empty() {
                "none".to_owned()
            } else {
                fields.join(", ")
            }
        ),
        misspelt_hook: None,
    });
}
