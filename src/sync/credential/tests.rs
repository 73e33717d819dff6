//! Each sign-in flow against the fake token services: the certificate
//! assertion (verified by the fake with the fixture's public key), the
//! VM and Arc managed identity, the Azure CLI through a fake `az`.

use std::time::{Duration, Instant};

use url::Url;

use super::cert::ClientCertificate;
use super::cli::AzureCli;
use super::entra::{Entra, Proof, read_secret};
use super::managed::{Env, Flavor, Managed};
use crate::sync::http::Http;
use crate::sync::tests::fake_azure::*;
use crate::sync::tests::fast;

fn http() -> Http {
    Http::new(fast().retry, true).unwrap()
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn entra(fake: &FakeAzure, proof: Proof) -> Entra {
    Entra::new(
        &fake.url(),
        TENANT,
        CLIENT_ID,
        format!("{RESOURCE}/.default"),
        proof,
    )
    .unwrap()
}

#[tokio::test]
async fn certificate_assertion_signs_in() {
    let fake = FakeAzure::start();
    let combined = Proof::Certificate {
        certificate: fixture("sp.pem"),
        key: None,
    };
    let t = entra(&fake, combined)
        .token(&http(), deadline())
        .await
        .unwrap();
    assert_eq!(t.secret.expose(), "fake-arm-token-1");
    assert_eq!(t.lifetime, Some(Duration::from_secs(3599)));
    // The key in its own file, PKCS#1.
    let split = Proof::Certificate {
        certificate: fixture("cert.pem"),
        key: Some(fixture("key-pkcs1.pem")),
    };
    entra(&fake, split)
        .token(&http(), deadline())
        .await
        .unwrap();
    let body = &fake.seen()[0].body;
    assert!(
        body.contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ),
        "{body}"
    );
    assert!(!body.contains("client_secret"), "{body}");
}

#[test]
fn x5t_is_the_sha1_thumbprint() {
    let c = ClientCertificate::load(&fixture("sp.pem"), None).unwrap();
    let bytes: Vec<u8> = (0..40)
        .step_by(2)
        .map(|i| u8::from_str_radix(&CERT_SHA1[i..i + 2], 16).unwrap())
        .collect();
    use base64::Engine;
    assert_eq!(
        c.x5t(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
}

#[test]
fn unusable_keys_are_named() {
    let err = ClientCertificate::load(&fixture("cert.pem"), Some(&fixture("key-encrypted.pem")))
        .err()
        .unwrap();
    assert!(err.contains("encrypted"), "{err}");
    let err = ClientCertificate::load(&fixture("cert.pem"), None)
        .err()
        .unwrap();
    assert!(err.contains("no PEM private key"), "{err}");
    let err = ClientCertificate::load(&fixture("key-pkcs1.pem"), None)
        .err()
        .unwrap();
    assert!(err.contains("no PEM CERTIFICATE"), "{err}");
}

#[test]
fn secret_file_loses_one_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        ("abc\n", "abc"),
        ("abc\r\n", "abc"),
        ("abc", "abc"),
        (" a b \n\n", " a b \n"),
    ] {
        let p = dir.path().join("s");
        std::fs::write(&p, text).unwrap();
        assert_eq!(read_secret(&p).unwrap().expose(), want, "{text:?}");
    }
    std::fs::write(dir.path().join("s"), "\n").unwrap();
    assert!(read_secret(&dir.path().join("s")).is_err());
}

#[tokio::test]
async fn vm_managed_identity() {
    let fake = FakeAzure::start();
    let base = Url::parse(&fake.url()).unwrap();
    let m = Managed::new(Some(&base), None, RESOURCE, &Env::default()).unwrap();
    assert_eq!(m.flavor, Flavor::Vm);
    m.token(&http(), deadline()).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen[0].headers["metadata"], "true");
    assert!(
        seen[0].query.contains("api-version=2018-02-01"),
        "{:?}",
        seen[0]
    );
    // A user-assigned identity is asked for by client ID.
    let m = Managed::new(
        Some(&base),
        Some(CLIENT_ID.into()),
        RESOURCE,
        &Env::default(),
    )
    .unwrap();
    m.token(&http(), deadline()).await.unwrap();
    assert!(
        fake.seen()[1]
            .query
            .contains(&format!("client_id={CLIENT_ID}"))
    );
    // Without an override, the real IMDS (never contacted in tests).
    let m = Managed::new(None, None, RESOURCE, &Env::default()).unwrap();
    assert_eq!(
        m.endpoint.as_str(),
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );
    assert!(m.token(&http(), deadline()).await.is_err());
}

fn arc_env(fake: &FakeAzure, tokens: &std::path::Path) -> Env {
    Env {
        identity_endpoint: Some(format!("{}/metadata/identity/oauth2/token", fake.url())),
        imds_endpoint: Some(fake.url()),
        arc_agent_installed: false,
        arc_tokens_dir: tokens.to_path_buf(),
    }
}

