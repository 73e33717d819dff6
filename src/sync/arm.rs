//! Resource Manager list calls: bearer token, `nextLink` paging, ARM's
//! error shape. A `nextLink` is followed only to the Resource Manager
//! endpoint we were configured with: the request carries our token, and a
//! link to any other host (a tampered answer, a misbehaving proxy) would
//! hand it to whoever runs that host.

use std::collections::HashSet;
use std::time::Instant;

use serde::de::DeserializeOwned;
use url::Url;

use super::SyncError;
use super::credential::Credential;
use super::http::{Answer, Http, shown_url};
use super::retry::retryable;

/// More pages than this is a loop, not a subscription.
const MAX_PAGES: usize = 1000;

pub struct Arm {
    pub base: Url,
    pub http: Http,
    pub credential: Credential,
}

/// The state of one pull: its deadline and the requests it made.
pub struct Ctx {
    pub deadline: Instant,
    pub requests: u32,
}

impl Arm {
    /// `base` + `segments` (each percent-encoded) + `?api-version=`.
    pub fn url(&self, segments: &[&str], api_version: &str) -> Result<Url, SyncError> {
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(SyncError::Invalid {
                url: self.base.to_string(),
                reason: format!(
                    "refusing a resource path with empty or dot segments: {segments:?}"
                ),
            });
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| SyncError::Setup(format!("{}: not a base URL", self.base)))?
            .pop_if_empty()
            .extend(segments);
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// Every item of a paged list, pages followed through `nextLink`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        first: Url,
        ctx: &mut Ctx,
    ) -> Result<Vec<T>, SyncError> {
        #[derive(serde::Deserialize)]
        struct Page<T> {
            value: Vec<T>,
            #[serde(rename = "nextLink")]
            next_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(SyncError::Invalid {
                    url: shown_url(&url),
                    reason: "nextLink goes round in a loop".into(),
                });
            }
            let body = self.get(&url, ctx).await?;
            let page: Page<T> = serde_json::from_slice(&body).map_err(|e| SyncError::Invalid {
                url: shown_url(&url),
                reason: format!("invalid JSON in the answer: {e}"),
            })?;
            items.extend(page.value);
            if let Some(link) = page.next_link.filter(|l| !l.trim().is_empty()) {
                next = Some(self.check_next_link(&url, &link)?);
            }
        }
        Ok(items)
    }

    fn check_next_link(&self, from: &Url, link: &str) -> Result<Url, SyncError> {
        let bad = |reason: String| SyncError::Invalid {
            url: shown_url(from),
            reason,
        };
        let next = Url::parse(link).map_err(|e| bad(format!("nextLink is not a URL: {e}")))?;
        if next.scheme() != self.base.scheme()
            || next.host() != self.base.host()
            || next.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(bad(format!(
                "nextLink points to {}, not to the Resource Manager endpoint {}; refusing to send the token there",
                next.origin().ascii_serialization(),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(next)
    }

    /// One GET with the bearer token; a token Resource Manager refuses
    /// (expired early, revoked) is dropped and the request made once more.
    async fn get(&self, url: &Url, ctx: &mut Ctx) -> Result<Vec<u8>, SyncError> {
        let mut answer = self.get_once(url, ctx).await?;
        if answer.status == 401 {
            self.credential.forget().await;
            answer = self.get_once(url, ctx).await?;
        }
        if answer.status != 200 {
            return Err(SyncError::Status {
                url: shown_url(url),
                status: answer.status,
                message: arm_error(&answer.body),
            });
        }
        Ok(answer.body)
    }

    async fn get_once(&self, url: &Url, ctx: &mut Ctx) -> Result<Answer, SyncError> {
        let token = self.credential.token(&self.http, ctx.deadline).await?;
        ctx.requests += 1;
        self.http
            .send(url, ctx.deadline, retryable, |client| {
                client
                    .get(url.clone())
                    .bearer_auth(token.expose())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await
    }
}

/// ARM's error shape: `{"error": {"code": "...", "message": "..."}}`.
fn arm_error(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        error: Detail,
    }
    #[derive(serde::Deserialize)]
    struct Detail {
        code: Option<String>,
        message: Option<String>,
    }
    let text = match serde_json::from_slice::<Wrapper>(body) {
        Ok(Wrapper { error }) => match (error.code, error.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (c, m) => c.or(m).unwrap_or_default(),
        },
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    let text: String = text.chars().take(400).collect();
    if text.is_empty() {
        "(no details)".into()
    } else {
        text
    }
}
