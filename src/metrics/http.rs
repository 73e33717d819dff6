//! The metrics endpoint: a deliberately small HTTP/1.1 responder for
//! `GET /metrics`, `GET /healthz` and the status page (`GET /` and
//! `GET /status.json`): Prometheus, health checkers and a browser need
//! nothing more. One request per connection, bounded in size and time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info};

use super::page::{self, ForwarderSample};
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
    let local = listener.local_addr()?;
    info!("metrics on http://{local}/metrics, status page on http://{local}/");
    let sample = ForwarderSample::new(&state);
    tokio::spawn(sample.clone().run(state.clone()));
    Ok(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let (state, sample) = (state.clone(), sample.clone());
            tokio::spawn(async move {
                let served = handle(stream, &state, &sample);
                if let Err(e) = tokio::time::timeout(TIMEOUT, served).await {
                    debug!(error = %e, "metrics request timed out");
                }
            });
        }
    })
}

async fn handle(
    mut stream: TcpStream,
    state: &State,
    sample: &ForwarderSample,
) -> std::io::Result<()> {
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
    let r = respond(method, path, state, sample);
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        r.status,
        r.ctype,
        r.body.len()
    );
    if r.ctype.starts_with("text/html") {
        head.push_str(&format!(
            "Content-Security-Policy: {}\r\nReferrer-Policy: no-referrer\r\n",
            page::html::CSP
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(r.body.as_bytes()).await?;
    }
    stream.shutdown().await
}

struct Response {
    status: &'static str,
    ctype: &'static str,
    body: String,
}

fn respond(method: &str, path: &str, state: &State, sample: &ForwarderSample) -> Response {
    const TEXT: &str = "text/plain; charset=utf-8";
    let ok = |ctype, body| Response {
        status: "200 OK",
        ctype,
        body,
    };
    if method != "GET" && method != "HEAD" {
        return Response {
            status: "405 Method Not Allowed",
            ctype: TEXT,
            body: "GET only\n".into(),
        };
    }
    match path {
        "/metrics" => ok(
            "text/plain; version=0.0.4; charset=utf-8",
            super::render(state),
        ),
        "/healthz" => match super::health(state) {
            Ok(body) => ok(TEXT, body),
            Err(body) => Response {
                status: "503 Service Unavailable",
                ctype: TEXT,
                body,
            },
        },
        "/" | "/index.html" => ok(
            "text/html; charset=utf-8",
            page::html::render(&page::build(state, sample)),
        ),
        "/status.json" => {
            let body = serde_json::to_string_pretty(&page::build(state, sample))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            ok("application/json", body + "\n")
        }
        _ => Response {
            status: "404 Not Found",
            ctype: TEXT,
            body: "not found: try /, /status.json, /metrics or /healthz\n".into(),
        },
    }
}
