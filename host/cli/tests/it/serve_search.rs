//! `dossier serve`'s search, FAQ, signature, notification and outbox
//! routes, over real HTTP (the helpers are `serve.rs`'s).

use serde_json::{Value, json};

use super::serve::{Auth, Centre, call};

/// Makes customer AC-1 and, owned by bob, a public case about a router
/// outage and a private one about a salary dispute; their numbers.
fn bobs_cases(c: &Centre, bob: &str) -> (i64, i64) {
    let (status, made) = call(
        c,
        "POST",
        "/api/v1/customers",
        Auth::Token(bob),
        Some(&json!({"account": "AC-1", "name": "Ada Lovelace"})),
    );
    assert_eq!(status, 200, "{made}");
    let mut numbers = Vec::new();
    for (subject, visibility) in [
        ("Router outage in Lyon", "public"),
        ("Salary dispute zanzibar", "private"),
    ] {
        let (status, case) = call(
            c,
            "POST",
            "/api/v1/cases",
            Auth::Token(bob),
            Some(
                &json!({"customer": "AC-1", "subject": subject, "visibility": visibility, "owner": "bob"}),
            ),
        );
        assert_eq!(status, 200, "{case}");
        numbers.push(case["number"].as_i64().expect("number"));
    }
    (numbers[0], numbers[1])
}

fn case_numbers(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|hit| hit["kind"] == "case")
        .filter_map(|hit| hit["case_number"].as_i64())
        .collect()
}

