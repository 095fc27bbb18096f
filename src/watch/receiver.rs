//! The webhook receiver: `POST /alertmanager` with Alertmanager's version 4 payload.
//! A bearer token when one is configured, a body-size limit, and a 400 (logged) for
//! anything that is not a payload; a bad request never reaches the investigations.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;
use tokio::sync::mpsc;

use super::alert::{self, WebhookPayload};
use super::events::{EventSink, WatchEvent};

/// The path Alertmanager posts to.
pub const PATH: &str = "/alertmanager";

struct ReceiverState {
    token: Option<String>,
    max_body: usize,
    events: Arc<EventSink>,
    inbound: mpsc::UnboundedSender<WebhookPayload>,
}

/// The receiver's routes.
pub fn router(
    token: Option<String>,
    max_body: usize,
    events: Arc<EventSink>,
    inbound: mpsc::UnboundedSender<WebhookPayload>,
) -> Router {
    let state = Arc::new(ReceiverState {
        token: token.filter(|t| !t.is_empty()),
        max_body: max_body.max(1),
        events,
        inbound,
    });
    Router::new()
        .route(PATH, post(receive))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Bind the listener; an address that is not loopback is allowed only when asked for.
pub async fn bind(addr: &str) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

async fn receive(State(s): State<Arc<ReceiverState>>, req: Request) -> Response {
    // The body is read (within its bound) before anything is answered, so every answer
    // reaches the client instead of a reset connection.
    let (parts, body) = req.into_parts();
    let body = read_limited(body, s.max_body).await;
    if let Some(expected) = &s.token
        && !authorized(&parts.headers, expected)
    {
        return reject(
            &s,
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token".into(),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(&s),
        Err(BodyError::Broken(e)) => {
            return reject(
                &s,
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            );
        }
    };
    let payload = match alert::parse(&body) {
        Ok(p) => p,
        Err(e) => return reject(&s, StatusCode::BAD_REQUEST, e.to_string()),
    };
    let alerts = payload.alerts.len();
    if s.inbound.send(payload).is_err() {
        return reject(
            &s,
            StatusCode::SERVICE_UNAVAILABLE,
            "triage watch is shutting down".into(),
        );
    }
    (
        StatusCode::OK,
        axum::Json(json!({"status": "accepted", "alerts": alerts})),
    )
        .into_response()
}

enum BodyError {
    TooLarge,
    Broken(String),
}

/// The body, if it is at most `max` bytes. A larger one is still read (and thrown away)
/// up to a bound, so the client gets the 413 rather than a reset connection.
async fn read_limited(body: axum::body::Body, max: usize) -> Result<Vec<u8>, BodyError> {
    use futures::StreamExt;
    let drain_cap = max.saturating_mul(16).max(1 << 20);
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= max {
            buf.extend_from_slice(&chunk);
        } else if seen > drain_cap {
            break;
        }
    }
    if seen > max {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf)
    }
}

fn too_large(s: &ReceiverState) -> Response {
    reject(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is larger than {} bytes (watch.max_body_bytes)",
            s.max_body
        ),
    )
}

fn reject(s: &ReceiverState, status: StatusCode, reason: String) -> Response {
    tracing::warn!(status = status.as_u16(), "webhook refused: {reason}");
    s.events.emit(WatchEvent::PayloadRejected {
        status: status.as_u16(),
        reason: reason.clone(),
    });
    let mut resp = (status, axum::Json(json!({"error": reason}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

/// `Authorization: Bearer <token>`, compared in constant time.
fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(authorized(&h, "s3cret"));
        assert!(!authorized(&h, "s3cre"));
        h.insert(header::AUTHORIZATION, "Basic s3cret".parse().unwrap());
        assert!(!authorized(&h, "s3cret"));
    }
}
