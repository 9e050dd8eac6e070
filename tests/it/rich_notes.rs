//! Rich text beyond email drafts, through the `Host` on a real store file:
//! notes and FAQ entries keep only sanitized HTML (no scripts, event
//! handlers or `javascript:` links) with a text version made from it,
//! inline images are stored as blobs the note references and read back,
//! and with `[email] rich_text = false` HTML is refused naming the setting.

use dossier_host::{Error, Host, InlineImage};
use dossier_sdk::{CaseNumber, FaqChange, FollowUpKind, NewCase, NewFaqEntry, NewFollowUp};

use crate::util::{FIELDS, TestStore};

/// HTML with each of the three unsafe things the sanitizer must remove.
const UNSAFE: &str = "<p onclick=\"steal()\">Called the <b>customer</b> back.</p>\
     <script>alert(1)</script>\
     <p><a href=\"javascript:alert(2)\">details</a> and \
     <a href=\"https://help.example.com/x\">the manual</a></p>";

fn assert_safe(html: &str) {
    for bad in ["<script", "alert(1)", "onclick", "javascript:", "steal()"] {
        assert!(!html.contains(bad), "`{bad}` survived: {html}");
    }
    assert!(html.contains("<b>customer</b>"), "{html}");
    assert!(html.contains("https://help.example.com/x"), "{html}");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 64])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn case(t: &TestStore) -> CaseNumber {
    let c = t.customer("AC-1", "+33123456789");
    t.host
        .open_case(NewCase::new(c, "Router"))
        .expect("case")
        .number
}

fn html_note(case: CaseNumber, text: &str, html: &str) -> NewFollowUp {
    let mut new = NewFollowUp::note(case, "system", text);
    new.html = Some(html.to_owned());
    new
}

#[test]
fn a_note_keeps_sanitized_html_and_a_text_version_made_from_it() {
    let t = TestStore::new(FIELDS);
    let number = case(&t);
    let f = t
        .host
        .add_follow_up(html_note(number, "", UNSAFE))
        .expect("note");
    let stored = t.host.follow_up(f.id).expect("read back");
    assert_eq!(stored.kind, FollowUpKind::Note);
    assert_safe(stored.html.as_deref().expect("html kept"));
    assert!(
        stored.body.contains("Called the customer back."),
        "text made from the HTML: {}",
        stored.body
    );
    assert!(!stored.body.contains("alert"), "{}", stored.body);

    // A text given with the HTML is kept as it is.
    let f = t
        .host
        .add_follow_up(html_note(number, "My own text", "<p>Rich</p>"))
        .expect("note");
    assert_eq!(t.host.follow_up(f.id).expect("read").body, "My own text");
}

#[test]
fn inline_images_are_stored_as_blobs_the_note_names_and_are_read_back() {
    let t = TestStore::new(FIELDS);
    let number = case(&t);
    let small = png(40, 30);
    let pasted = base64_png(&png(20, 10));
    let html = format!(
        "<p>Before</p><p><img src=\"cid:router.png\" alt=\"The router\"></p>\
         <p><img alt=\"pasted\" src=\"data:image/png;base64,{pasted}\"></p><p>After</p>"
    );
    let f = t
        .host
        .add_rich_note(
            html_note(number, "", &html),
            vec![
                InlineImage {
                    name: "router.png".into(),
                    bytes: small.clone(),
                    alt: "unused: the HTML places it".into(),
                },
                InlineImage {
                    name: "wide.png".into(),
                    bytes: png(3200, 800),
                    alt: "A \"wide\" <chart>".into(),
                },
            ],
        )
        .expect("note with images");
    let stored = t.host.follow_up(f.id).expect("read back");
    let html = stored.html.expect("html");
    assert_eq!(stored.attachments.len(), 3, "{:?}", stored.attachments);
    for a in &stored.attachments {
        let cid = a.content_id.as_deref().expect("a content id");
        assert!(html.contains(&format!("cid:{cid}")), "{cid} not in {html}");
        assert_eq!(a.content_type, "image/png");
        let bytes = t
            .host
            .attachment(a.blob.as_deref().expect("blob"))
            .expect("served");
        assert_eq!(bytes.len() as u64, a.size);
    }
    // The named image kept its place; the pasted one became a blob; the
    // other went at the end, its alt text escaped, and was downscaled.
    let before = html.find("Before").expect("before");
    let router = html.find("alt=\"The router\"").expect("placed");
    let after = html.find("After").expect("after");
    assert!(before < router && router < after, "{html}");
    assert!(!html.contains("data:"), "{html}");
    let router = &stored.attachments[1];
    assert_eq!(router.name, "router.png");
    assert_eq!(
        t.host
            .attachment(router.blob.as_deref().expect("blob"))
            .expect("bytes"),
        small,
        "a small image is kept as it came"
    );
    let wide = &stored.attachments[2];
    let picture = image::load_from_memory(
        &t.host
            .attachment(wide.blob.as_deref().expect("blob"))
            .expect("bytes"),
    )
    .expect("an image");
    assert_eq!(picture.width().max(picture.height()), 1600, "downscaled");
    assert!(
        html.rfind("alt=\"A &quot;wide&quot; &lt;chart&gt;\"") > Some(after),
        "{html}"
    );

    // Over the limit: refused naming it, and nothing is written.
    let err = t
        .host
        .add_rich_note(
            html_note(number, "", "<p>x</p>"),
            vec![InlineImage {
                name: "huge.png".into(),
                bytes: vec![0u8; 11 * 1024 * 1024],
                alt: String::new(),
            }],
        )
        .expect_err("11 MB");
    assert!(err.to_string().contains("at most 10 MB"), "{err}");
    let (_, total) = t
        .host
        .follow_ups(number, dossier_host::Page::default())
        .expect("list");
    assert_eq!(total, 1);
}

