//! `dossier serve` over HTTPS from `[server] tls_cert` and `tls_key`: a
//! client trusting the test CA signs in, and the session cookie is Secure.

use std::io::{Read, Write};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::serve::serve;
use super::util::json as cli_json;

/// A CA and a certificate for 127.0.0.1 it signed, written as PEM files in
/// `dir`; the CA's certificate.
fn certificates(dir: &std::path::Path) -> rustls::pki_types::CertificateDer<'static> {
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
    std::fs::create_dir_all(dir.join("tls")).expect("tls dir");
    std::fs::write(
        dir.join("tls/cert.pem"),
        format!("{}{}", cert.pem(), ca.pem()),
    )
    .expect("cert");
    std::fs::write(dir.join("tls/key.pem"), key.serialize_pem()).expect("key");
    ca.der().clone()
}

/// Sends `request` over TLS to `addr`, trusting only `ca`; the answer.
fn https(addr: &str, ca: &rustls::pki_types::CertificateDer<'static>, request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = std::net::TcpStream::connect(addr).expect("connect");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    // The server closes after answering a `Connection: close` request.
    let _ = tls.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn https_from_pem_files_signs_in_with_a_secure_cookie() {
    let dir = tempfile::tempdir().expect("dir");
    let init = cli_json(dir.path(), &["init", "--admin", "boss"]);
    let password = init["password"]
        .as_str()
        .expect("generated password")
        .to_owned();
    let ca = certificates(dir.path());
    let config = dir.path().join("dossier.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replace(
        "secure_cookies = false\n",
        "secure_cookies = false\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n",
    );
    std::fs::write(&config, text).expect("config");

    let served = serve(dir.path());
    assert!(served.base.starts_with("https://"), "{}", served.base);
    let addr = served.base.trim_start_matches("https://").to_owned();
    let body = format!(r#"{{"login":"boss","password":"{password}"}}"#);
    let answer = https(
        &addr,
        &ca,
        &format!(
            "POST /api/v1/session HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // Plain HTTP on the TLS port gets no answer from the API.
    let mut plain = std::net::TcpStream::connect(&addr).expect("connect");
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .expect("timeout");
    plain
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "plain HTTP was served"
    );
}

#[test]
fn a_key_without_a_certificate_is_refused_naming_both_keys() {
    let dir = tempfile::tempdir().expect("dir");
    cli_json(dir.path(), &["init"]);
    let config = dir.path().join("dossier.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "secure_cookies = false\n",
            "secure_cookies = false\ntls_key = \"k.pem\"\n",
        ),
    )
    .expect("config");
    let out = super::util::dossier(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls_cert and tls_key go together"), "{err}");
}