#[tokio::test]
async fn arc_managed_identity_answers_the_challenge() {
    let fake = FakeAzure::start();
    let tokens = tempfile::tempdir().unwrap();
    let key_file = tokens.path().join("0b8e7bd6.key");
    std::fs::write(&key_file, "arc-challenge-key-77").unwrap();
    fake.state().identity = Identity::Arc {
        key_file: key_file.clone(),
        key: "arc-challenge-key-77".into(),
    };
    let m = Managed::new(None, None, RESOURCE, &arc_env(&fake, tokens.path())).unwrap();
    assert_eq!(m.flavor, Flavor::Arc);
    let t = m.token(&http(), deadline()).await.unwrap();
    assert_eq!(t.secret.expose(), "fake-arm-token-1");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert!(!seen[0].headers.contains_key("authorization"));
    assert_eq!(
        seen[1].headers["authorization"],
        "Basic arc-challenge-key-77"
    );
    assert!(seen[1].query.contains("api-version=2019-11-01"));
}

#[tokio::test]
async fn arc_challenge_outside_the_agent_folder_is_refused() {
    let fake = FakeAzure::start();
    let tokens = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let bait = elsewhere.path().join("sp.key");
    std::fs::write(&bait, "not-for-you").unwrap();
    fake.state().identity = Identity::Arc {
        key_file: bait,
        key: "not-for-you".into(),
    };
    let m = Managed::new(None, None, RESOURCE, &arc_env(&fake, tokens.path())).unwrap();
    let err = m.token(&http(), deadline()).await.err().unwrap();
    assert!(
        err.to_string().contains("is not in the agent's folder"),
        "{err}"
    );
    assert_eq!(fake.seen().len(), 1, "the file's content was never sent");
    // Not a .key file, even inside the folder.
    let wrong = tokens.path().join("x.txt");
    std::fs::write(&wrong, "k").unwrap();
    fake.state().identity = Identity::Arc {
        key_file: wrong,
        key: "k".into(),
    };
    let err = m.token(&http(), deadline()).await.err().unwrap();
    assert!(err.to_string().contains("not a .key file"), "{err}");
}

#[test]
fn arc_endpoint_must_be_local() {
    let env = Env {
        identity_endpoint: Some("http://10.0.0.1:40342/metadata/identity/oauth2/token".into()),
        imds_endpoint: Some("http://10.0.0.1:40342".into()),
        ..Env::default()
    };
    let err = Managed::new(None, None, RESOURCE, &env).err().unwrap();
    assert!(err.to_string().contains("is not on this machine"), "{err}");
    let installed = Env {
        arc_agent_installed: true,
        ..Env::default()
    };
    let m = Managed::new(None, None, RESOURCE, &installed).unwrap();
    assert_eq!(m.flavor, Flavor::Arc);
    assert_eq!(
        m.endpoint.as_str(),
        "http://localhost:40342/metadata/identity/oauth2/token"
    );
}

#[tokio::test]
async fn azure_cli_token() {
    let dir = tempfile::tempdir().unwrap();
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    fake_az(
        dir.path(),
        &format!(
            r#"{{"accessToken": "az-token-1", "expiresOn": "2030-01-01 00:00:00.000000", "expires_on": {in_an_hour}, "subscription": "{SUBSCRIPTION}", "tenant": "{TENANT}", "tokenType": "Bearer"}}"#
        ),
        "",
        0,
    );
    let cli = AzureCli::new(RESOURCE, Some(TENANT.into())).with_program(&dir.path().join("az"));
    let t = cli.token(deadline()).await.unwrap();
    assert_eq!(t.secret.expose(), "az-token-1");
    let life = t.lifetime.unwrap();
    assert!(
        life > Duration::from_secs(3500) && life <= Duration::from_secs(3600),
        "{life:?}"
    );
    let args = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    assert_eq!(
        args.trim(),
        format!("account get-access-token --output json --resource {RESOURCE} --tenant {TENANT}")
    );
}

#[tokio::test]
async fn azure_cli_failures_say_why_without_the_output() {
    let dir = tempfile::tempdir().unwrap();
    fake_az(
        dir.path(),
        "",
        "WARNING: something\nERROR: Please run 'az login' to setup account.",
        1,
    );
    let cli = AzureCli::new(RESOURCE, None).with_program(&dir.path().join("az"));
    let err = cli.token(deadline()).await.err().unwrap();
    assert!(
        err.to_string()
            .contains("ERROR: Please run 'az login' to setup account."),
        "{err}"
    );
    fake_az(dir.path(), r#"{"accessToken": "leaky-token" "#, "", 0);
    let err = cli.token(deadline()).await.err().unwrap();
    assert!(!err.to_string().contains("leaky-token"), "{err}");
    let missing = AzureCli::new(RESOURCE, None).with_program(&dir.path().join("no-such-az"));
    let err = missing.token(deadline()).await.err().unwrap();
    assert!(err.to_string().contains("not on PATH"), "{err}");
}
