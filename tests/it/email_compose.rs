//! Composing: rich text sanitized with a text part made from it, images by
//! URL and inline (downscaled), and the size limits, through the Host and
//! the loopback SMTP server.

use dossier_host::{DraftStart, Error, Host};
use dossier_sdk::{DraftChange, NewAgent, Role};
use dossier_tests::smtp::SmtpServer;
use mail_parser::{MessageParser, MimeHeaders};

use crate::util::{FIELDS, TestStore};

fn desk(server: &SmtpServer, extra: &str) -> (TestStore, Host) {
    let t = TestStore::new(&format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n{extra}\n\
         [email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
        server.port()
    ));
    let root = t.host.first_admin("root").expect("admin").expect("made");
    t.host
        .as_agent(&root.login)
        .expect("root")
        .add_agent(NewAgent {
            login: "ann".into(),
            display_name: "Ann".into(),
            email: Some("ann@dossier.test".into()),
            role: Role::Agent,
            groups: Vec::new(),
        })
        .expect("ann");
    t.host
        .ingest_email(
            b"From: ada@example.com\r\nSubject: Help\r\nMessage-ID: <h1@e>\r\n\r\nhelp\r\n",
        )
        .expect("ingest");
    let ann = t.host.as_agent("ann").expect("ann");
    (t, ann)
}

fn draft(ann: &Host) -> i64 {
    ann.start_draft(DraftStart::Reply(dossier_sdk::FollowUpId(1)))
        .expect("draft")
        .id
}

