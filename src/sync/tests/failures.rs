//! Pulls that meet trouble: throttling, server errors, bad JSON, a bad
//! secret, a nextLink to another host, a deadline.

use std::time::{Duration, Instant};

use super::fake_azure::*;
use super::*;
use crate::sync::{PullResult, SyncError};

fn one_pe(fake: &FakeAzure) {
    fake.add_private_endpoint(private_endpoint(
        "rg-backup",
        "pe-vault",
        &[("vault1id1ecs1.blob.core.windows.net", &["10.1.0.5"])],
        "Approved",
    ));
}

const PE_PATH: &str = "/providers/Microsoft.Network/privateEndpoints";

#[tokio::test]
async fn throttled_429_waits_for_retry_after() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    fake.fault(
        PE_PATH,
        429,
        &[("Retry-After", "1")],
        r#"{"error":{"code":"TooManyRequests","message":"throttled"}}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-endpoints\"]");
    let started = Instant::now();
    let pull = source(&config).pull().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pull.entries.len(), 1);
    assert_eq!(fake.count(PE_PATH), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    fake.fault(PE_PATH, 503, &[("Retry-After", &when)], "{}");
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-endpoints\"]");
    let started = Instant::now();
    source(&config).pull().await.unwrap();
    // The date has one-second resolution: between 1 and 2 s from now.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.count(PE_PATH), 2);
}

#[tokio::test]
async fn throttling_past_the_deadline_fails_at_once() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    fake.fault(
        PE_PATH,
        429,
        &[("Retry-After", "3600")],
        r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-endpoints\"]");
    let src = source(&config);
    let started = Instant::now();
    let err = src.pull().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.result(), PullResult::Throttled);
    assert!(
        err.to_string()
            .contains("HTTP 429: TooManyRequests: slow down"),
        "{err}"
    );
    assert_eq!(src.metrics().pulls(PullResult::Throttled), 1);
}

#[tokio::test]
async fn a_500_is_retried_then_reported() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    let body = r#"{"error":{"code":"InternalServerError","message":"boom"}}"#;
    // One failure: retried, the pull succeeds.
    fake.fault(PE_PATH, 500, &[], body);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-endpoints\"]");
    let src = source(&config);
    src.pull().await.unwrap();
    assert_eq!(fake.count(PE_PATH), 2);
    // Failing on every try: the pull fails with ARM's message, after
    // 1 + max_retries requests.
    for _ in 0..5 {
        fake.fault(PE_PATH, 500, &[], body);
    }
    let err = src.pull().await.unwrap_err();
    assert_eq!(fake.count(PE_PATH), 2 + 5);
    assert!(
        matches!(err, SyncError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("InternalServerError: boom"),
        "{err}"
    );
    let m = src.metrics();
    assert_eq!(
        (m.pulls(PullResult::Ok), m.pulls(PullResult::HttpError)),
        (1, 1)
    );
    // The last good pull's figures stay.
    assert_eq!(m.records(), 1);
}

#[tokio::test]
async fn bad_json_fails_the_pull() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    fake.fault(
        PE_PATH,
        200,
        &[],
        r#"{"value": [{"id": "/x", "properties": {"customDnsConfigs": [}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let err = source(&config).pull().await.unwrap_err();
    assert_eq!(err.result(), PullResult::InvalidAnswer);
    assert!(
        err.to_string().contains("invalid JSON in the answer"),
        "{err}"
    );
    // An answer without `value` is not an empty list.
    fake.fault(PE_PATH, 200, &[], r#"{"items": []}"#);
    let err = source(&config).pull().await.unwrap_err();
    assert!(err.to_string().contains("missing field `value`"), "{err}");
}

#[tokio::test]
async fn bad_secret_names_the_credential_not_the_secret() {
    let fake = FakeAzure::start();
    one_pe(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let wrong = "wrong-secret-Do-Not-Log-42";
    std::fs::write(dir.path().join("sp.secret"), wrong).unwrap();
    let src = source(&config);
    let err = src.pull().await.unwrap_err();
    let text = format!("{err}\n{err:?}\n{src:?}");
    assert_eq!(err.result(), PullResult::SignInError);
    assert!(
        text.contains(&format!("sign-in with client-secret (client {CLIENT_ID}, tenant {TENANT}) failed: HTTP 401: AADSTS7000215: Invalid client secret provided.")),
        "{text}"
    );
    assert!(
        !text.contains("Trace ID"),
        "only the first line of Entra's message: {text}"
    );
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert_eq!(fake.count("/subscriptions/"), 0);
}

#[tokio::test]
async fn missing_secret_file_is_a_sign_in_error() {
    let fake = FakeAzure::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    std::fs::remove_file(dir.path().join("sp.secret")).unwrap();
    let err = source(&config).pull().await.unwrap_err();
    assert!(
        err.to_string().contains("cannot read the secret file"),
        "{err}"
    );
    assert_eq!(fake.seen().len(), 0);
}

#[tokio::test]
async fn next_link_to_another_host_is_refused() {
    let fake = FakeAzure::start();
    fake.state().page_size = 1;
    one_pe(&fake);
    one_pe(&fake);
    // Port 9 on loopback: had the token gone there, nothing listens.
    fake.state().next_link_base = Some("http://127.0.0.2:9".into());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-endpoints\"]");
    let err = source(&config).pull().await.unwrap_err();
    assert!(
        err.to_string().contains(
            "nextLink points to http://127.0.0.2:9, not to the Resource Manager endpoint"
        ),
        "{err}"
    );
    assert_eq!(fake.count(PE_PATH), 1);
}

#[tokio::test]
async fn unreachable_arm_is_a_network_error() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeAzure::start();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string({
        config(dir.path(), &fake, "");
        dir.path().join("pldns.toml")
    })
    .unwrap()
    .replace(
        &format!("arm_endpoint = \"{}\"", fake.url()),
        &format!("arm_endpoint = \"http://127.0.0.1:{port}\""),
    );
    let config = config_text(dir.path(), &text);
    let err = source(&config).pull().await.unwrap_err();
    assert_eq!(err.result(), PullResult::NetworkError, "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn loopback_only_refuses_real_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sp.secret"), SECRET).unwrap();
    let text = format!(
        "{ZONES}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\ncredential = \"client-secret\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"sp.secret\"\n"
    );
    let path = dir.path().join("pldns.toml");
    std::fs::write(&path, text).unwrap();
    let config = Arc::new(crate::config::load(&path).unwrap());
    let src = SyncSource::new(config, 0, fast()).unwrap();
    let err = src.pull().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("only loopback endpoints are allowed"),
        "{err}"
    );
}
