//! The parser against the corpus in `host/email/tests/corpus/email/` (one insta
//! snapshot per message), targeted checks of what the snapshots show, bad
//! input, a 21 MB attachment built in memory, and property tests that no
//! input makes it panic.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/email")
}

fn corpus(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn parsed(name: &str) -> ParsedEmail {
    parse(&corpus(name), name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sha_prefix(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))[..12].to_owned()
}

fn mailbox_line(m: &Mailbox) -> String {
    match &m.name {
        Some(name) => format!("{name:?} <{}>", m.address),
        None => format!("<{}>", m.address),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

fn block(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "{label}:");
    for line in text.lines() {
        let _ = writeln!(out, "  | {line}");
    }
}

/// What a parsed message shows, as a reviewer reads it: every field, each
/// attachment as name, type, size and the start of its SHA-256.
fn render(result: &Result<ParsedEmail>) -> String {
    let email = match result {
        Ok(email) => email,
        Err(e) => return format!("error ({}): {e}\n", e.code()),
    };
    let h = &email.headers;
    let mut out = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let boxes = |v: &[Mailbox]| list(&v.iter().map(mailbox_line).collect::<Vec<_>>());
    let _ = writeln!(out, "from: {}", mailbox_line(&h.from));
    let _ = writeln!(out, "to: {}", boxes(&h.to));
    let _ = writeln!(out, "cc: {}", boxes(&h.cc));
    let _ = writeln!(out, "subject: {}", h.subject);
    let _ = writeln!(
        out,
        "date: {}",
        h.date.map_or("-".into(), |d| d.to_rfc3339())
    );
    let _ = writeln!(out, "message_id: {}", opt(&h.message_id));
    let _ = writeln!(out, "in_reply_to: {}", opt(&h.in_reply_to));
    let _ = writeln!(out, "references: {}", list(&h.references));
    let _ = writeln!(out, "reply_to: {}", boxes(&email.reply_to));
    let _ = writeln!(
        out,
        "return_path: {}",
        match email.return_path.as_deref() {
            None => "-".to_owned(),
            Some("") => "<> (null sender)".to_owned(),
            Some(p) => p.to_owned(),
        }
    );
    let _ = writeln!(out, "delivered_to: {}", list(&email.delivered_to));
    let _ = writeln!(out, "thread_header: {}", opt(&email.thread_header));
    let _ = writeln!(
        out,
        "auto: {}",
        email.auto.as_ref().map_or("-".into(), |a| format!("{a:?}"))
    );
    let _ = writeln!(out, "key: {}", email.key);
    let _ = writeln!(out, "warnings:");
    for w in &email.warnings {
        let _ = writeln!(out, "  - {w}");
    }
    let _ = writeln!(out, "attachments:");
    for a in &email.attachments {
        let _ = writeln!(
            out,
            "  - {} | {} | {} bytes | sha256 {}",
            a.name,
            a.content_type,
            a.bytes.len(),
            sha_prefix(&a.bytes)
        );
    }
    block(&mut out, "text", &email.text);
    match &email.html {
        Some(html) => block(&mut out, "html", html),
        None => out.push_str("html: -\n"),
    }
    out
}

#[test]
fn corpus_snapshots() {
    insta::glob!("../../tests/corpus/email", "*.eml", |path| {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("corpus");
        insta::assert_snapshot!(render(&parse(&raw, name)));
    });
}

/// No corpus message comes out with a replacement character anywhere: the
/// legacy charsets in headers, bodies and file names all decode.
#[test]
fn corpus_has_no_replacement_characters() {
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        seen += 1;
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let email = parse(&raw, "corpus").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let shown = render(&Ok(email));
        assert!(
            !shown.contains('\u{FFFD}'),
            "{} has U+FFFD:\n{shown}",
            path.display()
        );
    }
    assert!(seen >= 25, "only {seen} corpus messages");
}

#[test]
fn legacy_bodies_decode() {
    let cases = [
        (
            "latin1-body.eml",
            "je n'arrive pas à me connecter à mon compte",
        ),
        ("latin1-body.eml", "« mot de passe expiré »"),
        (
            "windows-1252-body.eml",
            "charged €129.00 twice for the “Premium” plan –",
        ),
        ("windows-1252-body.eml", "— Seán O’Brien"),
        (
            "gb18030-body.eml",
            "我上周订购的台灯（订单号 A-1190）到现在还没有发货",
        ),
        (
            "koi8r-body.eml",
            "Я оплатил заказ N 5531, но статус до сих пор \"ожидает оплаты\".",
        ),
        (
            "raw-8bit-headers-cp1251.eml",
            "Деньги за возвращённый товар так и не поступили",
        ),
        (
            "undeclared-latin1-body.eml",
            "Olá, a encomenda chegou sem o cabo de alimentação.",
        ),
    ];
    for (file, expected) in cases {
        let email = parsed(file);
        assert!(email.text.contains(expected), "{file}: {:?}", email.text);
    }
}

#[test]
fn raw_8bit_headers_decode_with_a_fallback_charset() {
    let cases = [
        (
            "raw-8bit-headers-latin1.eml",
            "Jürgen Müller",
            "Größe ändern: Bestellung 4471",
        ),
        (
            "raw-8bit-headers-cp1251.eml",
            "Ольга Смирнова",
            "Не пришёл возврат денег за заказ 7719",
        ),
        (
            "raw-8bit-headers-koi8r.eml",
            "Сергей Кузнецов",
            "Сломался чайник после недели работы",
        ),
        (
            "raw-8bit-headers-gb18030.eml",
            "李娜",
            "发票抬头填写错误，需要重新开具",
        ),
    ];
    for (file, name, subject) in cases {
        let email = parsed(file);
        assert_eq!(email.headers.from.name.as_deref(), Some(name), "{file}");
        assert_eq!(email.headers.subject, subject, "{file}");
        assert!(
            email.warnings.iter().any(|w| w.contains("raw 8-bit")),
            "{file}: {:?}",
            email.warnings
        );
    }
}

#[test]
fn raw_8bit_file_names_decode_too() {
    let email = parsed("raw-8bit-filename.eml");
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Übersicht März.pdf", "Notiz_ä.txt"]);
    assert!(email.text.contains("Anbei die Übersicht für März."));
}

#[test]
fn encoded_words_in_q_and_b_decode() {
    let email = parsed("encoded-words.eml");
    assert_eq!(
        email.headers.subject,
        "Re: Pedido nº 3302 – ¿dónde está? (€ 49,95)"
    );
    assert_eq!(email.headers.from.name.as_deref(), Some("María García"));
    assert_eq!(email.headers.to[0].name.as_deref(), Some("Soporte Técnico"));
    let gb = parsed("gb18030-body.eml");
    assert_eq!(gb.headers.subject, "订单还没有发货");
    assert_eq!(gb.headers.from.name.as_deref(), Some("王小明"));
}

#[test]
fn rfc2231_names_join_continuations_before_decoding() {
    let email = parsed("rfc2231-filenames.eml");
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Žčká račun € 49 - garancija.pdf",
            "Garancijski list čšć.doc",
            "fotografija školjke.jpg",
        ]
    );
    assert_eq!(email.attachments[0].bytes, b"%PDF-1.4 receipt");
}

