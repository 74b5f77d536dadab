//! The HTTP(S) server: accept loop, TLS with optional client certificates, HTTP/1.1 and HTTP/2
//! via hyper (negotiated by ALPN over TLS, detected by preface over plain TCP), as a real API
//! server serves them, and the per-request gate (faults, authentication, authorization) before dispatch.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::counts::{Counted, Verb};
use super::router::{Query, Route, verb_of};
use super::state::Shared;
use super::status::ApiError;
use super::{access, discovery, handlers};

/// Response body: a full buffer or a stream of chunks.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A complete JSON response.
pub fn json(code: u16, bytes: impl Into<Bytes>) -> Response<Body> {
    json_typed(code, "application/json", bytes)
}

/// A complete response with an explicit content type.
pub fn json_typed(code: u16, content_type: &str, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(bytes.into())
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// A `v1 Status` error response.
pub fn error(e: &ApiError) -> Response<Body> {
    json(e.code, e.body())
}

/// A chunked streaming response fed by a channel; an `Err` item aborts the connection.
pub fn streaming(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Frame::data), rx))
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Raised to close a connection without answering (the `hang` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by the hang fault")]
pub struct Hung;

/// Accept connections until shutdown.
pub async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let acceptor = shared
        .tls
        .as_ref()
        .map(|t| TlsAcceptor::from(t.server_config.clone()));
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((tcp, _peer)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(connection(shared.clone(), acceptor.clone(), tcp));
            }
            Err(e) => {
                tracing::debug!(error = %e, "sim accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connection(shared: Arc<Shared>, acceptor: Option<TlsAcceptor>, tcp: TcpStream) {
    let tcp = Counted::new(tcp, shared.clone());
    let Some(acceptor) = acceptor else {
        return serve_io(shared, TokioIo::new(tcp), None).await;
    };
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return tracing::debug!(error = %e, "sim TLS handshake failed"),
        Err(_) => return,
    };
    let cert_user = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|c| shared.tls.as_ref().and_then(|t| t.user_of(c)));
    serve_io(shared, TokioIo::new(tls), cert_user).await
}

async fn serve_io<I>(shared: Arc<Shared>, io: TokioIo<I>, cert_user: Option<String>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut restart = shared.faults.drop_connections.subscribe();
    let shutdown = shared.shutdown.clone();
    let svc_shared = shared.clone();
    let svc = service_fn(move |req| {
        let (shared, user) = (svc_shared.clone(), cert_user.clone());
        async move { handle(shared, user, req).await }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    // kube-apiserver's default (--http2-max-streams-per-connection).
    builder.http2().max_concurrent_streams(1000);
    let conn = builder.serve_connection(io, svc);
    tokio::select! {
        _ = conn => {}
        _ = restart.changed() => {}
        _ = shutdown.cancelled() => {}
    }
}

async fn handle(
    shared: Arc<Shared>,
    cert_user: Option<String>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Hung> {
    let route = Route::parse(&shared.catalog, req.uri().path());
    let query = Query::parse(req.uri().query());
    let verb = verb_of(req.method(), &route, &query);
    let resource = match verb {
        Verb::Discovery => req.uri().path().to_string(),
        _ => route.resource_name(&shared.catalog).to_string(),
    };
    shared.counts.add(verb, &resource);
    if let Some(until) = shared.faults.hang_deadline() {
        tokio::time::sleep_until(until).await;
        return Err(Hung);
    }
    let slow = shared.faults.slow();
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    if let Some(e) = shared.faults.take_failure() {
        return Ok(error(&e));
    }
    if matches!(route, Route::Health | Route::Version) {
        return Ok(discovery::answer(&shared, &route, req.headers()).unwrap_or_else(|e| error(&e)));
    }
    let user = match authenticate(&shared, cert_user, req.headers()) {
        Some(u) => u,
        None => return Ok(error(&ApiError::unauthorized())),
    };
    if let Err(e) = authorize(&shared, &user, verb, &route) {
        return Ok(error(&e));
    }
    let resp = match route {
        Route::Resource(r) => handlers::dispatch(shared, r, query, verb, req).await,
        other => discovery::answer(&shared, &other, req.headers()),
    };
    Ok(resp.unwrap_or_else(|e| error(&e)))
}

fn authenticate(
    shared: &Shared,
    cert_user: Option<String>,
    headers: &http::HeaderMap,
) -> Option<String> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        // A presented token is checked even when a client certificate was also presented,
        // as the apiserver's union authenticator does when the certificate is unknown.
        let token = token.trim();
        return (token == shared.token)
            .then(|| "sim-token-user".to_string())
            .or_else(|| access::token_user(shared, token))
            .or(cert_user);
    }
    cert_user
}

fn authorize(shared: &Shared, user: &str, verb: Verb, route: &Route) -> Result<(), ApiError> {
    let (resource, group) = match route {
        Route::Resource(r) => {
            let rt = &shared.catalog.types[r.ty];
            (rt.plural, rt.group)
        }
        _ => ("", ""),
    };
    let refused =
        shared.faults.refusing() || (!resource.is_empty() && shared.faults.is_forbidden(resource));
    if !refused {
        return Ok(());
    }
    let verb = verb.as_str().to_ascii_lowercase();
    Err(ApiError::forbidden(user, &verb, resource, group))
}

/// Read a request body (bounded to 3 MiB, like the apiserver's limit).
pub async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    const LIMIT: usize = 3 * 1024 * 1024;
    let limited = http_body_util::Limited::new(body, LIMIT);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("request body: {e}"),
        )),
    }
}
