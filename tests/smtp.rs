//! A real SMTP server on 127.0.0.1 for the tests: `mailin`'s protocol
//! state machine (RFC 5321 command order, `503` for `DATA` before `MAIL`,
//! AUTH PLAIN/LOGIN, STARTTLS) behind a socket loop with rustls, recording
//! every message it accepts.
//!
//! ```no_run
//! use dossier_tests::smtp::SmtpServer;
//!
//! let server = SmtpServer::builder()
//!     .refuse("nobody@example.org", 550, "5.1.1 no such user")
//!     .starttls()
//!     .require_auth("crm", "s3cret")
//!     .start();
//! // point the client at 127.0.0.1:server.port(), trusting server.ca_pem()
//! let messages = server.messages();
//! ```
//!
//! The server records a message before it answers the final dot, so once
//! a client has the server's `250`, [`SmtpServer::messages`] holds it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use socket2::{Domain, Protocol, Socket, Type};

/// How long the server waits for a client's next line before it gives up
/// on the connection (only a hung client uses it up).
const IDLE: Duration = Duration::from_secs(60);

/// One message the server accepted: its envelope and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// The `MAIL FROM` address, as the client sent it (no brackets).
    pub mail_from: String,
    /// The accepted `RCPT TO` addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message after `DATA`, dot-unstuffed, up to (not including) the
    /// final `.` line; CRLF line ends.
    pub data: Vec<u8>,
    /// The user that authenticated on this connection, if any.
    pub auth_user: Option<String>,
    /// Whether the connection was encrypted when the message arrived.
    pub tls: bool,
}

impl Received {
    /// The content as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// How the server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    None,
    Starttls,
    Implicit,
}

/// What [`SmtpServer::builder`] configures.
#[derive(Debug)]
pub struct ServerBuilder {
    refusals: Vec<(String, u16, String)>,
    auth: Option<(String, String)>,
    tls: TlsMode,
    vanish_after_data: bool,
    refuse_message: Option<(u16, String)>,
    down: Option<DownPort>,
}

/// What every connection of one server shares.
struct Shared {
    refusals: Vec<(String, u16, String)>,
    auth: Option<(String, String)>,
    tls: TlsMode,
    tls_config: Option<Arc<ServerConfig>>,
    vanish_after_data: AtomicBool,
    refuse_message: Option<(u16, String)>,
    session: SessionBuilder,
    messages: Mutex<Vec<Received>>,
    errors: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A running server; stops accepting connections when dropped.
pub struct SmtpServer {
    port: u16,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    accepting: Option<std::thread::JoinHandle<()>>,
}

impl ServerBuilder {
    /// Answers `RCPT TO:<address>` (compared without case) with `code` and
    /// `text`, e.g. `550`, `"5.1.1 no such user"`, or `451` for a
    /// temporary refusal.
    pub fn refuse(mut self, address: &str, code: u16, text: &str) -> ServerBuilder {
        self.refusals
            .push((address.to_ascii_lowercase(), code, text.to_owned()));
        self
    }

