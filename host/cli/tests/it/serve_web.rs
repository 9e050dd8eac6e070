//! What `dossier serve` hands to browsers, over real HTTP: the desktop's
//! and the widget's pages with their security headers, the assets, the
//! API the pages lean on (`/api/v1/schema`, permissions on `/api/v1/me`,
//! customers by id), and `dossier demo --serve` with its arrivals.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use super::serve::{Auth, Centre, call, sign_in};
use super::serve_events::open_url;
use super::util::command;

/// GET `path` without a credential: status, headers, body text.
fn get(c: &Centre, path: &str) -> (u16, ureq::http::HeaderMap, String) {
    let mut response = c.http.get(c.url(path)).call().expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

fn header<'a>(headers: &'a ureq::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn the_desktop_is_one_page_at_each_of_its_addresses_and_no_site_may_frame_it() {
    let c = Centre::new();
    let (status, headers, home) = get(&c, "/");
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/html"));
    let csp = header(&headers, "content-security-policy");
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} in {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(home.contains(r#"<script type="module" src="/assets/desktop.js">"#));
    for path in [
        "/cases/12",
        "/customers/AC-1",
        "/search",
        "/mine",
        "/follow-ups/3",
    ] {
        let (status, _, page) = get(&c, path);
        assert_eq!((status, page == home), (200, true), "{path}");
    }
    // Anything else is the API's 404, not the page.
    let (status, _, body) = get(&c, "/nowhere");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no_route"), "{body}");
}

#[test]
fn the_widget_may_be_framed_by_any_site_and_its_script_loaded_from_one() {
    let c = Centre::new();
    let (status, headers, page) = get(&c, "/chat/widget?queue=support");
    assert_eq!(status, 200);
    let csp = header(&headers, "content-security-policy");
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(headers.get("x-frame-options").is_none());
    assert!(page.contains("/assets/widget.js"));
    let (status, headers, script) = get(&c, "/chat/embed.js");
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/javascript"));
    assert_eq!(
        header(&headers, "cross-origin-resource-policy"),
        "cross-origin"
    );
    assert!(script.contains("/chat/widget?queue="), "{script}");
    for (asset, kind) in [
        ("desktop.js", "text/javascript"),
        ("widget.js", "text/javascript"),
        ("common.js", "text/javascript"),
        ("dossier.css", "text/css"),
    ] {
        let (status, headers, _) = get(&c, &format!("/assets/{asset}"));
        assert_eq!(status, 200, "{asset}");
        assert!(
            header(&headers, "content-type").starts_with(kind),
            "{asset}"
        );
    }
    let (status, _, _) = get(&c, "/assets/secrets.txt");
    assert_eq!(status, 404);
}

#[test]
fn the_pages_read_the_schema_the_callers_permissions_and_customers_by_id() {
    let c = Centre::new();
    let (cookie, csrf) = sign_in(&c, "ann");
    let ann = Auth::Session(&cookie, &csrf);

    let (status, me) = call(&c, "GET", "/api/v1/me", ann, None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["login"], "ann");
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(permissions.contains(&"reject_chat"), "{me}");
    assert!(!permissions.contains(&"manage_agents"), "{me}");
    let (_, boss_me) = call(&c, "GET", "/api/v1/me", Auth::Token(&c.token("boss")), None);
    assert!(
        boss_me["permissions"]
            .as_array()
            .expect("permissions")
            .contains(&json!("manage_agents")),
        "{boss_me}"
    );

    let (status, schema) = call(&c, "GET", "/api/v1/schema", ann, None);
    assert_eq!(status, 200, "{schema}");
    let tier = schema["fields"]["customer"]
        .as_array()
        .expect("customer fields")
        .iter()
        .find(|f| f["name"] == "tier")
        .unwrap_or_else(|| panic!("the template's `tier` field: {schema}"));
    assert_eq!(tier["type"], "choice");
    assert!(
        tier["choices"].as_array().is_some_and(|c| !c.is_empty()),
        "{tier}"
    );
    assert!(
        schema["case"]["statuses"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["key"] == "open" && s["open"] == true)),
        "{schema}"
    );
    let (status, _) = call(&c, "GET", "/api/v1/schema", Auth::None, None);
    assert_eq!(status, 401);

    let (status, made) = call(
        &c,
        "POST",
        "/api/v1/customers",
        ann,
        Some(&json!({"account": "AC-7", "name": "Ada"})),
    );
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_i64().expect("an id");
    let (status, found) = call(&c, "GET", &format!("/api/v1/customers/%23{id}"), ann, None);
    assert_eq!(
        (status, &found["account"]),
        (200, &json!("AC-7")),
        "{found}"
    );
    let (status, _) = call(&c, "GET", "/api/v1/customers/%2399999", ann, None);
    assert_eq!(status, 404);
}

#[test]
fn demo_serve_serves_the_demo_store_and_calls_and_chats_arrive_on_their_own() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = command(
        dir.path(),
        &["demo", "--serve", "--listen", "127.0.0.1:0", "--every", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("dossier demo --serve starts");
    let stdout = child.stdout.take().expect("stdout");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    let mut lines = BufReader::new(stdout).lines();
    let (mut base, mut password, mut widget) = (None, None, None);
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        if let Some(rest) = line.strip_prefix("Open ") {
            base = rest.split('/').take(3).collect::<Vec<_>>().join("/").into();
            password = line.split("password: ").nth(1).map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("The chat widget a customer sees: ") {
            widget = Some(rest.to_owned());
        }
        if line == "Ctrl-C stops." {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let base = base.expect("the demo prints its address");
    let password = password.expect("the demo prints the password");
    assert!(
        widget.is_some_and(|w| w.starts_with(&base) && w.contains("/chat/widget?queue=web")),
        "the widget's address"
    );
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (status, page) = {
        let mut r = http.get(format!("{base}/")).call().expect("answers");
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    assert_eq!(status, 200);
    assert!(page.contains("/assets/desktop.js"));

    // agent.smith signs in with the printed password and goes available.
    let mut response = http
        .post(format!("{base}/api/v1/session"))
        .header("content-type", "application/json")
        .send(json!({"login": "agent.smith", "password": password}).to_string())
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let session: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("a body")).expect("JSON");
    let csrf = session["csrf"].as_str().expect("a csrf token").to_owned();
    let stream = open_url(
        &http,
        &format!("{base}/api/v1/events"),
        &[("cookie", cookie.clone())],
    );
    let status = http
        .put(format!("{base}/api/v1/agents/me/chat-state"))
        .header("content-type", "application/json")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send(json!({"state": "available"}).to_string())
        .expect("answers")
        .status()
        .as_u16();
    assert_eq!(status, 200);
    // A generated chat is offered to him, and a generated call pops.
    let offered = stream.next_of("offered", Duration::from_secs(20));
    assert_eq!(offered.data["queue"], "web", "{:?}", offered.data);
    assert!(offered.data["name"].is_string(), "{:?}", offered.data);
    let popped = stream.next_of("pop", Duration::from_secs(20));
    assert_eq!(
        popped.data["interaction"]["channel"], "phone",
        "{:?}",
        popped.data
    );
    // The demo's story ran first: its customers are there.
    let (status, _, ada) = call_full_at(&http, &base, "/api/v1/customers/AC-000001", &cookie);
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["name"], "Ada Lovelace");
}

/// GET `path` on `base` with a session cookie.
fn call_full_at(
    http: &ureq::Agent,
    base: &str,
    path: &str,
    cookie: &str,
) -> (u16, ureq::http::HeaderMap, serde_json::Value) {
    let mut response = http
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .call()
        .expect("answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[test]
fn the_wallboard_is_for_holders_of_reassign_cases_and_counts_what_waits() {
    let c = Centre::with_config("\n[chat.queues.support]\nmembers = [\"ann\", \"bob\"]\n");
    let (cookie, csrf) = sign_in(&c, "ann");
    let ann = Auth::Session(&cookie, &csrf);
    for path in ["/api/v1/wallboard", "/api/v1/wallboard/events"] {
        let (status, body) = call(&c, "GET", path, ann, None);
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["code"], "permission_denied", "{path}: {body}");
    }
    let boss = c.token("boss");
    let (status, started) = call(
        &c,
        "POST",
        "/api/v1/visitor/chats",
        Auth::None,
        Some(&json!({"queue": "support", "name": "Ada", "message": "hello"})),
    );
    assert_eq!(status, 201, "{started}");
    let (status, board) = call(&c, "GET", "/api/v1/wallboard", Auth::Token(&boss), None);
    assert_eq!(status, 200, "{board}");
    let support = board["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["name"] == "support")
        .unwrap_or_else(|| panic!("the support queue: {board}"));
    assert_eq!(support["waiting"], 1, "{board}");
    assert_eq!(support["channel"], "chat", "{board}");
    assert_eq!(support["members_on"], 2, "{board}");
    assert_eq!(support["members_available"], 0, "{board}");
    let hours = board["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 8, "{board}");
    let chats: u64 = hours.iter().filter_map(|h| h["chats"].as_u64()).sum();
    assert_eq!(chats, 1, "the last hours hold the chat: {board}");
    assert!(
        board["agents"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["login"] == "ann"))
    );
    assert_eq!(board["review_queue"], 0, "{board}");
}
