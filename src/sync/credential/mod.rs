//! Access tokens for Resource Manager, the way Azure tooling gets them: a
//! service principal (secret or certificate) against Microsoft Entra ID, a
//! managed identity (Azure VM or Azure Arc agent), or the Azure CLI's
//! login. Tokens are cached until shortly before they expire; no secret or
//! token ever reaches a log or an error message.
//!
//! Why not `azure_identity` 1.x: it refuses a sign-in host that is not
//! https (our loopback test endpoints are plain http, as the contract
//! allows), its client-certificate credential needs OpenSSL, and its Arc
//! credential accepts the challenge key only from the agent's fixed folder,
//! which no test can provide. Each flow here is one small HTTP exchange.

mod cert;
mod cli;
mod entra;
mod managed;

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::http::Http;
use super::{Secret, SyncError};
use crate::azure::Endpoints;
use crate::config::{CredentialConfig, SyncConfig};

/// Refresh this long before a token expires (Azure SDKs use 5 minutes).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How long to keep a token whose lifetime the issuer did not say.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(300);

/// A token as an issuer returned it.
struct Token {
    secret: Secret,
    /// From now; `None` when the issuer did not say.
    lifetime: Option<Duration>,
}

enum Flow {
    Entra(entra::Entra),
    Managed(managed::Managed),
    Cli(cli::AzureCli),
}

/// One source's credential and its token cache.
pub struct Credential {
    flow: Flow,
    label: String,
    cache: Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Credential {
    pub fn new(config: &SyncConfig, endpoints: &Endpoints) -> Result<Credential, SyncError> {
        let login = match &config.login_endpoint {
            Some(u) => u.as_str().to_string(),
            None => endpoints.login.to_string(),
        };
        let (flow, label) = match &config.credential {
            CredentialConfig::ClientSecret {
                tenant_id,
                client_id,
                secret_file,
            } => (
                Flow::Entra(entra::Entra::new(
                    &login,
                    tenant_id,
                    client_id,
                    endpoints.scope(),
                    entra::Proof::Secret(secret_file.clone()),
                )?),
                format!("client-secret (client {client_id}, tenant {tenant_id})"),
            ),
            CredentialConfig::ClientCertificate {
                tenant_id,
                client_id,
                certificate_file,
                key_file,
            } => (
                Flow::Entra(entra::Entra::new(
                    &login,
                    tenant_id,
                    client_id,
                    endpoints.scope(),
                    entra::Proof::Certificate {
                        certificate: certificate_file.clone(),
                        key: key_file.clone(),
                    },
                )?),
                format!("client-certificate (client {client_id}, tenant {tenant_id})"),
            ),
            CredentialConfig::ManagedIdentity { client_id } => {
                let m = managed::Managed::new(
                    config.login_endpoint.as_ref(),
                    client_id.clone(),
                    endpoints.resource,
                    &managed::Env::from_process(),
                )?;
                let label = m.label();
                (Flow::Managed(m), label)
            }
            CredentialConfig::AzureCli { tenant_id } => (
                Flow::Cli(cli::AzureCli::new(endpoints.resource, tenant_id.clone())),
                "azure-cli (az account get-access-token)".to_string(),
            ),
        };
        Ok(Credential {
            flow,
            label,
            cache: Mutex::new(None),
        })
    }

    /// Names the credential in messages: kind and IDs, never the secret.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A token for Resource Manager: the cached one while it is fresh,
    /// else a new one. Concurrent callers wait for one sign-in.
    pub async fn token(&self, http: &Http, deadline: Instant) -> Result<Secret, SyncError> {
        let mut cache = self.cache.lock().await;
        if let Some((token, refresh_at)) = cache.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let got = match &self.flow {
            Flow::Entra(e) => e.token(http, deadline).await,
            Flow::Managed(m) => m.token(http, deadline).await,
            Flow::Cli(c) => c.token(deadline).await,
        };
        let token = got.map_err(|e| match e {
            SyncError::Deadline(_) => e,
            SyncError::SignIn { reason, .. } => self.failed(reason),
            SyncError::Network { .. } => SyncError::SignInUnreachable {
                credential: self.label.clone(),
                reason: e.to_string(),
            },
            other => self.failed(other.to_string()),
        })?;
        let now = Instant::now();
        let refresh_at = match token.lifetime {
            Some(life) => now + life.saturating_sub(REFRESH_MARGIN.min(life / 2)),
            None => now + UNKNOWN_LIFETIME,
        };
        *cache = Some((token.secret.clone(), refresh_at));
        Ok(token.secret)
    }

    /// Drops the cached token (Resource Manager refused it).
    pub async fn forget(&self) {
        *self.cache.lock().await = None;
    }

    fn failed(&self, reason: String) -> SyncError {
        SyncError::SignIn {
            credential: self.label.clone(),
            reason,
        }
    }
}

/// The reason in an OAuth 2.0 error answer (RFC 6749 §5.2), first line
/// only: Entra ID appends trace and correlation IDs on later lines.
fn oauth_error(status: u16, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: Option<String>,
        error_description: Option<String>,
    }
    let parsed: Option<OAuthError> = serde_json::from_slice(body).ok();
    let text = match parsed {
        Some(OAuthError {
            error_description: Some(d),
            ..
        }) => d,
        Some(OAuthError { error: Some(e), .. }) => e,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let first = text.lines().next().unwrap_or("").trim();
    let first: String = first.chars().take(300).collect();
    if first.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {first}")
    }
}

/// A number that issuers send as JSON number or as string (`"3599"`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    fn get(&self) -> Option<u64> {
        match self {
            Seconds::Number(n) => Some(*n),
            Seconds::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// Lifetime from `expires_in` (relative, immune to clock skew), else from
/// `expires_on` (Unix time).
fn lifetime(expires_in: Option<&Seconds>, expires_on: Option<&Seconds>) -> Option<Duration> {
    if let Some(secs) = expires_in.and_then(Seconds::get) {
        return Some(Duration::from_secs(secs));
    }
    let on = expires_on.and_then(Seconds::get)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(on.saturating_sub(now)))
}

#[cfg(test)]
mod tests;
