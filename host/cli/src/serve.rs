//! `dossier serve`: the HTTP/JSON API agents and integrations sign in to
//! (the server itself is the `dossier-server` crate). It holds a lock file
//! beside the store while it runs, so `dossier run` and a second server
//! know the store is served.

use std::net::SocketAddr;
use std::path::Path;

use clap::Args;
use dossier_host::{Error, Host, Result};
use dossier_server::{Server, ServerError, ServerOptions};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen, ADDRESS:PORT [default: [server] listen, 127.0.0.1:8440].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

/// A server error as the CLI prints it.
fn host_error(e: ServerError) -> Error {
    match e {
        ServerError::Host(e) => e,
        other => Error::Refused(other.to_string()),
    }
}

/// Entry point of `dossier serve`. The server acts for whoever signs in;
/// `--as` has no meaning here and is refused.
pub(crate) fn run(config: &Path, args: ServeArgs, as_agent: Option<&str>) -> Result<()> {
    if let Some(login) = as_agent {
        return Err(Error::Refused(format!(
            "`dossier serve` takes no --as ({login}): every request acts as the agent who signed in"
        )));
    }
    let config = super::load(config)?;
    let listen = match args.listen {
        Some(addr) => addr,
        None => config.server.listen_addr()?,
    };
    let options = options_for(&config, listen)?;
    let store = config.store_path();
    let _lock = dossier_server::lock::ServeLock::acquire(&store, &listen.to_string())
        .map_err(host_error)?;
    let host = Host::open(config)?;
    serve_until_stopped(host, options, |server| {
        note!(
            "dossier serve: listening on {}://{} (SIGTERM or Ctrl-C stops)",
            if server.is_tls() { "https" } else { "http" },
            server.local_addr()
        );
    })?;
    note!("dossier serve: stopped");
    Ok(())
}

/// The server's options from `config`'s `[server]` section, listening on
/// `listen`.
pub(crate) fn options_for(
    config: &dossier_host::Config,
    listen: SocketAddr,
) -> Result<ServerOptions> {
    let mut options = ServerOptions::listening_on(listen);
    options.session_ttl = chrono::Duration::hours(i64::from(config.server.session_hours));
    options.secure_cookies = config.server.secure_cookies;
    if let (Some(cert), Some(key)) = (&config.server.tls_cert, &config.server.tls_key) {
        let tls = dossier_server::tls::server_config(&config.resolve(cert), &config.resolve(key))
            .map_err(host_error)?;
        options.tls = Some(tls);
        options.secure_cookies = true;
    }
    Ok(options)
}

/// Serves `host` until SIGTERM or Ctrl-C; `listening` runs once the server
/// listens (the signal handlers are in place by then).
pub(crate) fn serve_until_stopped(
    host: Host,
    options: ServerOptions,
    listening: impl FnOnce(&Server),
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dossier-serve")
        // Reads (a screen-pop) run hooks on these threads too.
        .thread_stack_size(dossier_host::HOOK_THREAD_STACK)
        .max_blocking_threads(dossier_server::BLOCKING_THREADS)
        .build()
        .map_err(|e| Error::Refused(format!("cannot start the server's runtime: {e}")))?;
    runtime
        .block_on(async move {
            // The handlers are in place before the server says it listens,
            // so a SIGTERM sent as soon as it does stops it cleanly.
            let stop = stopped()?;
            let server = Server::bind(host, options).await?;
            listening(&server);
            server.run(stop).await
        })
        .map_err(host_error)
}

/// A future completing at SIGTERM or Ctrl-C (the server then stops
/// accepting and finishes the requests in flight); the handlers are
/// installed when this returns.
fn stopped() -> Result<impl std::future::Future<Output = ()>, ServerError> {
    use tokio::signal::unix::{SignalKind, signal};
    let watch = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|source| ServerError::Io {
            what: format!("cannot watch for {name}"),
            source,
        })
    };
    let mut term = watch(SignalKind::terminate(), "SIGTERM")?;
    let mut int = watch(SignalKind::interrupt(), "Ctrl-C (SIGINT)")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
