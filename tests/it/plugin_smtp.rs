//! The `smtp-notify` plugin against a real SMTP server on 127.0.0.1: a
//! small sink that speaks enough RFC 5321 for one transaction per
//! connection and records what it received.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use dossier_sdk::{Audience, Cause, Mailbox, Notification};

use crate::built::entry;
use crate::util::{PATIENCE, TestStore};

/// One message as the SMTP server received it.
#[derive(Debug, Default)]
pub(crate) struct Received {
    helo: String,
    mail_from: String,
    pub(crate) rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, lines joined with CRLF.
    data: String,
}

impl Received {
    fn headers(&self) -> &str {
        self.data.split("\r\n\r\n").next().unwrap_or_default()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.headers()
            .split("\r\n")
            .find_map(|line| line.strip_prefix(prefix.as_str()))
    }

    pub(crate) fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }
}

/// Starts an SMTP server that accepts one connection and answers `reject_rcpt`
/// to every RCPT when set (e.g. `550 no such user`).
pub(crate) fn smtp_server(reject_rcpt: Option<&'static str>) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(PATIENCE));
        if let Ok(received) = session(stream, reject_rcpt) {
            let _ = tx.send(received);
        }
    });
    (port, rx)
}

fn session(stream: TcpStream, reject_rcpt: Option<&str>) -> std::io::Result<Received> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut received = Received::default();
    out.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(received);
        }
        let command = line.trim_end();
        let verb = command
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                received.helo = command[5..].to_owned();
                out.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
            }
            "MAIL" => {
                received.mail_from = command.to_owned();
                out.write_all(b"250 2.1.0 ok\r\n")?;
            }
            "RCPT" => match reject_rcpt {
                Some(reply) => out.write_all(format!("{reply}\r\n").as_bytes())?,
                None => {
                    received.rcpt_to.push(command.to_owned());
                    out.write_all(b"250 2.1.5 ok\r\n")?;
                }
            },
            "DATA" => {
                out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(received);
                    }
                    let text = line.trim_end_matches(['\r', '\n']);
                    if text == "." {
                        break;
                    }
                    data.push(text.strip_prefix('.').unwrap_or(text).to_owned());
                }
                received.data = data.join("\r\n");
                out.write_all(b"250 2.0.0 queued as 1\r\n")?;
            }
            "RSET" | "NOOP" => out.write_all(b"250 2.0.0 ok\r\n")?,
            "QUIT" => {
                out.write_all(b"221 2.0.0 bye\r\n")?;
                return Ok(received);
            }
            _ => out.write_all(b"502 5.5.2 unknown command\r\n")?,
        }
    }
}

fn mailbox(name: Option<&str>, address: &str) -> Mailbox {
    Mailbox {
        name: name.map(str::to_owned),
        address: address.into(),
    }
}

fn notification() -> Notification {
    Notification {
        case_number: None,
        audience: Audience::Customer,
        cause: Cause::EmailReply,
        from: mailbox(Some("Support Team"), "support@dossier.test"),
        to: vec![mailbox(Some("Ann Customer"), "ann@example.org")],
        cc: vec![mailbox(None, "manager@example.org")],
        bcc: vec![mailbox(None, "audit@dossier.test")],
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: "Your case 14355 [JXA6PDRNQ2SO]".into(),
        body: "Hello Ann,\nyour printer is fixed.".into(),
        html: None,
        signature: Some("Support Team\nDossier Inc.".into()),
        review: false,
    }
}

pub(crate) fn config(port: u16) -> String {
    entry(
        "smtp-notify-plugin",
        &format!(
            "host = \"127.0.0.1\"\nport = {port}\nhello_name = \"crm.dossier.test\"\ntimeout_ms = 5000"
        ),
    )
}

#[test]
fn a_notification_is_sent_with_its_headers_body_and_signature() {
    let (port, received) = smtp_server(None);
    let t = TestStore::new(&config(port));
    t.host.notify(notification()).expect("sent");
    let mail = received
        .recv_timeout(PATIENCE)
        .expect("the server got a message");

    assert_eq!(mail.helo, "crm.dossier.test");
    assert_eq!(mail.mail_from, "MAIL FROM:<support@dossier.test>");
    assert_eq!(
        mail.rcpt_to,
        vec![
            "RCPT TO:<ann@example.org>",
            "RCPT TO:<manager@example.org>",
            "RCPT TO:<audit@dossier.test>",
        ]
    );
    assert_eq!(
        mail.header("From"),
        Some("\"Support Team\" <support@dossier.test>")
    );
    assert_eq!(
        mail.header("To"),
        Some("\"Ann Customer\" <ann@example.org>")
    );
    assert_eq!(mail.header("Cc"), Some("manager@example.org"));
    assert_eq!(mail.header("Bcc"), None, "Bcc recipients stay hidden");
    assert_eq!(
        mail.header("Subject"),
        Some("Your case 14355 [JXA6PDRNQ2SO]")
    );
    assert_eq!(
        mail.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        mail.body(),
        "Hello Ann,\r\nyour printer is fixed.\r\n-- \r\nSupport Team\r\nDossier Inc."
    );
}

#[test]
fn a_refusing_server_makes_the_notification_fail() {
    let (port, _received) = smtp_server(Some("550 5.1.1 no such user"));
    let t = TestStore::new(&config(port));
    let err = t.host.notify(notification()).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "plugin smtp-notify: failed on the notification event: SMTP server 127.0.0.1:{port} refused or failed:"
        )) && message.contains("no such user"),
        "{message}"
    );
}

#[test]
fn a_notification_waiting_for_review_is_not_sent() {
    let (port, received) = smtp_server(None);
    let t = TestStore::new(&config(port));
    let mut n = notification();
    n.review = true;
    t.host.notify(n).expect("not an error");
    assert!(
        received.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing was sent"
    );
}