#[test]
fn rich_text_is_sanitized_on_save_and_sent_with_a_text_part_made_from_it() {
    let server = SmtpServer::start();
    let (_t, ann) = desk(&server, "");
    let id = draft(&ann);
    let edited = ann
        .edit_draft(
            id,
            DraftChange {
                body: Some(String::new()),
                html: Some(Some(
                    "<p onclick=\"steal()\">Your <b>refund</b> is on its way.</p>\
                     <script>alert(1)</script><p><img src=\"https://cdn.example.com/logo.png\" alt=\"Our logo\"></p>"
                        .into(),
                )),
                ..Default::default()
            },
        )
        .expect("edit");
    let html = edited.html.expect("html");
    assert!(
        !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert!(html.contains("<b>refund</b>"));
    ann.send_draft(id).expect("send");
    let m = &server.messages()[0];
    let p = MessageParser::default().parse(&m.data).expect("parse");
    assert_eq!(
        p.content_type().map(|c| c.subtype()),
        Some(Some("alternative"))
    );
    let text = p.body_text(0).expect("text part");
    assert!(text.contains("Your refund is on its way."), "{text}");
    let sent_html = p.body_html(0).expect("html part");
    assert!(
        sent_html.contains("https://cdn.example.com/logo.png"),
        "a URL image stays a link"
    );
    assert!(sent_html.contains("alt=\"Our logo\""));
    assert_eq!(p.attachments().count(), 0, "the host never fetched the URL");
}

#[test]
fn with_rich_text_off_only_text_is_accepted() {
    let server = SmtpServer::start();
    let (_t, ann) = desk(&server, "rich_text = false");
    let id = draft(&ann);
    let err = ann
        .edit_draft(
            id,
            DraftChange {
                html: Some(Some("<p>hi</p>".into())),
                body: Some("kept?".into()),
                ..Default::default()
            },
        )
        .expect_err("refused");
    assert!(
        matches!(&err, Error::InvalidInput { what, .. } if what == "html"),
        "{err}"
    );
    assert_ne!(
        ann.draft(id).expect("draft").body,
        "kept?",
        "nothing of the refused edit applied"
    );
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

#[test]
fn an_inline_image_is_downscaled_keeps_its_alt_text_and_place_and_files_over_a_limit_are_refused() {
    let server = SmtpServer::start();
    let (_t, ann) = desk(&server, "");
    let id = draft(&ann);
    ann.edit_draft(
        id,
        DraftChange {
            html: Some(Some(
                "<p>Before</p><p><img src=\"cid:chart.png\" alt=\"Sales chart\"></p><p>After</p>"
                    .into(),
            )),
            ..Default::default()
        },
    )
    .expect("html");
    let with_image = ann
        .attach_inline_image(id, "chart.png", &png(3200, 1000), "Sales chart")
        .expect("image");
    let html = with_image.html.clone().expect("html");
    let before = html.find("Before").expect("before");
    let img = html.find("alt=\"Sales chart\"").expect("alt kept");
    let after = html.find("After").expect("after");
    assert!(
        before < img && img < after,
        "the image keeps its place: {html}"
    );

    // Over the limits: refused naming the limit, nothing else lost.
    let big = vec![0u8; 21 * 1024 * 1024];
    let err = ann
        .attach_to_draft(id, "big.bin", "application/octet-stream", &big)
        .expect_err("21 MB");
    assert!(err.to_string().contains("at most 20 MB"), "{err}");
    let err = ann
        .attach_inline_image(id, "huge.png", &vec![0u8; 11 * 1024 * 1024], "x")
        .expect_err("11 MB");
    assert!(err.to_string().contains("at most 10 MB"), "{err}");
    assert_eq!(
        ann.draft(id).expect("draft"),
        with_image,
        "the draft is as it was"
    );

    ann.send_draft(id).expect("send");
    let m = &server.messages()[0];
    let p = MessageParser::default().parse(&m.data).expect("parse");
    let part = p
        .parts
        .iter()
        .find(|part| part.content_type().is_some_and(|c| c.ctype() == "image"))
        .expect("the inline image");
    let sent = image::load_from_memory(part.contents()).expect("an image");
    assert_eq!(
        (sent.width(), sent.height()),
        (1600, 500),
        "downscaled to 1600 px on its long side"
    );
    let cid = part.content_id().expect("content id");
    let sent_html = p.body_html(0).expect("html");
    assert!(sent_html.contains(&format!("cid:{cid}")), "{sent_html}");
    assert!(sent_html.contains("alt=\"Sales chart\""));
}

#[test]
fn faq_shortcuts_expand_as_text_or_as_link_and_go_out_as_written() {
    let server = SmtpServer::start();
    let (t, ann) = desk(&server, "");
    t.host
        .faq_add(dossier_sdk::NewFaqEntry {
            shortcut: "returns".into(),
            title: "Returns".into(),
            body: "Send the parcel back within 30 days.".into(),
            link: Some("https://help.example.com/returns".into()),
            html: None,
        })
        .expect("faq");
    let id = draft(&ann);
    for (mode, expected) in [
        (
            dossier_sdk::ExpandMode::Text,
            "Send the parcel back within 30 days.",
        ),
        (
            dossier_sdk::ExpandMode::Link,
            "https://help.example.com/returns",
        ),
    ] {
        ann.edit_draft(
            id,
            DraftChange {
                body: Some("About returns: /returns (see /etc/passwd)".into()),
                ..Default::default()
            },
        )
        .expect("edit");
        let expanded = ann.expand_draft_faq(id, mode).expect("expand");
        assert_eq!(
            expanded.body,
            format!("About returns: {expected} (see /etc/passwd)")
        );
    }
    ann.send_draft(id).expect("send");
    let p = MessageParser::default()
        .parse(&server.messages()[0].data)
        .expect("parse")
        .body_text(0)
        .expect("text")
        .into_owned();
    assert!(p.contains("https://help.example.com/returns"), "{p}");
}

#[test]
fn the_default_signature_is_inserted_on_send_exactly_once_and_a_named_one_on_request() {
    let server = SmtpServer::start();
    let (_t, ann) = desk(&server, "");
    let me = dossier_sdk::SignatureOwner::Agent("ann".into());
    ann.add_signature(&me, "short", "Ann, Support", None, true)
        .expect("default");
    ann.add_signature(
        &me,
        "formal",
        "Ann Lee\nCustomer Support, Dossier Ltd",
        None,
        false,
    )
    .expect("formal");

    let first = draft(&ann);
    ann.edit_draft(
        first,
        DraftChange {
            body: Some("Hello.".into()),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(first).expect("send");
    // Already signed by hand: not signed again.
    let second = draft(&ann);
    ann.edit_draft(
        second,
        DraftChange {
            body: Some("Hi again.\n\n-- \nAnn, Support".into()),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(second).expect("send");
    let third = draft(&ann);
    ann.edit_draft(
        third,
        DraftChange {
            body: Some("Dear customer.".into()),
            signature: Some(Some("formal".into())),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(third).expect("send");

    let texts: Vec<String> = server
        .messages()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(&m.data)
                .expect("parse")
                .body_text(0)
                .expect("text")
                .replace("\r\n", "\n")
        })
        .collect();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[0].matches("Ann, Support").count(), 1, "{}", texts[0]);
    assert!(
        texts[0].contains("Hello.\n\n-- \nAnn, Support"),
        "{}",
        texts[0]
    );
    assert_eq!(texts[1].matches("Ann, Support").count(), 1, "{}", texts[1]);
    assert!(
        texts[2].contains("Customer Support, Dossier Ltd"),
        "{}",
        texts[2]
    );
    assert!(!texts[2].contains("Ann, Support"));
}
