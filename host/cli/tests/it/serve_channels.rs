//! Email and chat over `dossier serve`: an inbound email reaches an
//! agent's workbin and is answered over HTTP, with an attachment uploaded
//! and read back; a chat taken from an agent's state to its log.

use std::io::{Read, Write};

use serde_json::{Value, json};

use super::serve::{Auth, Centre, call, call_full};
use super::util::{command, json as cli_json};

/// `dossier --as boss ARGS` (the operator, as the admin), which must succeed.
fn operator(c: &Centre, args: &[&str]) -> Value {
    let mut all = vec!["--as", "boss"];
    all.extend_from_slice(args);
    cli_json(c.dir.path(), &all)
}

/// Ingests `raw` as the MTA would.
fn ingest(c: &Centre, name: &str, raw: &str) {
    std::fs::write(c.dir.path().join(name), raw).expect("write");
    let out = command(c.dir.path(), &["--as", "boss", "email", "ingest", name])
        .output()
        .expect("ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// POSTs `bytes` to `path` as `content_type`; the status and the answer.
fn upload(c: &Centre, path: &str, token: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(c.url(path))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(bytes)
        .expect("request");
    let mut response = c.http.run(request).expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Sends `head` then, chunked, `total` bytes on a raw connection, and
/// reads what the server answers.
fn chunked_exchange(c: &Centre, head: &str, total: usize) -> String {
    let addr = c.served.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = vec![b'x'; 1024 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        let framed = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
        if stream.write_all(&framed).is_err() {
            break;
        }
        sent += n;
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&answer).contains('}') {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Mail goes to a relay that refuses connections: sends are queued, and
/// retried later.
const SMTP: &str =
    "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\ntimeout_ms = 500\n";

fn mail(id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Ada Lovelace <ada@example.com>\r\nTo: Support <support@example.com>\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}@example.com>\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n{extra}\r\n{body}\r\n"
    )
}

#[test]
fn an_inbound_email_reaches_the_workbin_and_is_answered_over_http() {
    let c = Centre::with_config(SMTP);
    let (ann, bob) = (c.token("ann"), c.token("bob"));
    ingest(
        &c,
        "one.eml",
        &mail("m1", "Invoice", "", "Where is my invoice?"),
    );
    operator(&c, &["case", "assign", "1", "--owner", "ann"]);
    // Ann makes the case hers alone and writes on it.
    let (status, case) = call(
        &c,
        "PATCH",
        "/api/v1/cases/1",
        Auth::Token(&ann),
        Some(&json!({"visibility": "private"})),
    );
    assert_eq!(status, 200, "{case}");
    let (status, note) = call(
        &c,
        "POST",
        "/api/v1/cases/1/follow-ups",
        Auth::Token(&ann),
        Some(&json!({"body": "Asked billing."})),
    );
    assert_eq!(status, 200, "{note}");
    // The customer writes again: the email joins the case, in ann's workbin.
    ingest(
        &c,
        "two.eml",
        &mail(
            "m2",
            "Re: Invoice",
            "In-Reply-To: <m1@example.com>\r\n",
            "Any news?",
        ),
    );
    let (status, bin) = call(&c, "GET", "/api/v1/workbin", Auth::Token(&ann), None);
    assert_eq!(status, 200, "{bin}");
    let items = bin["items"].as_array().expect("items");
    let item = items
        .iter()
        .find(|i| i["case_number"] == 1 && i["follow_up"].is_i64())
        .unwrap_or_else(|| panic!("the email waits in ann's workbin: {bin}"));
    assert!(bin.get("next_cursor").is_none(), "{bin}");
    let entry = item["id"].as_i64().expect("entry id");
    let email = item["follow_up"].as_i64().expect("its email");
    let (status, shown) = call(
        &c,
        "GET",
        &format!("/api/v1/workbin/{entry}"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        shown["email"]["body"].as_str().map(str::trim),
        Some("Any news?")
    );
    let (status, context) = call(
        &c,
        "GET",
        &format!("/api/v1/emails/{email}/context"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["case"]["number"], 1);

    // Bob, who may not see the private case, finds none of it.
    let (_, bobs) = call(&c, "GET", "/api/v1/workbin", Auth::Token(&bob), None);
    assert_eq!(bobs["items"], json!([]), "{bobs}");
    for (method, path, body) in [
        ("GET", format!("/api/v1/workbin/{entry}"), None),
        ("POST", format!("/api/v1/workbin/{entry}/done"), None),
        ("GET", format!("/api/v1/emails/{email}/context"), None),
        (
            "POST",
            format!("/api/v1/emails/{email}/reply"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/api/v1/emails/{email}/forward"),
            Some(json!({"to": ["x@example.org"]})),
        ),
        (
            "POST",
            "/api/v1/workbin".to_owned(),
            Some(json!({"follow_up": email})),
        ),
    ] {
        let (status, problem) = call(&c, method, &path, Auth::Token(&bob), body.as_ref());
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}: {problem}"
        );
    }

    // Ann replies: a draft, a file attached, edited, sent.
    let (status, draft) = call(
        &c,
        "POST",
        &format!("/api/v1/emails/{email}/reply"),
        Auth::Token(&ann),
        Some(&json!({"note": "Dear Ada,\n\nIt is attached.\n\n"})),
    );
    assert_eq!(status, 200, "{draft}");
    let id = draft["id"].as_i64().expect("draft id");
    assert_eq!(draft["to"][0]["address"], "ada@example.com", "{draft}");
    assert!(
        draft["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("Dear Ada,") && b.contains("Any news?")),
        "the note goes above the quote: {draft}"
    );
    let (status, typo) = call(
        &c,
        "PATCH",
        &format!("/api/v1/drafts/{id}"),
        Auth::Token(&ann),
        Some(&json!({"subjetc": "x"})),
    );
    assert_eq!((status, typo["field"].as_str()), (400, Some("subjetc")));
    let (status, bad) = call(
        &c,
        "PATCH",
        &format!("/api/v1/drafts/{id}"),
        Auth::Token(&ann),
        Some(&json!({"cc": ["not an address"]})),
    );
    assert_eq!((status, bad["field"].as_str()), (400, Some("cc")), "{bad}");
    let (status, attached) = upload(
        &c,
        &format!("/api/v1/drafts/{id}/attachments?name=invoice%20%22final%22.txt"),
        &ann,
        "text/plain",
        b"INVOICE 42: 100 EUR\n".to_vec(),
    );
    assert_eq!(status, 200, "{attached}");
    assert_eq!(attached["attachments"][0]["name"], "invoice \"final\".txt");
    assert_eq!(
        upload(
            &c,
            &format!("/api/v1/drafts/{id}/attachments?name=x.txt"),
            &bob,
            "text/plain",
            b"peek".to_vec(),
        )
        .0,
        404,
        "bob cannot touch ann's draft"
    );
    // Over 20 MB: refused from the declared length, or while streaming.
    let head = |extra: &str| {
        format!(
            "POST /api/v1/drafts/{id}/attachments?name=big.bin HTTP/1.1\r\nhost: x\r\n\
             authorization: Bearer {ann}\r\ncontent-type: application/octet-stream\r\n{extra}\r\n"
        )
    };
    let declared = chunked_exchange(&c, &head("content-length: 20971521\r\n"), 0);
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    assert!(declared.contains(r#""code":"too_large""#), "{declared}");
    let streamed = chunked_exchange(
        &c,
        &head("transfer-encoding: chunked\r\n"),
        20 * 1024 * 1024 + 1,
    );
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    assert!(streamed.contains(r#""code":"too_large""#), "{streamed}");
    // Over the 1 MiB of JSON bodies, under the 20 MB of attachments: kept.
    let (status, other) = call(
        &c,
        "POST",
        "/api/v1/drafts",
        Auth::Token(&ann),
        Some(&json!({"case": 1, "subject": "Scratch"})),
    );
    assert_eq!(status, 200, "{other}");
    let other = other["id"].as_i64().expect("id");
    let (status, big) = upload(
        &c,
        &format!("/api/v1/drafts/{other}/attachments?name=scan.pdf"),
        &ann,
        "application/pdf",
        vec![7u8; 2 * 1024 * 1024],
    );
    assert_eq!(status, 200, "{big}");
    assert_eq!(big["attachments"][0]["size"], 2 * 1024 * 1024);
    let (status, gone) = call(
        &c,
        "DELETE",
        &format!("/api/v1/drafts/{other}"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!((status, gone["state"].as_str()), (200, Some("discarded")));
    let (_, mine) = call(&c, "GET", "/api/v1/drafts", Auth::Token(&ann), None);
    assert_eq!(mine["items"][0]["id"], id, "{mine}");
    assert_eq!(
        mine["items"][0]["attachments"].as_array().map(Vec::len),
        Some(1),
        "nothing of the refused uploads was kept: {mine}"
    );
    let (status, sent) = call(
        &c,
        "POST",
        &format!("/api/v1/drafts/{id}/send"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent", "{sent}");

    // The case's follow-ups show the reply, and its attachment reads back.
    let (status, page) = call(
        &c,
        "GET",
        "/api/v1/cases/1/follow-ups",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{page}");
    let out = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|f| f["kind"] == "email_out")
        .unwrap_or_else(|| panic!("the reply is on the case: {page}"))
        .clone();
    assert!(
        out["body"]
            .as_str()
            .is_some_and(|b| b.contains("It is attached.")),
        "{out}"
    );
    assert_eq!(out["author"], "ann");
    let blob = out["attachments"][0]["blob"].as_str().expect("blob");
    let path = format!("/api/v1/attachments/{blob}?follow_up={}", out["id"]);
    let (status, headers, bytes) = call_full(&c, "GET", &path, Auth::Token(&ann), None);
    assert_eq!(status, 200, "{bytes}");
    assert_eq!(bytes, "INVOICE 42: 100 EUR\n");
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/plain"));
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"invoice _final_.txt\"; filename*=UTF-8''invoice%20%22final%22.txt"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    let (status, problem) = call(&c, "GET", &path, Auth::Token(&bob), None);
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));

    // Done with the entry: it leaves the workbin.
    let (status, done) = call(
        &c,
        "POST",
        &format!("/api/v1/workbin/{entry}/done"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{done}");
    let (_, bin) = call(&c, "GET", "/api/v1/workbin", Auth::Token(&ann), None);
    assert!(
        !bin["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == entry),
        "{bin}"
    );
}

#[test]
fn an_agent_takes_a_chat_from_state_to_log_over_http() {
    let c = Centre::with_config("\n[chat.queues.sales]\nmembers = [\"ann\", \"bob\"]\n");
    let (ann, bob) = (c.token("ann"), c.token("bob"));
    let (status, set) = call(
        &c,
        "PUT",
        "/api/v1/agents/me/chat-state",
        Auth::Token(&ann),
        Some(&json!({"state": "available"})),
    );
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["status"]["state"], "available", "{set}");
    assert_eq!(set["status"]["queues"], json!(["sales"]));
    let (status, problem) = call(
        &c,
        "PUT",
        "/api/v1/agents/ann/chat-state",
        Auth::Token(&bob),
        Some(&json!({"state": "break"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );

    let arrived = operator(
        &c,
        &[
            "chat",
            "arrive",
            "--queue",
            "sales",
            "--name",
            "Ada",
            "--email",
            "ada@example.com",
        ],
    );
    let chat = arrived["chat"].as_i64().expect("chat");
    assert_eq!(arrived["routed"]["offers"][0]["agent"], "ann", "{arrived}");
    let (status, list) = call(&c, "GET", "/api/v1/chats", Auth::Token(&ann), None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], chat, "{list}");
    assert_eq!(list["items"][0]["state"], "offered");
    let (_, none) = call(&c, "GET", "/api/v1/chats", Auth::Token(&bob), None);
    assert_eq!(none["items"], json!([]), "{none}");
    let (status, accepted) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/accept"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["state"], "active");
    operator(
        &c,
        &[
            "chat",
            "send",
            &chat.to_string(),
            "--customer",
            "--text",
            "My order is late.",
        ],
    );
    let (status, sent) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/messages"),
        Auth::Token(&ann),
        Some(&json!({"text": "Sorry, Ada: it leaves today."})),
    );
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["author"], "ann");
    let (status, _) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/messages"),
        Auth::Token(&bob),
        Some(&json!({"text": "I am not in this chat."})),
    );
    assert!(
        (400..500).contains(&status),
        "bob cannot write in ann's chat"
    );
    let (status, long) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/messages"),
        Auth::Token(&ann),
        Some(&json!({"text": "word ".repeat(400)})),
    );
    assert_eq!(
        (status, long["code"].as_str()),
        (422, Some("message_too_long"))
    );
    let (status, problem) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/end"),
        Auth::Token(&ann),
        Some(&json!({})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("disposition_required")),
        "{problem}"
    );
    let (status, ended) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/end"),
        Auth::Token(&ann),
        Some(&json!({"disposition": "answered", "note": "shipped today"})),
    );
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["chat"]["state"], "ended");
    // The agent's edit, kept as a draft until the customer is known.
    let edit =
        "Ada (customer): My order is late.\nann (agent): Sorry, Ada: it leaves today.\n(edited)\n";
    let (status, empty) = call(
        &c,
        "PUT",
        &format!("/api/v1/chats/{chat}/log/draft"),
        Auth::Token(&ann),
        Some(&json!({"text": " "})),
    );
    assert_eq!(
        (status, empty["detail"].as_str()),
        (409, Some("an edited chat log cannot be empty")),
        "{empty}"
    );
    let (status, kept) = call(
        &c,
        "PUT",
        &format!("/api/v1/chats/{chat}/log/draft"),
        Auth::Token(&ann),
        Some(&json!({"text": edit})),
    );
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["log_draft"], edit);
    assert_eq!(kept["log"], "needs_customer");
    let (status, logged) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/log"),
        Auth::Token(&ann),
        Some(
            &json!({"new_customer": {"account": "AC-7", "name": "Ada Lovelace", "email": "ada@example.com"}}),
        ),
    );
    assert_eq!(status, 200, "{logged}");
    assert_eq!(logged["case"]["status"], "closed", "`answered` closes");
    assert_eq!(logged["follow_up"]["kind"], "chat_log");
    let body = logged["follow_up"]["body"].as_str().expect("body");
    assert_eq!(body, edit, "the kept draft is what is logged");
    let (status, shown) = call(
        &c,
        "GET",
        &format!("/api/v1/chats/{chat}"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["chat"]["state"], "ended");
    assert_eq!(
        shown["transcript"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
    // Once its case is private to ann, bob finds no such chat.
    let number = logged["case"]["number"].as_i64().expect("case");
    let (status, private) = call(
        &c,
        "PATCH",
        &format!("/api/v1/cases/{number}"),
        Auth::Token(&ann),
        Some(&json!({"visibility": "private"})),
    );
    assert_eq!(status, 200, "{private}");
    assert_eq!(private["owner"], "ann", "{private}");
    let (status, hidden) = call(
        &c,
        "GET",
        &format!("/api/v1/chats/{chat}"),
        Auth::Token(&bob),
        None,
    );
    assert_eq!(
        (status, hidden["detail"].as_str()),
        (404, Some(format!("chat {chat} not found").as_str())),
        "{hidden}"
    );
    let (status, mine) = call(
        &c,
        "GET",
        "/api/v1/agents/me/chat-state?history=true",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["login"], "ann");
    assert_eq!(mine["history"][0]["state"], "available", "{mine}");
    let (status, everyone) = call(&c, "GET", "/api/v1/chat-states", Auth::Token(&bob), None);
    assert_eq!(status, 200);
    assert!(
        everyone["items"].as_array().is_some_and(|a| a.len() >= 3),
        "{everyone}"
    );

    // Rejecting needs `reject_chat`: bob has it withheld.
    operator(&c, &["agent", "update", "bob", "--withhold", "reject_chat"]);
    for (token, state) in [(&ann, "break"), (&bob, "available")] {
        let (status, set) = call(
            &c,
            "PUT",
            "/api/v1/agents/me/chat-state",
            Auth::Token(token),
            Some(&json!({"state": state})),
        );
        assert_eq!(status, 200, "{set}");
    }
    let second = operator(&c, &["chat", "arrive", "--queue", "sales", "--name", "Bo"]);
    let chat2 = second["chat"].as_i64().expect("chat");
    assert_eq!(second["routed"]["offers"][0]["agent"], "bob", "{second}");
    let (status, problem) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat2}/reject"),
        Auth::Token(&bob),
        None,
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );
    let (_, still) = call(
        &c,
        "GET",
        &format!("/api/v1/chats/{chat2}"),
        Auth::Token(&bob),
        None,
    );
    assert_eq!(still["chat"]["state"], "offered", "the offer stands");
    // Ann has it: the next offer to her she may turn down.
    call(
        &c,
        "PUT",
        "/api/v1/agents/me/chat-state",
        Auth::Token(&bob),
        Some(&json!({"state": "break"})),
    );
    call(
        &c,
        "PUT",
        "/api/v1/agents/me/chat-state",
        Auth::Token(&ann),
        Some(&json!({"state": "available"})),
    );
    let third = operator(&c, &["chat", "arrive", "--queue", "sales", "--name", "Cy"]);
    let (_, list) = call(&c, "GET", "/api/v1/chats", Auth::Token(&ann), None);
    let offered = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["state"] == "offered")
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("a chat is offered to ann: {list} {third}"));
    let (status, rejected) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{offered}/reject"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["agent"], "ann");
    let (_, status_now) = call(
        &c,
        "GET",
        "/api/v1/agents/ann/chat-state",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status_now["state"], "break", "{status_now}");
}

#[test]
fn a_reviewed_agents_email_waits_for_a_reviewer_over_http() {
    let c = Centre::with_config(&format!("{SMTP}\n[email.review]\nagents = [\"bob\"]\n"));
    let (ann, bob, boss) = (c.token("ann"), c.token("bob"), c.token("boss"));
    let (status, _) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&bob),
        Some(&json!({"account": "AC-1", "name": "Ada Lovelace"})),
    );
    assert_eq!(status, 200);
    let (status, case) = call(
        &c,
        "POST",
        "/api/v1/cases",
        Auth::Token(&bob),
        Some(&json!({"customer": "AC-1", "subject": "Refund"})),
    );
    assert_eq!(status, 200, "{case}");
    let (status, draft) = call(
        &c,
        "POST",
        "/api/v1/emails",
        Auth::Token(&bob),
        Some(
            &json!({"case": case["number"], "to": ["Ada <ada@example.com>"],
            "subject": "Your refund", "body": "It is on its way."}),
        ),
    );
    assert_eq!(status, 200, "{draft}");
    assert_eq!(draft["state"], "in_review", "{draft}");
    let id = draft["id"].as_i64().expect("id");
    let (status, problem) = call(&c, "GET", "/api/v1/review", Auth::Token(&ann), None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );
    let (status, queue) = call(&c, "GET", "/api/v1/review", Auth::Token(&boss), None);
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["items"][0]["id"], id, "{queue}");
    let (status, back) = call(
        &c,
        "POST",
        &format!("/api/v1/review/{id}/reject"),
        Auth::Token(&boss),
        Some(&json!({"remarks": "Say when."})),
    );
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["state"], "rejected");
    let (status, edited) = call(
        &c,
        "PATCH",
        &format!("/api/v1/drafts/{id}"),
        Auth::Token(&bob),
        Some(&json!({"body": "It reaches you on Friday."})),
    );
    assert_eq!(status, 200, "{edited}");
    let (status, again) = call(
        &c,
        "POST",
        &format!("/api/v1/drafts/{id}/send"),
        Auth::Token(&bob),
        None,
    );
    assert_eq!(
        (status, again["state"].as_str()),
        (200, Some("in_review")),
        "{again}"
    );
    let (status, approved) = call(
        &c,
        "POST",
        &format!("/api/v1/review/{id}/approve"),
        Auth::Token(&boss),
        None,
    );
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "sent");
    let (status, shown) = call(
        &c,
        "GET",
        &format!("/api/v1/review/{id}"),
        Auth::Token(&boss),
        None,
    );
    assert_eq!(status, 200, "{shown}");
    let steps: Vec<&str> = shown["review"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert!(
        steps.contains(&"rejected") && steps.contains(&"approved"),
        "{steps:?}"
    );
}

#[test]
fn drafts_and_workbins_of_a_private_case_are_404_to_reviewers_who_may_not_see_it() {
    let c = Centre::with_config(&format!("{SMTP}\n[email.review]\nagents = [\"bob\"]\n"));
    operator(&c, &["agent", "add", "sue", "--role", "supervisor"]);
    operator(
        &c,
        &["agent", "update", "sue", "--withhold", "see_all_private"],
    );
    operator(&c, &["agent", "update", "ann", "--grant", "review_email"]);
    let (bob, boss) = (c.token("bob"), c.token("boss"));
    let (ann, sue) = (c.token("ann"), c.token("sue"));
    let (status, _) = call(
        &c,
        "POST",
        "/api/v1/customers",
        Auth::Token(&bob),
        Some(&json!({"account": "AC-1", "name": "Ada Lovelace"})),
    );
    assert_eq!(status, 200);
    let (status, case) = call(
        &c,
        "POST",
        "/api/v1/cases",
        Auth::Token(&bob),
        Some(&json!({"customer": "AC-1", "subject": "Secret refund",
            "visibility": "private", "owner": "bob"})),
    );
    assert_eq!(status, 200, "{case}");
    let (status, draft) = call(
        &c,
        "POST",
        "/api/v1/emails",
        Auth::Token(&bob),
        Some(
            &json!({"case": case["number"], "to": ["Ada <ada@example.com>"],
            "subject": "Your refund", "body": "It is on its way."}),
        ),
    );
    assert_eq!(draft["state"], "in_review", "{status} {draft}");
    let id = draft["id"].as_i64().expect("id");
    let (status, open) = call(
        &c,
        "POST",
        "/api/v1/drafts",
        Auth::Token(&bob),
        Some(&json!({"case": case["number"]})),
    );
    assert_eq!(status, 200, "{open}");

    for reviewer in [&ann, &sue] {
        let (status, queue) = call(&c, "GET", "/api/v1/review", Auth::Token(reviewer), None);
        assert_eq!(status, 200, "{queue}");
        assert_eq!(queue["items"], json!([]), "{queue}");
        for (method, path, body) in [
            ("GET", format!("/api/v1/review/{id}"), None),
            ("GET", format!("/api/v1/drafts/{id}"), None),
            (
                "PATCH",
                format!("/api/v1/drafts/{id}"),
                Some(json!({"body": "Peek."})),
            ),
            ("POST", format!("/api/v1/review/{id}/approve"), None),
            (
                "POST",
                format!("/api/v1/review/{id}/reject"),
                Some(json!({"remarks": "Peek."})),
            ),
        ] {
            let (status, problem) = call(&c, method, &path, Auth::Token(reviewer), body.as_ref());
            assert_eq!(
                (status, problem["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}: {problem}"
            );
            assert!(!problem.to_string().contains("Secret"), "{problem}");
        }
    }
    // Sue reads bob's workbin, without the entry on his private case.
    let (status, bin) = call(
        &c,
        "GET",
        "/api/v1/workbin?agent=bob",
        Auth::Token(&boss),
        None,
    );
    assert_eq!(status, 200, "{bin}");
    let entry = bin["items"][0]["id"].as_i64().expect("bob's draft waits");
    let (status, bin) = call(
        &c,
        "GET",
        "/api/v1/workbin?agent=bob",
        Auth::Token(&sue),
        None,
    );
    assert_eq!((status, &bin["items"]), (200, &json!([])), "{bin}");
    let (status, problem) = call(
        &c,
        "GET",
        &format!("/api/v1/workbin/{entry}"),
        Auth::Token(&sue),
        None,
    );
    assert_eq!(status, 404, "{problem}");
    // The admin, who sees every case, reviews it.
    let (status, queue) = call(&c, "GET", "/api/v1/review", Auth::Token(&boss), None);
    assert_eq!(
        (status, &queue["items"][0]["id"]),
        (200, &json!(id)),
        "{queue}"
    );
}

#[test]
fn queues_are_managed_by_admins_and_switched_by_their_members_over_http() {
    let c = Centre::with_config("\n[chat.queues.support]\nmembers = [\"ann\", \"bob\"]\n");
    let (boss, ann) = (c.token("boss"), c.token("ann"));
    let (status, all) = call(&c, "GET", "/api/v1/queues", Auth::Token(&boss), None);
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["items"][0]["name"], "support");
    // An agent without manage_own_queues may not switch.
    let off = json!({"joined": false});
    let (status, problem) = call(
        &c,
        "PUT",
        "/api/v1/queues/support/members/me",
        Auth::Token(&ann),
        Some(&off),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied"))
    );
    operator(
        &c,
        &["agent", "update", "ann", "--grant", "manage_own_queues"],
    );
    let (status, changed) = call(
        &c,
        "PUT",
        "/api/v1/queues/support/members/me",
        Auth::Token(&ann),
        Some(&off),
    );
    assert_eq!(status, 200, "{changed}");
    let ann_in = |q: &Value| {
        q["members"]
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["login"] == "ann")
            .map(|m| m["joined"].clone())
    };
    assert_eq!(ann_in(&changed["queue"]), Some(json!(false)));
    // Only admins add queues; an agent sees only the queues they are in.
    let vip = json!({"members": ["bob"], "capacity": 2});
    let (status, _) = call(
        &c,
        "PUT",
        "/api/v1/queues/vip",
        Auth::Token(&ann),
        Some(&vip),
    );
    assert_eq!(status, 403);
    let (status, made) = call(
        &c,
        "PUT",
        "/api/v1/queues/vip",
        Auth::Token(&boss),
        Some(&vip),
    );
    assert_eq!(
        (status, made["queue"]["capacity"].as_u64()),
        (200, Some(2)),
        "{made}"
    );
    let (status, mine) = call(&c, "GET", "/api/v1/queues", Auth::Token(&ann), None);
    assert_eq!(status, 200);
    let names: Vec<&str> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|q| q["name"].as_str())
        .collect();
    assert_eq!(names, ["support"]);
    let (status, problem) = call(&c, "GET", "/api/v1/queues/vip", Auth::Token(&ann), None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("unknown_queue"))
    );
    let (status, left) = call(
        &c,
        "DELETE",
        "/api/v1/queues/vip/members/bob",
        Auth::Token(&boss),
        None,
    );
    assert_eq!(status, 200, "{left}");
    assert_eq!(left["members"], json!([]));
    let (status, _) = call(&c, "DELETE", "/api/v1/queues/vip", Auth::Token(&boss), None);
    assert_eq!(status, 204);
    let (status, problem) = call(&c, "GET", "/api/v1/queues/vip", Auth::Token(&boss), None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("unknown_queue"))
    );
}
