//! The host's SMTP transport (`email::smtp`) against a real SMTP server on
//! 127.0.0.1 (`dossier_tests::smtp`: mailin's state machine, rustls):
//! what arrives, per-recipient refusals, AUTH, TLS, and how each failure
//! is classed for retrying.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use dossier_email::smtp::{
    Failure, InlineImage, OutgoingAttachment, OutgoingEmail, Security, SendError, SmtpSettings,
    Stage, file, send,
};
use dossier_sdk::model::Mailbox;
use dossier_tests::smtp::{DownPort, Received, SmtpServer};
use dossier_types::address::check as check_address;
use dossier_types::contact::normalize_email;
use mail_parser::{MessageParser, MimeHeaders};
use tempfile::TempDir;

fn mailbox(name: Option<&str>, address: &str) -> Mailbox {
    Mailbox {
        name: name.map(str::to_owned),
        address: address.to_owned(),
    }
}

/// A reply to a customer, as the host would compose it.
fn email() -> OutgoingEmail {
    OutgoingEmail {
        from: mailbox(Some("Support Team"), "support@dossier.test"),
        to: vec![mailbox(Some("Ann Customer"), "ann@example.org")],
        cc: vec![mailbox(None, "manager@example.org")],
        bcc: vec![mailbox(None, "audit@dossier.test")],
        reply_to: Some(mailbox(None, "support+JXA6PDRNQ2SO@dossier.test")),
        subject: "Re: Printer on fire [#JXA6PDRNQ2SO]".to_owned(),
        text: "Hello Ann,\nyour printer is fixed.\n".to_owned(),
        html: None,
        attachments: Vec::new(),
        inline: Vec::new(),
        message_id: "case-14355.3@dossier.test".to_owned(),
        in_reply_to: Some("CAF=ann.2@mail.example.org".to_owned()),
        references: vec![
            "CAF=ann.1@mail.example.org".to_owned(),
            "case-14355.2@dossier.test".to_owned(),
            "CAF=ann.2@mail.example.org".to_owned(),
        ],
        date: Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 15).unwrap(),
        headers: vec![
            ("X-Dossier-Thread".to_owned(), "JXA6PDRNQ2SO".to_owned()),
            ("Auto-Submitted".to_owned(), "auto-replied".to_owned()),
        ],
    }
}

/// Settings for `server`, read from TOML as `[email.smtp]` would be.
fn settings(server: &SmtpServer, extra: &str) -> SmtpSettings {
    let text = format!(
        "host = \"127.0.0.1\"\nport = {}\nhello_name = \"crm.dossier.test\"\ntimeout_ms = 60000\n{extra}",
        server.port()
    );
    toml::from_str(&text).expect("valid [email.smtp] settings")
}

/// Writes the server's CA to a file in `dir` and returns its TOML line.
fn trust(server: &SmtpServer, dir: &TempDir) -> String {
    let path: PathBuf = dir.path().join("ca.pem");
    std::fs::write(&path, server.ca_pem().expect("a TLS server")).expect("write CA");
    format!("ca_file = {:?}\n", path.display().to_string())
}

fn only_message(server: &SmtpServer) -> Received {
    let mut messages = server.messages();
    assert_eq!(messages.len(), 1, "one message arrived: {messages:?}");
    messages.remove(0)
}

/// A failure's message with the test server's port replaced.
fn redacted(e: &SendError, port: u16) -> String {
    e.to_string().replace(&port.to_string(), "PORT")
}