#[test]
fn attachments_keep_their_bytes_and_types() {
    let email = parsed("mixed-attachments.eml");
    let summary: Vec<(&str, &str, usize)> = email
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.content_type.as_str(), a.bytes.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Rechnung-2024-0311.pdf", "application/pdf", 142),
            ("attachment-2.png", "image/png", 70),
            // Quoted-printable line breaks are CRLF: 70 bytes with LF.
            ("artikel.csv", "text/csv", 73),
        ]
    );
    // The CSV is kept as sent (Windows-1252), not re-encoded for display.
    assert!(email.attachments[2].bytes.windows(1).any(|w| w == [0x80]));
    assert!(email.text.contains("Viele Grüße"));
}

#[test]
fn an_attached_message_is_one_eml_attachment() {
    let email = parsed("attached-rfc822.eml");
    assert_eq!(email.attachments.len(), 1, "{:?}", email.attachments);
    let eml = &email.attachments[0];
    assert_eq!(eml.name, "Your return label.eml");
    assert_eq!(eml.content_type, "message/rfc822");
    let inner = parse(&eml.bytes, "inner").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inner.headers.message_id.as_deref(),
        Some("label-8812@shop.example.com")
    );
    assert_eq!(inner.attachments[0].name, "label.pdf");
    assert!(email.text.contains("does not scan at the post office"));
    assert!(!email.text.contains("Please print"), "{}", email.text);
}

