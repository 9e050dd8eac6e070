//! Rich-text notes and FAQ entries through the real binary and over the
//! served API: HTML is kept sanitized (no script, event handler or
//! `javascript:` link), people on a terminal read its text version, inline
//! images are stored and served, and with `[email] rich_text = false` HTML
//! is refused naming the setting.

use base64::Engine as _;
use serde_json::{Value, json};

use super::serve::{Auth, Centre, call};
use super::util::{dossier, failure, json};

/// HTML with each of the three unsafe things the sanitizer must remove.
const UNSAFE: &str = "<p onclick=\"steal()\">Called the <b>customer</b> back.</p>\
     <script>alert(1)</script>\
     <p><a href=\"javascript:alert(2)\">details</a></p>\
     <p><img src=\"cid:router.png\" alt=\"The router\"></p>";

fn assert_safe(html: &str) {
    for bad in ["<script", "alert(", "onclick", "javascript:", "steal()"] {
        assert!(!html.contains(bad), "`{bad}` survived: {html}");
    }
    assert!(html.contains("<b>customer</b>"), "{html}");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 200])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A store with customer AC-1 and case 1.
fn store(d: &std::path::Path) {
    json(d, &["init"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(
        d,
        &["case", "open", "--customer", "AC-1", "--subject", "Router"],
    );
}

#[test]
fn followup_add_and_faq_take_sanitized_html_and_inline_images() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    store(d);
    std::fs::write(d.join("note.html"), UNSAFE).expect("html");
    let picture = png(30, 20);
    std::fs::write(d.join("router.png"), &picture).expect("png");
    let note = json(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--html-file",
            "note.html",
            "--inline",
            "router.png",
        ],
    );
    assert_eq!(note["kind"], "note");
    let html = note["html"].as_str().expect("html");
    assert_safe(html);
    let image = &note["attachments"][0];
    let cid = image["content_id"].as_str().expect("content id");
    assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");

    // On a terminal, people read the text version.
    let shown = stdout(&dossier(d, &["followup", "show", "1"]));
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[TIME]"),
        (r"attachment get [0-9a-f]{8}", "attachment get [ID]"),
    ]}, {
        insta::assert_snapshot!(shown, @r"
        follow-up #1 on case 1 — note by agent.smith at [TIME]
          | Called the customer back.
          | 
          | details
          | 
          | [The router]
          attachment: router.png (image/png, 228 bytes): `dossier attachment get [ID]`
        ");
    });

    // The image is stored and read back as it came (it is small).
    let blob = image["blob"].as_str().expect("blob");
    stdout(&dossier(
        d,
        &["attachment", "get", blob, "--output", "back.png"],
    ));
    assert_eq!(std::fs::read(d.join("back.png")).expect("back"), picture);

    // FAQ entries: add and update with HTML; the terminal shows the text.
    let added = json(
        d,
        &[
            "faq",
            "add",
            "callback",
            "--title",
            "Call back",
            "--html",
            "<p onmouseover=\"x()\">We call <i>you</i> back.</p><script>bad()</script>",
        ],
    );
    let html = added["html"].as_str().expect("html");
    assert!(
        html.contains("<i>you</i>") && !html.contains("onmouseover") && !html.contains("bad()"),
        "{html}"
    );
    assert_eq!(
        stdout(&dossier(d, &["faq", "show", "callback"])),
        "/callback: Call back\n  rich text: yes (the text below is its text version)\n  We call you back.\n"
    );
    let changed = json(
        d,
        &[
            "faq",
            "update",
            "callback",
            "--html",
            "<a href=\"javascript:alert(1)\">Soon</a>",
        ],
    );
    assert_eq!(changed["html"], "<a rel=\"noopener noreferrer\">Soon</a>");
    let plain = json(d, &["faq", "update", "callback", "--no-html"]);
    assert_eq!(plain["html"], Value::Null);
}

#[test]
fn with_rich_text_off_followup_and_faq_refuse_html_naming_the_setting() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    store(d);
    let config = d.join("dossier.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "acknowledge = false\n",
            "acknowledge = false\nrich_text = false\n",
        ),
    )
    .expect("config");
    insta::assert_snapshot!(
        failure(d, &["followup", "add", "--case", "1", "--html", "<p>hi</p>"]),
        @"
    $ dossier followup add --case 1 --html <p>hi</p>
    exit 1: error: html: rich text is off ([email] rich_text = false): a note takes text only
    "
    );
    insta::assert_snapshot!(
        failure(d, &["faq", "add", "x", "--title", "X", "--body", "B", "--html", "<p>hi</p>"]),
        @"
    $ dossier faq add x --title X --body B --html <p>hi</p>
    exit 1: error: html: rich text is off ([email] rich_text = false): this takes text only
    "
    );
    assert_eq!(json(d, &["followup", "list", "--case", "1"]), json!([]));
}