#[test]
fn a_message_arrives_with_its_envelope_and_headers() {
    let server = SmtpServer::start();
    let delivery = send(&settings(&server, "security = \"none\""), &email()).expect("sent");
    assert_eq!(
        delivery.accepted,
        [
            "ann@example.org",
            "manager@example.org",
            "audit@dossier.test"
        ]
    );
    assert!(delivery.refused.is_empty());
    assert_eq!(delivery.reply.code, 250);

    let got = only_message(&server);
    assert_eq!(got.helo, "crm.dossier.test");
    assert_eq!(got.mail_from, "support@dossier.test");
    assert_eq!(
        got.rcpt_to,
        [
            "ann@example.org",
            "manager@example.org",
            "audit@dossier.test"
        ]
    );
    assert!(!got.tls);
    let text = got.text();
    assert!(!text.contains("audit@"), "Bcc is not named: {text}");

    let parsed = MessageParser::default().parse(&got.data).expect("parses");
    assert_eq!(
        parsed.date().map(|d| d.to_timestamp()),
        Some(email().date.timestamp())
    );
    assert_eq!(parsed.message_id(), Some("case-14355.3@dossier.test"));
    assert_eq!(
        parsed.header_raw("MIME-Version").map(str::trim),
        Some("1.0")
    );
    assert_eq!(
        parsed.in_reply_to().as_text(),
        Some("CAF=ann.2@mail.example.org")
    );
    let references: Vec<&str> = parsed
        .references()
        .as_text_list()
        .expect("References")
        .iter()
        .map(|r| r.as_ref())
        .collect();
    assert_eq!(
        references,
        [
            "CAF=ann.1@mail.example.org",
            "case-14355.2@dossier.test",
            "CAF=ann.2@mail.example.org"
        ]
    );
    assert_eq!(
        parsed.subject(),
        Some("Re: Printer on fire [#JXA6PDRNQ2SO]")
    );
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.name(), Some("Support Team"));
    assert_eq!(from.address(), Some("support@dossier.test"));
    assert_eq!(
        parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("ann@example.org")
    );
    assert_eq!(
        parsed
            .cc()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("manager@example.org")
    );
    assert_eq!(
        parsed
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("support+JXA6PDRNQ2SO@dossier.test")
    );
    assert_eq!(
        parsed.header_raw("X-Dossier-Thread").map(str::trim),
        Some("JXA6PDRNQ2SO")
    );
    assert_eq!(
        parsed.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some("Hello Ann,\r\nyour printer is fixed.\r\n")
    );
}

#[test]
fn body_lines_starting_with_a_dot_arrive_intact() {
    let server = SmtpServer::start();
    let mut message = email();
    message.text = ".hidden line\n..two dots\n.\nthe line above is one dot\n".to_owned();
    send(&settings(&server, "security = \"none\""), &message).expect("sent");

    let got = only_message(&server);
    let parsed = MessageParser::default().parse(&got.data).expect("parses");
    // Sent as 7bit, the lines travel as they are (stuffed on the wire),
    // so the server's un-stuffing is what restored them.
    assert_eq!(
        parsed
            .text_part(0)
            .and_then(|p| p.content_transfer_encoding()),
        Some("7bit")
    );
    assert!(
        got.text()
            .contains("\r\n.hidden line\r\n..two dots\r\n.\r\nthe line")
    );
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some(".hidden line\r\n..two dots\r\n.\r\nthe line above is one dot\r\n")
    );
}

/// `transport = "file"` writes what the SMTP transport hands the server:
/// the same bytes, byte for byte, into a `0600` file named by time.
#[test]
fn the_file_transport_writes_the_bytes_smtp_delivers() {
    let server = SmtpServer::start();
    let mut message = email();
    message.text = ".a line with a dot\nÉtienne says hello\n".to_owned();
    send(&settings(&server, "security = \"none\""), &message).expect("sent");
    let got = only_message(&server);

    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("outbox-mail");
    let date =
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 15).unwrap() + chrono::Duration::microseconds(42);
    let first = file::write(&folder, &message, date).expect("written");
    let second = file::write(&folder, &message, date).expect("written again");
    let later =
        file::write(&folder, &message, date + chrono::Duration::seconds(1)).expect("written later");

    assert_eq!(std::fs::read(&first).expect("read"), got.data);
    assert_eq!(message.to_bytes().expect("bytes"), got.data);
    assert!(
        !got.text().contains("audit@dossier.test"),
        "Bcc is in no header"
    );
    let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let first_name = name(&first);
    let random = first_name
        .strip_prefix("20261123T093015.000042Z-")
        .and_then(|rest| rest.strip_suffix(".eml"))
        .unwrap_or_default();
    assert!(
        random.len() == 8 && random.chars().all(|c| c.is_ascii_hexdigit()),
        "{first_name}"
    );
    assert_ne!(first, second, "the same time never shares a name");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| name(&e.unwrap().path()))
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "no temporary file is left: {names:?}");
    assert_eq!(names[2], name(&later), "names sort by time");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        for path in [&first, &second, &later] {
            assert_eq!(mode(path), 0o600, "{}", path.display());
        }
    }

    // A message that cannot be built writes nothing.
    let mut bad = email();
    bad.subject = "two\nlines".into();
    let e = file::write(&folder, &bad, date).expect_err("a broken subject");
    assert_eq!(e.to_string(), "subject: has a line break");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 3);
    // A folder that cannot be made is an I/O error naming it.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "not a folder").unwrap();
    let e = file::write(&blocked.join("mail"), &message, date).expect_err("no folder");
    assert_eq!(e.code(), "io");
    assert!(e.to_string().contains("a-file/mail"), "{e}");
}

