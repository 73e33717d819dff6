//! Running it as a service: metrics and /healthz, the missing-record
//! signal, the query log, systemd readiness and the unit file, and
//! import/export.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::upstream::*;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

fn config(upstream: &str, extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.0/8\"]\nmetrics = \"127.0.0.1:0\"\n\
         [upstream]\nservers = [\"{upstream}\"]\ntimeout_ms = 200\n{extra}\n\
         [[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n"
    )
}

fn public_dns(q: &hickory_proto::op::Message) -> Reply {
    let (n, _) = question(q);
    if let Some(acct) = n.strip_suffix(".blob.core.windows.net.") {
        return Reply::ok(vec![
            cname(
                &n,
                &format!("{acct}.privatelink.blob.core.windows.net."),
                60,
            ),
            cname(
                &format!("{acct}.privatelink.blob.core.windows.net."),
                "blob.store.core.windows.net.",
                60,
            ),
            a("blob.store.core.windows.net.", "52.239.1.1", 60),
        ]);
    }
    Reply::ok(vec![a(&n, "93.184.216.34", 60)])
}

fn daemon(up: &Upstream, extra: &str) -> Daemon {
    Daemon::start(Files::new(&[
        ("pldns.toml", &config(&up.addr.to_string(), extra)),
        ("rec/site.hosts", "10.0.0.5 acct.blob.core.windows.net\n"),
    ]))
}

