//! The credential keys of a `[[sync]]` table: which kind, and exactly the
//! keys that kind uses (a key another kind uses is an error, not ignored).

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{RawSync, is_domain, is_guid};
use crate::config::Validator;

const CREDENTIALS: &str =
    "\"client-secret\", \"client-certificate\", \"managed-identity\" or \"azure-cli\"";

/// How a `[[sync]]` signs in to Microsoft Entra ID.
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialConfig {
    /// A service principal and a file holding its secret.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret_file: PathBuf,
    },
    /// A service principal and its certificate (PEM), the key in the same
    /// file unless `key_file` names another.
    ClientCertificate {
        tenant_id: String,
        client_id: String,
        certificate_file: PathBuf,
        key_file: Option<PathBuf>,
    },
    /// The machine's managed identity: an Azure VM's, or an Azure
    /// Arc-enabled server's. `client_id` picks a user-assigned identity.
    ManagedIdentity { client_id: Option<String> },
    /// Whoever is logged in with `az login` for the user pldns runs as.
    AzureCli { tenant_id: Option<String> },
}

impl CredentialConfig {
    /// The `credential` value that selects this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialConfig::ClientSecret { .. } => "client-secret",
            CredentialConfig::ClientCertificate { .. } => "client-certificate",
            CredentialConfig::ManagedIdentity { .. } => "managed-identity",
            CredentialConfig::AzureCli { .. } => "azure-cli",
        }
    }
}

impl Validator<'_> {
    pub(super) fn credential(&mut self, s: &RawSync, base: &Path) -> Option<CredentialConfig> {
        let kind = s.credential.get_ref().as_str();
        let allowed: &[&str] = match kind {
            "client-secret" => &["tenant_id", "client_id", "client_secret_file"],
            "client-certificate" => &[
                "tenant_id",
                "client_id",
                "client_certificate_file",
                "client_certificate_key_file",
            ],
            "managed-identity" => &["client_id"],
            "azure-cli" => &["tenant_id"],
            other => {
                self.error(
                    &s.credential,
                    format!("unknown credential {other:?}: {CREDENTIALS}"),
                );
                return None;
            }
        };
        let keys = [
            ("tenant_id", &s.tenant_id),
            ("client_id", &s.client_id),
            ("client_secret_file", &s.client_secret_file),
            ("client_certificate_file", &s.client_certificate_file),
            (
                "client_certificate_key_file",
                &s.client_certificate_key_file,
            ),
        ];
        for (key, value) in keys {
            if let Some(v) = value
                && !allowed.contains(&key)
            {
                self.error(
                    v,
                    format!("{key} does not apply to credential = \"{kind}\""),
                );
            }
        }
        let tenant = |v: &mut Self| -> Option<String> {
            v.required(&s.tenant_id, "tenant_id", &s.credential)
                .and_then(|t| {
                    let id = t.get_ref().trim();
                    if is_guid(id) || is_domain(id) {
                        Some(id.to_ascii_lowercase())
                    } else {
                        v.error(t, format!("tenant_id {id:?} is neither a tenant ID (GUID) nor a domain such as contoso.onmicrosoft.com"));
                        None
                    }
                })
        };
        let client = |v: &mut Self| -> Option<String> {
            v.required(&s.client_id, "client_id", &s.credential)
                .and_then(|c| {
                    let id = c.get_ref().trim();
                    if is_guid(id) {
                        Some(id.to_ascii_lowercase())
                    } else {
                        v.error(
                            c,
                            format!("client_id {id:?} is not an application (client) ID, a GUID"),
                        );
                        None
                    }
                })
        };
        let path = |v: &mut Self, value: &Option<Spanned<String>>, key: &str| {
            v.required(value, key, &s.credential).and_then(|p| {
                if p.get_ref().trim().is_empty() {
                    v.error(p, format!("{key} is empty"));
                    None
                } else {
                    Some(base.join(p.get_ref()))
                }
            })
        };
        match kind {
            "client-secret" => {
                let (t, c) = (tenant(self), client(self));
                let f = path(self, &s.client_secret_file, "client_secret_file");
                Some(CredentialConfig::ClientSecret {
                    tenant_id: t?,
                    client_id: c?,
                    secret_file: f?,
                })
            }
            "client-certificate" => {
                let (t, c) = (tenant(self), client(self));
                let f = path(self, &s.client_certificate_file, "client_certificate_file");
                let key_file = match &s.client_certificate_key_file {
                    Some(_) => Some(path(
                        self,
                        &s.client_certificate_key_file,
                        "client_certificate_key_file",
                    )?),
                    None => None,
                };
                Some(CredentialConfig::ClientCertificate {
                    tenant_id: t?,
                    client_id: c?,
                    certificate_file: f?,
                    key_file,
                })
            }
            "managed-identity" => {
                let client_id = match &s.client_id {
                    Some(_) => Some(client(self)?),
                    None => None,
                };
                Some(CredentialConfig::ManagedIdentity { client_id })
            }
            _ => {
                let tenant_id = match &s.tenant_id {
                    Some(_) => Some(tenant(self)?),
                    None => None,
                };
                Some(CredentialConfig::AzureCli { tenant_id })
            }
        }
    }

    /// The value of `key`, or an error on the `credential` line when the
    /// key is missing.
    fn required<'v>(
        &mut self,
        value: &'v Option<Spanned<String>>,
        key: &str,
        credential: &Spanned<String>,
    ) -> Option<&'v Spanned<String>> {
        if value.is_none() {
            let msg = format!("credential = {:?} needs {key}", credential.get_ref());
            self.error(credential, msg);
        }
        value.as_ref()
    }
}
