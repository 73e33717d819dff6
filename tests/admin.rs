//! What an admin sees and does beside the daemon, over real processes: the
//! status page (`/`, `/status.json`), `pldns status` and `pldns missing`,
//! and `pldns records add/remove` against a running daemon (one edit, one
//! reload, one record).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// A loopback port that was free a moment ago (for a config that `pldns
/// status` reads the address from).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A forwarder that never answers: a bound UDP socket nobody reads.
struct Silent(#[allow(dead_code)] std::net::UdpSocket, SocketAddr);

fn silent() -> Silent {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    Silent(s, addr)
}

fn config(metrics: u16, upstream: SocketAddr) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.0/8\"]\nmetrics = \"127.0.0.1:{metrics}\"\n\
         [upstream]\nservers = [\"{upstream}\"]\ntimeout_ms = 100\n\
         [[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n\
         [[zone]]\nname = \"corp.example\"\nforwarders = [\"{upstream}\"]\n"
    )
}

fn pldns(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Polls `f` until it holds or `what` fails the test.
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A daemon with a broken record file, names it lacks asked (one of them
/// hostile), and a forwarder that never answers.
fn troubled() -> (Daemon, Silent, u16) {
    let up = silent();
    let port = free_port();
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config(port, up.1)),
        ("rec/site.hosts", "10.0.0.5 acct.blob.core.windows.net\n"),
        (
            "rec/broken.hosts",
            "10.0.0.6 ok.blob.core.windows.net\n10.0.0.300 bad.blob.core.windows.net\n",
        ),
    ]));
    for name in [
        "newacct.privatelink.blob.core.windows.net",
        "newacct.privatelink.blob.core.windows.net",
        "x<script>alert(1)</script>.privatelink.blob.core.windows.net",
    ] {
        let reply = udp_exchange(d.addr, &raw_query(name, 1)).unwrap();
        assert_eq!(reply[3] & 0x0F, 3, "NXDOMAIN for {name}");
    }
    // The forwarder times out: SERVFAIL.
    assert_eq!(
        d.query("host.corp.example", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::ServFail
    );
    (d, up, port)
}

fn status_json(d: &Daemon) -> serde_json::Value {
    let (code, body) = d.http_get("/status.json");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn status_json_says_what_is_served_and_what_is_broken() {
    let (d, up, _) = troubled();
    // Missing names reach the register through a consumer, forwarder health
    // the page through a sample taken every second.
    until("the page sees the misses and the failing forwarder", || {
        let s = status_json(&d);
        s["missing"][0]["names"]
            .as_array()
            .is_some_and(|n| n.len() == 2)
            && s["forwarders"][0]["failures"].as_u64() > Some(0)
    });
    let s = status_json(&d);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert!(s["uptime_s"].as_u64().is_some());
    let zone = &s["zones"][0];
    assert_eq!(zone["name"], "privatelink.blob.core.windows.net");
    assert_eq!(zone["kind"], "records");
    assert_eq!(zone["records"], 1, "the broken file is not served");
    assert!(zone["serial"].as_u64().unwrap() > 0);
    assert_eq!(zone["missing_total"], 3);
    assert_eq!(s["zones"][1]["kind"], "forward");

    let missing = &s["missing"][0];
    assert_eq!(missing["zone"], "privatelink.blob.core.windows.net");
    let names = missing["names"].as_array().unwrap();
    let new = names
        .iter()
        .find(|n| n["name"] == "newacct.privatelink.blob.core.windows.net")
        .unwrap();
    assert_eq!(new["public_name"], "newacct.blob.core.windows.net");
    assert_eq!(new["count"], 2);
    assert_eq!(new["answered_now"], false);
    assert!(new["first_seen"].as_u64() <= new["last_seen"].as_u64());
    assert_eq!(
        new["hint"]["add"],
        format!(
            "sudo pldns records add newacct.blob.core.windows.net PRIVATE_IP --config {}",
            d.files.path("pldns.toml").display()
        )
    );
    assert!(
        new["hint"]["find_address"]
            .as_str()
            .unwrap()
            .contains("[?fqdn=='newacct.blob.core.windows.net'].ipAddresses[]")
    );
    let hostile = names
        .iter()
        .find(|n| n["name"].as_str().unwrap().contains("script"))
        .unwrap();
    assert!(
        hostile["hint"]["add"].is_null(),
        "no command for an odd name"
    );

    let fwd = &s["forwarders"][0];
    assert_eq!(fwd["server"], up.1.to_string());
    assert_eq!(
        fwd["used_by"],
        serde_json::json!([
            "upstream",
            "privatelink.blob.core.windows.net",
            "corp.example"
        ])
    );
    assert!(fwd["consecutive_failures"].as_u64() > Some(0));

    let broken = d.files.path("rec/broken.hosts").display().to_string();
    let errors: Vec<&str> = s["reload"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            format!("{broken}:2: invalid IP address \"10.0.0.300\""),
            format!("{broken}: not served: it has no good version yet"),
        ]
    );
    assert_eq!(s["reload"]["valid"], false);
    assert_eq!(s["healthy"], false, "{}", s["health"]);
    assert!(s["reload"]["last"].is_null(), "no reload yet");

    // A reload: when and what changed.
    d.files
        .write("rec/more.hosts", "10.0.0.9 more.blob.core.windows.net\n");
    until("the reload is on the page", || {
        !status_json(&d)["reload"]["last"].is_null()
    });
    let last = &status_json(&d)["reload"]["last"];
    assert_eq!(last["records_added"], 1);
    assert_eq!(last["records_removed"], 0);
    assert_eq!(last["trigger"], "files");
}