    /// Requires AUTH (PLAIN or LOGIN) as `user` with `password` before
    /// `MAIL`; like a real submission server, AUTH is offered only once the
    /// connection is encrypted, so combine with [`starttls`](Self::starttls)
    /// or [`implicit_tls`](Self::implicit_tls).
    pub fn require_auth(mut self, user: &str, password: &str) -> ServerBuilder {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Offers STARTTLS, with a certificate for 127.0.0.1 and `localhost`
    /// from a CA made for this server ([`SmtpServer::ca_pem`]).
    pub fn starttls(mut self) -> ServerBuilder {
        self.tls = TlsMode::Starttls;
        self
    }

    /// Speaks TLS from the first byte (port 465 style), with the same kind
    /// of certificate as [`starttls`](Self::starttls).
    pub fn implicit_tls(mut self) -> ServerBuilder {
        self.tls = TlsMode::Implicit;
        self
    }

    /// A fault: after receiving a whole message (and recording it), close
    /// the connection without answering the final dot, as a server that
    /// crashes at that moment would.
    pub fn vanish_after_data(mut self) -> ServerBuilder {
        self.vanish_after_data = true;
        self
    }

    /// Answers the final dot of every message with `code` and `text`
    /// (`554`, `"5.6.0 content refused"`, or a `4xx`), keeping nothing,
    /// then closes the connection.
    pub fn refuse_messages(mut self, code: u16, text: &str) -> ServerBuilder {
        self.refuse_message = Some((code, text.to_owned()));
        self
    }

    /// Listens on the port `down` holds instead of a free port it picks:
    /// to bring a server up where a client already points. The socket is
    /// the same one, so no other process can take the port in between.
    pub fn on(mut self, down: DownPort) -> ServerBuilder {
        self.down = Some(down);
        self
    }

    /// Listens on 127.0.0.1, on a free port (or the one [`on`](Self::on)
    /// hands over), and serves each connection on its own thread.
    pub fn start(self) -> SmtpServer {
        let (ca_pem, tls_config) = match self.tls {
            TlsMode::None => (None, None),
            TlsMode::Starttls | TlsMode::Implicit => {
                let (ca, config) = certificates();
                (Some(ca), Some(Arc::new(config)))
            }
        };
        let mut session = SessionBuilder::new("mx.dossier.test");
        if self.tls == TlsMode::Starttls {
            session.enable_start_tls();
        }
        if self.auth.is_some() {
            session.enable_auth(AuthMechanism::Plain);
            session.enable_auth(AuthMechanism::Login);
        }
        let shared = Arc::new(Shared {
            refusals: self.refusals,
            auth: self.auth,
            tls: self.tls,
            tls_config,
            vanish_after_data: AtomicBool::new(self.vanish_after_data),
            refuse_message: self.refuse_message,
            session,
            messages: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let listener = match self.down {
            Some(down) => {
                down.socket.listen(128).expect("listen on the port held");
                TcpListener::from(down.socket)
            }
            None => TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1"),
        };
        let port = listener.local_addr().expect("local address").port();
        let flags = shared.clone();
        let accepting = std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if flags.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let shared = flags.clone();
                std::thread::spawn(move || {
                    if let Err(e) = serve(tcp, &shared) {
                        lock(&shared.errors).push(e.to_string());
                    }
                });
            }
        });
        SmtpServer {
            port,
            ca_pem,
            shared,
            accepting: Some(accepting),
        }
    }
}

impl SmtpServer {
    /// A server to configure before [`ServerBuilder::start`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            refusals: Vec::new(),
            auth: None,
            tls: TlsMode::None,
            vanish_after_data: false,
            refuse_message: None,
            down: None,
        }
    }

    /// A plain server that accepts every recipient.
    pub fn start() -> SmtpServer {
        SmtpServer::builder().start()
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PEM of the CA that signed the server's certificate, when it
    /// offers TLS: what a client must trust.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Ends the [`vanish_after_data`](ServerBuilder::vanish_after_data)
    /// fault: from the next message on, the final dot is answered, as by
    /// the server back up after its crash.
    pub fn stop_vanishing(&self) {
        self.shared.vanish_after_data.store(false, Ordering::SeqCst);
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.messages).clone()
    }

    /// Why connections ended abnormally (a failed TLS handshake, a reset),
    /// oldest first.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.shared.errors).clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag, and wait until it
        // has closed the listener: a test that starts another server on the
        // same port right after must find it free.
        if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && let Some(accepting) = self.accepting.take()
        {
            let _ = accepting.join();
        }
    }
}

/// A port on 127.0.0.1 that is held but not listened on: a client that
/// connects is refused, as by a server that is down, until a server
/// [takes it over](ServerBuilder::on). Bound from the start, so no other
/// test or process can take the port while the server is "down".
#[derive(Debug)]
pub struct DownPort {
    socket: Socket,
    port: u16,
}

impl DownPort {
    /// Binds a free port on 127.0.0.1 without listening on it.
    pub fn new() -> DownPort {
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a TCP socket");
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .expect("bind 127.0.0.1");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .expect("the bound port");
        DownPort { socket, port }
    }

