//! The metrics endpoint: a deliberately small HTTP/1.1 responder for
//! `GET /metrics` and `GET /healthz` (Prometheus and health checkers need
//! nothing more), one request per connection, bounded in size and time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info};

use crate::state::State;

const MAX_REQUEST: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the metrics address (a bind error is returned, so `serve` can
/// refuse to start with a clear reason) and answers until the task ends.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<State>,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    let listener = TcpListener::bind(addr).await?;
    info!("metrics on http://{}/metrics", listener.local_addr()?);
    Ok(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = tokio::time::timeout(TIMEOUT, handle(stream, &state)).await {
                    debug!(error = %e, "metrics request timed out");
                }
            });
        }
    })
}

async fn handle(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(b"");
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            super::render(state),
        ),
        ("GET", "/healthz") => match super::health(state) {
            Ok(body) => ("200 OK", "text/plain; charset=utf-8", body),
            Err(body) => ("503 Service Unavailable", "text/plain; charset=utf-8", body),
        },
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: try /metrics or /healthz\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "GET only\n".into(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}