#[test]
fn metrics_appear_and_move() {
    let up = Upstream::start(public_dns);
    let d = daemon(&up, "");
    let local = "pldns_queries_total{transport=\"udp\",outcome=\"local\"}";
    assert_eq!(d.metric(local), 0.0);
    d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    d.query("www.example.com", RecordType::A);
    d.query("www.example.com", RecordType::A);
    d.query_tcp("missing.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(d.metric(local), 2.0);
    assert_eq!(
        d.metric("pldns_queries_total{transport=\"udp\",outcome=\"forwarded\"}"),
        1.0
    );
    assert_eq!(
        d.metric("pldns_queries_total{transport=\"udp\",outcome=\"cached\"}"),
        1.0
    );
    assert_eq!(
        d.metric("pldns_queries_total{transport=\"tcp\",outcome=\"nxdomain\"}"),
        1.0
    );
    assert_eq!(d.metric("pldns_cache_hits_total"), 1.0);
    assert_eq!(d.metric("pldns_cache_entries"), 1.0);
    assert_eq!(d.metric("pldns_query_duration_seconds_count"), 5.0);
    assert_eq!(
        d.metric(&format!(
            "pldns_upstream_requests_total{{server=\"{}\"}}",
            up.addr
        )),
        1.0
    );
    assert_eq!(
        d.metric(&format!("pldns_upstream_up{{server=\"{}\"}}", up.addr)),
        1.0
    );
    assert_eq!(
        d.metric("pldns_zone_records{zone=\"privatelink.blob.core.windows.net\"}"),
        1.0
    );
    // The start-up load is not a reload.
    assert_eq!(d.metric("pldns_reloads_total{result=\"ok\"}"), 0.0);
    assert_eq!(d.metric("pldns_config_valid"), 1.0);
    assert_eq!(
        d.metric(&format!(
            "pldns_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    assert!(d.metric("pldns_last_reload_success_timestamp_seconds") > 1.7e9);
    let (status, _) = d.http_get("/nope");
    assert_eq!(status, 404);
}

#[test]
fn healthz_turns_503_when_every_upstream_is_down() {
    let up = Upstream::start(|_| Reply::Silent);
    let d = daemon(&up, "");
    let (status, body) = d.http_get("/healthz");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ok: 1 records"), "{body}");
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let (status, body) = d.http_get("/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("every forwarder failed recently") && body.contains(&up.addr.to_string()),
        "{body}"
    );
    assert_eq!(
        d.metric(&format!("pldns_upstream_up{{server=\"{}\"}}", up.addr)),
        0.0
    );
    assert_eq!(
        d.metric(&format!(
            "pldns_upstream_failures_total{{server=\"{}\"}}",
            up.addr
        )),
        1.0
    );
}

#[test]
fn missing_storage_account_is_counted_and_named_once() {
    let up = Upstream::start(public_dns);
    let d = daemon(&up, "");
    let series = "pldns_missing_records_total{zone=\"privatelink.blob.core.windows.net\"}";
    assert_eq!(d.metric(series), 0.0);
    // Through a splice: the public name's chain enters the zone at a name the table lacks.
    let m = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    // Directly, twice.
    d.query("newacct.privatelink.blob.core.windows.net", RecordType::A);
    d.query(
        "newacct.privatelink.blob.core.windows.net",
        RecordType::AAAA,
    );
    assert_eq!(d.metric(series), 3.0);
    // The log line comes from a background consumer of the miss events.
    let line = "missing record: newacct.privatelink.blob.core.windows.net";
    assert!(d.wait_log(line, Duration::from_secs(5)));
    // Time for a second line to appear if it were (wrongly) going to.
    std::thread::sleep(Duration::from_millis(300));
    let named: Vec<String> = d
        .log()
        .into_iter()
        .filter(|l| l.contains("missing record: newacct.privatelink.blob.core.windows.net"))
        .collect();
    assert_eq!(
        named.len(),
        1,
        "logged once per name per interval: {named:?}"
    );
    // Present names are not misses.
    d.query("acct.blob.core.windows.net", RecordType::A);
    assert_eq!(d.metric(series), 3.0);
}

#[test]
fn query_log_plain_and_json() {
    let up = Upstream::start(public_dns);
    let d = daemon(&up, "[log]\nqueries = true\n");
    d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    d.query("acct.blob.core.windows.net", RecordType::A);
    d.query("www.example.com", RecordType::AAAA);
    d.query(
        "gone.privatelink.blob.core.windows.net",
        RecordType::from(65534),
    );
    let wait = |needle: &str| {
        assert!(
            d.wait_log(needle, Duration::from_secs(3)),
            "{needle} not in {:?}",
            d.log()
        )
    };
    wait(
        "proto=udp name=acct.privatelink.blob.core.windows.net qtype=A rcode=NOERROR source=table answers=[\"10.0.0.5\"]",
    );
    wait(
        "name=acct.blob.core.windows.net qtype=A rcode=NOERROR source=twin answers=[\"10.0.0.5\"] cname=acct.privatelink.blob.core.windows.net",
    );
    wait(&format!(
        "name=www.example.com qtype=AAAA rcode=NOERROR source=forwarder answers=[\"93.184.216.34\"] upstream={}",
        up.addr
    ));
    wait(
        "name=gone.privatelink.blob.core.windows.net qtype=TYPE65534 rcode=NXDOMAIN source=table answers=[]",
    );
    assert!(
        d.log()
            .iter()
            .any(|l| l.contains("client=127.0.0.1") && l.contains("latency_us="))
    );
    // Asked twice: the second from the cache.
    d.query("www.example.com", RecordType::A);
    d.query("www.example.com", RecordType::A);
    wait("name=www.example.com qtype=A rcode=NOERROR source=cache answers=[\"93.184.216.34\"]");

    let json = daemon(&up, "[log]\nqueries = true\nformat = \"json\"\n");
    json.query("acct.blob.core.windows.net", RecordType::A);
    assert!(
        json.wait_log("\"source\":\"twin\"", Duration::from_secs(2)),
        "{:?}",
        json.log()
    );
    let line = json
        .log()
        .into_iter()
        .find(|l| l.contains("\"source\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let f = &v["fields"];
    assert_eq!(f["name"], "acct.blob.core.windows.net");
    assert_eq!(f["qtype"], "A");
    assert_eq!(f["rcode"], "NOERROR");
    assert_eq!(f["answers"], serde_json::json!(["10.0.0.5"]), "{line}");
    assert_eq!(f["cname"], "acct.privatelink.blob.core.windows.net");
    assert!(f["latency_us"].is_u64(), "{line}");

    // Off by default.
    let quiet = daemon(&up, "");
    quiet.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!quiet.log().iter().any(|l| l.contains("latency_us=")));
}

#[test]
fn tells_systemd_it_is_ready() {
    let files = Files::new(&[
        ("pldns.toml", &config("127.0.0.1:9", "")),
        ("rec/site.hosts", "10.0.0.5 acct.blob.core.windows.net\n"),
    ]);
    let sock_path = files.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let d =
        Daemon::try_start_with(files, &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())]).unwrap();
    let mut buf = [0u8; 1024];
    let n = sock.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    assert!(msg.contains("STATUS=serving 1 records"), "{msg:?}");
    // Ready means answering.
    assert_eq!(
        addresses(&d.query("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
    assert_eq!(d.stop().code(), Some(0));
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
}

#[test]
fn systemd_watchdog_is_fed() {
    let files = Files::new(&[
        ("pldns.toml", &config("127.0.0.1:9", "")),
        ("rec/site.hosts", ""),
    ]);
    let sock_path = files.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let d = Daemon::try_start_with(
        files,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    )
    .unwrap();
    let mut buf = [0u8; 1024];
    let mut pings = 0;
    for _ in 0..6 {
        let n = sock.recv(&mut buf).unwrap();
        pings += usize::from(String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1"));
    }
    assert!(pings >= 3, "{pings} watchdog pings");
    drop(d);
}

#[test]
fn unit_file_passes_systemd_analyze_verify() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("systemd/pldns.service")).unwrap();
    // The unit names the installed path; point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pldns.service");
    std::fs::write(&path, unit.replace("/usr/bin/pldns", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    for needed in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict",
        "SystemCallFilter=@system-service",
        "ConfigurationDirectory=pldns",
        "StateDirectory=pldns",
        "StartLimitIntervalSec=0",
    ] {
        assert!(unit.contains(needed), "unit lacks {needed}");
    }
    // [log] level decides, not the unit; a failing check must not keep
    // serve from starting on the last known good state.
    for banned in ["RUST_LOG", "ExecStartPre"] {
        assert!(
            !unit
                .lines()
                .any(|l| l.starts_with(banned) || l.starts_with(&format!("Environment={banned}"))),
            "unit sets {banned}"
        );
    }
}

#[test]
fn import_and_export_round_trip() {
    let f = Files::new(&[
        (
            "in/portal.hosts",
            "10.0.0.5 acct.blob.core.windows.net #/subscriptions/x\n10.0.0.6 acct.queue.core.windows.net\n",
        ),
        (
            "in/pe.json",
            r#"{"customDnsConfigs": [{"fqdn": "vault-ab-pod01-fab1.eus.backup.windowsazure.com", "ipAddresses": ["10.0.0.4"]}, {"fqdn": "acct.blob.core.windows.net", "ipAddresses": ["10.0.0.7"]}]}"#,
        ),
    ]);
    let out = Command::new(BIN)
        .arg("import")
        .arg(f.path("in/portal.hosts"))
        .arg(f.path("in/pe.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.write("rec/imported.toml", &String::from_utf8_lossy(&out.stdout));
    let zones = "[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"REC\"]\non_miss = \"nxdomain\"\n\
                 [[zone]]\nname = \"privatelink.queue.core.windows.net\"\nrecords = [\"REC\"]\non_miss = \"nxdomain\"\n\
                 [[zone]]\nname = \"privatelink.eus.backup.windowsazure.com\"\nrecords = [\"REC\"]\non_miss = \"nxdomain\"\n";
    let head = "[server]\nlisten = [\"127.0.0.1:0\"]\n";
    f.write(
        "from-import.toml",
        &format!("{head}{}", zones.replace("REC", "rec/")),
    );
    f.write(
        "from-source.toml",
        &format!("{head}{}", zones.replace("REC", "in/")),
    );
    let export = |config: &str, format: &str| {
        let mut args = vec!["export", "--format", format];
        if format == "zone" {
            args.extend(["--zone", "privatelink.blob.core.windows.net"]);
        }
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(f.path(config))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let hosts = export("from-import.toml", "hosts");
    assert_eq!(
        hosts,
        export("from-source.toml", "hosts"),
        "import keeps every record"
    );
    for line in [
        "10.0.0.5 acct.privatelink.blob.core.windows.net",
        "10.0.0.7 acct.privatelink.blob.core.windows.net",
        "10.0.0.4 vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com",
    ] {
        assert!(hosts.contains(line), "{line} not in:\n{hosts}");
    }
    // The exported hosts file loads back to the same table.
    f.write("back/all.hosts", &hosts);
    f.write(
        "from-export.toml",
        &format!("{head}{}", zones.replace("REC", "back/")),
    );
    assert_eq!(export("from-export.toml", "hosts"), hosts);
    let zone = export("from-source.toml", "zone");
    assert!(
        zone.contains("$ORIGIN privatelink.blob.core.windows.net.")
            && zone.contains("acct\t300\tIN\tA\t10.0.0.7"),
        "{zone}"
    );
}
