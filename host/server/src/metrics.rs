//! Prometheus text metrics at `/metrics`: requests by route and status,
//! their latency, the writer's queue depth and the open event streams.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The server's metrics and the registry that prints them.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    queue: Gauge,
    streams: Gauge,
    lags: Gauge,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("dossier");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let queue = Gauge::default();
        let streams = Gauge::default();
        let lags = Gauge::default();
        registry.register(
            "event_stream_lags",
            "Times an event stream fell behind its buffer and caught up from the log, since the server started",
            lags.clone(),
        );
        registry.register(
            "event_streams",
            "Event streams open (agents' screens and chat visitors)",
            streams.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        registry.register(
            "writer_queue_depth",
            "Writes waiting for or running on the writer",
            queue.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            queue,
            streams,
            lags,
        }
    }

    /// The text exposition, with the writer's depth and the open streams
    /// as of now.
    pub(crate) fn render(&self, writer_depth: i64, streams: i64, lags: u64) -> String {
        self.queue.set(writer_depth);
        self.streams.set(streams);
        self.lags.set(i64::try_from(lags).unwrap_or(i64::MAX));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Counts and times every request, and writes the access log line.
pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let has_body = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request
            .headers()
            .contains_key(axum::http::header::TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    // A request refused before its body was read leaves the rest of the
    // body on the connection, which then cannot carry another request:
    // say so, so that clients do not reuse it.
    if has_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    tracing::info!(target: "dossier_server::access", %method, %path, status, micros = elapsed.as_micros() as u64);
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(
            state.writer.depth(),
            state.hub.open_streams(),
            state.hub.lags.load(std::sync::atomic::Ordering::Relaxed),
        ),
    )
}