    /// The port, for the client's configuration.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for DownPort {
    fn default() -> DownPort {
        DownPort::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A CA and a certificate for 127.0.0.1 and `localhost` signed by it: the
/// CA's PEM and the server's rustls config (ring).
fn certificates() -> (String, ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Dossier SMTP test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
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

/// The connection, before or after TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// What the socket loop and the session's handler share on one connection.
#[derive(Default)]
struct Flags {
    tls: AtomicBool,
    data_ended: AtomicBool,
    /// Close once the reply is written: mailin stays in its DATA state
    /// after a refused message, so the session cannot go on.
    close: AtomicBool,
}

/// The session's handler: decides refusals and AUTH, records messages.
struct Recorder {
    shared: Arc<Shared>,
    flags: Arc<Flags>,
    helo: String,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    auth_user: Option<String>,
}

impl Recorder {
    fn login(&mut self, user: &str, password: &str) -> Response {
        match &self.shared.auth {
            Some((u, p)) if u == user && p == password => {
                self.auth_user = Some(user.to_owned());
                AUTH_OK
            }
            _ => INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Recorder {
    fn helo(&mut self, _ip: IpAddr, domain: &str) -> Response {
        self.helo = domain.to_owned();
        OK
    }

    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.mail_from = from.to_owned();
        self.rcpt_to.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let wanted = to.to_ascii_lowercase();
        match self.shared.refusals.iter().find(|(a, _, _)| *a == wanted) {
            Some((_, code, text)) => Response::custom(*code, text.clone()),
            None => {
                self.rcpt_to.push(to.to_owned());
                OK
            }
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some((code, text)) = &self.shared.refuse_message {
            self.data.clear();
            self.rcpt_to.clear();
            self.flags.close.store(true, Ordering::SeqCst);
            return Response::custom(*code, text.clone());
        }
        lock(&self.shared.messages).push(Received {
            helo: self.helo.clone(),
            mail_from: self.mail_from.clone(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            data: std::mem::take(&mut self.data),
            auth_user: self.auth_user.clone(),
            tls: self.flags.tls.load(Ordering::SeqCst),
        });
        self.flags.data_ended.store(true, Ordering::SeqCst);
        Response::custom(250, "2.0.0 queued".to_owned())
    }

    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> Response {
        self.login(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.login(username, password)
    }
}

fn tls_wrap(shared: &Shared, tcp: TcpStream) -> io::Result<Conn> {
    let config = shared
        .tls_config
        .clone()
        .ok_or_else(|| io::Error::other("TLS asked of a server without a certificate"))?;
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    // Finish the handshake now, so that a client refusing the certificate
    // is reported here.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(Conn::Tls(Box::new(tls)))
}

/// Runs one SMTP session on `tcp`.
fn serve(tcp: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE))?;
    // Replies are written in pieces: without this, Nagle's algorithm holds
    // each reply's tail until the client's delayed ACK (40 ms a reply).
    tcp.set_nodelay(true)?;
    let ip = tcp.peer_addr()?.ip();
    let flags = Arc::new(Flags::default());
    let recorder = Recorder {
        shared: shared.clone(),
        flags: flags.clone(),
        helo: String::new(),
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: Vec::new(),
        auth_user: None,
    };
    let mut session = shared.session.build(ip, recorder);
    let conn = if shared.tls == TlsMode::Implicit {
        session.tls_active();
        flags.tls.store(true, Ordering::SeqCst);
        tls_wrap(shared, tcp)?
    } else {
        Conn::Plain(tcp)
    };
    let mut reader = BufReader::new(conn);
    reply(reader.get_mut(), &session.greeting())?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        if flags.data_ended.swap(false, Ordering::SeqCst)
            && shared.vanish_after_data.load(Ordering::SeqCst)
        {
            return reader.get_ref().tcp().shutdown(Shutdown::Both);
        }
        match response.action {
            Action::NoReply => {}
            Action::Reply => {
                reply(reader.get_mut(), &response)?;
                if flags.close.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
            Action::Close => {
                reply(reader.get_mut(), &response)?;
                return Ok(());
            }
            Action::UpgradeTls => {
                reply(reader.get_mut(), &response)?;
                if !reader.buffer().is_empty() {
                    // RFC 3207: nothing may follow STARTTLS in the same packet.
                    return Err(io::Error::other("client pipelined data after STARTTLS"));
                }
                let Conn::Plain(tcp) = reader.into_inner() else {
                    return Err(io::Error::other("STARTTLS on an encrypted connection"));
                };
                reader = BufReader::new(tls_wrap(shared, tcp)?);
                session.tls_active();
                flags.tls.store(true, Ordering::SeqCst);
            }
        }
    }
}

fn reply(out: &mut Conn, response: &Response) -> io::Result<()> {
    response.write_to(out)?;
    out.flush()
}
