//! The HTTP server: the accept loop and each connection (HTTP/1.1 and HTTP/2, plain or TLS),
//! with the limits that keep idle or slow clients from taking the service down.
//!
//! - **Connection cap**: at most [`ServerOptions::max_connections`] connections are open at once.
//!   At the cap the loop stops accepting; further clients wait in the kernel's accept queue until
//!   a connection closes (the timeouts below make sure idle ones do).
//! - **Header-read timeout**: a connection must deliver its first request's complete headers
//!   within [`ServerOptions::header_read_timeout`] of being accepted, and an HTTP/1.1 connection
//!   each later request's headers within as long of the server starting to wait for them (so it
//!   is also HTTP/1.1's keep-alive idle time), or it is closed. A TLS handshake gets the same
//!   time.
//! - **Idle timeout**: a connection (HTTP/1.1 or HTTP/2) with no request in progress for
//!   [`ServerOptions::idle_timeout`] is closed gracefully (HTTP/2: GOAWAY).
//! - **Body-read timeout**: once a handler reads a request body, each part of it must arrive
//!   within [`ServerOptions::body_read_timeout`] (time spent queued on our side does not count);
//!   a body shorter than its `Content-Length` then fails to read and the handler answers 400
//!   `invalid_body`.
//! - **Accept errors** (e.g. `EMFILE`) are logged and retried after a back-off (10 ms doubling to
//!   1 s) instead of spinning.
//!
//! Header-size limits that answer problem+json 431 live in the API layer
//! ([`crate::api::layers`]); the hard ceilings here ([`HARD_MAX_HEADERS`],
//! [`HARD_MAX_HEADER_BYTES`]) sit well above them and only guard memory.

pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// Most header lines hyper parses in one HTTP/1.1 request (the API layer refuses more than
/// [`crate::api::layers::MAX_HEADERS`] with a problem+json 431; beyond this hyper answers an
/// empty 431 itself).
pub const HARD_MAX_HEADERS: usize = 400;
/// Largest HTTP/1.1 read buffer, bytes: bounds the request line plus headers (beyond it hyper
/// answers an empty 431); also HTTP/2's header list limit.
pub const HARD_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The server's limits and timeouts.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Time to deliver a request's headers (HTTP/1.1), or to finish the TLS handshake.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in progress.
    pub idle_timeout: Duration,
    /// Longest wait for the next part of a request body, once a handler reads it.
    pub body_read_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// What a connection needs from the server.
struct Shared {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    opts: ServerOptions,
}

/// Serves `router` on `listener` until `closing` completes; then stops accepting, asks every
/// connection to finish (idle ones close at once, busy ones after their response) and waits for
/// them at most `drain_timeout` before cutting the rest.
///
/// With `tls`, every connection is TLS (HTTP/2 or HTTP/1.1 by ALPN); without, plain HTTP.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    opts: ServerOptions,
    closing: impl Future<Output = ()> + Send,
    drain_timeout: Duration,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .max_headers(HARD_MAX_HEADERS)
        .max_buf_size(HARD_MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(HARD_MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .keep_alive_interval(opts.idle_timeout / 2)
        .keep_alive_timeout(opts.header_read_timeout);
    let shared = Arc::new(Shared {
        router,
        builder,
        tls: tls.map(TlsAcceptor::from),
        opts: opts.clone(),
    });
    let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let (stop_tx, _) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut backoff = Duration::ZERO;
    tokio::pin!(closing);
    loop {
        let accepted = tokio::select! {
            () = &mut closing => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = accept(&listener, &permits) => accepted,
        };
        match accepted {
            Ok((stream, permit, peer)) => {
                backoff = Duration::ZERO;
                let shared = shared.clone();
                let stop = stop_tx.subscribe();
                connections.spawn(async move {
                    connection(stream, peer, shared, stop).await;
                    drop(permit);
                });
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "accept error");
                tokio::time::sleep(backoff).await;
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            drain_timeout_secs = drain_timeout.as_secs_f64(),
            open = connections.len(),
            "shutdown: drain timeout passed; cutting the connections still open"
        );
        connections.shutdown().await;
    }
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> std::io::Result<(TcpStream, tokio::sync::OwnedSemaphorePermit, SocketAddr)> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    let (stream, peer) = listener.accept().await?;
    Ok((stream, permit, peer))
}

/// Handshakes TLS when configured, then serves HTTP on the connection.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => http(stream, &shared, stop).await,
        Some(acceptor) => {
            match tokio::time::timeout(shared.opts.header_read_timeout, acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => http(tls, &shared, stop).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// When the last request on a connection ended, and how many are in progress.
struct Activity {
    started: Instant,
    /// Requests started so far.
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` of the last request start or end.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the connection counts as idle if nothing happens before: `None` while busy.
    fn idle_at(&self, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        Some(self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle)
    }
}

/// Counts a request as in progress until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one connection until it ends, goes idle, or the server stops.
async fn http<I>(io: I, shared: &Shared, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let router = shared.router.clone();
    let body_timeout = shared.opts.body_read_timeout;
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = InFlight::start(&service_activity);
        let req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(TimeoutBody::new(body_timeout, body))
            }
        });
        let router = router.clone();
        async move {
            let res = router.oneshot(req).await;
            drop(in_flight);
            res.map_err(|never: Infallible| match never {})
        }
    });
    let conn = shared
        .builder
        .serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let idle = shared.opts.idle_timeout;
    // Until a first request arrives, the header-read timeout bounds the wait: hyper's own timer
    // starts only once the first bytes have told HTTP/1.1 from HTTP/2.
    let first_request_by = activity.started + shared.opts.header_read_timeout;
    let mut closing = *stop.borrow();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let check_at = if activity.requests.load(Ordering::Relaxed) == 0 {
            first_request_by
        } else {
            activity
                .idle_at(idle)
                .unwrap_or_else(|| Instant::now() + idle)
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(check_at.into()), if !closing => {
                if activity.requests.load(Ordering::Relaxed) == 0 {
                    tracing::debug!("no request within the header-read timeout; closing");
                    return;
                }
                if activity.idle_at(idle).is_some_and(|at| at <= Instant::now()) {
                    tracing::debug!("closing an idle connection");
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
