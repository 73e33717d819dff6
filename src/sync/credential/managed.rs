//! Managed identity: the token service of an Azure VM (IMDS at
//! 169.254.169.254) or of an Azure Arc-enabled server's Connected Machine
//! agent (`IDENTITY_ENDPOINT`, by default http://localhost:40342). The Arc
//! agent answers a first request with 401 and
//! `WWW-Authenticate: Basic realm=<key file>`; whoever can read that file
//! (root or the `himds` group) proves it by sending the file's content as
//! `Authorization: Basic <key>`. The file is read only from the agent's
//! token folder, so a process squatting the port cannot make us send it
//! another file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use url::Url;

use super::super::http::{Answer, Http};
use super::super::retry::retryable;
use super::super::{Secret, SyncError};
use super::{Seconds, Token, lifetime, oauth_error};
use crate::config::is_loopback;

const VM_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const VM_API_VERSION: &str = "2018-02-01";
const ARC_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";
const ARC_API_VERSION: &str = "2019-11-01";
const ARC_AGENT: &str = "/opt/azcmagent/bin/himds";
const ARC_TOKENS: &str = "/var/opt/azcmagent/tokens";
/// The agent's key files are a few dozen bytes; the SDKs refuse large ones.
const MAX_KEY_FILE: u64 = 4096;
const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// What the process environment says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub identity_endpoint: Option<String>,
    pub imds_endpoint: Option<String>,
    pub arc_agent_installed: bool,
    /// The Arc agent's token folder; `PLDNS_ARC_TOKENS_DIR` replaces it for
    /// tests and for agents installed elsewhere.
    pub arc_tokens_dir: PathBuf,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            identity_endpoint: var("IDENTITY_ENDPOINT"),
            imds_endpoint: var("IMDS_ENDPOINT"),
            arc_agent_installed: Path::new(ARC_AGENT).exists(),
            arc_tokens_dir: var("PLDNS_ARC_TOKENS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(ARC_TOKENS)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Vm,
    Arc,
}

pub struct Managed {
    pub flavor: Flavor,
    pub endpoint: Url,
    client_id: Option<String>,
    resource: String,
    tokens_dir: PathBuf,
}

impl Managed {
    /// Arc when the agent's variables are set (as the agent's installer
    /// sets them system-wide) or the agent is installed, else the VM's IMDS.
    /// `login_override` (loopback only, checked by the config) replaces
    /// the host of the token service.
    pub fn new(
        login_override: Option<&Url>,
        client_id: Option<String>,
        resource: &str,
        env: &Env,
    ) -> Result<Managed, SyncError> {
        let (flavor, default) = match (&env.identity_endpoint, &env.imds_endpoint) {
            (Some(identity), Some(_)) => (Flavor::Arc, identity.clone()),
            _ if env.arc_agent_installed => (Flavor::Arc, ARC_ENDPOINT.to_string()),
            _ => (Flavor::Vm, VM_ENDPOINT.to_string()),
        };
        let text = match login_override {
            Some(base) => format!("{}{TOKEN_PATH}", base.as_str().trim_end_matches('/')),
            None => default,
        };
        let endpoint = Url::parse(&text)
            .map_err(|e| SyncError::Setup(format!("managed identity endpoint {text:?}: {e}")))?;
        if flavor == Flavor::Arc && !is_loopback(&endpoint) {
            return Err(SyncError::Setup(format!(
                "IDENTITY_ENDPOINT {text} is not on this machine: the Azure Arc agent listens on localhost"
            )));
        }
        Ok(Managed {
            flavor,
            endpoint,
            client_id,
            resource: resource.to_string(),
            tokens_dir: env.arc_tokens_dir.clone(),
        })
    }

    pub fn label(&self) -> String {
        let whose = match (&self.flavor, &self.client_id) {
            (_, Some(id)) => format!("user-assigned {id}"),
            (Flavor::Arc, None) => "Azure Arc agent".to_string(),
            (Flavor::Vm, None) => "Azure VM".to_string(),
        };
        format!("managed-identity ({whose}, {})", self.endpoint)
    }

