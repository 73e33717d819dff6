//! Azure sync inside `serve`, against the fake Azure on loopback: periodic
//! pulls, a failed pull keeping the previous one, the restart served from
//! the state directory, config reloads, and `check`. Early pulls on a miss:
//! tests/sync_early.rs.

mod common;

use std::time::Duration;

use common::Daemon;
use common::fake_azure::*;
use common::sync::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn periodic_pulls_add_and_remove_names() {
    let fake = FakeAzure::start();
    populate(&fake);
    let d = start(&fake, "interval_s = 1\nmin_interval_s = 3600");
    let records = format!("pldns_zone_records{{zone=\"{BLOB}\"}}");
    // No query until the pulls have done their work: a miss would pull early.
    wait_metric(&d, &records, LONG, |v| v == 1.0);
    let early = series("pldns_sync_early_pulls_total", "");
    assert_eq!(metric(&d, &early), Some(0.0));

    // Added in Azure: the next pull brings it, with nobody asking for it.
    fake.add_private_endpoint(pe("pe-new", "newacct.blob.core.windows.net", "10.1.0.20"));
    wait_metric(&d, &records, LONG, |v| v == 2.0);
    assert_eq!(
        metric(&d, &early),
        Some(0.0),
        "the interval alone explains it"
    );
    assert_eq!(a(&d, &format!("newacct.{BLOB}")), ["10.1.0.20"]);
    assert_eq!(a(&d, &format!("vault1id1ecs1.{BLOB}")), ["10.1.0.5"]);
    // Removed in Azure: gone at the next pull.
    fake.state()
        .private_endpoints
        .retain(|p| p["name"] != "pe-vault");
    wait_metric(&d, &records, LONG, |v| v == 1.0);
    assert_eq!(metric(&d, &early), Some(0.0));
    let m = d.query(&format!("vault1id1ecs1.{BLOB}"), RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);

    assert!(metric(&d, &series("pldns_sync_pulls_total", ",result=\"ok\"")).unwrap() >= 3.0);
    assert_eq!(
        metric(&d, &series("pldns_sync_last_pull_ok", "")),
        Some(1.0)
    );
    assert!(metric(&d, &series("pldns_sync_last_success_timestamp_seconds", "")).unwrap() > 1.6e9);
    assert!(
        d.log().iter().any(|l| l
            .contains(&format!("{}: 2 records from 2 private endpoints", source()))
            && l.contains(&format!("{BLOB} +1 -0"))),
        "{}",
        d.log().join("\n")
    );
}

#[test]
fn a_failed_pull_keeps_the_previous_one() {
    let fake = FakeAzure::start();
    populate(&fake);
    // Tokens that need renewing at every pull, so a bad secret shows.
    fake.state().token_lifetime = 2;
    let d = start(&fake, "interval_s = 1\nmin_interval_s = 1");
    let name = format!("vault1id1ecs1.{BLOB}");
    wait_answer(&d, &name, "10.1.0.5", LONG);
    let valid = format!("pldns_source_valid{{source=\"{}\"}}", source());
    wait_metric(&d, &valid, LONG, |v| v == 1.0);

    // Resource Manager fails (retried at once, then given up).
    fake.outage(
        "/privateEndpoints",
        500,
        &[("Retry-After", "0")],
        r#"{"error": {"code": "InternalServerError", "message": "try later"}}"#,
    );
    wait_metric(
        &d,
        &series("pldns_sync_pulls_total", ",result=\"http_error\""),
        LONG,
        |v| v >= 1.0,
    );
    assert_eq!(a(&d, &name), ["10.1.0.5"], "the previous pull stays");
    wait_metric(&d, &valid, LONG, |v| v == 0.0);
    assert_eq!(metric(&d, "pldns_config_valid"), Some(0.0));
    assert_eq!(
        metric(&d, &series("pldns_sync_last_pull_ok", "")),
        Some(0.0)
    );
    let (code, health) = d.http_get("/healthz");
    assert_eq!(code, 200);
    assert!(
        health.contains("degraded") && health.contains(&source()),
        "{health}"
    );
    assert!(
        d.log()
            .iter()
            .any(|l| l.contains(&format!("{}: pull failed: ", source())) && l.contains("HTTP 500")),
        "{}",
        d.log().join("\n")
    );

    fake.heal();
    wait_metric(&d, &valid, LONG, |v| v == 1.0);
    assert_eq!(
        metric(&d, &series("pldns_sync_last_pull_ok", "")),
        Some(1.0)
    );

    // The secret is rotated in Entra ID but not on this machine.
    fake.state().secret = "rotated-elsewhere".into();
    wait_metric(
        &d,
        &series("pldns_sync_pulls_total", ",result=\"sign_in_error\""),
        LONG,
        |v| v >= 1.0,
    );
    assert_eq!(a(&d, &name), ["10.1.0.5"]);
    wait_metric(&d, &valid, LONG, |v| v == 0.0);
    assert!(d.log().iter().any(|l| l.contains("AADSTS7000215")));
    assert!(
        !d.log().iter().any(|l| l.contains(SECRET)),
        "the secret was logged"
    );

    fake.state().secret = SECRET.into();
    wait_metric(&d, &valid, LONG, |v| v == 1.0);
    assert_eq!(a(&d, &name), ["10.1.0.5"]);
}

