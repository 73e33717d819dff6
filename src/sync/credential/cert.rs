//! A service principal's certificate as a client assertion: a JWT signed
//! RS256 with the certificate's key, its `x5t` header the base64url SHA-1
//! thumbprint of the certificate, as Entra ID's "certificate credentials"
//! document describes. PEM input: the certificate (first in the file) and
//! an unencrypted PKCS#8 or PKCS#1 RSA key, in the same file or another.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::super::Secret;

/// Assertions live 10 minutes: long enough for clock skew, short enough
/// that a leaked one is soon useless.
const ASSERTION_LIFETIME_S: u64 = 600;

pub struct ClientCertificate {
    /// base64url(SHA-1(DER)): the `x5t` JOSE header (RFC 7515 §4.1.7).
    x5t: String,
    key: RsaKeyPair,
}

impl ClientCertificate {
    pub fn load(cert_file: &Path, key_file: Option<&Path>) -> Result<Self, String> {
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let cert_pem = read(cert_file)?;
        let cert = CertificateDer::pem_slice_iter(&cert_pem)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| format!("{}: no PEM CERTIFICATE in it", cert_file.display()))?;
        let key_path = key_file.unwrap_or(cert_file);
        let key_pem = match key_file {
            Some(p) => read(p)?,
            None => cert_pem.clone(),
        };
        let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(PrivateKeyDer::Pkcs8(k)) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Pkcs1(k)) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            Ok(_) => {
                return Err(format!(
                    "{}: the key is not an RSA key (Entra ID certificate credentials are RSA)",
                    key_path.display()
                ));
            }
            Err(_) if contains(&key_pem, b"ENCRYPTED") => {
                return Err(format!(
                    "{}: the private key is encrypted; store it unencrypted, readable only by pldns (openssl pkey -in IN -out OUT)",
                    key_path.display()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "{}: no PEM private key in it (PRIVATE KEY or RSA PRIVATE KEY)",
                    key_path.display()
                ));
            }
        }
        .map_err(|e| format!("{}: unusable RSA key: {e}", key_path.display()))?;
        let thumb = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
        Ok(ClientCertificate {
            x5t: URL_SAFE_NO_PAD.encode(thumb.as_ref()),
            key,
        })
    }

    /// base64url SHA-1 thumbprint, as sent in `x5t`.
    #[cfg(test)]
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// A signed assertion for `client_id` to present at `audience` (the
    /// token endpoint).
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<Secret, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_string())?
            .as_secs();
        let jti: [u8; 16] = rand::random();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(&sig)
        )))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