    fn url(&self) -> Url {
        let mut url = self.endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            let version = match self.flavor {
                Flavor::Vm => VM_API_VERSION,
                Flavor::Arc => ARC_API_VERSION,
            };
            q.append_pair("api-version", version)
                .append_pair("resource", &self.resource);
            if let Some(id) = &self.client_id {
                q.append_pair("client_id", id);
            }
        }
        url
    }

    pub async fn token(&self, http: &Http, deadline: Instant) -> Result<Token, SyncError> {
        let url = self.url();
        let ask = |key: Option<Secret>| {
            let url = url.clone();
            async move {
                http.send(&url, deadline, imds_retryable, |client| {
                    let r = client.get(url.clone()).header("Metadata", "true");
                    match &key {
                        Some(k) => r.header(AUTHORIZATION, format!("Basic {}", k.expose())),
                        None => r,
                    }
                })
                .await
            }
        };
        let mut answer = ask(None).await.map_err(|e| self.unreachable(e))?;
        if answer.status == 401 && self.flavor == Flavor::Arc {
            let key = self.challenge_key(&answer)?;
            answer = ask(Some(key)).await.map_err(|e| self.unreachable(e))?;
        }
        if answer.status != 200 {
            let reason = match answer.status {
                400 | 404 if self.client_id.is_some() => format!(
                    "{}; is that user-assigned identity attached to this machine?",
                    oauth_error(answer.status, &answer.body)
                ),
                400 => format!(
                    "{}; does this machine have a managed identity?",
                    oauth_error(answer.status, &answer.body)
                ),
                s => oauth_error(s, &answer.body),
            };
            return Err(failed(reason));
        }
        #[derive(serde::Deserialize)]
        struct Response {
            access_token: Option<String>,
            expires_in: Option<Seconds>,
            expires_on: Option<Seconds>,
        }
        let r: Response = serde_json::from_slice(&answer.body)
            .map_err(|e| failed(format!("the token answer is not JSON: {e}")))?;
        let access = r
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| failed("the token answer has no access_token".into()))?;
        Ok(Token {
            secret: Secret::new(access),
            lifetime: lifetime(r.expires_in.as_ref(), r.expires_on.as_ref()),
        })
    }

    fn unreachable(&self, e: SyncError) -> SyncError {
        match (e, self.flavor) {
            (SyncError::Network { url, reason }, Flavor::Vm) => failed(format!(
                "{url}: {reason} (the Azure VM metadata service answers only on Azure VMs; on premises use an Azure Arc-enabled server)"
            )),
            (SyncError::Network { url, reason }, Flavor::Arc) => failed(format!(
                "{url}: {reason} (is the Azure Connected Machine agent, himds, running?)"
            )),
            (other, _) => other,
        }
    }

    /// The key file the Arc agent's challenge names, read after checking
    /// that it is a `.key` file in the agent's token folder.
    fn challenge_key(&self, answer: &Answer) -> Result<Secret, SyncError> {
        let header = answer
            .headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let path = header
            .split_once('=')
            .filter(|(scheme, _)| scheme.trim().eq_ignore_ascii_case("basic realm"))
            .map(|(_, p)| p.trim().trim_matches('"'))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                failed(format!(
                    "the Azure Arc agent answered 401 without a Basic realm challenge ({header:?})"
                ))
            })?;
        read_key_file(Path::new(path), &self.tokens_dir).map_err(failed)
    }
}

/// IMDS's retry guidance: 404 (identity being set up), 410 and 429, 5xx.
fn imds_retryable(status: u16) -> bool {
    status == 404 || status == 410 || retryable(status)
}

fn read_key_file(path: &Path, tokens_dir: &Path) -> Result<Secret, String> {
    let refuse = |why: &str| {
        format!(
            "refusing the Azure Arc challenge file {}: {why}",
            path.display()
        )
    };
    let real = path
        .canonicalize()
        .map_err(|e| refuse(&format!("cannot open it: {e}")))?;
    let dir = tokens_dir
        .canonicalize()
        .map_err(|e| refuse(&format!("the agent's folder {}: {e}", tokens_dir.display())))?;
    if real.parent() != Some(dir.as_path()) {
        return Err(refuse(&format!(
            "it is not in the agent's folder {}",
            dir.display()
        )));
    }
    if real.extension().is_none_or(|e| e != "key") {
        return Err(refuse("it is not a .key file"));
    }
    let meta = std::fs::metadata(&real).map_err(|e| refuse(&e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_KEY_FILE {
        return Err(refuse("it is not a small regular file"));
    }
    let key = std::fs::read_to_string(&real).map_err(|e| {
        refuse(&format!(
            "{e} (pldns's user must be in the himds group to read it)"
        ))
    })?;
    Ok(Secret::new(key.trim()))
}

fn failed(reason: String) -> SyncError {
    SyncError::SignIn {
        credential: String::new(),
        reason,
    }
}
