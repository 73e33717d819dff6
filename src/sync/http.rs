//! One HTTP exchange with retries: every request has a timeout, every
//! wait fits in the pull's deadline, 429 and 5xx answers are tried again
//! after `Retry-After` or a backoff. Policy (what to ask) lives in the
//! callers; this file only moves bytes.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use tracing::debug;
use url::Url;

use super::SyncError;
use super::retry::{RetryPolicy, retry_after};
use crate::config::is_loopback;

/// Answers larger than this are refused: an ARM page of 1,000 private
/// endpoints is a few MB.
const MAX_BODY: usize = 32 << 20;

/// A response read to its end.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The clients of one sync source.
#[derive(Debug, Clone)]
pub struct Http {
    /// Honours HTTPS_PROXY / NO_PROXY, as Azure tools do.
    proxied: Client,
    /// Never through a proxy: loopback and the instance metadata service.
    direct: Client,
    pub policy: RetryPolicy,
    /// Refuse every URL that is not loopback (the test suite's guard).
    loopback_only: bool,
}

/// rustls needs one process-wide crypto provider; we ship ring's.
fn install_crypto_provider() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Http {
    pub fn new(policy: RetryPolicy, loopback_only: bool) -> Result<Http, SyncError> {
        install_crypto_provider();
        let agent = concat!("pldns/", env!("CARGO_PKG_VERSION"));
        let build = |proxy: bool| {
            let b = Client::builder()
                .user_agent(agent)
                .connect_timeout(Duration::from_secs(10))
                // nextLink is followed by hand, after checking its host;
                // a redirect must not carry the token elsewhere either.
                .redirect(reqwest::redirect::Policy::none());
            let b = if proxy { b } else { b.no_proxy() };
            b.build()
                .map_err(|e| SyncError::Setup(format!("cannot set up HTTPS: {}", chain(&e))))
        };
        Ok(Http {
            proxied: build(true)?,
            direct: build(false)?,
            policy,
            loopback_only,
        })
    }

    /// Sends the request `make` builds (once per try) to `url`, retrying
    /// statuses `retry` accepts. Returns the last answer, whatever its
    /// status; fails only when no answer came.
    pub async fn send(
        &self,
        url: &Url,
        deadline: Instant,
        retry: fn(u16) -> bool,
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Answer, SyncError> {
        if self.loopback_only && !is_loopback(url) {
            return Err(SyncError::Setup(format!(
                "{url}: refused, only loopback endpoints are allowed here (PLDNS_SYNC_LOOPBACK_ONLY)"
            )));
        }
        let client = if is_loopback(url) || is_link_local(url) {
            &self.direct
        } else {
            &self.proxied
        };
        let shown = shown_url(url);
        let mut attempt = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(SyncError::Deadline(self.policy.pull_timeout.as_secs()));
            }
            let timeout = self.policy.request_timeout.min(remaining);
            let wait = match exchange(make(client).timeout(timeout)).await {
                Ok(answer) if attempt < self.policy.max_retries && retry(answer.status) => {
                    let wait = retry_after(&answer.headers, SystemTime::now())
                        .unwrap_or_else(|| self.policy.backoff(attempt));
                    if Instant::now() + wait >= deadline {
                        // Waiting would overrun the pull: report this answer.
                        return Ok(answer);
                    }
                    debug!(url = %shown, status = answer.status, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "retrying");
                    wait
                }
                Ok(answer) => return Ok(answer),
                Err(e) if attempt < self.policy.max_retries && transient(&e) => {
                    let wait = self.policy.backoff(attempt);
                    if Instant::now() + wait >= deadline {
                        return Err(network(&shown, &e));
                    }
                    debug!(url = %shown, error = %chain(&e), wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "retrying");
                    wait
                }
                Err(e) => return Err(network(&shown, &e)),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

async fn exchange(request: RequestBuilder) -> Result<Answer, reqwest::Error> {
    let mut resp = request.send().await?;
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            // Keep what came; the JSON parse reports it as cut short.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn transient(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
}

fn network(url: &str, e: &reqwest::Error) -> SyncError {
    let reason = if e.is_timeout() {
        "no answer in time".to_string()
    } else {
        chain(e)
    };
    SyncError::Network {
        url: url.to_string(),
        reason,
    }
}

/// An error and its causes, innermost last ("connection refused" is only
/// in the innermost one). Without the URL, which callers add.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(r) => r.without_url_ref().to_string(),
            None => err.to_string(),
        };
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(u) => text.replace(&format!(" ({u})"), ""),
            None => text,
        }
    }
}

/// A URL as messages show it: scheme, host, path; not the query, which
/// holds nothing secret but makes lines long.
pub fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// 169.254.0.0/16: the instance metadata service, never behind a proxy.
fn is_link_local(url: &Url) -> bool {
    matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_link_local())
}