fn base64_png(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn an_faq_entry_keeps_sanitized_html_on_add_and_update() {
    let t = TestStore::new(FIELDS);
    let added = t
        .host
        .faq_add(NewFaqEntry {
            shortcut: "callback".into(),
            title: "Call back".into(),
            body: String::new(),
            link: None,
            html: Some(UNSAFE.into()),
        })
        .expect("faq");
    assert_safe(added.html.as_deref().expect("html"));
    assert!(
        added.body.contains("Called the customer back."),
        "{}",
        added.body
    );
    let stored = t.host.faq_entry("callback").expect("read back");
    assert_eq!(stored, added);

    let changed = t
        .host
        .faq_update(
            "callback",
            FaqChange {
                html: Some(Some(
                    "<p>New <i>answer</i><img src=x onerror=\"alert(3)\"></p>".into(),
                )),
                ..Default::default()
            },
        )
        .expect("update");
    let html = changed.html.as_deref().expect("html");
    assert!(
        html.contains("<i>answer</i>") && !html.contains("onerror"),
        "{html}"
    );
    assert_eq!(changed.body, "New answer", "the text follows the HTML");
    assert_eq!(
        t.host.faq_search("answer", 5).expect("search"),
        vec![changed.clone()],
        "search reads the HTML version too"
    );
    let removed = t
        .host
        .faq_update(
            "callback",
            FaqChange {
                html: Some(None),
                ..Default::default()
            },
        )
        .expect("update");
    assert_eq!(removed.html, None);
    assert_eq!(removed.body, "New answer", "the text stays");
}

fn refused_naming_the_setting(err: &Error, field: &str) {
    assert!(
        matches!(err, Error::InvalidInput { what, message }
            if what == field && message.contains("[email] rich_text = false")),
        "{err}"
    );
}

#[test]
fn with_rich_text_off_notes_and_faq_entries_refuse_html_naming_the_setting() {
    let t = TestStore::new(&format!("{FIELDS}\n[email]\nrich_text = false\n"));
    let number = case(&t);
    let host: &Host = &t.host;
    refused_naming_the_setting(
        &host
            .add_follow_up(html_note(number, "text", "<p>hi</p>"))
            .expect_err("refused"),
        "html",
    );
    refused_naming_the_setting(
        &host
            .add_rich_note(
                NewFollowUp::note(number, "system", "text"),
                vec![InlineImage {
                    name: "a.png".into(),
                    bytes: png(4, 4),
                    alt: String::new(),
                }],
            )
            .expect_err("refused"),
        "image",
    );
    let (_, total) = host
        .follow_ups(number, dossier_host::Page::default())
        .expect("list");
    assert_eq!(total, 0, "nothing was written");
    // Text only is still fine.
    host.add_follow_up(NewFollowUp::note(number, "system", "plain"))
        .expect("a text note");

    refused_naming_the_setting(
        &host
            .faq_add(NewFaqEntry {
                shortcut: "x".into(),
                title: "X".into(),
                body: "text".into(),
                link: None,
                html: Some("<p>hi</p>".into()),
            })
            .expect_err("refused"),
        "html",
    );
    assert!(host.faq_list().expect("list").is_empty());
}
