//! `dossier serve`, started as a user would on a temp store, driven over
//! real HTTP on 127.0.0.1: who gets in, what they see, and writes that
//! never meet SQLite's lock.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use super::util::{command, json as cli_json};

/// A running `dossier serve`, stopped when dropped.
pub(super) struct Served {
    pub(super) child: Child,
    pub(super) base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dossier serve` on a free port in `dir`; returns once it listens.
pub(super) fn serve(dir: &Path) -> Served {
    let mut child = command(dir, &["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("dossier serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let base = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    // Keep draining stderr (the access log) so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Served { child, base }
}

/// A store with an admin `boss` (password in the answer), agents `ann`
/// and `bob` with passwords, and a served API.
pub(super) struct Centre {
    pub(super) dir: tempfile::TempDir,
    pub(super) served: Served,
    pub(super) http: ureq::Agent,
}

pub(super) const PASSWORD: &str = "correct horse battery";

impl Centre {
    pub(super) fn new() -> Centre {
        Centre::with_config("")
    }

    /// [`Centre::new`] with `extra` appended to its dossier.toml before
    /// the server starts.
    pub(super) fn with_config(extra: &str) -> Centre {
        Centre::with_edited_config(|text| format!("{text}{extra}"))
    }

    /// [`Centre::new`] with its dossier.toml rewritten by `edit` before
    /// the server starts.
    pub(super) fn with_edited_config(edit: impl FnOnce(&str) -> String) -> Centre {
        let dir = tempfile::tempdir().expect("dir");
        let init = cli_json(dir.path(), &["init", "--admin", "boss"]);
        let config = dir.path().join("dossier.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        std::fs::write(&config, edit(&text)).expect("config");
        assert!(
            init["password"].as_str().is_some_and(|p| p.len() >= 10),
            "{init}"
        );
        std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).expect("pw");
        for login in ["ann", "bob"] {
            cli_json(dir.path(), &["--as", "boss", "agent", "add", login]);
            cli_json(
                dir.path(),
                &[
                    "--as",
                    "boss",
                    "agent",
                    "password",
                    login,
                    "--password-file",
                    "pw",
                ],
            );
        }
        cli_json(
            dir.path(),
            &[
                "--as",
                "boss",
                "agent",
                "password",
                "boss",
                "--password-file",
                "pw",
            ],
        );
        let served = serve(dir.path());
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Centre { dir, served, http }
    }

    /// A fresh API token for `login`, made by the operator on the CLI.
    pub(super) fn token(&self, login: &str) -> String {
        let t = cli_json(
            self.dir.path(),
            &["--as", "boss", "agent", "token", "new", login],
        );
        t["token"].as_str().expect("token").to_owned()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.base)
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub(super) enum Auth<'a> {
    None,
    Token(&'a str),
    /// A session cookie and the CSRF token sent with it.
    Session(&'a str, &'a str),
}

/// Sends `method path` with `body` (JSON) as `auth`; the status, the
/// headers asked for, and the body as JSON (or a string).
pub(super) fn call(
    c: &Centre,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    body: Option<&Value>,
) -> (u16, Value) {
    let (status, _, body) = call_full(c, method, path, auth, body);
    (status, body)
}

pub(super) fn call_full(
    c: &Centre,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    body: Option<&Value>,
) -> (u16, ureq::http::HeaderMap, Value) {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(c.url(path));
    match auth {
        Auth::None => {}
        Auth::Token(t) => request = request.header("authorization", format!("Bearer {t}")),
        Auth::Session(cookie, csrf) => {
            request = request
                .header("cookie", format!("dossier_session={cookie}"))
                .header("x-csrf-token", csrf);
        }
    }
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(text).expect("request");
    let mut response = c.http.run(request).expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, value)
}

/// Signs `login` in; the session cookie's value and the CSRF token.
pub(super) fn sign_in(c: &Centre, login: &str) -> (String, String) {
    let (status, headers, body) = call_full(
        c,
        "POST",
        "/api/v1/session",
        Auth::None,
        Some(&json!({"login": login, "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let value = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("cookie value");
    (value, body["csrf"].as_str().expect("csrf").to_owned())
}

#[test]
fn another_agents_private_case_is_404_on_every_route_as_if_absent() {
    let c = Centre::new();
    let (ann, bob, boss) = (c.token("ann"), c.token("bob"), c.token("boss"));
    let customer = json!({"account": "AC-1", "name": "Ada Lovelace"});
    assert_eq!(
        call(
            &c,
            "POST",
            "/api/v1/customers",
            Auth::Token(&bob),
            Some(&customer)
        )
        .0,
        200
    );
    let (status, case) = call(
        &c,
        "POST",
        "/api/v1/cases",
        Auth::Token(&bob),
        Some(
            &json!({"customer": "AC-1", "subject": "Salary dispute", "visibility": "private", "owner": "bob"}),
        ),
    );
    assert_eq!(status, 200, "{case}");
    let n = case["number"].as_i64().expect("number");
    let (status, note) = call(
        &c,
        "POST",
        &format!("/api/v1/cases/{n}/follow-ups"),
        Auth::Token(&bob),
        Some(&json!({"body": "private notes"})),
    );
    assert_eq!(status, 200, "{note}");
    let note_id = note["id"].as_i64().expect("id");

    let absent = n + 1000;
    let (_, missing) = call(
        &c,
        "GET",
        &format!("/api/v1/cases/{absent}"),
        Auth::Token(&ann),
        None,
    );
    for (method, path, body) in [
        ("GET", format!("/api/v1/cases/{n}"), None),
        (
            "PATCH",
            format!("/api/v1/cases/{n}"),
            Some(json!({"subject": "mine now"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{n}/assign"),
            Some(json!({"owner": "ann"})),
        ),
        ("POST", format!("/api/v1/cases/{n}/close"), None),
        ("GET", format!("/api/v1/cases/{n}/follow-ups"), None),
        (
            "POST",
            format!("/api/v1/cases/{n}/follow-ups"),
            Some(json!({"body": "peek"})),
        ),
        ("GET", format!("/api/v1/follow-ups/{note_id}"), None),
    ] {
        let (status, problem) = call(&c, method, &path, Auth::Token(&ann), body.as_ref());
        assert_eq!(status, 404, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "not_found", "{method} {path}: {problem}");
        if method == "GET" && path == format!("/api/v1/cases/{n}") {
            let same = missing["detail"]
                .as_str()
                .map(|d| d.replace(&absent.to_string(), &n.to_string()));
            assert_eq!(
                problem["detail"].as_str(),
                same.as_deref(),
                "hidden reads as absent"
            );
        }
    }
    let (_, list) = call(&c, "GET", "/api/v1/cases", Auth::Token(&ann), None);
    assert_eq!(list["items"], json!([]), "ann's list leaves it out: {list}");
    let (_, pop) = call(
        &c,
        "POST",
        "/api/v1/pops",
        Auth::Token(&ann),
        Some(&json!({"channel": "phone", "account": "AC-1"})),
    );
    assert_eq!(
        pop["open_cases"],
        json!([]),
        "ann's pop leaves it out: {pop}"
    );

    // Its owner and the admin see it; the case is untouched.
    for token in [&bob, &boss] {
        let (status, seen) = call(
            &c,
            "GET",
            &format!("/api/v1/cases/{n}"),
            Auth::Token(token),
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(seen["subject"], "Salary dispute");
        assert_eq!(seen["owner"], "bob");
    }
}

#[test]
fn revoked_tokens_and_disabled_agents_are_refused_at_their_next_request() {
    let c = Centre::new();
    let ann = c.token("ann");
    let (status, me) = call(&c, "GET", "/api/v1/me", Auth::Token(&ann), None);
    assert_eq!((status, me["login"].as_str()), (200, Some("ann")));
    assert_eq!(
        call(
            &c,
            "GET",
            "/api/v1/me",
            Auth::Token("dsr_not-a-token"),
            None
        )
        .0,
        401
    );
    assert_eq!(call(&c, "GET", "/api/v1/me", Auth::None, None).0, 401);

    // Ann revokes her own token over the API: it stops at once.
    let (_, tokens) = call(
        &c,
        "GET",
        "/api/v1/agents/ann/tokens",
        Auth::Token(&ann),
        None,
    );
    let id = tokens["items"][0]["id"].as_i64().expect("id");
    assert_eq!(
        call(
            &c,
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Auth::Token(&ann),
            None
        )
        .0,
        200
    );
    let (status, problem) = call(&c, "GET", "/api/v1/me", Auth::Token(&ann), None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("unauthenticated"))
    );

    // An agent cannot mint for someone else; an admin can.
    let bob = c.token("bob");
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/agents/ann/tokens",
        Auth::Token(&bob),
        Some(&json!({})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );

    // A disabled agent's token and session both stop at the next request.
    let token = c.token("ann");
    let (cookie, csrf) = sign_in(&c, "ann");
    assert_eq!(
        call(&c, "GET", "/api/v1/me", Auth::Session(&cookie, &csrf), None).0,
        200
    );
    let boss = c.token("boss");
    let (status, body) = call(
        &c,
        "PATCH",
        "/api/v1/agents/ann",
        Auth::Token(&boss),
        Some(&json!({"disabled": true})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        call(&c, "GET", "/api/v1/me", Auth::Token(&token), None).0,
        401
    );
    assert_eq!(
        call(&c, "GET", "/api/v1/me", Auth::Session(&cookie, &csrf), None).0,
        401
    );
    let (status, _) = call(
        &c,
        "POST",
        "/api/v1/session",
        Auth::None,
        Some(&json!({"login": "ann", "password": PASSWORD})),
    );
    assert_eq!(status, 401, "a disabled agent cannot sign in");
}

#[test]
fn a_browser_session_needs_its_csrf_token_on_every_write() {
    let c = Centre::new();
    let (cookie, csrf) = sign_in(&c, "ann");
    let customer = json!({"account": "AC-7", "name": "Grace Hopper"});
    // Reads need no CSRF token.
    assert_eq!(
        call(&c, "GET", "/api/v1/me", Auth::Session(&cookie, ""), None).0,
        200
    );
    for wrong in ["", "0000", &csrf[..csrf.len() - 1]] {
        let (status, problem) = call(
            &c,
            "POST",
            "/api/v1/customers",
            Auth::Session(&cookie, wrong),
            Some(&customer),
        );
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("csrf")),
            "{problem}"
        );
    }
    let (_, list) = call(
        &c,
        "GET",
        "/api/v1/customers",
        Auth::Session(&cookie, ""),
        None,
    );
    assert_eq!(list["items"], json!([]), "no refused write went through");
    let (status, made) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Session(&cookie, &csrf),
        Some(&customer),
    );
    assert_eq!(status, 200, "{made}");
    // Signing out ends the session.
    assert_eq!(
        call(
            &c,
            "DELETE",
            "/api/v1/session",
            Auth::Session(&cookie, &csrf),
            None
        )
        .0,
        204
    );
    assert_eq!(
        call(&c, "GET", "/api/v1/me", Auth::Session(&cookie, &csrf), None).0,
        401
    );
}

#[test]
fn failed_sign_ins_are_rate_limited_per_login() {
    let c = Centre::new();
    let wrong = json!({"login": "bob", "password": "not the password"});
    for _ in 0..5 {
        let (status, problem) = call(&c, "POST", "/api/v1/session", Auth::None, Some(&wrong));
        assert_eq!(
            (status, problem["code"].as_str()),
            (401, Some("bad_credentials"))
        );
    }
    let right = json!({"login": "bob", "password": PASSWORD});
    let (status, headers, problem) =
        call_full(&c, "POST", "/api/v1/session", Auth::None, Some(&right));
    assert_eq!(
        (status, problem["code"].as_str()),
        (429, Some("rate_limited")),
        "{problem}"
    );
    let wait: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&wait), "{wait}");
    // Another agent from the same address is not locked out by bob's.
    assert_eq!(
        call(
            &c,
            "POST",
            "/api/v1/session",
            Auth::None,
            Some(&json!({"login": "ann", "password": PASSWORD}))
        )
        .0,
        200
    );
}

#[test]
fn concurrent_writes_all_succeed_behind_one_writer() {
    let c = Centre::new();
    let tokens: Vec<String> = ["ann", "bob", "boss", "ann"]
        .iter()
        .map(|l| c.token(l))
        .collect();
    const EACH: usize = 25;
    std::thread::scope(|s| {
        for (t, token) in tokens.iter().enumerate() {
            let c = &c;
            s.spawn(move || {
                for i in 0..EACH {
                    let body =
                        json!({"account": format!("T{t}-{i}"), "name": format!("Writer {t} #{i}")});
                    let (status, answer) = call(
                        c,
                        "POST",
                        "/api/v1/customers",
                        Auth::Token(token),
                        Some(&body),
                    );
                    assert_eq!(status, 200, "write {t}/{i}: {answer}");
                }
            });
        }
        // Meanwhile the operator writes from the CLI, a second process.
        let dir = c.dir.path();
        s.spawn(move || {
            for i in 0..10 {
                let out = command(
                    dir,
                    &[
                        "--as",
                        "boss",
                        "customer",
                        "add",
                        "--account",
                        &format!("CLI-{i}"),
                        "--name",
                        "Operator",
                    ],
                )
                .output()
                .expect("cli");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        });
    });
    let token = c.token("boss");
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/api/v1/customers?limit=40&cursor={cur}"),
            None => "/api/v1/customers?limit=40".to_owned(),
        };
        let (status, page) = call(&c, "GET", &path, Auth::Token(&token), None);
        assert_eq!(status, 200, "{page}");
        seen += page["items"].as_array().expect("items").len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        tokens.len() * EACH + 10,
        "every write is there, page by page"
    );
}

#[test]
fn bad_requests_are_problem_details_naming_what_is_wrong() {
    let c = Centre::new();
    let token = c.token("ann");
    let (status, headers, problem) = call_full(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&token),
        Some(&json!({"account": "AC-1", "name": "X", "nmae": "typo"})),
    );
    assert_eq!(status, 400);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(
        (problem["code"].as_str(), problem["field"].as_str()),
        (Some("bad_request"), Some("nmae"))
    );
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&token),
        Some(&json!({"account": "", "name": "X"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("validation")),
        "{problem}"
    );
    assert!(problem["field"].is_string(), "{problem}");
    let (status, problem) = call(
        &c,
        "GET",
        "/api/v1/customers?limit=5000",
        Auth::Token(&token),
        None,
    );
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("limit")),
        "{problem}"
    );
    // A body over the limit is refused from its Content-Length, before
    // it is read (so this client sends only the headers).
    let answer = raw_exchange(
        &c,
        &format!(
            "POST /api/v1/customers HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            2 * 1024 * 1024
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    let (status, problem) = call(&c, "GET", "/api/v1/nowhere", Auth::Token(&token), None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("no_route")),
        "{problem}"
    );
}

/// Writes `request` on a new connection and reads the answer until the
/// server closes it or a second passes.
fn raw_exchange(c: &Centre, request: &str) -> String {
    use std::io::{Read, Write};
    let addr = c.served.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&answer).contains("}") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn operations_endpoints_answer_without_a_credential() {
    let c = Centre::new();
    assert_eq!(call(&c, "GET", "/health", Auth::None, None).0, 200);
    assert_eq!(call(&c, "GET", "/ready", Auth::None, None).0, 200);
    let token = c.token("ann");
    call(&c, "GET", "/api/v1/me", Auth::Token(&token), None);
    let (status, metrics) = call(&c, "GET", "/metrics", Auth::None, None);
    assert_eq!(status, 200);
    let text = metrics.as_str().expect("text");
    assert!(
        text.contains(
            r#"dossier_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("dossier_writer_queue_depth"), "{text}");
    assert!(
        text.contains("dossier_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[test]
fn dossier_run_refuses_while_a_server_serves_the_store() {
    let c = Centre::new();
    let out = command(c.dir.path(), &["run", "--once"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a server serves") && err.contains("stop it first"),
        "{err}"
    );
    let second = command(c.dir.path(), &["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already serves"), "{err}");
}

/// Every command an agent or admin runs on the CLI, and its route. A new
/// CLI command fails this test until it is given a route here or named
/// operator-only (docs/api.md lists those).
const ROUTES: &[(&str, &str, &str)] = &[
    ("customer add", "post", "/api/v1/customers"),
    ("customer show", "get", "/api/v1/customers/{account}"),
    ("customer list", "get", "/api/v1/customers"),
    ("customer update", "patch", "/api/v1/customers/{account}"),
    ("customer find", "get", "/api/v1/customers"),
    ("case open", "post", "/api/v1/cases"),
    ("case show", "get", "/api/v1/cases/{number}"),
    ("case list", "get", "/api/v1/cases"),
    ("case update", "patch", "/api/v1/cases/{number}"),
    ("case assign", "post", "/api/v1/cases/{number}/assign"),
    ("case close", "post", "/api/v1/cases/{number}/close"),
    ("followup add", "post", "/api/v1/cases/{number}/follow-ups"),
    ("followup list", "get", "/api/v1/cases/{number}/follow-ups"),
    ("followup show", "get", "/api/v1/follow-ups/{id}"),
    ("task add", "post", "/api/v1/tasks"),
    ("task list", "get", "/api/v1/tasks"),
    ("task done", "post", "/api/v1/tasks/{id}/finish"),
    ("task update", "patch", "/api/v1/tasks/{id}"),
    ("task cancel", "post", "/api/v1/tasks/{id}/finish"),
    ("pop", "post", "/api/v1/pops"),
    ("dispose", "post", "/api/v1/dispositions"),
    ("agent add", "post", "/api/v1/agents"),
    ("agent list", "get", "/api/v1/agents"),
    ("agent show", "get", "/api/v1/agents/{login}"),
    ("agent update", "patch", "/api/v1/agents/{login}"),
    ("agent profile", "patch", "/api/v1/agents/{login}"),
    ("agent disable", "patch", "/api/v1/agents/{login}"),
    ("agent enable", "patch", "/api/v1/agents/{login}"),
    ("agent password", "put", "/api/v1/agents/{login}/password"),
    ("agent token new", "post", "/api/v1/agents/{login}/tokens"),
    ("agent token list", "get", "/api/v1/agents/{login}/tokens"),
    ("agent token revoke", "delete", "/api/v1/tokens/{id}"),
    ("group add", "post", "/api/v1/groups"),
    ("group list", "get", "/api/v1/groups"),
    ("group members", "get", "/api/v1/groups/{name}/members"),
    ("search", "get", "/api/v1/search"),
    ("faq add", "post", "/api/v1/faq"),
    ("faq list", "get", "/api/v1/faq"),
    ("faq show", "get", "/api/v1/faq/{shortcut}"),
    ("faq update", "patch", "/api/v1/faq/{shortcut}"),
    ("faq remove", "delete", "/api/v1/faq/{shortcut}"),
    ("faq search", "get", "/api/v1/faq"),
    ("signature add", "post", "/api/v1/signatures"),
    ("signature list", "get", "/api/v1/signatures"),
    ("signature remove", "delete", "/api/v1/signatures/{name}"),
    (
        "signature default",
        "post",
        "/api/v1/signatures/{name}/default",
    ),
    ("notify", "post", "/api/v1/notifications"),
    ("outbox list", "get", "/api/v1/outbox"),
    ("outbox retry", "post", "/api/v1/outbox/retry"),
    ("email draft new", "post", "/api/v1/drafts"),
    ("email draft reply", "post", "/api/v1/emails/{id}/reply"),
    (
        "email draft reply-all",
        "post",
        "/api/v1/emails/{id}/reply-all",
    ),
    ("email draft forward", "post", "/api/v1/emails/{id}/forward"),
    ("email draft edit", "patch", "/api/v1/drafts/{id}"),
    ("email draft show", "get", "/api/v1/drafts/{id}"),
    ("email draft list", "get", "/api/v1/drafts"),
    ("email draft save", "post", "/api/v1/drafts/{id}/save"),
    ("email draft send", "post", "/api/v1/drafts/{id}/send"),
    ("email draft discard", "delete", "/api/v1/drafts/{id}"),
    ("email send", "post", "/api/v1/emails"),
    ("email transfer", "post", "/api/v1/emails/{id}/transfer"),
    ("email consult", "post", "/api/v1/emails/{id}/consult"),
    ("email context", "get", "/api/v1/emails/{id}/context"),
    ("workbin list", "get", "/api/v1/workbin"),
    ("workbin show", "get", "/api/v1/workbin/{id}"),
    ("workbin done", "post", "/api/v1/workbin/{id}/done"),
    ("workbin save", "post", "/api/v1/workbin"),
    ("attachment get", "get", "/api/v1/attachments/{id}"),
    ("review list", "get", "/api/v1/review"),
    ("review show", "get", "/api/v1/review/{id}"),
    ("review approve", "post", "/api/v1/review/{id}/approve"),
    ("review reject", "post", "/api/v1/review/{id}/reject"),
    ("chat state", "put", "/api/v1/agents/{login}/chat-state"),
    ("chat status", "get", "/api/v1/agents/{login}/chat-state"),
    ("chat accept", "post", "/api/v1/chats/{id}/accept"),
    ("chat reject", "post", "/api/v1/chats/{id}/reject"),
    ("chat send", "post", "/api/v1/chats/{id}/messages"),
    ("chat end", "post", "/api/v1/chats/{id}/end"),
    ("chat log", "post", "/api/v1/chats/{id}/log"),
    ("chat list", "get", "/api/v1/chats"),
    ("chat show", "get", "/api/v1/chats/{id}"),
    ("queue list", "get", "/api/v1/queues"),
    ("queue show", "get", "/api/v1/queues/{name}"),
    ("queue add", "put", "/api/v1/queues/{name}"),
    ("queue remove", "delete", "/api/v1/queues/{name}"),
    ("queue join", "put", "/api/v1/queues/{name}/members/{login}"),
    (
        "queue leave",
        "put",
        "/api/v1/queues/{name}/members/{login}",
    ),
    ("email offers", "get", "/api/v1/email-offers"),
    ("email accept", "post", "/api/v1/email-offers/{id}/accept"),
    ("email reject", "post", "/api/v1/email-offers/{id}/reject"),
];

/// Commands that stay the operator's, on the machine holding the store
/// (docs/api.md says why).
const OPERATOR_ONLY: &[&str] = &[
    "init",
    "demo",
    "run",
    "serve",
    "script check",
    "script test",
    "script docs",
    "plugin list",
    "plugin inspect",
    "import customers",
    "import cases",
    "export",
    "backup",
    "restore",
    "gc",
    "completions",
    "man",
    "email ingest",
    "email held list",
    "email held show",
    "email held release",
    "email held discard",
    "chat simulate",
    "chat arrive",
    "task reminders",
];

#[test]
fn every_cli_command_has_a_documented_route_or_is_the_operators() {
    let c = Centre::new();
    let (status, doc) = call(&c, "GET", "/api/v1/openapi.json", Auth::None, None);
    assert_eq!(status, 200);
    for (cmd, method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "`dossier {cmd}` maps to {method} {path}, which the OpenAPI document lacks"
        );
    }
    let mut unmapped = Vec::new();
    for cmd in dossier_cli::test_support::command_paths() {
        let places = usize::from(ROUTES.iter().any(|(c, _, _)| *c == cmd))
            + usize::from(OPERATOR_ONLY.contains(&cmd.as_str()));
        if places != 1 {
            unmapped.push(cmd);
        }
    }
    assert!(
        unmapped.is_empty(),
        "commands with no route (or in two lists): {unmapped:?}"
    );
    // Every documented operation needs a credential but the sign-in.
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{}", paths.len());
}

/// ARCHITECTURE.md's invariant: every route under `/api/v1/` but the
/// sign-in and the chat visitor's takes a `Caller`, so none answers
/// without a credential. Driven from the OpenAPI document, so a route
/// added later is checked too.
#[test]
fn every_api_route_but_sign_in_and_the_visitors_needs_a_credential() {
    let c = Centre::new();
    let (status, doc) = call(&c, "GET", "/api/v1/openapi.json", Auth::None, None);
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, operations) in paths {
        if path == "/api/v1/session" || path.starts_with("/api/v1/visitor/") {
            continue;
        }
        let concrete: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().expect("operations").keys() {
            let body = (!matches!(method.as_str(), "get" | "delete")).then(|| json!({}));
            let (status, problem) = call(
                &c,
                &method.to_uppercase(),
                &concrete,
                Auth::None,
                body.as_ref(),
            );
            assert_eq!(
                (status, problem["code"].as_str()),
                (401, Some("unauthenticated")),
                "{method} {path} answered without a credential: {problem}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} routes checked");
}

/// A `before_save_customer` hook that builds a chain of closures until
/// its 1,000,000 operations run out, on the server: the chain is freed on
/// the writer thread (made with the hook stack), the request gets a
/// problem naming the limit, and the server goes on serving writes.
#[test]
fn a_hook_building_closures_to_its_ceiling_fails_one_request_not_the_server() {
    let scripts = tempfile::tempdir().expect("scripts dir");
    std::fs::write(
        scripts.path().join("chain.rhai"),
        "fn before_save_customer(c) {\n    if c.name == \"chain\" {\n        let f = || 0;\n        loop { let g = f; f = || g.call() + 1; }\n    }\n}\n",
    )
    .expect("script");
    let folder = scripts.path().display().to_string();
    let c = Centre::with_edited_config(|text| {
        let text = text.replacen("dir = \"scripts\"", &format!("dir = {folder:?}"), 1);
        format!("{text}\n[scripts.limits]\nmax_operations = 1000000\ntimeout_ms = 600000\n")
    });
    let token = c.token("ann");
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&token),
        Some(&json!({"account": "AC-1", "name": "chain"})),
    );
    assert_eq!((status, problem["code"].as_str()), (500, Some("script")));
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("more than 1000000 operations")),
        "{problem}"
    );
    let (status, answer) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&token),
        Some(&json!({"account": "AC-2", "name": "Ada"})),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, found) = call(&c, "GET", "/api/v1/customers", Auth::Token(&token), None);
    assert_eq!(status, 200, "{found}");
    let accounts: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["account"].as_str())
        .collect();
    assert_eq!(accounts, ["AC-2"]);
}
