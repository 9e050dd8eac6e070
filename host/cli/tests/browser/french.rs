//! The desktop in French: every control of the case view and of the email
//! window speaks French once the agent picks it (or their browser asks
//! for it), and times follow the store's zone.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::rig::{Rig, axe, click, enabled, screenshot, sign_in, turn, wait_for, wait_text};
use super::util::with_stdin;

/// The texts of the controls in `main`: labels, buttons, options, column
/// headings, headings, and the names given to regions and forms.
const CONTROLS: &str = "
const done = arguments[arguments.length - 1];
const texts = [];
for (const e of document.querySelectorAll('main label, main button, main option, main th, main h1, main h2, main h3, main legend, main a.button')) {
  const text = e.innerText.trim();
  if (text && (e.offsetParent !== null || e.tagName === 'OPTION')) texts.push(text);
}
for (const e of document.querySelectorAll('main [aria-label]')) texts.push(e.getAttribute('aria-label'));
done(texts);
";

async fn controls(browser: &fantoccini::Client) -> Vec<String> {
    let found = browser
        .execute_async(CONTROLS, vec![])
        .await
        .expect("the controls are read");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The French words the pages know.
async fn french(browser: &fantoccini::Client) -> BTreeSet<String> {
    let words = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             import('/assets/i18n.js').then((m) => done(Object.values(m.FR)));",
            vec![],
        )
        .await
        .expect("the dictionary loads");
    words
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What the admin named (fields, choices, statuses, codes): shown as
/// written, in any language.
fn admin_words(rig: &Rig) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let (_, schema) = rig.api("GET", "/api/v1/schema", None);
    let mut walk = vec![schema];
    for channel in ["phone", "email", "chat"] {
        walk.push(
            rig.api("GET", &format!("/api/v1/dispositions/{channel}"), None)
                .1,
        );
    }
    while let Some(v) = walk.pop() {
        match v {
            Value::String(s) => {
                words.insert(s);
            }
            Value::Array(a) => walk.extend(a),
            Value::Object(o) => walk.extend(o.into_values()),
            _ => {}
        }
    }
    words
}

/// The controls that show neither French, nor what the admin named, nor
/// data (numbers, `#12`, addresses).
fn not_french(
    shown: &[String],
    french: &BTreeSet<String>,
    admin: &BTreeSet<String>,
    data: &[&str],
) -> Vec<String> {
    shown
        .iter()
        .filter(|text| {
            let text = text.trim_end_matches(" *");
            !french.contains(text)
                && !admin.contains(text)
                && !data.iter().any(|d| text.contains(d))
                && text.chars().any(char::is_alphabetic)
                && !french.iter().any(|f| {
                    // A French phrase with values filled in (`Dossier n° 3 : …`).
                    f.contains('{') && {
                        let head = f.split('{').next().unwrap_or_default();
                        !head.is_empty() && text.starts_with(head)
                    }
                })
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_french_desktop_shows_french_on_every_control_of_the_case_view_and_the_email_window() {
    if !enabled("French journey") {
        return;
    }
    let _turn = turn().await;
    let rig = Rig::with_config(
        "\n[email.queues.mail]\nmembers = [\"ann\"]\n\n[email.routing]\ndefault = \"mail\"\n",
    );
    let ann = rig.browser().await;
    sign_in(&ann, &rig, "ann").await;
    // The agent picks French with the switch; the page reloads in it.
    wait_for(&ann, "#lang")
        .await
        .select_by_value("fr")
        .await
        .expect("French picked");
    wait_text(&ann, "nav", "Mes dossiers").await;
    assert!(
        !not_french(
            &["Save the fields".to_owned()],
            &french(&ann).await,
            &BTreeSet::new(),
            &[]
        )
        .is_empty(),
        "English is told apart"
    );
    let french = french(&ann).await;
    let admin = admin_words(&rig);
    assert!(
        french.len() > 100,
        "the dictionary: {} entries",
        french.len()
    );

    // The case view.
    rig.cli(&[
        "--as",
        "boss",
        "customer",
        "add",
        "--account",
        "AC-FR",
        "--name",
        "Marie Curie",
    ]);
    let case = rig.cli(&[
        "--as",
        "boss",
        "case",
        "open",
        "--customer",
        "AC-FR",
        "--subject",
        "Radium",
    ]);
    let number = case["number"].as_i64().expect("a case number");
    ann.goto(&rig.url(&format!("/cases/{number}")))
        .await
        .expect("goes");
    wait_text(&ann, "h1", &format!("Dossier n° {number}")).await;
    wait_text(&ann, "main", "Enregistrer les champs").await;
    let shown = controls(&ann).await;
    assert!(
        shown.len() > 40,
        "the case view's controls were read: {shown:?}"
    );
    let english = not_french(&shown, &french, &admin, &["Marie Curie", "AC-FR", "Radium"]);
    assert!(
        english.is_empty(),
        "not in French on the case view: {english:#?}"
    );
    screenshot(&ann, "french-case").await;
    let violations = axe(&ann).await;
    assert!(
        violations.is_empty(),
        "the French case view: {violations:#?}"
    );

    // The email window.
    select_state(&ann).await;
    let mail = "From: Pierre Curie <pierre@example.org>\r\nTo: support@example.com\r\n\
        Subject: Polonium\r\nMessage-ID: <po-1@example.org>\r\n\r\nWhere is the analysis?\r\n";
    let ingested = with_stdin(
        rig.dir.path(),
        &["--as", "boss", "email", "ingest", "-"],
        mail.as_bytes(),
    );
    assert!(ingested.status.success(), "{ingested:?}");
    wait_text(&ann, ".email-offer", "Polonium").await;
    click(&ann, ".email-offer .accept").await;
    wait_text(&ann, ".email .from", "pierre@example.org").await;
    wait_text(&ann, "main", "Répondre à tous").await;
    let shown = controls(&ann).await;
    assert!(
        shown.len() > 10,
        "the email window's controls were read: {shown:?}"
    );
    let english = not_french(
        &shown,
        &french,
        &admin,
        &[
            "Pierre Curie",
            "pierre@example.org",
            "Polonium",
            "support@example.com",
            "tier",
        ],
    );
    assert!(
        english.is_empty(),
        "not in French on the email window: {english:#?}"
    );
    screenshot(&ann, "french-email").await;
    let chat_state = ann
        .execute(
            "return document.querySelector('#chat-state option[value=available]').textContent;",
            vec![],
        )
        .await
        .expect("read");
    assert_eq!(chat_state, json!("Disponible"));
    ann.close().await.expect("closed");
}

/// Makes the agent available, in French.
async fn select_state(browser: &fantoccini::Client) {
    wait_for(browser, "#chat-state")
        .await
        .select_by_value("available")
        .await
        .expect("available");
    wait_text(browser, ".toast", "prêt à travailler").await;
}