#[test]
fn uuencoded_blocks_become_attachments() {
    let email = parsed("uuencoded.eml");
    let expected: Vec<u8> = (0..3).flat_map(|_| 0..=255u8).collect();
    assert_eq!(email.attachments.len(), 1);
    assert_eq!(email.attachments[0].name, "router-log.bin");
    assert_eq!(email.attachments[0].bytes, expected);
    assert!(email.text.contains("[attachment: router-log.bin]"));
    assert!(email.text.contains("Let me know if you need more."));
    assert!(!email.text.contains("\nM"), "{}", email.text);

    let part = parsed("x-uuencode-part.eml");
    assert_eq!(part.attachments.len(), 1);
    assert_eq!(part.attachments[0].name, "notes.txt");
    assert_eq!(
        part.attachments[0].bytes,
        b"Serial: 88-1234-XY\nFirmware: 2.4.1\n"
    );
    // The mbox separator line is not a header.
    assert_eq!(part.headers.from.address, "oldmailer@example.org");
}

#[test]
fn html_is_sanitized_and_gives_the_text_when_alone() {
    let email = parsed("html-only.eml");
    let html = email.html.as_deref().unwrap_or_default();
    for unsafe_bit in ["<script", "onload", "<iframe", "evil.example.net"] {
        assert!(!html.contains(unsafe_bit), "{unsafe_bit} in {html}");
    }
    assert!(
        email
            .text
            .contains("Error\u{a0}402 – \"card declined\" <code 51>"),
        "{}",
        email.text
    );
    assert!(!email.text.contains("document.cookie"));

    let alt = parsed("alternative.eml");
    assert!(
        alt.text
            .starts_with("Hello,\n\nmy order #A-1182 arrived damaged — the box")
    );
    assert!(
        alt.html
            .as_deref()
            .is_some_and(|h| h.contains("<b>#A-1182</b>"))
    );
}

#[test]
fn nested_multipart_finds_text_html_inline_image_and_attachment() {
    let email = parsed("nested-multipart.eml");
    assert!(email.text.starts_with("I ordered the blue lamp"));
    assert!(
        email
            .html
            .as_deref()
            .is_some_and(|h| h.contains("cid:photo1@example.in"))
    );
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["green-lamp.png", "order-confirmation.pdf"]);
}

