//! Azure sync inside `serve`, against the fake Azure on loopback: periodic
//! pulls, a failed pull keeping the previous one, the restart served from
//! the state directory, early pulls on a miss (directly and through a
//! splice) and their rate limit, config reloads, and `check`.

mod common;

use std::time::{Duration, Instant};

use common::fake_azure::*;
use common::upstream::Upstream;
use common::{Daemon, Files, SERVER, addresses};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const BLOB: &str = "privatelink.blob.core.windows.net";

fn zones() -> String {
    [
        BLOB,
        "privatelink.queue.core.windows.net",
        "privatelink.eus.backup.windowsazure.com",
    ]
    .iter()
    .map(|z| format!("\n[[zone]]\nname = \"{z}\"\nrecords = []\non_miss = \"nxdomain\"\n"))
    .collect()
}

/// The config: three zones only sync feeds, one `[[sync]]` against `fake`
/// with `sync_keys` added, `extra` before the zones.
fn config(fake_url: &str, sync_keys: &str, extra: &str) -> String {
    format!(
        "{SERVER}metrics = \"127.0.0.1:0\"\n{extra}\n{zones}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\ncredential = \"client-secret\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"sp.secret\"\narm_endpoint = \"{fake_url}\"\nlogin_endpoint = \"{fake_url}\"\n{sync_keys}\n",
        zones = zones()
    )
}

fn files(text: &str) -> Files {
    Files::new(&[("pldns.toml", text), ("sp.secret", &format!("{SECRET}\n"))])
}

fn start(fake: &FakeAzure, sync_keys: &str) -> Daemon {
    Daemon::start(files(&config(&fake.url(), sync_keys, "")))
}

fn source() -> String {
    format!("sync:{SUBSCRIPTION}")
}

/// `pldns_sync_*{source=...}` and other series of this source.
fn series(name: &str, extra: &str) -> String {
    format!("{name}{{source=\"{}\"{extra}}}", source())
}

fn pe(name: &str, fqdn: &str, ip: &str) -> serde_json::Value {
    private_endpoint("rg-backup", name, &[(fqdn, &[ip])], "Approved")
}

fn populate(fake: &FakeAzure) {
    fake.add_private_endpoint(pe(
        "pe-vault",
        "vault1id1ecs1.blob.core.windows.net",
        "10.1.0.5",
    ));
}

