//! The OAuth 2.0 client-credentials grant against Microsoft Entra ID
//! (`POST {login}/{tenant}/oauth2/v2.0/token`), proving the service
//! principal with a secret or with a certificate-signed assertion
//! (RFC 7523). The secret and the certificate are read at every sign-in, so
//! a rotated file takes effect without a restart.

use std::path::{Path, PathBuf};
use std::time::Instant;

use url::Url;

use super::super::http::Http;
use super::super::retry::retryable;
use super::super::{Secret, SyncError};
use super::{Seconds, Token, cert, lifetime, oauth_error};

pub enum Proof {
    Secret(PathBuf),
    Certificate {
        certificate: PathBuf,
        key: Option<PathBuf>,
    },
}

pub struct Entra {
    token_url: Url,
    client_id: String,
    scope: String,
    proof: Proof,
}

impl Entra {
    pub fn new(
        login: &str,
        tenant: &str,
        client_id: &str,
        scope: String,
        proof: Proof,
    ) -> Result<Entra, SyncError> {
        let text = format!("{}/{tenant}/oauth2/v2.0/token", login.trim_end_matches('/'));
        let token_url = Url::parse(&text)
            .map_err(|e| SyncError::Setup(format!("sign-in URL {text:?}: {e}")))?;
        Ok(Entra {
            token_url,
            client_id: client_id.to_string(),
            scope,
            proof,
        })
    }

    /// The token request's body. Built apart from `token`: the serializer
    /// is not `Send` and must not live across its await.
    fn form(&self) -> Result<Secret, SyncError> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &self.scope);
        match &self.proof {
            Proof::Secret(file) => {
                let secret = read_secret(file)?;
                form.append_pair("client_secret", secret.expose());
            }
            Proof::Certificate { certificate, key } => {
                let c =
                    cert::ClientCertificate::load(certificate, key.as_deref()).map_err(sign_in)?;
                let assertion = c
                    .assertion(&self.client_id, self.token_url.as_str())
                    .map_err(sign_in)?;
                form.append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .append_pair("client_assertion", assertion.expose());
            }
        }
        Ok(Secret::new(form.finish()))
    }

    pub async fn token(&self, http: &Http, deadline: Instant) -> Result<Token, SyncError> {
        let body = self.form()?;
        let answer = http
            .send(&self.token_url, deadline, retryable, |client| {
                client
                    .post(self.token_url.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .header(reqwest::header::ACCEPT, "application/json")
                    .body(body.expose().to_string())
            })
            .await?;
        if answer.status != 200 {
            return Err(sign_in(oauth_error(answer.status, &answer.body)));
        }
        #[derive(serde::Deserialize)]
        struct Response {
            access_token: Option<String>,
            expires_in: Option<Seconds>,
            expires_on: Option<Seconds>,
        }
        let r: Response = serde_json::from_slice(&answer.body)
            .map_err(|e| sign_in(format!("the token answer is not JSON: {e}")))?;
        let access = r
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| sign_in("the token answer has no access_token".into()))?;
        Ok(Token {
            secret: Secret::new(access),
            lifetime: lifetime(r.expires_in.as_ref(), r.expires_on.as_ref()),
        })
    }
}

fn sign_in(reason: String) -> SyncError {
    // The credential label is added by `Credential::token`.
    SyncError::SignIn {
        credential: String::new(),
        reason,
    }
}

/// The secret alone in a file; a trailing newline (LF or CRLF), as editors
/// and `echo` leave one, is not part of it.
pub fn read_secret(file: &Path) -> Result<Secret, SyncError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        sign_in(format!(
            "cannot read the secret file {}: {e}",
            file.display()
        ))
    })?;
    let secret = text
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(sign_in(format!(
            "the secret file {} is empty",
            file.display()
        )));
    }
    Ok(Secret::new(secret))
}