/// Customer AC-1 and a case for them, made by `token`'s agent; its number.
fn served_case(c: &Centre, token: &str) -> i64 {
    let (status, _) = call(
        c,
        "POST",
        "/api/v1/customers",
        Auth::Token(token),
        Some(&json!({"account": "AC-1", "name": "Ada"})),
    );
    assert_eq!(status, 200);
    let (status, case) = call(
        c,
        "POST",
        "/api/v1/cases",
        Auth::Token(token),
        Some(&json!({"customer": "AC-1", "subject": "Router"})),
    );
    assert_eq!(status, 200, "{case}");
    case["number"].as_i64().expect("number")
}

#[test]
fn serve_notes_and_faq_return_sanitized_html_and_serve_pasted_images() {
    let c = Centre::new();
    let (ann, boss) = (c.token("ann"), c.token("boss"));
    let number = served_case(&c, &ann);
    let picture = png(12, 9);
    let pasted = base64::engine::general_purpose::STANDARD.encode(&picture);
    let html =
        format!("{UNSAFE}<p><img alt=\"pasted\" src=\"data:image/png;base64,{pasted}\"></p>");
    let (status, note) = call(
        &c,
        "POST",
        &format!("/api/v1/cases/{number}/follow-ups"),
        Auth::Token(&ann),
        Some(&json!({"html": html})),
    );
    assert_eq!(status, 200, "{note}");
    let id = note["id"].as_i64().expect("id");
    let (status, read) = call(
        &c,
        "GET",
        &format!("/api/v1/follow-ups/{id}"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{read}");
    let html = read["html"].as_str().expect("html");
    assert_safe(html);
    assert!(!html.contains("data:"), "{html}");
    assert!(
        read["body"]
            .as_str()
            .is_some_and(|b| b.contains("Called the customer back.")),
        "{read}"
    );
    let image = &read["attachments"][0];
    let cid = image["content_id"].as_str().expect("content id");
    assert!(html.contains(&format!("cid:{cid}")), "{html}");
    let blob = image["blob"].as_str().expect("blob");
    let request = ureq::http::Request::builder()
        .uri(c.url(&format!("/api/v1/attachments/{blob}?follow_up={id}")))
        .header("authorization", format!("Bearer {ann}"))
        .body(())
        .expect("request");
    let mut response = c.http.run(request).expect("served");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let bytes = response.body_mut().read_to_vec().expect("bytes");
    assert_eq!(bytes, picture, "the pasted image is served as it came");

    let (status, entry) = call(
        &c,
        "POST",
        "/api/v1/faq",
        Auth::Token(&boss),
        Some(&json!({"shortcut": "callback", "title": "Call back",
            "html": "<p onclick=\"x()\">We call back.</p><script>bad()</script>"})),
    );
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["html"], "<p>We call back.</p>");
    assert_eq!(entry["body"], "We call back.");
    let (status, entry) = call(
        &c,
        "PATCH",
        "/api/v1/faq/callback",
        Auth::Token(&boss),
        Some(&json!({"html": "<a href=\"javascript:x()\">Soon</a>"})),
    );
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["html"], "<a rel=\"noopener noreferrer\">Soon</a>");
}

#[test]
fn serve_refuses_html_naming_the_setting_when_rich_text_is_off() {
    let c = Centre::with_edited_config(|text| {
        text.replace(
            "acknowledge = false\n",
            "acknowledge = false\nrich_text = false\n",
        )
    });
    let boss = c.token("boss");
    let number = served_case(&c, &boss);
    let (status, problem) = call(
        &c,
        "POST",
        &format!("/api/v1/cases/{number}/follow-ups"),
        Auth::Token(&boss),
        Some(&json!({"body": "text", "html": "<p>hi</p>"})),
    );
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "html", "{problem}");
    assert!(
        problem.to_string().contains("[email] rich_text = false"),
        "{problem}"
    );
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/faq",
        Auth::Token(&boss),
        Some(&json!({"shortcut": "x", "title": "X", "body": "B", "html": "<p>hi</p>"})),
    );
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "html", "{problem}");
    assert!(
        problem.to_string().contains("[email] rich_text = false"),
        "{problem}"
    );
}