#[test]
fn broken_structure_still_yields_what_can_be_read() {
    let wrong = parsed("broken-boundary.eml");
    assert!(
        wrong.text.contains("the invoice total is wrong"),
        "{wrong:?}"
    );
    assert!(
        wrong.warnings.iter().any(|w| w.contains("never appears")),
        "{:?}",
        wrong.warnings
    );

    assert!(!wrong.text.contains("Content-Type"), "{}", wrong.text);

    // No boundary anywhere in the body: the body is the text.
    let raw = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n\
               Plain words only.\r\n-- \r\nsignature\r\n";
    let plain = parse(raw.as_bytes(), "x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.text, "Plain words only.\n-- \nsignature");
    assert!(plain.attachments.is_empty());
    assert!(
        plain.warnings.iter().any(|w| w.contains("kept as text")),
        "{:?}",
        plain.warnings
    );

    let cut = parsed("unterminated-multipart.eml");
    assert!(cut.text.contains("The upload was interrupted"), "{cut:?}");
    assert_eq!(cut.attachments.len(), 1);
    assert_eq!(cut.attachments[0].name, "photo.jpg");
}

#[test]
fn headers_are_read_without_brackets() {
    let rt = parsed("reply-rt-tag.eml");
    assert_eq!(
        rt.headers.subject,
        "Re: [RT #4521] Wholesale order stuck in customs [#K7Q2M9XA4B1C]"
    );
    assert_eq!(
        rt.headers.in_reply_to.as_deref(),
        Some("case-1042.1711200000.QX71@shop.example.com")
    );
    assert_eq!(
        rt.headers.references,
        [
            "case-1042.1711100000.AB12@shop.example.com",
            "case-1042.1711200000.QX71@shop.example.com"
        ]
    );
    assert_eq!(rt.reply_to[0].address, "rt@helpdesk.example.org");
    assert_eq!(rt.return_path.as_deref(), Some("rt@helpdesk.example.org"));
    assert_eq!(
        rt.headers.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-24T13:15:00+00:00")
    );

    let plus = parsed("delivered-to-plus.eml");
    assert_eq!(
        plus.delivered_to,
        [
            "support+H4J8K2L6M9N3@shop.example.com",
            "archive@shop.example.com"
        ]
    );
    assert_eq!(plus.thread_header.as_deref(), Some("H4J8K2L6M9N3"));
    assert_eq!(plus.key, "kim-reply-22@example.kr");
}

#[test]
fn automatic_mail_is_classified() {
    let cases = [
        (
            "auto-reply.eml",
            Some(AutoReason::AutoSubmitted("auto-replied".into())),
        ),
        (
            "newsletter-bulk.eml",
            Some(AutoReason::Precedence("bulk".into())),
        ),
        (
            "reply-rt-tag.eml",
            Some(AutoReason::Precedence("bulk".into())),
        ),
        (
            "bounce-dsn.eml",
            Some(AutoReason::Bounce("null sender (Return-Path: <>)".into())),
        ),
        ("alternative.eml", None),
        ("reply-otrs-ticket.eml", None),
        ("delivered-to-plus.eml", None),
    ];
    for (file, expected) in cases {
        assert_eq!(parsed(file).auto, expected, "{file}");
    }
}

fn with_headers(headers: &str) -> ParsedEmail {
    let raw = format!("{headers}\r\nSubject: t\r\n\r\nbody\r\n");
    parse(raw.as_bytes(), "inline").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn each_bounce_sign_alone_is_a_bounce() {
    let bounce = |reason: &str| Some(AutoReason::Bounce(reason.into()));
    assert_eq!(
        with_headers("From: MAILER-DAEMON@mx.example.com").auto,
        bounce("sent by MAILER-DAEMON@mx.example.com")
    );
    assert_eq!(
        with_headers("From: Postmaster <postmaster@example.com>").auto,
        bounce("sent by postmaster@example.com")
    );
    assert_eq!(
        with_headers(
            "From: a@example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x"
        )
        .auto,
        bounce("delivery status report")
    );
    let raw = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--\r\n";
    assert_eq!(
        parse(raw.as_bytes(), "inline").map(|e| e.auto).ok(),
        Some(bounce("delivery status part"))
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nAuto-Submitted: no").auto,
        None
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nAuto-Submitted: Auto-Generated; owner-email=x@y").auto,
        Some(AutoReason::AutoSubmitted("auto-generated".into()))
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nPrecedence: JUNK").auto,
        Some(AutoReason::Precedence("junk".into()))
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nPrecedence: first-class").auto,
        None
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nPrecedence: auto_reply").auto,
        Some(AutoReason::Precedence("auto_reply".into()))
    );
    for (header, name) in [
        ("X-Autoreply: yes", "X-Autoreply"),
        ("X-Autorespond: Out of office", "X-Autorespond"),
        (
            "X-Auto-Response-Suppress: DR, OOF, AutoReply",
            "X-Auto-Response-Suppress",
        ),
    ] {
        assert_eq!(
            with_headers(&format!("From: a@example.com\r\n{header}")).auto,
            Some(AutoReason::Marker(name.into())),
            "{header}"
        );
    }
    assert_eq!(
        with_headers("From: a@example.com\r\nX-Auto-Response-Suppress: None").auto,
        None
    );
    assert_eq!(
        with_headers("From: a@example.com\r\nList-Id: <support.example.com>").auto,
        None
    );
}

#[test]
fn the_key_is_the_message_id_or_a_hash_of_the_bytes() {
    let raw = corpus("no-message-id-no-date.eml");
    let email = parse(&raw, "x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(email.headers.message_id, None);
    assert_eq!(email.headers.date, None);
    assert_eq!(email.key, format!("sha256:{}", hex(&Sha256::digest(&raw))));
    assert_eq!(
        parse(&raw, "again").map(|e| e.key).ok(),
        Some(email.key.clone())
    );
    let mut other = raw.clone();
    other.extend_from_slice(b"P.S.\r\n");
    assert_ne!(parse(&other, "x").map(|e| e.key).ok(), Some(email.key));
    assert_eq!(
        parsed("alternative.eml").key,
        "CAF7xk2=Qm1-lamp@mail.example.se"
    );
}

#[test]
fn an_unparseable_date_is_none() {
    assert_eq!(
        with_headers("From: a@example.com\r\nDate: sometime last week")
            .headers
            .date,
        None
    );
}

#[test]
fn a_missing_from_falls_back_to_sender_then_return_path() {
    let email = with_headers("Sender: Desk <desk@example.com>");
    assert_eq!(email.headers.from.address, "desk@example.com");
    assert!(email.warnings.iter().any(|w| w.contains("Sender")));
    let email = with_headers("Return-Path: <bounces@example.com>");
    assert_eq!(email.headers.from.address, "bounces@example.com");
}

fn reason(raw: &[u8]) -> String {
    match parse(raw, "msg-17.eml") {
        Err(Error::BadEmail {
            source_name,
            reason,
        }) => {
            assert_eq!(source_name, "msg-17.eml");
            reason
        }
        other => panic!("expected BadEmail, got {other:?}"),
    }
}

#[test]
fn bad_input_is_a_bad_email_error_naming_the_source() {
    assert_eq!(reason(b""), "the message is empty");
    assert_eq!(reason(b" \r\n\r\n\t"), "the message is empty");
    let not_an_email = "it does not start with a header field (`Name: value`): it is not an email";
    for raw in [
        &b"just some words\nand more words\n"[..],
        b"\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n\x00\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00:\x00\x01",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
        b": no name\r\n\r\nbody",
    ] {
        assert_eq!(reason(raw), not_an_email, "{raw:?}");
    }
    assert_eq!(
        reason(b"Subject: who sent this?\r\n\r\nnobody\r\n"),
        "it has no sender: no From, Sender or Return-Path address"
    );
    assert_eq!(reason(b"From "), "the message is empty");
    // `From :` is an obsolete-syntax header, not an mbox separator.
    let obsolete = parse(b"From : Ann <ann@example.com>\r\n\r\nhi", "x");
    assert_eq!(
        obsolete.map(|e| e.headers.from.address).ok().as_deref(),
        Some("ann@example.com")
    );
    let e = parse(b"", "stdin").err().map(|e| (e.code(), e.to_string()));
    assert_eq!(
        e,
        Some((
            "bad_email",
            "cannot read email stdin: the message is empty".to_owned()
        ))
    );
}

/// A 21 MB attachment, built here rather than committed: it comes out whole.
#[test]
fn a_21_mb_attachment_comes_out_whole() {
    use std::io::Write as _;
    let size = 21 * 1024 * 1024;
    let payload: Vec<u8> = (0..size)
        .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let encoded = base64_lines(&payload);
    let mut raw = Vec::with_capacity(encoded.len() + 1024);
    let _ = write!(
        raw,
        "From: Big Sender <big@example.com>\r\nTo: support@shop.example.com\r\n\
         Subject: the full backup\r\nMessage-ID: <big-1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n\
         Content-Type: text/plain\r\n\r\nBackup attached.\r\n--big\r\n\
         Content-Type: application/zip; name=\"backup.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    raw.extend_from_slice(&encoded);
    raw.extend_from_slice(b"\r\n--big--\r\n");
    let email = parse(&raw, "big").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(email.attachments.len(), 1);
    let a = &email.attachments[0];
    assert_eq!(a.name, "backup.zip");
    assert_eq!(a.content_type, "application/zip");
    assert_eq!(a.bytes.len(), size);
    assert!(a.bytes == payload, "content differs");
    assert_eq!(email.text, "Backup attached.");
}

/// RFC 2045 base64 in 76-character lines.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len() / 3 * 4 + data.len() / 57 * 2 + 8);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.extend_from_slice(b"\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63]
        } else {
            b'='
        });
    }
    out
}