#[test]
fn a_restart_without_azure_serves_the_kept_pull() {
    let fake = FakeAzure::start();
    populate(&fake);
    let d = start(&fake, "interval_s = 3600");
    let name = format!("vault1id1ecs1.{BLOB}");
    wait_answer(&d, &name, "10.1.0.5", LONG);
    let kept = d
        .files
        .state_dir()
        .join(format!("sync/{SUBSCRIPTION}.jsonl"));
    assert!(
        eventually(LONG, || std::fs::read_to_string(&kept)
            .is_ok_and(|t| t.contains("10.1.0.5"))),
        "no kept pull at {}",
        kept.display()
    );
    let (_, files) = d.stop_keep_files();
    drop(fake);

    // check and export see what serve will start with.
    let config = files.path("pldns.toml");
    let (status, stdout, stderr) = common::check(&config);
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("starts on the pull kept in the state directory: 1 entries")
            && stdout.contains("records: 1"),
        "{stdout}"
    );
    let out = std::process::Command::new(common::BIN)
        .args(["export", "--config"])
        .arg(&config)
        .env("STATE_DIRECTORY", files.state_dir())
        .output()
        .unwrap();
    let hosts = String::from_utf8_lossy(&out.stdout);
    assert!(hosts.contains(&format!("10.1.0.5 {name}")), "{hosts}");

    // Azure is unreachable now: the first answer comes from the kept pull.
    let d = Daemon::start(files);
    assert_eq!(a(&d, &name), ["10.1.0.5"]);
    assert!(
        d.log()
            .iter()
            .any(|l| l.contains("serving the pull kept in the state directory (1 records"))
    );
    let from_state = format!("pldns_source_from_state{{source=\"{}\"}}", source());
    assert_eq!(metric(&d, &from_state), Some(1.0));
    // The pull fails (connection refused, after its retries); the kept
    // records stay in service and the fault shows.
    wait_metric(
        &d,
        &series("pldns_sync_pulls_total", ",result=\"network_error\""),
        Duration::from_secs(60),
        |v| v >= 1.0,
    );
    assert_eq!(a(&d, &name), ["10.1.0.5"]);
    let valid = format!("pldns_source_valid{{source=\"{}\"}}", source());
    wait_metric(&d, &valid, LONG, |v| v == 0.0);
    assert!(kept.exists(), "a failed pull must not remove the kept one");
}

/// Waits for the start-up pull, adds a storage account's endpoint in the
/// fake Azure, asks for it once and measures how long until it answers.
#[test]
fn reloads_start_and_stop_sources() {
    let fake = FakeAzure::start();
    populate(&fake);
    let text = config(&fake.url(), "interval_s = 3600", "");
    let d = Daemon::start(files(&text));
    let name = format!("vault1id1ecs1.{BLOB}");
    wait_answer(&d, &name, "10.1.0.5", LONG);
    let kept = d
        .files
        .state_dir()
        .join(format!("sync/{SUBSCRIPTION}.jsonl"));
    assert!(eventually(LONG, || kept.exists()));

    // The table goes: its records and its kept pull go with it.
    let without = text[..text.find("[[sync]]").unwrap()].to_string();
    d.files.write("pldns.toml", &without);
    let gone = eventually(LONG, || {
        d.query(&name, RecordType::A).metadata.response_code == ResponseCode::NXDomain
    });
    assert!(gone, "{}", d.log().join("\n"));
    assert!(eventually(LONG, || !kept.exists()), "kept pull not removed");
    assert!(metric(&d, &series("pldns_sync_pulls_total", ",result=\"ok\"")).is_none());

    // Back, scoped to a resource group: a new source pulls at once.
    let pulls = fake.count("/privateEndpoints");
    d.files.write(
        "pldns.toml",
        &text.replace(
            "interval_s = 3600",
            "interval_s = 3600\nresource_groups = [\"rg-backup\"]",
        ),
    );
    wait_answer(&d, &name, "10.1.0.5", LONG);
    assert!(fake.count("/privateEndpoints") > pulls);
    assert!(
        fake.seen()
            .iter()
            .any(|s| s.path.contains("/resourceGroups/rg-backup/")),
        "the new table's scope is used"
    );
    let scoped = format!("pldns_source_valid{{source=\"sync:{SUBSCRIPTION}/rg-backup\"}}");
    wait_metric(&d, &scoped, LONG, |v| v == 1.0);
}

#[test]
fn check_lists_sync_sources_without_reaching_azure() {
    let fake = FakeAzure::start();
    let f = files(&config(
        &fake.url(),
        "interval_s = 600\nmin_interval_s = 20",
        "",
    ));
    let (status, stdout, stderr) = common::check(&f.path("pldns.toml"));
    assert!(status.success(), "{stdout}\n{stderr}");
    for part in [
        "sync sources: 1".to_string(),
        format!("{} (line ", source()),
        format!(
            "public cloud, subscription {SUBSCRIPTION}, the whole subscription; pulls private-endpoints, private-dns-zones every 600 s, early on a miss at most every 20 s"
        ),
        format!(
            "credential client-secret (client {CLIENT_ID}, tenant {TENANT}); Resource Manager {}/, sign-in {}/",
            fake.url(),
            fake.url()
        ),
        "no pull kept in the state directory yet".to_string(),
    ] {
        assert!(stdout.contains(&part), "{part:?} not in\n{stdout}");
    }
    assert!(fake.seen().is_empty(), "check reached the fake Azure");
}
