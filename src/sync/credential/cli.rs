//! The Azure CLI's login: `az account get-access-token --resource R`, run
//! as a child process (as `azure_identity`'s AzureCliCredential does), with
//! a timeout; the child is killed if the pull gives up on it. Its output is
//! parsed, never logged: it holds the token.

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::process::Command;

use super::super::{Secret, SyncError};
use super::Token;

/// `az` may refresh its own token first, which takes a few seconds.
const AZ_TIMEOUT: Duration = Duration::from_secs(30);

pub struct AzureCli {
    resource: String,
    tenant: Option<String>,
    /// `az`, found on PATH (tests run a fake one by path).
    program: std::path::PathBuf,
}

impl AzureCli {
    pub fn new(resource: &str, tenant: Option<String>) -> AzureCli {
        AzureCli {
            resource: resource.to_string(),
            tenant,
            program: "az".into(),
        }
    }

    #[cfg(test)]
    pub fn with_program(self, program: &std::path::Path) -> AzureCli {
        AzureCli {
            program: program.to_path_buf(),
            ..self
        }
    }

    pub async fn token(&self, deadline: Instant) -> Result<Token, SyncError> {
        let mut cmd = Command::new(&self.program);
        cmd.args([
            "account",
            "get-access-token",
            "--output",
            "json",
            "--resource",
            &self.resource,
        ]);
        if let Some(t) = &self.tenant {
            cmd.args(["--tenant", t]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| {
            failed(if e.kind() == std::io::ErrorKind::NotFound {
                "`az` (the Azure CLI) is not on PATH".to_string()
            } else {
                format!("cannot run az: {e}")
            })
        })?;
        let limit = AZ_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
        let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(failed(format!("az: {e}"))),
            Err(_) => {
                return Err(failed(format!(
                    "az account get-access-token did not finish in {} s",
                    limit.as_secs()
                )));
            }
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(failed(format!(
                "az account get-access-token failed ({}): {}",
                out.status,
                az_error(&stderr)
            )));
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Output {
            access_token: Option<String>,
            /// Unix time, az 2.54 and later; `expiresOn` before that is
            /// local time without a zone, which we do not guess at.
            #[serde(rename = "expires_on")]
            expires_on: Option<super::Seconds>,
        }
        // Never quote stdout in an error: it holds the token.
        let o: Output = serde_json::from_slice(&out.stdout)
            .map_err(|_| failed("az printed something that is not its token JSON".into()))?;
        let access = o
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| failed("az printed no accessToken".into()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let lifetime = o
            .expires_on
            .as_ref()
            .and_then(super::Seconds::get)
            .map(|on| Duration::from_secs(on.saturating_sub(now)));
        Ok(Token {
            secret: Secret::new(access),
            lifetime,
        })
    }
}

/// The line of az's stderr that says what is wrong ("ERROR: Please run
/// 'az login' to setup account."), else its last line.
fn az_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find(|l| l.starts_with("ERROR"))
        .or(lines.last())
        .copied()
        .unwrap_or("(no message)");
    line.chars().take(300).collect()
}

fn failed(reason: String) -> SyncError {
    SyncError::SignIn {
        credential: String::new(),
        reason,
    }
}