/// The corpus, read once for all property test cases.
static CORPUS: std::sync::LazyLock<Vec<Vec<u8>>> = std::sync::LazyLock::new(|| {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
});

/// One edit to a message: overwrite, insert or delete a byte, or cut it short.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to MIME structure, more often than chance would pick them.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(vec![
            b'\r', b'\n', b'-', b':', b'=', b'?', b'"', b';', b' ', 0x80, 0xff
        ]),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut raw: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = raw.len().max(1);
        match *m {
            Mutation::Set(i, b) if !raw.is_empty() => raw[i % len] = b,
            Mutation::Insert(i, b) => raw.insert(i % (raw.len() + 1), b),
            Mutation::Delete(i) if !raw.is_empty() => {
                raw.remove(i % len);
            }
            Mutation::Truncate(i) => raw.truncate(i % (raw.len() + 1)),
            _ => {}
        }
    }
    raw
}

/// What every parse result must satisfy: an error is `BadEmail` naming the
/// source; a message has a sender and a key.
fn check_outcome(result: &Result<ParsedEmail>) -> std::result::Result<(), TestCaseError> {
    match result {
        Ok(email) => {
            prop_assert!(!email.headers.from.address.is_empty());
            prop_assert!(!email.key.is_empty());
        }
        Err(Error::BadEmail {
            source_name,
            reason,
        }) => {
            prop_assert_eq!(source_name.as_str(), "fuzz");
            prop_assert!(!reason.is_empty());
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: dossier_types::props_cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_panics_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_outcome(&parse(&raw, "fuzz"))?;
    }

    #[test]
    fn never_panics_on_header_shaped_bytes(
        lines in prop::collection::vec("[A-Za-z-]{1,12}: [ -~\u{80}-\u{ff}]{0,40}", 0..12),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut raw = lines.join("\r\n").into_bytes();
        raw.extend_from_slice(b"\r\n\r\n");
        raw.extend_from_slice(&body);
        check_outcome(&parse(&raw, "fuzz"))?;
    }

    #[test]
    fn never_panics_on_mutated_corpus_messages(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..16),
    ) {
        let raw = apply(CORPUS[pick.index(CORPUS.len())].clone(), &mutations);
        check_outcome(&parse(&raw, "fuzz"))?;
    }
}