#[test]
fn the_html_page_escapes_what_clients_asked() {
    let (d, _up, _) = troubled();
    until("misses registered", || {
        status_json(&d)["missing"][0]["names"]
            .as_array()
            .is_some_and(|n| n.len() == 2)
    });
    let (code, page) = d.http_get("/");
    assert_eq!(code, 200);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        !page.contains("<script"),
        "a client's name must not become markup"
    );
    assert!(page.contains("x&lt;script&gt;alert(1)&lt;/script&gt;.blob.core.windows.net"));
    assert!(page.contains("sudo pldns records add newacct.blob.core.windows.net PRIVATE_IP"));
    assert!(page.contains("rec/broken.hosts:2: invalid IP address &quot;10.0.0.300&quot;"));
    // The headers: no script may run even if something slipped through.
    let mut s = std::net::TcpStream::connect(d.metrics_addr()).unwrap();
    use std::io::{Read, Write};
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    let head = all.split("\r\n\r\n").next().unwrap();
    assert!(
        head.contains("Content-Type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains("Content-Security-Policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("X-Content-Type-Options: nosniff"), "{head}");
}

#[test]
fn status_and_missing_from_the_command_line() {
    let (d, _up, port) = troubled();
    let cfg = d.files.path("pldns.toml");
    let cfg = cfg.to_str().unwrap();
    until("misses registered", || {
        status_json(&d)["missing"][0]["names"]
            .as_array()
            .is_some_and(|n| n.len() == 2)
    });
    let out = pldns(&["status", "--config", cfg]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "broken: exit 1\n{stdout}");
    for needle in [
        "BROKEN:",
        "rec/broken.hosts:2: invalid IP address",
        "privatelink.blob.core.windows.net (records): 1 records, serial ",
        "missing names: 2",
        "corp.example (forward)",
        "forwarders:",
        "queries: ",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    let out = pldns(&["status", "--config", cfg, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zones"][0]["records"], 1);

    let out = pldns(&["missing", "--config", cfg]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("zone privatelink.blob.core.windows.net:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("newacct.blob.core.windows.net  asked 2 times"),
        "{stdout}"
    );
    assert!(
        stdout.contains("add:     sudo pldns records add newacct.blob.core.windows.net PRIVATE_IP"),
        "{stdout}"
    );
    let out = pldns(&[
        "missing",
        "--config",
        cfg,
        "--json",
        "--zone",
        "privatelink.blob.core.windows.net.",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["names"].as_array().unwrap().len(), 2);
    let out = pldns(&[
        "missing",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--zone",
        "corp.example",
    ]);
    assert!(
        text(&out.stdout).starts_with("no missing names in corp.example"),
        "{}",
        text(&out.stdout)
    );

    // Without a metrics address, and with the daemon stopped: exit 2 and why.
    d.files
        .write("nometrics.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n");
    let out = pldns(&[
        "status",
        "--config",
        d.files.path("nometrics.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no [server] metrics address"),
        "{}",
        text(&out.stderr)
    );
    let (_, files) = d.stop_keep_files();
    let out = pldns(&[
        "status",
        "--config",
        files.path("pldns.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("pldns is not running"),
        "{}",
        text(&out.stderr)
    );
}

fn reloads(d: &Daemon) -> Vec<String> {
    d.log()
        .into_iter()
        .filter(|l| l.contains("reload applied"))
        .collect()
}

#[test]
fn records_add_and_remove_reach_the_running_daemon_in_one_reload_each() {
    let up = silent();
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config(0, up.1)),
        (
            "rec/site.hosts",
            "# the site's records\n10.0.0.5 acct.blob.core.windows.net other.blob.core.windows.net\n",
        ),
    ]));
    let cfg = d.files.path("pldns.toml");
    let cfg = cfg.to_str().unwrap();
    let site = d.files.path("rec/site.hosts");
    // An admin's file: its owner and mode survive the edit.
    let root = is_root();
    if root {
        std::os::unix::fs::chown(&site, Some(4321), Some(4322)).unwrap();
    }
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Let the chown's event settle into its own reload before counting.
    std::thread::sleep(Duration::from_millis(600));
    let before = reloads(&d).len();

    let out = pldns(&[
        "records",
        "add",
        "newacct.blob.core.windows.net",
        "10.0.0.7",
        "--config",
        cfg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pldns-records.hosts"),
        "{}",
        text(&out.stdout)
    );
    let name = "newacct.privatelink.blob.core.windows.net";
    until("the new record is served", || {
        addresses(&d.query(name, RecordType::A)) == ["10.0.0.7"]
    });
    std::thread::sleep(Duration::from_millis(500));
    let after_add = reloads(&d);
    assert_eq!(after_add.len(), before + 1, "one reload: {after_add:?}");
    assert!(
        after_add.last().unwrap().contains("+1 -0 records"),
        "{after_add:?}"
    );

    let out = pldns(&[
        "records",
        "remove",
        "acct.privatelink.blob.core.windows.net",
        "--config",
        cfg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    until("the record is gone", || {
        d.query("acct.privatelink.blob.core.windows.net", RecordType::A)
            .metadata
            .response_code
            == ResponseCode::NXDomain
    });
    std::thread::sleep(Duration::from_millis(500));
    let after_remove = reloads(&d);
    assert_eq!(
        after_remove.len(),
        before + 2,
        "one reload: {after_remove:?}"
    );
    assert!(
        after_remove.last().unwrap().contains("+0 -1 records"),
        "{after_remove:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&site).unwrap(),
        "# the site's records\n10.0.0.5 other.blob.core.windows.net\n"
    );
    let meta = std::fs::metadata(&site).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o644);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322), "owner kept");
    }
    assert_eq!(
        addresses(&d.query("other.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );

    // Refused edits change nothing and say why.
    let out = pldns(&[
        "records",
        "add",
        "www.example.com",
        "10.0.0.8",
        "--config",
        cfg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is in no zone with records"),
        "{}",
        text(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(reloads(&d).len(), before + 2);
}

/// Whether the tests run as root (CI does): only root may give a file to
/// another owner.
fn is_root() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "").unwrap();
    std::os::unix::fs::chown(&probe, Some(4321), None).is_ok()
}

#[test]
fn the_page_shows_each_azure_sync() {
    use common::fake_azure::FakeAzure;
    use common::sync;
    let fake = FakeAzure::start();
    sync::populate(&fake);
    let d = sync::start(&fake, "interval_s = 1\nmin_interval_s = 3600");
    // The registry hears of the pull before the reload applies it.
    until("a pull is on the page and in service", || {
        let s = status_json(&d);
        s["syncs"][0]["records"] == 1 && s["syncs"][0]["ok"] == true
    });
    let s = status_json(&d);
    let sync = &s["syncs"][0];
    assert_eq!(sync["source"], sync::source());
    assert_eq!(sync["cloud"], "public");
    assert_eq!(sync["ok"], true);
    assert_eq!(sync["last_pull"]["result"], "ok");
    assert!(sync["scope"].as_str().unwrap().starts_with("subscription "));
    assert!(
        !sync["credential"]
            .as_str()
            .unwrap()
            .contains(common::fake_azure::SECRET)
    );
    // Azure fails: the page says so, and that the last good pull serves.
    fake.outage(
        "/privateEndpoints",
        500,
        &[("Retry-After", "0")],
        r#"{"error": {"code": "InternalServerError", "message": "try later"}}"#,
    );
    until("the failed pull is on the page", || {
        let s = status_json(&d);
        s["syncs"][0]["last_pull"]["result"] != "ok"
    });
    let (_, page) = d.http_get("/");
    assert!(
        page.contains(&format!("data-source=\"{}\"", sync::source())),
        "{page}"
    );
    assert!(page.contains("the last good pull serves"), "{page}");
    assert_eq!(status_json(&d)["zones"][0]["records"], 1, "still served");
}