#[test]
fn search_finds_public_words_but_never_another_agents_private_case() {
    let c = Centre::new();
    let (ann, bob, boss) = (c.token("ann"), c.token("bob"), c.token("boss"));
    let (public, private) = bobs_cases(&c, &bob);

    let (status, page) = call(
        &c,
        "GET",
        "/api/v1/search?q=router+outage",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(case_numbers(&page), vec![public], "{page}");
    assert!(page.get("next_cursor").is_none(), "{page}");
    let snippet = page["items"][0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.to_lowercase().contains("outage"), "{page}");

    for q in ["zanzibar", "salary+dispute"] {
        let (status, page) = call(
            &c,
            "GET",
            &format!("/api/v1/search?q={q}"),
            Auth::Token(&ann),
            None,
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["items"],
            json!([]),
            "ann never sees bob's private case: {page}"
        );
    }
    // Its owner and the admin find it; `mine` narrows to the caller's.
    for token in [&bob, &boss] {
        let (_, page) = call(
            &c,
            "GET",
            "/api/v1/search?q=zanzibar",
            Auth::Token(token),
            None,
        );
        assert_eq!(case_numbers(&page), vec![private], "{page}");
    }
    let (_, page) = call(
        &c,
        "GET",
        "/api/v1/search?q=router&mine=true",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(case_numbers(&page), Vec::<i64>::new(), "{page}");
    let (status, problem) = call(
        &c,
        "GET",
        "/api/v1/search?q=router&customer=NOPE",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("not_found")),
        "{problem}"
    );
}

#[test]
fn serve_refuses_queries_over_32_terms_or_1_kb_naming_q() {
    let c = Centre::new();
    let ann = c.token("ann");
    let words = |n: usize| vec!["word"; n].join("+");
    let long = "x".repeat(1025);
    for path in ["/api/v1/search", "/api/v1/faq"] {
        for (q, why) in [
            (words(33).as_str(), "33 terms"),
            (long.as_str(), "1025 bytes"),
            ("+", "no word"),
        ] {
            let (status, problem) =
                call(&c, "GET", &format!("{path}?q={q}"), Auth::Token(&ann), None);
            assert_eq!(
                (status, problem["code"].as_str(), problem["field"].as_str()),
                (400, Some("bad_request"), Some("q")),
                "{path} with {why}: {problem}"
            );
        }
        let (status, page) = call(
            &c,
            "GET",
            &format!("{path}?q={}", words(32)),
            Auth::Token(&ann),
            None,
        );
        assert_eq!(status, 200, "{path} with 32 terms: {page}");
    }
    let (status, problem) = call(&c, "GET", "/api/v1/search", Auth::Token(&ann), None);
    assert_eq!((status, problem["field"].as_str()), (400, Some("q")));
}

#[test]
fn serve_faq_writes_need_manage_faq_and_every_agent_reads_and_searches() {
    let c = Centre::new();
    let (ann, boss) = (c.token("ann"), c.token("boss"));
    let greeting =
        json!({"shortcut": "greeting", "title": "Hello", "body": "Good morning, how may I help?"});
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/faq",
        Auth::Token(&ann),
        Some(&greeting),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );
    let (status, added) = call(
        &c,
        "POST",
        "/api/v1/faq",
        Auth::Token(&boss),
        Some(&greeting),
    );
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["shortcut"], "greeting");
    for (shortcut, title) in [("refund", "Refunds"), ("wifi", "Wi-Fi reset")] {
        let (status, made) = call(
            &c,
            "POST",
            "/api/v1/faq",
            Auth::Token(&boss),
            Some(
                &json!({"shortcut": shortcut, "title": title, "body": "See the manual.", "link": "https://example.com/help"}),
            ),
        );
        assert_eq!(status, 200, "{made}");
    }

    // Every agent reads, pages and searches.
    let (status, first) = call(&c, "GET", "/api/v1/faq?limit=2", Auth::Token(&ann), None);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2), "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = call(
        &c,
        "GET",
        &format!("/api/v1/faq?limit=2&cursor={cursor}"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(
        second["items"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert!(second.get("next_cursor").is_none(), "{second}");
    let (status, one) = call(&c, "GET", "/api/v1/faq/greeting", Auth::Token(&ann), None);
    assert_eq!(
        (status, one["title"].as_str()),
        (200, Some("Hello")),
        "{one}"
    );
    let (status, found) = call(
        &c,
        "GET",
        "/api/v1/faq?q=morning+help",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["shortcut"], "greeting", "{found}");
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");

    // Changing and removing need manage_faq too.
    let change = json!({"title": "Hi", "link": null});
    let (status, _) = call(
        &c,
        "PATCH",
        "/api/v1/faq/refund",
        Auth::Token(&ann),
        Some(&change),
    );
    assert_eq!(status, 403);
    let (status, changed) = call(
        &c,
        "PATCH",
        "/api/v1/faq/refund",
        Auth::Token(&boss),
        Some(&change),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["title"], "Hi");
    assert!(
        changed["link"].is_null(),
        "null removes the link: {changed}"
    );
    assert_eq!(
        call(&c, "DELETE", "/api/v1/faq/wifi", Auth::Token(&ann), None).0,
        403
    );
    let (status, removed) = call(&c, "DELETE", "/api/v1/faq/wifi", Auth::Token(&boss), None);
    assert_eq!((status, removed["shortcut"].as_str()), (200, Some("wifi")));
    let (_, left) = call(&c, "GET", "/api/v1/faq", Auth::Token(&ann), None);
    assert_eq!(left["items"].as_array().map(Vec::len), Some(2), "{left}");
}

#[test]
fn serve_signatures_round_trip() {
    let c = Centre::new();
    let (ann, boss) = (c.token("ann"), c.token("boss"));
    let (status, short) = call(
        &c,
        "POST",
        "/api/v1/signatures",
        Auth::Token(&ann),
        Some(&json!({"name": "short", "text": "Ann"})),
    );
    assert_eq!(status, 200, "{short}");
    assert_eq!(
        short["is_default"], true,
        "the first is the default: {short}"
    );
    let (status, long) = call(
        &c,
        "POST",
        "/api/v1/signatures",
        Auth::Token(&ann),
        Some(
            &json!({"name": "long", "text": "Ann\nSupport", "html": "<b>Ann</b>", "default": true}),
        ),
    );
    assert_eq!(status, 200, "{long}");
    let defaults = |page: &Value| -> Vec<(String, bool)> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap_or_default().to_owned(),
                    s["is_default"].as_bool().unwrap_or_default(),
                )
            })
            .collect()
    };
    let (status, list) = call(&c, "GET", "/api/v1/signatures", Auth::Token(&ann), None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        defaults(&list),
        vec![("long".to_owned(), true), ("short".to_owned(), false)],
        "{list}"
    );
    let (status, chosen) = call(
        &c,
        "POST",
        "/api/v1/signatures/short/default",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(
        (status, chosen["is_default"].as_bool()),
        (200, Some(true)),
        "{chosen}"
    );
    let (status, removed) = call(
        &c,
        "DELETE",
        "/api/v1/signatures/long",
        Auth::Token(&ann),
        None,
    );
    assert_eq!(
        (status, removed["name"].as_str()),
        (200, Some("long")),
        "{removed}"
    );
    // The admin reads ann's; ann may not write bob's.
    let (_, list) = call(
        &c,
        "GET",
        "/api/v1/signatures?agent=ann",
        Auth::Token(&boss),
        None,
    );
    assert_eq!(defaults(&list), vec![("short".to_owned(), true)], "{list}");
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/signatures",
        Auth::Token(&ann),
        Some(&json!({"name": "x", "agent": "bob", "text": "Bob"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("permission_denied")),
        "{problem}"
    );
    let (status, problem) = call(
        &c,
        "GET",
        "/api/v1/signatures?agent=ann&group=sales",
        Auth::Token(&ann),
        None,
    );
    assert_eq!((status, problem["field"].as_str()), (400, Some("group")));
}

#[test]
fn serve_outbox_is_the_admins_and_notify_checks_what_it_is_given() {
    let c = Centre::new();
    let (ann, boss) = (c.token("ann"), c.token("boss"));
    for (method, path) in [("GET", "/api/v1/outbox"), ("POST", "/api/v1/outbox/retry")] {
        let (status, problem) = call(&c, method, path, Auth::Token(&ann), None);
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("permission_denied")),
            "{method} {path}: {problem}"
        );
    }
    let (status, list) = call(&c, "GET", "/api/v1/outbox", Auth::Token(&boss), None);
    assert_eq!(status, 200, "{list}");
    assert!(list["items"].is_array(), "{list}");
    let (status, retried) = call(&c, "POST", "/api/v1/outbox/retry", Auth::Token(&boss), None);
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried, json!({"retried": 0, "still_failing": 0}));
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/outbox/999/retry",
        Auth::Token(&boss),
        None,
    );
    assert_eq!((status, problem["code"].as_str()), (409, Some("refused")));

    let (status, notified) = call(
        &c,
        "POST",
        "/api/v1/notifications",
        Auth::Token(&ann),
        Some(&json!({"to": ["Customer@Example.com"], "subject": "Your case", "body": "Fixed."})),
    );
    assert_eq!(status, 200, "{notified}");
    assert_eq!(
        notified["notification"]["to"][0]["address"], "customer@example.com",
        "{notified}"
    );
    assert_eq!(
        notified["delivery"], "not sent: [email.smtp] is not configured",
        "{notified}"
    );
    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/notifications",
        Auth::Token(&ann),
        Some(&json!({"to": ["not an address"], "subject": "Hi", "body": "x"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_notification")),
        "{problem}"
    );
}
