//! The desktop's email window and QA review, in headless Chromium against
//! a real `dossier serve` and a real SMTP server on 127.0.0.1.

use std::time::Duration;

use dossier_tests::smtp::SmtpServer;
use dossier_tests::wait_until;
use fantoccini::Locator;
use serde_json::json;

use super::rig::{
    Rig, axe, click, enabled, screenshot, select, sign_in, turn, type_into, value_of, wait_for,
    wait_text,
};
use super::util::with_stdin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_is_offered_answered_with_an_faq_and_a_file_rejected_fixed_and_approved() {
    if !enabled("email journey (offer, reply, review)") {
        return;
    }
    let _turn = turn().await;
    let smtp = SmtpServer::start();
    let rig = Rig::with_config(&format!(
        "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_ms = 5000\n\
         \n[email.queues.mail]\nmembers = [\"ann\"]\n\n[email.routing]\ndefault = \"mail\"\n\
         \n[email.review]\nagents = [\"ann\"]\n",
        smtp.port()
    ));
    rig.cli(&[
        "--as",
        "boss",
        "faq",
        "add",
        "rotors",
        "--title",
        "Rotor order",
        "--body",
        "The rotor order is printed on page two.",
    ]);
    let ann = rig.browser().await;
    sign_in(&ann, &rig, "ann").await;
    select(&ann, "#chat-state", "available").await;
    wait_text(&ann, ".toast", "ready to work").await;

    // Mail arrives through the MTA's pipe; its case is offered to ann.
    let mail = "From: Alan Turing <alan@example.org>\r\nTo: support@example.com\r\n\
        Subject: Enigma rotor order\r\nMessage-ID: <rotor-1@example.org>\r\n\
        Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nThe rotor order on my invoice is wrong.\r\n";
    let ingested = with_stdin(
        rig.dir.path(),
        &["--as", "boss", "email", "ingest", "-"],
        mail.as_bytes(),
    );
    assert!(ingested.status.success(), "{ingested:?}");
    let offer = wait_text(&ann, ".email-offer", "Enigma rotor order").await;
    assert!(offer.contains("alan@example.org"), "{offer}");
    screenshot(&ann, "email-offer").await;
    click(&ann, ".email-offer .accept").await;

    // The email window: headers, context data, the actions.
    wait_text(&ann, ".email .from", "Alan Turing <alan@example.org>").await;
    wait_text(&ann, "section[aria-label='Context data']", "Alan Turing").await;
    screenshot(&ann, "email-window").await;
    let violations = axe(&ann).await;
    assert!(violations.is_empty(), "the email window: {violations:#?}");

    // Reply with an FAQ entry and a file.
    click(
        &ann,
        "section[aria-label='Email actions'] button:first-child",
    )
    .await;
    wait_text(&ann, "h1", "Draft: Re: Enigma rotor order").await;
    let to = ann
        .execute("return document.querySelector('#draft-to').value;", vec![])
        .await
        .expect("read");
    assert_eq!(to, json!("Alan Turing <alan@example.org>"));
    let picks = ann
        .execute(
            "return [...document.querySelectorAll('#draft-addresses option')].map((o) => o.value);",
            vec![],
        )
        .await
        .expect("read");
    assert!(
        picks.to_string().contains("alan@example.org"),
        "the case's addresses to pick from: {picks}"
    );
    select(&ann, "#draft-faq", "rotors").await;
    let file = rig.dir.path().join("invoice-INV-1936.txt");
    std::fs::write(&file, "INV-1936: rotors I II III\n").expect("a file");
    wait_for(&ann, "#draft-files")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("a file picked");
    wait_text(&ann, ".attachments", "invoice-INV-1936.txt").await;

    // Sending without To asks for it, on the field; nothing is lost.
    ann.execute("document.querySelector('#draft-to').value = '';", vec![])
        .await
        .expect("To cleared");
    click(&ann, ".draft .send").await;
    let asked = wait_text(&ann, "#draft-to-error", "o").await;
    assert!(
        asked.contains("to") || asked.contains("To"),
        "the missing To is named: {asked}"
    );
    ann.execute(
        "document.querySelector('#draft-to').value = 'Alan Turing <alan@example.org>';",
        vec![],
    )
    .await
    .expect("To put back");

    // Rich text: sanitized by the server, shown back in a sandboxed frame.
    ann.execute(
        "document.querySelector('#draft-html').value = arguments[0];",
        vec![json!(
            "<p>Dear <b>Alan</b>,</p><script>alert(1)</script>\
             <p><img src=\"https://example.com/rotors.png\" alt=\"Rotor diagram\"></p>"
        )],
    )
    .await
    .expect("HTML written");
    click(&ann, ".draft .save-draft").await;
    wait_text(&ann, ".toast", "Draft kept").await;
    let shown = ann
        .execute(
            "const f = document.querySelector('.preview-frame');
             return [f.getAttribute('srcdoc'), f.getAttribute('sandbox')];",
            vec![],
        )
        .await
        .expect("read");
    let srcdoc = shown[0].as_str().unwrap_or_default();
    assert!(
        srcdoc.contains("<b>Alan</b>") && !srcdoc.contains("<script"),
        "{srcdoc}"
    );
    assert_eq!(shown[1], json!(""), "the preview runs nothing");
    let violations = axe(&ann).await;
    assert!(violations.is_empty(), "the editor: {violations:#?}");
    click(&ann, ".draft .send").await;
    wait_text(&ann, ".toast", "Sent to review").await;

    // The reviewer rejects it with remarks.
    let boss = rig.browser().await;
    sign_in(&boss, &rig, "boss").await;
    click(&boss, "#nav-review").await;
    wait_text(&boss, "main table", "Re: Enigma rotor order").await;
    boss.find(Locator::LinkText("Re: Enigma rotor order"))
        .await
        .expect("the draft in the queue")
        .click()
        .await
        .expect("opened");
    wait_text(&boss, "#review-body", "").await;
    let reviewed = value_of(&boss, "#review-body").await;
    assert!(
        reviewed.contains("The rotor order is printed on page two.")
            && !reviewed.contains("/rotors"),
        "the FAQ entry was put in: {reviewed}"
    );
    type_into(&boss, "#review-remarks", "Greet him by name.").await;
    click(&boss, ".reject").await;
    wait_text(&boss, ".toast", "Rejected").await;

    // ann sees the remarks in her workbin, fixes the text and resubmits.
    ann.goto(&rig.url("/workbin")).await.expect("goes");
    wait_text(&ann, "main table", "Draft:").await;
    ann.find(Locator::XPath("//main//a[starts-with(., 'Draft:')]"))
        .await
        .expect("the rejected draft in the workbin")
        .click()
        .await
        .expect("opened");
    wait_text(&ann, ".remarks", "Greet him by name.").await;
    ann.execute(
        "const b = document.querySelector('#draft-body'); b.value = 'Hello Alan,\\n' + b.value;",
        vec![],
    )
    .await
    .expect("edited");
    click(&ann, ".draft .send").await;
    wait_text(&ann, ".toast", "Sent to review").await;

    // Approved: it leaves, with the file and the thread token.
    boss.goto(&rig.url("/review")).await.expect("goes");
    wait_text(&boss, "main table", "Re: Enigma rotor order").await;
    boss.find(Locator::LinkText("Re: Enigma rotor order"))
        .await
        .expect("the draft again")
        .click()
        .await
        .expect("opened");
    wait_text(&boss, "#review-body", "").await;
    assert!(
        value_of(&boss, "#review-body")
            .await
            .starts_with("Hello Alan,")
    );
    click(&boss, ".approve").await;
    wait_text(&boss, ".toast", "Approved").await;
    wait_until(
        "the mail reaches the SMTP server",
        Duration::from_secs(20),
        || !smtp.messages().is_empty(),
    );
    let sent = smtp.messages().remove(0);
    let text = sent.text();
    assert_eq!(sent.rcpt_to, vec!["alan@example.org".to_owned()]);
    assert!(text.contains("Hello Alan"), "{text}");
    assert!(
        text.contains("The rotor order is printed on page two."),
        "{text}"
    );
    assert!(
        text.contains("invoice-INV-1936.txt"),
        "the attachment: {text}"
    );
    assert!(
        text.contains("text/html") && text.contains("Rotor diagram"),
        "the HTML part: {text}"
    );
    assert!(!text.contains("alert(1)"), "no script left: {text}");
    let (_, cases) = rig.api("GET", "/api/v1/cases?limit=5", None);
    let token = cases["items"][0]["thread_token"]
        .as_str()
        .unwrap_or_else(|| panic!("the case has a thread token: {cases}"))
        .to_owned();
    assert!(
        text.contains(&format!("[#{token}]")),
        "the thread token {token}: {text}"
    );
    ann.close().await.expect("closed");
    boss.close().await.expect("closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_is_forwarded_outside_transferred_to_a_colleague_and_a_colleague_consulted() {
    if !enabled("email journey (forward, transfer, consult)") {
        return;
    }
    let _turn = turn().await;
    let smtp = SmtpServer::start();
    let rig = Rig::with_config(&format!(
        "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_ms = 5000\n\
         \n[email.queues.mail]\nmembers = [\"ann\"]\n\n[email.routing]\ndefault = \"mail\"\n",
        smtp.port()
    ));
    for (login, address) in [("ann", "ann@example.com"), ("bob", "bob@example.com")] {
        rig.cli(&["--as", "boss", "agent", "update", login, "--email", address]);
    }
    // Transferring email is a supervisor's right by default: ann gets it.
    rig.cli(&[
        "--as",
        "boss",
        "agent",
        "update",
        "ann",
        "--grant",
        "transfer_email",
    ]);
    // ann may switch her own queues (an admin's grant).
    rig.cli(&[
        "--as",
        "boss",
        "agent",
        "update",
        "ann",
        "--grant",
        "manage_own_queues",
    ]);
    let ann = rig.browser().await;
    sign_in(&ann, &rig, "ann").await;
    ann.goto(&rig.url("/queues")).await.expect("goes");
    wait_text(&ann, ".queues", "mail (email)").await;
    click(&ann, "#queue-mail").await;
    wait_text(&ann, ".toast", "Switched off").await;
    let (_, queue) = rig.api("GET", "/api/v1/queues/mail", None);
    assert_eq!(queue["members"][0]["joined"], false, "{queue}");
    click(&ann, "#queue-mail").await;
    wait_text(&ann, ".toast", "Switched on").await;
    let (_, queue) = rig.api("GET", "/api/v1/queues/mail", None);
    assert_eq!(queue["members"][0]["joined"], true, "{queue}");
    select(&ann, "#chat-state", "available").await;
    wait_text(&ann, ".toast", "ready to work").await;
    let mail = "From: Grace Hopper <grace@example.org>\r\nTo: support@example.com\r\n\
        Subject: Invoice in COBOL\r\nMessage-ID: <cobol-1@example.org>\r\n\r\n\
        Can my invoice be printed in COBOL?\r\n";
    let ingested = with_stdin(
        rig.dir.path(),
        &["--as", "boss", "email", "ingest", "-"],
        mail.as_bytes(),
    );
    assert!(ingested.status.success(), "{ingested:?}");
    wait_text(&ann, ".email-offer", "Invoice in COBOL").await;
    click(&ann, ".email-offer .accept").await;
    wait_text(&ann, ".email .from", "grace@example.org").await;
    let window = ann.current_url().await.expect("a URL").to_string();

    // Forward with a note to an outside address.
    click(
        &ann,
        "section[aria-label='Email actions'] button:nth-child(3)",
    )
    .await;
    type_into(&ann, "#forward-to", "printing@partner.example.net").await;
    type_into(&ann, "#forward-note", "Can you print this in COBOL?").await;
    click(&ann, "form[aria-label='Forward'] button[type=submit]").await;
    wait_text(&ann, "h1", "Draft:").await;
    click(&ann, ".draft .send").await;
    wait_text(&ann, ".toast", "Sent").await;
    wait_until(
        "the forward reaches the SMTP server",
        Duration::from_secs(20),
        || {
            smtp.messages().iter().any(|m| {
                m.rcpt_to
                    .contains(&"printing@partner.example.net".to_owned())
            })
        },
    );
    let forward = smtp
        .messages()
        .into_iter()
        .find(|m| {
            m.rcpt_to
                .contains(&"printing@partner.example.net".to_owned())
        })
        .expect("the forward");
    let text = forward.text();
    assert!(
        text.contains("Can you print this in COBOL?"),
        "the note: {text}"
    );
    assert!(
        text.contains("Can my invoice be printed in COBOL?"),
        "the email: {text}"
    );

    // Transfer to bob with a note: it leaves ann's workbin for bob's.
    ann.goto(&window).await.expect("back to the email");
    wait_text(&ann, ".email .from", "grace@example.org").await;
    click(
        &ann,
        "section[aria-label='Email actions'] button:nth-child(4)",
    )
    .await;
    type_into(&ann, "#transfer-agent", "bob").await;
    type_into(&ann, "#transfer-note", "Billing question for you").await;
    click(&ann, "form[aria-label='Transfer'] button[type=submit]").await;
    wait_text(&ann, ".toast", "Transferred").await;
    wait_text(&ann, "main", "Your workbin is empty").await;
    let bob = rig.browser().await;
    sign_in(&bob, &rig, "bob").await;
    bob.goto(&rig.url("/workbin")).await.expect("goes");
    wait_text(&bob, "main table", "Invoice in COBOL").await;
    bob.find(Locator::LinkText("Invoice in COBOL"))
        .await
        .expect("the email in bob's workbin")
        .click()
        .await
        .expect("opened");
    let thread = wait_text(&bob, "#follow-ups", "Billing question for you").await;
    assert!(thread.contains("ann"), "who transferred it: {thread}");
    screenshot(&bob, "email-transferred").await;

    // bob consults ann: she is mailed the email with the question.
    click(
        &bob,
        "section[aria-label='Email actions'] button:nth-child(5)",
    )
    .await;
    type_into(&bob, "#consult-colleague", "ann").await;
    type_into(&bob, "#consult-question", "Did she write before?").await;
    click(&bob, "form[aria-label='Consult'] button[type=submit]").await;
    wait_text(&bob, ".toast", "colleague was asked").await;
    wait_until(
        "the consultation reaches ann",
        Duration::from_secs(20),
        || {
            smtp.messages()
                .iter()
                .any(|m| m.rcpt_to.contains(&"ann@example.com".to_owned()))
        },
    );
    let asked = smtp
        .messages()
        .into_iter()
        .find(|m| m.rcpt_to.contains(&"ann@example.com".to_owned()))
        .expect("the consultation")
        .text();
    assert!(asked.contains("Did she write before?"), "{asked}");
    wait_text(&bob, "#follow-ups", "Did she write before?").await;
    ann.close().await.expect("closed");
    bob.close().await.expect("closed");
}
