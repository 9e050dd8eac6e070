//! The three journeys of the desktop and the widget, each in real headless
//! Chromium against a real `dossier serve`.

use fantoccini::Locator;
use serde_json::json;

use super::rig::{
    Rig, axe, click, enabled, paste, screenshot, select, sign_in, site, turn, type_into, value_of,
    wait_for, wait_text,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_chats_with_an_agent_who_saves_the_log_to_a_new_customer() {
    if !enabled("journey 1 (chat)") {
        return;
    }
    let _turn = turn().await;
    let rig = Rig::new();
    rig.cli(&[
        "--as",
        "boss",
        "faq",
        "add",
        "delays",
        "--title",
        "Late parcels",
        "--body",
        "Parcels can take five working days.",
    ]);
    let agent = rig.browser().await;
    sign_in(&agent, &rig, "ann").await;
    select(&agent, "#chat-state", "available").await;
    wait_text(&agent, ".toast", "ready to work").await;

    // The visitor, in a browser of their own, on a site that embeds the
    // widget with its script.
    let visitor = rig.browser().await;
    let shop = site(format!(
        "<!doctype html><html lang=\"en\"><title>A shop</title><h1>A shop</h1>\
         <script src=\"{}\" data-queue=\"support\" data-title=\"Talk to us\" async></script></html>",
        rig.url("/chat/embed.js")
    ));
    visitor.goto(&shop).await.expect("the site loads");
    click(&visitor, "button.dossier-chat-button").await;
    wait_for(&visitor, "iframe.dossier-chat-frame")
        .await
        .enter_frame()
        .await
        .expect("the widget's frame");
    wait_text(&visitor, "#widget-title", "Talk to us").await;
    let violations = axe(&visitor).await;
    assert!(violations.is_empty(), "the widget: {violations:#?}");
    type_into(&visitor, "#visitor-name", "Ada <b>Visitor</b>").await;
    type_into(&visitor, "#visitor-email", "ada.visitor@example.com").await;
    type_into(&visitor, "#visitor-first", "Hello, my parcel is late").await;
    click(&visitor, "#start-form button[type=submit]").await;
    wait_for(&visitor, "#transcript").await;

    // The offer, with who writes and the record preview.
    wait_text(&agent, ".offer .visitor-name", "Ada <b>Visitor</b>").await;
    let offer = wait_text(&agent, ".offer", "ada.visitor@example.com").await;
    assert!(offer.contains("127.0.0.1"), "the visitor's IP: {offer}");
    assert!(
        offer.contains("No customer matches"),
        "the preview: {offer}"
    );
    assert!(offer.contains("s left"), "the countdown: {offer}");
    screenshot(&agent, "journey1-offer").await;
    let violations = axe(&agent).await;
    assert!(
        violations.is_empty(),
        "the desktop with an offer: {violations:#?}"
    );
    click(&agent, ".offer .accept").await;
    wait_text(
        &agent,
        ".chat-panel .transcript",
        "Hello, my parcel is late",
    )
    .await;
    wait_text(&visitor, "#chat-status", "chatting with").await;

    // Typing, then messages, both ways.
    type_into(&visitor, "#visitor-text", "It was due on Monday").await;
    wait_text(&agent, ".chat-panel .typing", "is typing").await;
    click(&visitor, "#send-form button[type=submit]").await;
    wait_text(&agent, ".chat-panel .transcript", "It was due on Monday").await;
    type_into(&agent, "#chat-text", "Let me look at it").await;
    wait_text(&visitor, "#agent-typing", "typing").await;
    click(&agent, ".composer button[type=submit]").await;
    wait_text(&visitor, "#transcript", "Let me look at it").await;

    // FAQ answers: picked from the list into the text, or typed as
    // `/shortcut` and replaced when sent.
    select(&agent, "#faq-pick", "delays").await;
    assert_eq!(
        value_of(&agent, "#chat-text").await,
        "Parcels can take five working days."
    );
    paste(&agent, "#chat-text", "Sorry: /delays").await;
    click(&agent, ".composer button[type=submit]").await;
    wait_text(
        &visitor,
        "#transcript",
        "Sorry: Parcels can take five working days.",
    )
    .await;

    screenshot(&visitor, "journey1-widget").await;

    // 1,941 characters: refused in the page, the text kept.
    let long = "x".repeat(1941);
    paste(&agent, "#chat-text", &long).await;
    wait_text(&agent, "#chat-count", "1941 / 1940").await;
    click(&agent, ".composer button[type=submit]").await;
    wait_text(&agent, "#chat-error", "1941 characters").await;
    assert_eq!(value_of(&agent, "#chat-text").await.chars().count(), 1941);
    screenshot(&agent, "journey1-too-long").await;
    let (_, chat) = rig.api("GET", "/api/v1/chats?all=true", None);
    let id = chat["items"][0]["id"].as_i64().expect("the chat");
    let (_, view) = rig.api("GET", &format!("/api/v1/chats/{id}"), None);
    assert!(
        view["transcript"]
            .as_array()
            .expect("the transcript")
            .iter()
            .all(|m| m["text"].as_str().is_some_and(|t| t.len() < 1941)),
        "nothing of 1,941 characters was stored: {view}"
    );
    paste(&agent, "#chat-text", "").await;

    // Ended with a disposition; the log saved to a new customer.
    select(&agent, "#chat-disposition", "answered").await;
    click(&agent, "form.end button[type=submit]").await;
    wait_text(&visitor, "#chat-status", "ended").await;
    select(&agent, "#log-mode", "new").await;
    type_into(&agent, "#log-account", "AC-WEB-1").await;
    click(&agent, "form.log button[type=submit]").await;
    let logged = wait_text(&agent, ".chat-panel .logged", "case #").await;
    screenshot(&agent, "journey1-logged").await;
    let number: i64 = logged
        .split("case #")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a case number in `{logged}`"));
    let (status, customer) = rig.api("GET", "/api/v1/customers/AC-WEB-1", None);
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["name"], "Ada <b>Visitor</b>");
    let (status, case) = rig.api("GET", &format!("/api/v1/cases/{number}"), None);
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["customer"], customer["id"]);
    assert_eq!(case["last_disposition"], "answered");
    let (_, follow_ups) = rig.api("GET", &format!("/api/v1/cases/{number}/follow-ups"), None);
    assert!(
        follow_ups.to_string().contains("It was due on Monday"),
        "the transcript is the case's log: {follow_ups}"
    );
    agent.close().await.expect("closed");
    visitor.close().await.expect("closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_pops_the_newest_open_case_and_a_callback_reminds_the_agent() {
    if !enabled("journey 2 (call)") {
        return;
    }
    let _turn = turn().await;
    let rig = Rig::new();
    rig.cli(&[
        "--as",
        "boss",
        "customer",
        "add",
        "--account",
        "AC-CALL",
        "--name",
        "Grace Caller",
        "--phone",
        "+33 1 23 45 67 89",
    ]);
    rig.cli(&[
        "--as",
        "boss",
        "case",
        "open",
        "--customer",
        "AC-CALL",
        "--subject",
        "Old question",
    ]);
    let newest = rig.cli(&[
        "--as",
        "boss",
        "case",
        "open",
        "--customer",
        "AC-CALL",
        "--subject",
        "Broken router",
    ]);
    let number = newest["number"].as_i64().expect("a case number");
    let agent = rig.browser().await;
    sign_in(&agent, &rig, "ann").await;
    // The desktop listens before the call comes.
    wait_text(&agent, "h1", "My cases").await;

    let (status, popped) = rig.api(
        "POST",
        "/api/v1/interactions",
        Some(json!({"agent": "ann", "channel": "phone", "phone": "+33 1 23 45 67 89"})),
    );
    assert_eq!(status, 201, "{popped}");
    wait_text(&agent, "h1", &format!("Case #{number}: Broken router")).await;
    wait_text(&agent, ".pop", "Grace Caller").await;
    screenshot(&agent, "journey2-pop").await;
    let violations = axe(&agent).await;
    assert!(violations.is_empty(), "the case view: {violations:#?}");

    // The case's fields: a value the store refuses is shown on its field.
    select(&agent, "#case-custom-product", "billing").await;
    paste(&agent, "#case-custom-contract_ref", &"C".repeat(40)).await;
    click(&agent, "form.case-form button[type=submit]").await;
    wait_text(
        &agent,
        "#case-custom-contract_ref-error",
        "longer than 32 characters",
    )
    .await;
    let invalid = agent
        .execute(
            "return document.querySelector('#case-custom-contract_ref').getAttribute('aria-invalid');",
            vec![],
        )
        .await
        .expect("read");
    assert_eq!(invalid, json!("true"));
    screenshot(&agent, "journey2-field-error").await;
    paste(&agent, "#case-custom-contract_ref", "CR-1").await;
    click(&agent, "form.case-form button[type=submit]").await;
    wait_text(&agent, ".toast", "Saved").await;
    let (_, saved) = rig.api("GET", &format!("/api/v1/cases/{number}"), None);
    assert_eq!(
        saved["custom"]["product"],
        json!({"choice": "billing"}),
        "{saved}"
    );
    assert_eq!(
        saved["custom"]["contract_ref"],
        json!({"text": "CR-1"}),
        "{saved}"
    );

    type_into(&agent, "#note-text", "Wants a call back about the router").await;
    click(&agent, "form[aria-label='Add a note'] button[type=submit]").await;
    wait_text(&agent, "#follow-ups", "Wants a call back").await;

    select(&agent, "#disposition-code", "callback").await;
    // A call back due in a minute, reminded a minute before: due now.
    agent
        .execute(
            "const soon = new Date(Date.now() + 60000 - new Date().getTimezoneOffset() * 60000);
             document.querySelector('#callback-at').value = soon.toISOString().slice(0, 16);
             document.querySelector('#callback-remind').value = '1';",
            vec![],
        )
        .await
        .expect("the call back's time is set");
    click(&agent, "form[aria-label='Disposition'] button[type=submit]").await;
    wait_text(
        &agent,
        "#case-tasks",
        &format!("Call back about case #{number}"),
    )
    .await;
    let reminder = wait_text(&agent, ".reminder", "Call back about case").await;
    assert!(reminder.contains(&format!("Case #{number}")), "{reminder}");
    screenshot(&agent, "journey2-reminder").await;
    // What the page showed, the store holds.
    let (_, case) = rig.api("GET", &format!("/api/v1/cases/{number}"), None);
    assert_eq!(case["last_disposition"], "callback", "{case}");
    let (_, tasks) = rig.api("GET", &format!("/api/v1/tasks?case={number}"), None);
    assert_eq!(tasks["items"][0]["reminder_minutes"], 1, "{tasks}");
    assert_eq!(tasks["items"][0]["assignee"], "ann", "{tasks}");

    // One follow-up's full view.
    let link = agent
        .find(Locator::XPath(
            "//tr[td[contains(., 'Wants a call back')]]//a[.='Open']",
        ))
        .await
        .expect("the note's row");
    link.click().await.expect("opened");
    wait_text(&agent, "h1", &format!("on case #{number}")).await;
    wait_text(&agent, "pre.body", "Wants a call back about the router").await;

    // A number nobody has: the new-customer form, prefilled, saved.
    let (status, _) = rig.api(
        "POST",
        "/api/v1/interactions",
        Some(json!({"agent": "ann", "channel": "phone", "phone": "+33 4 11 22 33 44"})),
    );
    assert_eq!(status, 201);
    wait_text(&agent, "#new-customer h1", "New customer").await;
    assert_eq!(value_of(&agent, "#nc-phone").await, "+33411223344");
    type_into(&agent, "#nc-account", "AC-NEW").await;
    type_into(&agent, "#nc-name", "Katherine Johnson").await;
    click(&agent, "#new-customer button[type=submit]").await;
    wait_text(&agent, "h1", "Katherine Johnson").await;
    let (status, made) = rig.api("GET", "/api/v1/customers/AC-NEW", None);
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["phones"][0]["number"], "+33411223344", "{made}");
    agent.close().await.expect("closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_case_looks_missing_and_markup_in_names_shows_as_text() {
    if !enabled("journey 3 (private and escaped)") {
        return;
    }
    let _turn = turn().await;
    let rig = Rig::new();
    let name = "<script>window.pwned=1</script> Eve";
    let subject = "<img src=x onerror=\"window.pwned=2\"> refund";
    rig.cli(&[
        "--as",
        "boss",
        "customer",
        "add",
        "--account",
        "AC-EVIL",
        "--name",
        name,
    ]);
    let private = rig.cli(&[
        "--as",
        "boss",
        "case",
        "open",
        "--customer",
        "AC-EVIL",
        "--subject",
        "Private matter",
        "--private",
        "--owner",
        "ann",
    ]);
    let private = private["number"].as_i64().expect("a case number");
    rig.cli(&[
        "--as",
        "boss",
        "case",
        "open",
        "--customer",
        "AC-EVIL",
        "--subject",
        subject,
    ]);

    let bob = rig.browser().await;
    sign_in(&bob, &rig, "bob").await;
    bob.goto(&rig.url(&format!("/cases/{private}")))
        .await
        .expect("goes");
    let hidden = wait_text(&bob, ".not-found", "Not found").await;
    screenshot(&bob, "journey3-private").await;
    bob.goto(&rig.url("/cases/999999")).await.expect("goes");
    let missing = wait_text(&bob, ".not-found", "Not found").await;
    assert_eq!(hidden, missing, "a private case shows as a missing one");
    assert!(!hidden.contains("Private matter"), "{hidden}");

    bob.goto(&rig.url("/customers/AC-EVIL"))
        .await
        .expect("goes");
    let heading = wait_text(&bob, "h1", "Eve").await;
    assert_eq!(heading, name, "the name shows as its characters");
    let table = wait_text(&bob, "table", "refund").await;
    assert!(
        table.contains(subject),
        "the subject shows as text: {table}"
    );
    assert!(!table.contains("Private matter"), "{table}");
    let pwned = bob
        .execute("return typeof window.pwned;", vec![])
        .await
        .expect("runs");
    assert_eq!(pwned, json!("undefined"), "no markup from the data ran");
    let images = bob
        .find_all(Locator::Css("main img"))
        .await
        .expect("a query");
    assert!(images.is_empty(), "no element was made from the data");
    screenshot(&bob, "journey3-escaped").await;

    // In a narrow window (a phone's width) nothing runs off the side.
    bob.set_window_size(420, 800).await.expect("resized");
    wait_text(&bob, "h1", "Eve").await;
    let overflow = bob
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .expect("measured");
    screenshot(&bob, "journey3-narrow").await;
    let violations = axe(&bob).await;
    assert!(
        violations.is_empty(),
        "the customer view, narrow: {violations:#?}"
    );
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the page is wider than a 420 px window by {overflow} px"
    );
    bob.set_window_size(1280, 800).await.expect("resized");

    // Search finds the public case, never the private one.
    type_into(&bob, "#search-q", "refund\u{E007}").await;
    let hits = wait_text(&bob, ".hits", "Case #").await;
    assert!(!hits.contains(&format!("Case #{private}")), "{hits}");
    let (_, all) = rig.api("GET", "/api/v1/search?q=matter", None);
    assert!(
        all["items"]
            .as_array()
            .is_some_and(|hits| hits.iter().any(|h| h["case_number"] == private)),
        "the admin finds the private case: {all}"
    );
    type_into(&bob, "#search-q", "matter\u{E007}").await;
    wait_text(&bob, "main", "Nothing matches").await;
    let violations = axe(&bob).await;
    assert!(violations.is_empty(), "the customer view: {violations:#?}");
    bob.close().await.expect("closed");
}