/// The MIME tree of a message: `type[child, child]`.
fn tree(message: &mail_parser::Message, part: u32) -> String {
    let p = message.part(part).expect("part");
    let kind = p
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .unwrap_or_default();
    match p.sub_parts() {
        Some(children) => format!(
            "{kind}[{}]",
            children
                .iter()
                .map(|c| tree(message, *c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => kind,
    }
}

#[test]
fn html_inline_images_and_attachments_arrive_intact() {
    let server = SmtpServer::start();
    let pdf: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let png = b"\x89PNG\r\n\x1a\n not really an image \x00\xff".to_vec();
    let mut message = email();
    message.html = Some(
        "<p>Hello Ann,</p><p>your printer is <b>fixed</b>.</p><img src=\"cid:logo@dossier\">"
            .to_owned(),
    );
    message.inline = vec![InlineImage {
        content_id: "logo@dossier".to_owned(),
        content_type: "image/png".to_owned(),
        bytes: png.clone(),
    }];
    message.attachments = vec![
        OutgoingAttachment {
            name: "invoice 14355.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            bytes: pdf.clone(),
        },
        OutgoingAttachment {
            name: "relevé.txt".to_owned(),
            content_type: "text/plain; charset=utf-8".to_owned(),
            bytes: "total: 12 €\n".as_bytes().to_vec(),
        },
    ];
    send(&settings(&server, "security = \"none\""), &message).expect("sent");

    let got = only_message(&server);
    let parsed = MessageParser::default().parse(&got.data).expect("parses");
    assert_eq!(
        tree(&parsed, 0),
        "multipart/mixed[multipart/alternative[text/plain, multipart/related[text/html, image/png]], application/pdf, text/plain]"
    );
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some("Hello Ann,\r\nyour printer is fixed.\r\n")
    );
    assert_eq!(parsed.body_html(0).as_deref(), message.html.as_deref());
    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 3, "the inline image and two files");
    let image = attachments
        .iter()
        .find(|a| a.content_id() == Some("logo@dossier"))
        .expect("the inline image");
    assert_eq!(image.contents(), png.as_slice());
    let invoice = attachments
        .iter()
        .find(|a| a.attachment_name() == Some("invoice 14355.pdf"))
        .expect("the PDF");
    assert_eq!(invoice.contents(), pdf.as_slice());
    let statement = attachments
        .iter()
        .find(|a| a.attachment_name() == Some("relevé.txt"))
        .expect("the text file, its non-ASCII name decoded");
    assert_eq!(statement.contents(), "total: 12 €\n".as_bytes());
}

#[test]
fn a_refused_recipient_is_reported_and_the_others_get_the_message() {
    let server = SmtpServer::builder()
        .refuse("nobody@example.org", 550, "5.1.1 no such user")
        .start();
    let mut message = email();
    message.to = vec![
        mailbox(None, "ann@example.org"),
        mailbox(None, "nobody@example.org"),
    ];
    message.cc = vec![mailbox(None, "bob@example.org")];
    message.bcc = Vec::new();
    let delivery = send(&settings(&server, "security = \"none\""), &message).expect("sent");

    assert_eq!(delivery.accepted, ["ann@example.org", "bob@example.org"]);
    assert_eq!(delivery.refused.len(), 1);
    assert_eq!(delivery.refused[0].address, "nobody@example.org");
    assert_eq!(delivery.refused[0].reply.code, 550);
    assert_eq!(delivery.refused[0].reply.text, "5.1.1 no such user");
    assert!(!delivery.refused[0].reply.is_transient());

    let got = only_message(&server);
    assert_eq!(got.rcpt_to, ["ann@example.org", "bob@example.org"]);
    // The headers still name everyone the sender addressed.
    let parsed = MessageParser::default().parse(&got.data).expect("parses");
    assert!(parsed.to().expect("To").contains("nobody@example.org"));
}

#[test]
fn when_every_recipient_is_refused_nothing_is_sent() {
    let server = SmtpServer::builder()
        .refuse("nobody@example.org", 550, "5.1.1 no such user")
        .refuse("full@example.org", 452, "4.2.2 mailbox full")
        .start();
    let mut message = email();
    message.to = vec![mailbox(None, "nobody@example.org")];
    message.cc = Vec::new();
    message.bcc = Vec::new();
    let e = send(&settings(&server, "security = \"none\""), &message).expect_err("refused");
    assert_eq!(e.failure, Failure::Permanent);
    assert_eq!(e.stage, Stage::RcptTo);
    assert_eq!(e.refused.len(), 1);

    // One temporary refusal makes the whole attempt worth retrying.
    message.cc = vec![mailbox(None, "full@example.org")];
    let e2 = send(&settings(&server, "security = \"none\""), &message).expect_err("refused");
    assert_eq!(e2.failure, Failure::Transient);
    assert_eq!(e2.refused.len(), 2);
    assert!(server.messages().is_empty(), "no DATA was sent");
    insta::assert_snapshot!(
        format!("{}\n{}", redacted(&e, server.port()), redacted(&e2, server.port())),
        @r"
    email not sent (permanent failure) at RCPT TO: the server refused every recipient (nobody@example.org: 550 5.1.1 no such user)
    email not sent (temporary failure) at RCPT TO: the server refused every recipient (nobody@example.org: 550 5.1.1 no such user; full@example.org: 452 4.2.2 mailbox full)
    "
    );
}

/// The password the AUTH tests' server requires: the value of `PATH`, a
/// variable every test process has, so `password_env` is exercised without
/// changing the environment (`set_var` is unsound while other tests run).
fn path_password() -> String {
    std::env::var("PATH").expect("the test process has PATH")
}

#[test]
fn starttls_with_auth_delivers_over_the_encrypted_connection() {
    let server = SmtpServer::builder()
        .starttls()
        .require_auth("crm@dossier.test", &path_password())
        .start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "security = \"starttls\"\nuser = \"crm@dossier.test\"\npassword_env = \"PATH\"\n{}",
        trust(&server, &dir)
    );
    let delivery = send(&settings(&server, &config), &email()).expect("sent");
    assert_eq!(delivery.accepted.len(), 3);

    let got = only_message(&server);
    assert!(got.tls, "the message came after STARTTLS");
    assert_eq!(got.auth_user.as_deref(), Some("crm@dossier.test"));
    assert_eq!(got.mail_from, "support@dossier.test");
}

