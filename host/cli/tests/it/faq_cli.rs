//! `dossier faq` and `dossier signature` through the real binary.

use std::io::Write as _;
use std::process::Stdio;

use crate::util::{command, dossier, json};

#[test]
fn faq_add_show_search_and_remove() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    let added = json(
        d,
        &[
            "faq",
            "add",
            "refund",
            "--title",
            "Refund policy",
            "--body",
            "Refunds are paid within 5 days.",
            "--link",
            "https://help.example.com/refunds",
        ],
    );
    assert_eq!(added["shortcut"], "refund");
    assert_eq!(added["link"], "https://help.example.com/refunds");

    // The body from stdin.
    let mut child = command(
        d,
        &["faq", "add", "ship", "--title", "Shipping", "--body", "-"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Parcels leave in two days; no refund after that.\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hits = json(d, &["faq", "search", "refund"]);
    let order: Vec<&str> = hits
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["shortcut"].as_str())
        .collect();
    assert_eq!(order, ["refund", "ship"]);
    let out = dossier(d, &["faq", "search", "parcels", "two"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/ship: Shipping\n");
    let out = dossier(d, &["faq", "show", "/refund"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/refund: Refund policy\n  link: https://help.example.com/refunds\n  Refunds are paid within 5 days.\n"
    );

    // Errors name what is wrong.
    let out = dossier(d, &["faq", "add", "bad one", "--title", "T", "--body", "B"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: shortcut: `bad one` has the character ' '"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dossier(d, &["faq", "add", "x", "--title", "T"]);
    assert_eq!(out.status.code(), Some(2), "a body is required");

    json(d, &["faq", "remove", "refund"]);
    let out = dossier(d, &["faq", "show", "refund"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: there is no FAQ entry `refund`\n"
    );
}

#[test]
fn signatures_are_added_listed_and_chosen() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    json(d, &["signature", "add", "short", "--text", "Agent Smith"]);
    let full = json(
        d,
        &[
            "signature",
            "add",
            "full",
            "--text",
            "Agent Smith\nSupport",
            "--html",
            "<p>Agent Smith</p>",
            "--default",
        ],
    );
    assert_eq!(full["is_default"], true);
    assert_eq!(full["owner"]["kind"], "agent");
    json(d, &["signature", "default", "short"]);
    let out = dossier(d, &["signature", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "full of agent agent.smith\n  Agent Smith\n  Support\n  html: <p>Agent Smith</p>\nshort of agent agent.smith (default)\n  Agent Smith\n"
    );
    json(d, &["group", "add", "billing"]);
    json(
        d,
        &[
            "signature",
            "add",
            "team",
            "--group",
            "billing",
            "--text",
            "Billing",
        ],
    );
    let listed = json(d, &["signature", "list", "--group", "billing"]);
    assert_eq!(
        listed[0]["is_default"], true,
        "a first signature is the default"
    );
    json(d, &["signature", "remove", "team", "--group", "billing"]);
    assert_eq!(
        json(d, &["signature", "list", "--group", "billing"]),
        serde_json::json!([])
    );
}
