//! `dossier serve`: the one door to a store. Agents' desktops, CTI
//! connectors, integrations in any language and supervisors' screens reach
//! Dossier through this HTTP/JSON API under `/api/v1/`, as an authenticated
//! agent, with the visibility and permissions they have everywhere.
//!
//! - Requests run the blocking [`Host`] on tokio's bounded blocking pool;
//!   every write goes through one writer queue (`writer.rs`), so requests
//!   never fail on SQLite's lock.
//! - Agents sign in with a password (a session cookie and a CSRF token for
//!   browsers) or send an API token (`auth.rs`).
//! - Errors are RFC 9457 problem details carrying the host's stable codes
//!   (`error.rs`); the OpenAPI document is generated from the routes
//!   (`/api/v1/openapi.json`); `/health`, `/ready` and Prometheus
//!   `/metrics` serve operations.
//!
//! ```no_run
//! # async fn run() -> Result<(), dossier_server::ServerError> {
//! let config = dossier_host::Config::load(std::path::Path::new("dossier.toml"))?;
//! let host = dossier_host::Host::open(config)?;
//! let server = dossier_server::Server::bind(host, dossier_server::ServerOptions::default()).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod auth;
mod background;
mod error;
mod events;
pub mod lock;
mod metrics;
pub mod tls;
pub mod web;
mod writer;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use dossier_host::Host;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{CSRF_HEADER, Limits, SESSION_COOKIE};
pub use error::{Problem, Result, SERVER_CODES, STATUS_OF_CODE, ServerError, status_of};

/// How many threads run the host's blocking calls (reads on the store's
/// readers, sign-in checks): more would only queue on the readers and on
/// the cores, and 64 concurrent pops on 2 cores served a sixth as many
/// requests with 64 threads as with 8. Build the runtime with it
/// (`max_blocking_threads`); requests beyond it wait their turn in tokio's
/// queue, costing no thread.
pub const BLOCKING_THREADS: usize = 8;

/// How the server runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Where it listens [default: 127.0.0.1:8440].
    pub listen: SocketAddr,
    /// How long a browser session lasts [default: 12 hours].
    pub session_ttl: chrono::Duration,
    /// The largest request body accepted, in bytes [default: 1 MiB].
    pub max_body: usize,
    /// Mark the session cookie `Secure` (set when serving TLS, or behind a
    /// TLS proxy) [default: false].
    pub secure_cookies: bool,
    /// How many writes may wait for the writer before the next is answered
    /// 503 [default: 1024].
    pub write_queue: usize,
    /// Failed sign-ins allowed before sign-ins are refused for a while.
    pub limits: Limits,
    /// Serve HTTPS with this rustls config (see [`tls::server_config`])
    /// instead of plain HTTP [default: none].
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How often an idle event stream sends a heartbeat, so proxies keep
    /// it open [default: 15 s].
    pub heartbeat: std::time::Duration,
    /// The most reminders one background pass fires before letting the
    /// requests waiting for the writer in [default: 50].
    pub reminders_per_pass: u32,
    /// How many chats one address may start through the visitor endpoint
    /// in 15 minutes, and how many messages and typing signals a visitor
    /// may send in a minute.
    pub visitor_limits: VisitorLimits,
}

/// What the chat visitor endpoint allows one client.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct VisitorLimits {
    /// Chats one address may start in 15 minutes [default: 10].
    pub starts_per_address: u32,
    /// Messages and typing signals one chat's visitor may send in a
    /// minute [default: 120].
    pub sends_per_minute: u32,
}

impl Default for VisitorLimits {
    fn default() -> Self {
        VisitorLimits {
            starts_per_address: 10,
            sends_per_minute: 120,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8440)),
            session_ttl: chrono::Duration::hours(12),
            max_body: 1024 * 1024,
            secure_cookies: false,
            write_queue: 1024,
            limits: Limits::default(),
            tls: None,
            heartbeat: std::time::Duration::from_secs(15),
            reminders_per_pass: 50,
            visitor_limits: VisitorLimits::default(),
        }
    }
}

impl ServerOptions {
    /// The defaults, listening on `listen`.
    pub fn listening_on(listen: SocketAddr) -> ServerOptions {
        ServerOptions {
            listen,
            ..ServerOptions::default()
        }
    }
}

/// What every request handler shares.
pub(crate) struct AppState {
    host: Host,
    writer: writer::Writer,
    limiter: auth::Limiter,
    metrics: metrics::Metrics,
    options: ServerOptions,
    hub: Arc<events::Hub>,
    /// Woken after each write: the background loop looks again for the
    /// next deadline.
    wake: Arc<tokio::sync::Notify>,
    /// Bumped after each write: wallboards read again.
    changes: tokio::sync::watch::Sender<u64>,
    visitors: api::visitor::Limiter,
}

/// A JSON request body of `T`: unknown fields, bad JSON and bodies over the
/// limit are refused as problem details naming what is wrong.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Body<T> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self> {
        let limit = state.options.max_body;
        // Refused from its declared length, before a byte of it is read.
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ServerError::TooLarge { limit });
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(refused_body(rejection, limit)),
        }
    }
}