/// The value of `series` on /metrics, if it is there.
fn metric(d: &Daemon, series: &str) -> Option<f64> {
    let (_, body) = d.http_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Polls until `ok` holds, for at most `limit`; false when it never did.
fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if ok() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn a(d: &Daemon, name: &str) -> Vec<String> {
    addresses(&d.query(name, RecordType::A))
}

fn wait_metric(d: &Daemon, series: &str, limit: Duration, ok: impl Fn(f64) -> bool) {
    let mut last = None;
    let done = eventually(limit, || {
        last = metric(d, series);
        last.is_some_and(&ok)
    });
    assert!(done, "{series} is {last:?}; log:\n{}", d.log().join("\n"));
}

fn wait_answer(d: &Daemon, name: &str, ip: &str, limit: Duration) {
    assert!(
        eventually(limit, || a(d, name) == [ip]),
        "{name} never answered {ip}; log:\n{}",
        d.log().join("\n")
    );
}

const LONG: Duration = Duration::from_secs(20);

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
fn early_pull_latency(d: &Daemon, fake: &FakeAzure, query: &str, expect: &str) -> Duration {
    wait_metric(
        d,
        &series("pldns_sync_pulls_total", ",result=\"ok\""),
        LONG,
        |v| v >= 1.0,
    );
    let before = fake.count("/privateEndpoints");
    fake.add_private_endpoint(pe(
        "pe-vault-prot",
        "vault1id1prot1.blob.core.windows.net",
        "10.1.0.33",
    ));
    let first = Instant::now();
    let m = d.query(query, RecordType::A);
    let answered_in = first.elapsed();
    // The client that missed gets today's on_miss answer, without waiting.
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(addresses(&m).is_empty());
    assert!(answered_in < Duration::from_secs(1), "{answered_in:?}");
    let mut latency = None;
    let found = eventually(Duration::from_secs(10), || {
        if addresses(&d.query(query, RecordType::A)).contains(&expect.to_string()) {
            latency = Some(first.elapsed());
            true
        } else {
            false
        }
    });
    assert!(found, "never answered; log:\n{}", d.log().join("\n"));
    assert_eq!(
        fake.count("/privateEndpoints"),
        before + 1,
        "one early pull"
    );
    assert_eq!(
        metric(d, &series("pldns_sync_early_pulls_total", "")),
        Some(1.0)
    );
    latency.unwrap_or_default()
}

#[test]
fn a_miss_pulls_early_and_the_name_answers_within_two_seconds() {
    let fake = FakeAzure::start();
    populate(&fake);
    // Only an early pull can explain the name appearing.
    let d = start(&fake, "interval_s = 3600\nmin_interval_s = 30");
    let latency = early_pull_latency(&d, &fake, &format!("vault1id1prot1.{BLOB}"), "10.1.0.33");
    eprintln!(
        "early pull: answerable {} ms after the first miss",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
}

#[test]
fn a_miss_through_a_splice_pulls_early_too() {
    let fake = FakeAzure::start();
    populate(&fake);
    // Public DNS: vault1id1prot1.blob.core.windows.net is a CNAME into the
    // privatelink zone; backup.contoso.com a CNAME to it.
    let up = Upstream::start(|q| {
        use common::upstream::{Reply, cname, question};
        let (name, _) = question(q);
        match name.as_str() {
            "backup.contoso.com." => Reply::ok(vec![
                cname(
                    "backup.contoso.com.",
                    "vault1id1prot1.blob.core.windows.net.",
                    300,
                ),
                cname(
                    "vault1id1prot1.blob.core.windows.net.",
                    "vault1id1prot1.privatelink.blob.core.windows.net.",
                    300,
                ),
                common::upstream::a(
                    "vault1id1prot1.privatelink.blob.core.windows.net.",
                    "20.60.1.1",
                    300,
                ),
            ]),
            _ => Reply::rcode(hickory_proto::op::ResponseCode::NXDomain),
        }
    });
    let upstream = format!(
        "[upstream]\nservers = [\"{}\"]\ntimeout_ms = 500\n",
        up.addr
    );
    let d = Daemon::start(files(&config(&fake.url(), "interval_s = 3600", &upstream)));
    let latency = early_pull_latency(&d, &fake, "backup.contoso.com", "10.1.0.33");
    eprintln!(
        "early pull through a splice: answerable {} ms after the first miss",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    // The public address never reaches the client.
    assert!(!a(&d, "backup.contoso.com").contains(&"20.60.1.1".to_string()));
}

#[test]
fn a_flood_of_misses_pulls_at_most_once_per_min_interval() {
    let fake = FakeAzure::start();
    populate(&fake);
    let min = Duration::from_secs(2);
    let d = start(&fake, "interval_s = 3600\nmin_interval_s = 2");
    wait_metric(
        &d,
        &series("pldns_sync_pulls_total", ",result=\"ok\""),
        LONG,
        |v| v >= 1.0,
    );
    let before = fake.count("/privateEndpoints");
    let flood = Instant::now();
    let mut sent = 0u32;
    while flood.elapsed() < Duration::from_secs(5) {
        let name = format!(
            "r{:08x}.{BLOB}",
            (u32::from(common::rand_id()) << 16) ^ sent
        );
        let m = d.query(&name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        sent += 1;
    }
    // A miss in the last interval leaves one early pull pending: let it run.
    std::thread::sleep(min + Duration::from_millis(500));
    let window = flood.elapsed();
    let times = fake.times("/privateEndpoints");
    let early = &times[before..];
    let allowed = (window.as_secs_f64() / min.as_secs_f64()).floor() as usize + 1;
    eprintln!(
        "{sent} misses in 5 s: {} early pulls in {:.1} s (at most {allowed}); coalesced {:?}",
        early.len(),
        window.as_secs_f64(),
        metric(&d, &series("pldns_sync_early_pulls_coalesced_total", ""))
    );
    assert!(
        early.len() >= 2,
        "misses kept asking: {} pulls",
        early.len()
    );
    assert!(
        early.len() <= allowed,
        "{} pulls in {window:?}",
        early.len()
    );
    for pair in early.windows(2) {
        let gap = pair[1] - pair[0];
        // Pulls start min_interval apart; the request follows the start by
        // the time the task takes to send it.
        assert!(
            gap >= min - Duration::from_millis(250),
            "pulls {gap:?} apart"
        );
    }
    assert_eq!(
        metric(&d, &series("pldns_sync_early_pulls_total", "")),
        Some(early.len() as f64)
    );
    assert!(metric(&d, &series("pldns_sync_early_pulls_coalesced_total", "")).unwrap() > 0.0);
}

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