#[test]
fn implicit_tls_delivers_with_a_trusted_test_ca() {
    let server = SmtpServer::builder()
        .implicit_tls()
        .require_auth("crm@dossier.test", &path_password())
        .start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "security = \"tls\"\nuser = \"crm@dossier.test\"\npassword_env = \"PATH\"\n{}",
        trust(&server, &dir)
    );
    send(&settings(&server, &config), &email()).expect("sent");
    let got = only_message(&server);
    assert!(got.tls);
    assert_eq!(got.auth_user.as_deref(), Some("crm@dossier.test"));
}

#[test]
fn an_untrusted_certificate_a_missing_starttls_and_a_wrong_password_send_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");

    // The server's CA is not trusted: the handshake fails.
    let tls = SmtpServer::builder().implicit_tls().start();
    let e = send(&settings(&tls, "security = \"tls\""), &email()).expect_err("untrusted");
    assert_eq!((e.failure, e.stage), (Failure::Transient, Stage::Tls));
    let untrusted = redacted(&e, tls.port());

    // A server without STARTTLS is not used in clear.
    let plain = SmtpServer::start();
    let e = send(&settings(&plain, "security = \"starttls\""), &email()).expect_err("no STARTTLS");
    assert_eq!((e.failure, e.stage), (Failure::Transient, Stage::Tls));
    let no_starttls = redacted(&e, plain.port());

    // A wrong password: the server's 535, classed as transient (the
    // settings are wrong, not the message).
    let auth = SmtpServer::builder()
        .starttls()
        .require_auth("crm@dossier.test", "another password")
        .start();
    let config = format!(
        "user = \"crm@dossier.test\"\npassword_env = \"PATH\"\n{}",
        trust(&auth, &dir)
    );
    let e = send(&settings(&auth, &config), &email()).expect_err("bad password");
    assert_eq!((e.failure, e.stage), (Failure::Transient, Stage::Auth));
    assert_eq!(e.reply.as_ref().map(|r| r.code), Some(535));
    let wrong_password = redacted(&e, auth.port());

    // The password variable is not set.
    let config = format!(
        "user = \"crm@dossier.test\"\npassword_env = \"DOSSIER_TEST_NO_SUCH_VARIABLE\"\n{}",
        trust(&auth, &dir)
    );
    let e = send(&settings(&auth, &config), &email()).expect_err("no password");
    assert_eq!((e.failure, e.stage), (Failure::Transient, Stage::Prepare));
    let no_password = e.to_string();

    for server in [&tls, &plain, &auth] {
        assert!(server.messages().is_empty());
    }
    insta::assert_snapshot!(format!("{untrusted}\n{no_starttls}\n{wrong_password}\n{no_password}"), @r#"
    email not sent (temporary failure) during the TLS handshake: network error: invalid peer certificate: UnknownIssuer
    email not sent (temporary failure) during the TLS handshake: 127.0.0.1:PORT does not offer STARTTLS, and security = "starttls" never sends in clear
    email not sent (temporary failure) at AUTH: the server replied 535 Invalid credentials
    email not sent (temporary failure) before connecting: the environment variable DOSSIER_TEST_NO_SUCH_VARIABLE ([email.smtp] password_env) is not set
    "#);
}