fn refused_body(rejection: JsonRejection, limit: usize) -> ServerError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ServerError::TooLarge { limit };
    }
    let message = rejection.body_text();
    let message = message
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(&message)
        .to_owned();
    // serde names the field in "unknown field `x`" and "missing field `x`".
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|start| {
            let at = message.find(start)? + start.len();
            let end = message[at..].find('`')?;
            Some(message[at..at + end].to_owned())
        });
    ServerError::BadRequest { message, field }
}

/// The server, bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    state: Arc<AppState>,
}

/// The OpenAPI document of every route, as `/api/v1/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Dossier",
        description = "The contact-centre CRM's HTTP API. Authenticate with `Authorization: Bearer TOKEN` (`dossier agent token new`) or a session cookie from `POST /api/v1/session` (then send `X-CSRF-Token` on writes). Errors are RFC 9457 problem details with a stable `code`."
    ),
    components(schemas(Problem))
)]
struct ApiDoc;

/// Every route, registered with its OpenAPI operation (a route cannot be
/// served without being documented).
fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(auth::sign_in, auth::sign_out))
        .routes(utoipa_axum::routes!(auth::me))
        .merge(api::routes())
}

impl Server {
    /// Binds `options.listen` for `host` and starts the writer.
    pub async fn bind(host: Host, options: ServerOptions) -> Result<Server> {
        // A listen backlog of 1,024, not tokio's 128: when every agent's
        // event stream reconnects at once (a restart, a network blip),
        // connections beyond the backlog are dropped and retried a second
        // later (BENCHMARKS.md, "Event streams").
        let listener = (|| {
            let socket = if options.listen.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.bind(options.listen)?;
            socket.listen(1024)
        })()
        .map_err(|source| ServerError::Io {
            what: format!("cannot listen on {}", options.listen),
            source,
        })?;
        let tls = options.tls.clone();
        let hub = Arc::new(events::Hub::new(host.clone())?);
        let wake = Arc::new(tokio::sync::Notify::new());
        let (changes, _) = tokio::sync::watch::channel(0u64);
        let after: writer::After = {
            let (hub, wake, changes) = (hub.clone(), wake.clone(), changes.clone());
            Arc::new(move || {
                if let Err(e) = hub.pump() {
                    tracing::warn!(target: "dossier_server::background", "event pump failed: {e}");
                }
                wake.notify_one();
                changes.send_modify(|n| *n = n.wrapping_add(1));
            })
        };
        let state = Arc::new(AppState {
            writer: writer::Writer::start(options.write_queue, after)?,
            limiter: auth::Limiter::new(options.limits),
            metrics: metrics::Metrics::new(),
            visitors: api::visitor::Limiter::new(options.visitor_limits),
            host,
            options,
            hub,
            wake,
            changes,
        });
        let (api, doc) = routes().split_for_parts();
        let doc = Arc::new(doc);
        let app = Router::new()
            .merge(api)
            .route(
                "/api/v1/openapi.json",
                axum::routing::get(move || {
                    let doc = doc.clone();
                    async move { axum::Json(doc.as_ref().clone()) }
                }),
            )
            .route("/health", axum::routing::get(|| async { "ok\n" }))
            .route("/ready", axum::routing::get(ready))
            .route("/metrics", axum::routing::get(metrics::metrics))
            .merge(web::routes())
            .fallback(no_route)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                metrics::record,
            ))
            .layer(DefaultBodyLimit::max(state.options.max_body))
            .with_state(state.clone());
        Ok(Server {
            listener,
            tls,
            app,
            state,
        })
    }

    /// The address it listens on (the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then stops accepting and lets the
    /// requests in flight finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let background = [
            tokio::spawn(background::passes(self.state.clone())),
            tokio::spawn(background::foreign_pump(self.state.clone())),
        ];
        let hub = self.state.hub.clone();
        let shutdown = async move {
            shutdown.await;
            // Streams never finish by themselves: end them, so the
            // requests in flight can.
            hub.close();
        };
        let app = self.app.into_make_service_with_connect_info::<ClientAddr>();
        let served = match self.tls {
            Some(config) => {
                let listener = tls::TlsListener::new(self.listener, config);
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            None => {
                axum::serve(PlainListener(self.listener), app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        for task in background {
            task.abort();
        }
        served.map_err(|source| ServerError::Io {
            what: "serving stopped".into(),
            source,
        })
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// The address a connection came from, plain or TLS (what the sign-in
/// limiter counts failures by).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub SocketAddr);

/// The plain listener: its connections send small answers at once
/// (`TCP_NODELAY`); without it, an answer written in two parts waits for
/// the client's delayed acknowledgement, tens of milliseconds.
pub(crate) struct PlainListener(tokio::net::TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((mut tcp, peer)) => {
                    no_delay(&mut tcp);
                    return (tcp, peer);
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little.
                    tracing::warn!(target: "dossier_server::access", "accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Turns Nagle's algorithm off on an accepted connection.
pub(crate) fn no_delay(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(target: "dossier_server::access", "cannot set TCP_NODELAY: {e}");
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, PlainListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, PlainListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tls::TlsListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tls::TlsListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// `GET /ready`: 200 once the store answers a read.
async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str> {
    let host = state.host.clone();
    writer::read(move || host.agents().map(drop)).await??;
    Ok("ready\n")
}

async fn no_route(method: Method, uri: Uri) -> impl IntoResponse {
    ServerError::NoRoute {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