#[test]
fn line_ends_become_lf_whatever_mix_a_text_has() {
    assert_eq!(normalize_newlines("a\r\nb\rc\n\r\nd\r"), "a\nb\nc\n\nd\n");
    assert_eq!(normalize_newlines("\r\r\n"), "\n\n");
    assert!(matches!(
        normalize_newlines("no breaks\n"),
        Cow::Borrowed(_)
    ));
}

proptest! {
    #[test]
    fn newline_normalization_matches_two_replacements(text in "[a\r\n]{0,40}") {
        prop_assert_eq!(
            normalize_newlines(&text).into_owned(),
            text.replace("\r\n", "\n").replace('\r', "\n")
        );
    }
}

#[test]
fn lenient_address_lists_are_recovered_as_mail_clients_read_them() {
    let email = parsed("addresses-lenient.eml");
    assert_eq!(
        mailbox_line(&email.headers.from),
        "\"comment\" <jdoe@machine.example>"
    );
    let to: Vec<String> = email.headers.to.iter().map(mailbox_line).collect();
    assert_eq!(to, ["\"Big Bug\" <bb@bug.com>"]);
    let cc: Vec<String> = email.headers.cc.iter().map(mailbox_line).collect();
    assert_eq!(cc, ["<ann@example.com>", "<bob@example.com>"]);
}