#[test]
fn a_refused_connection_is_a_transient_failure() {
    // A port held without listening: connecting is refused.
    let down = DownPort::new();
    let mut config = SmtpSettings::new("127.0.0.1");
    config.port = Some(down.port());
    config.security = Security::None;
    let e = send(&config, &email()).expect_err("nobody listens");
    assert_eq!((e.failure, e.stage), (Failure::Transient, Stage::Connect));
    assert!(e.reply.is_none());
}

#[test]
fn a_connection_lost_after_the_final_dot_is_an_unknown_outcome() {
    let server = SmtpServer::builder().vanish_after_data().start();
    let e = send(&settings(&server, "security = \"none\""), &email()).expect_err("no reply");
    assert_eq!((e.failure, e.stage), (Failure::Unknown, Stage::Message));
    // Which is why it is unknown rather than failed: the server has it.
    assert_eq!(only_message(&server).rcpt_to.len(), 3);
    assert!(
        e.to_string().contains("the server may have accepted it"),
        "{e}"
    );
}

#[test]
fn a_message_refused_at_its_end_is_classed_by_the_reply() {
    for (code, failure) in [(554, Failure::Permanent), (451, Failure::Transient)] {
        let server = SmtpServer::builder()
            .refuse_messages(code, "content refused")
            .start();
        let e = send(&settings(&server, "security = \"none\""), &email()).expect_err("refused");
        assert_eq!((e.failure, e.stage), (failure, Stage::Message), "{e}");
        assert_eq!(e.reply.as_ref().map(|r| r.code), Some(code));
        assert!(server.messages().is_empty());
    }
}

