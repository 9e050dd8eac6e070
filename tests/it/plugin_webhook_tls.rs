//! The `webhook` plugin over `https://`: a real TLS server on 127.0.0.1
//! with a certificate from a CA the test makes (rcgen), trusted through the
//! plugin's `ca_file`, and refused without it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, mpsc};

use dossier_sdk::NewCustomer;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::built::entry;
use crate::util::{PATIENCE, TestStore};

/// What the server saw on one connection.
enum Seen {
    /// A request, after a completed handshake: its request line, headers
    /// (lower-cased names) and body.
    Request {
        line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The handshake or the request failed, and why.
    Failed(String),
}

/// A CA and a certificate for 127.0.0.1 signed by it: the CA's PEM, the
/// server's chain and key.
fn certificates() -> (String, rustls::ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Dossier test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    (ca.pem(), config)
}

/// Serves one HTTP/1.1 request on `stream`: reads the request line,
/// headers and a `Content-Length` body, answers `200 OK`, and closes.
fn serve(stream: &mut (impl Read + Write)) -> std::io::Result<Seen> {
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    drop(reader);
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")?;
    stream.flush()?;
    Ok(Seen::Request {
        line: line.trim_end().to_owned(),
        headers,
        body,
    })
}

/// Starts a TLS server for `connections` connections; returns its
/// `https://` URL, the CA's PEM and what it sees.
fn tls_server(connections: usize) -> (String, String, mpsc::Receiver<Seen>) {
    let (ca_pem, config) = certificates();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let seen = rustls::ServerConnection::new(config.clone())
                .map_err(|e| e.to_string())
                .and_then(|conn| {
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let seen = serve(&mut tls).map_err(|e| e.to_string());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    seen
                })
                .unwrap_or_else(Seen::Failed);
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (
        format!("https://127.0.0.1:{port}/hooks/dossier"),
        ca_pem,
        rx,
    )
}

fn config(url: &str, ca_file: Option<&Path>) -> String {
    let ca = ca_file
        .map(|p| format!("ca_file = {:?}\n", p.display().to_string()))
        .unwrap_or_default();
    entry(
        "webhook-plugin",
        &format!(
            "url = \"{url}\"\nsecret = \"s3cret\"\nevents = [\"before_save\"]\nretries = 0\ntimeout_ms = 30000\n{ca}"
        ),
    )
}

fn add(t: &TestStore) -> dossier_host::Result<dossier_sdk::Customer> {
    t.host.create_customer(NewCustomer {
        account: "AC-7".into(),
        name: "Ann".into(),
        ..Default::default()
    })
}

#[test]
fn events_are_posted_over_https_to_a_server_whose_ca_is_in_ca_file() {
    let (url, ca_pem, seen) = tls_server(1);
    let ca_dir = tempfile::tempdir().expect("temp dir");
    let ca_file = ca_dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("CA file");
    let t = TestStore::new(&config(&url, Some(&ca_file)));
    let ann = add(&t).expect("the before_save webhook succeeded");
    match seen.recv_timeout(PATIENCE).expect("a request") {
        Seen::Request {
            line,
            headers,
            body,
        } => {
            assert_eq!(line, "POST /hooks/dossier HTTP/1.1");
            assert!(headers.contains(&("x-dossier-event".into(), "before_save".into())));
            let event: dossier_sdk::Event = serde_json::from_slice(&body).expect("an event");
            match event {
                dossier_sdk::Event::BeforeSave(save) => match save.record {
                    dossier_sdk::Record::Customer(c) => assert_eq!(c.account, "AC-7"),
                    other => panic!("unexpected record {other:?}"),
                },
                other => panic!("unexpected event {other:?}"),
            }
        }
        Seen::Failed(why) => panic!("the server failed: {why}"),
    }
    assert_eq!(ann.account, "AC-7");
}

#[test]
fn without_the_ca_the_servers_certificate_is_refused() {
    let (url, _ca_pem, seen) = tls_server(1);
    let t = TestStore::new(&config(&url, None));
    let error = add(&t).expect_err("an unknown CA fails the before_save webhook");
    let message = error.to_string();
    assert!(
        message.contains("plugin webhook") && message.to_lowercase().contains("certificate"),
        "{message}"
    );
    // The TLS server saw the client give up during the handshake.
    assert!(matches!(
        seen.recv_timeout(PATIENCE).expect("a connection"),
        Seen::Failed(_)
    ));
    // Nothing was written: the veto rolled the customer back.
    assert!(t.host.customer_by_account("AC-7").is_err());
}