#[test]
fn control_characters_in_encoded_names_and_subjects_are_dropped() {
    let email = parsed("name-control-characters.eml");
    let name = email.headers.from.name.clone().unwrap_or_default();
    assert!(!name.chars().any(char::is_control), "{name:?}");
    assert!(name.starts_with("Ada Lovelace"), "{name:?}");
    assert_eq!(email.headers.from.address, "ada@example.com");
    assert_eq!(email.headers.subject, "Order status");
}

#[test]
fn mail_without_text_parses_with_an_empty_text() {
    for (name, attachments) in [
        ("no-text-attachment-only.eml", 1),
        ("no-text-image-only-html.eml", 1),
        ("no-text-subject-only.eml", 0),
        ("no-text-whitespace-body.eml", 0),
        ("no-text-bounce-report.eml", 2),
    ] {
        let email = parsed(name);
        assert!(email.text.trim().is_empty(), "{name}: {:?}", email.text);
        assert_eq!(email.attachments.len(), attachments, "{name}");
        assert!(!email.headers.subject.is_empty(), "{name}");
    }
}

#[test]
fn a_name_followed_by_the_address_in_parentheses_is_not_swapped() {
    let email = parsed("name-then-address-in-parentheses.eml");
    assert_eq!(email.headers.from.address, "hans@example.com");
    assert_eq!(email.headers.from.name.as_deref(), Some("Hans Müller"));
    let cc: Vec<String> = email.headers.cc.iter().map(mailbox_line).collect();
    assert_eq!(
        cc,
        [
            "\"Łukasz Nowak\" <lukasz@example.pl>",
            "\"Ann\" <ann@example.com>"
        ]
    );
}

#[test]
fn raw_8bit_bytes_inside_an_encoded_word_are_decoded_once() {
    let email = parsed("encoded-word-raw-8bit.eml");
    assert_eq!(email.headers.subject, "Frösche im Garten");
    assert_eq!(email.headers.from.name.as_deref(), Some("Jürgen Frösche"));
}

#[test]
fn adjacent_encoded_words_of_one_charset_are_decoded_together() {
    let email = parsed("encoded-words-split-character.eml");
    assert_eq!(email.headers.subject, "Привет мир");
    // Folded across two words: no letter lost, no space gained.
    assert_eq!(email.headers.from.name.as_deref(), Some("Jürgen Müller"));
}

#[test]
fn a_part_labelled_us_ascii_whose_bytes_are_utf8_is_utf8() {
    let email = parsed("us-ascii-label-utf8-bytes.eml");
    assert_eq!(email.text, "Two cafés crème, please. — Zoë");
}

#[test]
fn one_stray_byte_in_a_utf8_part_does_not_re_decode_the_whole_part() {
    let email = parsed("utf8-one-stray-byte.eml");
    assert_eq!(
        email.text,
        "A encomenda não chegou. Obrigada, São Paulo — é fim."
    );
}

#[test]
fn with_two_content_types_the_first_counts_everywhere() {
    let email = parsed("two-content-types.eml");
    assert_eq!(email.text, "The real text.");
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["data.bin"]);
    assert!(
        email
            .warnings
            .iter()
            .any(|w| w.contains("the first (multipart/mixed) is used")),
        "{:?}",
        email.warnings
    );
}

#[test]
fn inline_text_parts_with_a_name_are_text_and_an_empty_last_part_is_nothing() {
    let email = parsed("inline-text-with-name.eml");
    assert_eq!(
        email.text,
        "First paragraph from the mail client.\n\n-- Lee, second text part"
    );
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["logo.png"], "no text file and no 0-byte part");
}

#[test]
fn an_attached_message_whose_multipart_never_closes_swallows_no_sibling() {
    let email = parsed("attached-message-broken-multipart.eml");
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Complaint.eml", "invoice.pdf"]);
    let inner = String::from_utf8_lossy(&email.attachments[0].bytes);
    assert!(
        inner.contains("Content-Type: multipart/mixed; boundary=\"inner-never-closed\""),
        "kept as received: {inner}"
    );
    assert!(!inner.contains("invoice"), "{inner}");
    assert_eq!(
        email.attachments[1].bytes,
        b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n%%EOF\n"
    );
}