#[test]
fn a_message_that_cannot_be_built_is_refused_before_connecting() {
    let server = SmtpServer::start();
    let config = settings(&server, "security = \"none\"");
    let mut cases = Vec::new();
    let mut bad = email();
    bad.to[0].address = "a;b@c.com".to_owned();
    cases.push(bad);
    let mut bad = email();
    bad.subject = "Hello\r\nBcc: everyone@example.org".to_owned();
    cases.push(bad);
    let mut bad = email();
    bad.headers
        .push(("Content-Type".to_owned(), "text/html".to_owned()));
    cases.push(bad);
    let mut bad = email();
    bad.message_id = "<not bare@dossier.test>".to_owned();
    cases.push(bad);
    let mut bad = email();
    (bad.to, bad.cc, bad.bcc) = (Vec::new(), Vec::new(), Vec::new());
    cases.push(bad);
    let mut bad = email();
    bad.inline = vec![InlineImage {
        content_id: "logo".to_owned(),
        content_type: "image/png".to_owned(),
        bytes: Vec::new(),
    }];
    cases.push(bad);
    let errors: Vec<String> = cases
        .iter()
        .map(|m| {
            let e = send(&config, m).expect_err("refused");
            assert_eq!((e.failure, e.stage), (Failure::Permanent, Stage::Prepare));
            e.to_string()
        })
        .collect();
    assert!(server.messages().is_empty());
    insta::assert_snapshot!(errors.join("\n"), @r"
    email not sent (permanent failure) before connecting: to[0]: has `a;b@c.com`, which is not an email address: it has a character that is not allowed where it stands
    email not sent (permanent failure) before connecting: subject: has a line break
    email not sent (permanent failure) before connecting: headers[2]: sets `Content-Type`, which the message builder writes itself
    email not sent (permanent failure) before connecting: message_id: has `<not bare@dossier.test>`, which is not a message id (`left@right`, without angle brackets)
    email not sent (permanent failure) before connecting: to: names no recipient (To, Cc and Bcc are empty)
    email not sent (permanent failure) before connecting: inline: holds images but the message has no HTML body to show them
    ");
}

#[test]
fn settings_are_checked_and_unknown_keys_refused() {
    let read = |text: &str| toml::from_str::<SmtpSettings>(text);
    let defaults = read("host = \"smtp.example.com\"").expect("minimal");
    assert_eq!(defaults, SmtpSettings::new("smtp.example.com"));
    assert_eq!(
        (defaults.security, defaults.port()),
        (Security::Starttls, 587)
    );
    assert_eq!(
        read("host = \"h.example\"\nsecurity = \"tls\"")
            .expect("tls")
            .port(),
        465
    );
    assert_eq!(
        read("host = \"h.example\"\nsecurity = \"none\"")
            .expect("none")
            .port(),
        25
    );
    let unknown = read("host = \"h.example\"\npassword = \"secret\"").expect_err("unknown key");
    assert!(
        unknown.to_string().contains("unknown field `password`"),
        "{unknown}"
    );
    assert!(read("host = \"h.example\"\nsecurity = \"ssl\"").is_err());

    let refused = [
        "host = \"h.example\"\nuser = \"crm\"",
        "host = \"h.example\"\npassword_env = \"P\"",
        "host = \"h.example\"\nsecurity = \"none\"\nuser = \"crm\"\npassword_env = \"P\"",
        "host = \"h.example\"\ntimeout_ms = 0",
        "host = \"h.example\"\nca_file = \"/nonexistent/ca.pem\"",
        "host = \"h.example\"\nhello_name = \"crm dossier\"",
        "host = \" \"",
        "security = \"none\"",
        "host = \"h.example\"\nfolder = \"outbox-mail\"",
        "transport = \"file\"",
        "transport = \"file\"\nfolder = \"\"",
        "transport = \"file\"\nfolder = \"outbox-mail\"\nhost = \"h.example\"",
        "transport = \"file\"\nfolder = \"outbox-mail\"\nuser = \"crm\"\npassword_env = \"P\"",
    ];
    let messages: Vec<String> = refused
        .iter()
        .map(|text| {
            let e = read(text).expect("parses").check().expect_err(text);
            assert_eq!(e.code(), "config_invalid");
            e.to_string()
        })
        .collect();
    insta::assert_snapshot!(messages.join("\n"), @r#"
    config is invalid: [email.smtp] user is set without password_env
    config is invalid: [email.smtp] password_env is set without user
    config is invalid: [email.smtp] user needs security = "starttls" or "tls": AUTH over a plain connection would send the password in clear
    config is invalid: [email.smtp] timeout_ms must be between 1 and 600000 (is 0)
    config is invalid: [email.smtp] ca_file /nonexistent/ca.pem: cannot be read (No such file or directory (os error 2))
    config is invalid: [email.smtp] hello_name has `crm dossier`, which is not a host name (letters, digits, dots and dashes)
    config is invalid: [email.smtp] host is missing or empty: transport = "smtp" sends through this server
    config is invalid: [email.smtp] host is missing or empty: transport = "smtp" sends through this server
    config is invalid: [email.smtp] folder is set but transport is "smtp": set transport = "file" to write messages to a folder, or remove folder
    config is invalid: [email.smtp] folder is missing: transport = "file" writes each message into this folder
    config is invalid: [email.smtp] folder is empty
    config is invalid: [email.smtp] host is for transport = "smtp": transport = "file" connects to no server
    config is invalid: [email.smtp] user is for transport = "smtp": transport = "file" connects to no server
    "#);
    let file = read("transport = \"file\"\nfolder = \"outbox-mail\"").expect("file transport");
    assert_eq!(file, SmtpSettings::file("outbox-mail"));
    file.check()
        .expect("a file transport with a folder is valid");
    assert!(read("transport = \"pigeon\"").is_err());
}

#[test]
fn addresses_are_checked_with_the_email_address_rules() {
    for bad in [
        "a;b@c.com",
        "p@q..com",
        "ann@localhost",
        "Ann <ann@example.org>",
    ] {
        let e = check_address("to", bad).expect_err(bad);
        assert_eq!(e.code(), "invalid_input", "{bad}");
        assert!(normalize_email(bad).is_err(), "{bad}");
    }
    let local = "a".repeat(64);
    let long = |n: usize| {
        format!(
            "{local}@{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(n)
        )
    };
    assert_eq!(long(57).len(), 254);
    assert!(check_address("to", &long(57)).is_ok());
    let e = check_address("to", &long(58)).expect_err("255 characters");
    assert_eq!(e.to_string(), "to: is longer than 254 characters (255)");
    assert_eq!(
        normalize_email(" Ann.Customer@Example.ORG ").as_deref(),
        Ok("ann.customer@example.org")
    );
}

/// The test server is a real SMTP implementation: it keeps the protocol's
/// state, so commands out of order are refused.
#[test]
fn the_test_server_refuses_commands_out_of_order() {
    let server = SmtpServer::start();
    let stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    let mut out = stream.try_clone().expect("clone");
    let mut replies = BufReader::new(stream);
    let mut say = |line: &str| -> String {
        if !line.is_empty() {
            out.write_all(format!("{line}\r\n").as_bytes())
                .expect("write");
        }
        let mut reply = String::new();
        loop {
            let mut l = String::new();
            replies.read_line(&mut l).expect("read");
            reply.push_str(&l);
            if l.as_bytes().get(3) != Some(&b'-') {
                return reply[..3].to_owned();
            }
        }
    };
    assert_eq!(say(""), "220");
    assert_eq!(say("DATA"), "503", "DATA before HELO");
    assert_eq!(say("EHLO test.example"), "250");
    assert_eq!(say("RCPT TO:<ann@example.org>"), "503", "RCPT before MAIL");
    assert_eq!(say("DATA"), "503", "DATA before MAIL");
    assert_eq!(say("MAIL FROM:<support@dossier.test>"), "250");
    assert_eq!(say("DATA"), "503", "DATA before any RCPT");
    assert_eq!(say("RCPT TO:<ann@example.org>"), "250");
    assert_eq!(say("DATA"), "354");
    assert_eq!(say("Subject: raw\r\n\r\nbody\r\n."), "250");
    assert_eq!(say("QUIT"), "221");
    assert_eq!(only_message(&server).rcpt_to, ["ann@example.org"]);
}