#[test]
fn html_nested_200_000_deep_is_kept_as_a_file_in_linear_time() {
    let depth = 200_000;
    let mut raw = b"From: Deep <deep@example.com>\r\nTo: support@shop.example.com\r\n\
        Subject: Deep\r\nMessage-ID: <deep-html@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n"
        .to_vec();
    raw.extend("<div>".repeat(depth).as_bytes());
    raw.extend(b"Help me");
    raw.extend("</div>".repeat(depth).as_bytes());
    raw.extend(b"\r\n");
    let started = std::time::Instant::now();
    let email = parse(&raw, "deep").unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    assert!(email.html.is_none(), "not sanitized, not shown");
    assert_eq!(email.text.trim(), "Help me");
    let names: Vec<&str> = email.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["body.html"]);
    assert_eq!(
        email.attachments[0].bytes.len(),
        depth * 11 + 7 + 2,
        "as sent, CRLF included"
    );
    assert!(
        email
            .warnings
            .iter()
            .any(|w| w.contains("more than 1000 elements deep")),
        "{:?}",
        email.warnings
    );
    // The issue's bound is 2 s (release); a debug build on a loaded
    // machine gets five times that. Quadratic work took minutes.
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_message_of_5000_parts_keeps_1000_files_and_the_rest_in_one() {
    let mut raw = b"From: Many <many@example.com>\r\nTo: support@shop.example.com\r\n\
        Subject: Many parts\r\nMessage-ID: <many-parts@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n--p\r\n\
        Content-Type: text/plain\r\n\r\nSee the files.\r\n"
        .to_vec();
    for n in 0..5000 {
        raw.extend(
            format!(
                "--p\r\nContent-Type: application/octet-stream; name=\"f{n}.bin\"\r\n\
                 Content-Disposition: attachment; filename=\"f{n}.bin\"\r\n\r\n{n}\r\n"
            )
            .as_bytes(),
        );
    }
    raw.extend(b"--p--\r\n");
    let email = parse(&raw, "many").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(email.text, "See the files.");
    assert_eq!(email.attachments.len(), MAX_ATTACHMENTS + 1);
    assert_eq!(email.attachments[999].name, "f999.bin");
    let rest = &email.attachments[1000];
    assert_eq!(rest.name, "more-parts.mime");
    let text = String::from_utf8_lossy(&rest.bytes);
    assert!(
        text.starts_with("Content-Type: application/octet-stream; name=\"f1000.bin\""),
        "{}",
        &text[..80]
    );
    assert!(text.contains("filename=\"f4999.bin\""));
    assert!(
        email
            .warnings
            .iter()
            .any(|w| w.contains("the other 4000 as received")),
        "{:?}",
        email.warnings
    );
}

#[test]
fn a_subject_and_its_body_are_read_with_one_guess_per_message() {
    // "Заказ" alone in Windows-1251 looks like Arabic (ISO-8859-6) to the
    // detector; with the body it is Russian.
    let raw = corpus("one-guess-subject-and-body.eml");
    let head_len = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    assert_eq!(
        charset::guess(&raw[..head_len], Some("com")).name(),
        "ISO-8859-6",
        "the headers alone are guessed wrong"
    );
    let email = parsed("one-guess-subject-and-body.eml");
    assert_eq!(email.headers.subject, "Заказ");
    assert!(email.text.starts_with("Добрый день."), "{}", email.text);
    assert!(
        email.warnings.iter().all(|w| !w.contains("ISO-8859-6")),
        "{:?}",
        email.warnings
    );
}

#[test]
fn an_html_parts_meta_charset_counts() {
    // "Заказ" in Windows-1251 alone would be guessed as Arabic.
    let email = parsed("html-meta-charset-short.eml");
    assert_eq!(email.text, "Заказ");
    assert!(
        email
            .warnings
            .iter()
            .any(|w| w.contains("(its <meta charset>)")),
        "{:?}",
        email.warnings
    );
}
