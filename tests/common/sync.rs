//! The whole daemon with a `[[sync]]` against the fake Azure: its config,
//! and polling helpers for the answers and metrics that pulls change.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use super::fake_azure::*;
use super::{Daemon, Files, SERVER, addresses};
use hickory_proto::rr::RecordType;

pub const BLOB: &str = "privatelink.blob.core.windows.net";

pub fn zones() -> String {
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
pub fn config(fake_url: &str, sync_keys: &str, extra: &str) -> String {
    format!(
        "{SERVER}metrics = \"127.0.0.1:0\"\n{extra}\n{zones}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\ncredential = \"client-secret\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"sp.secret\"\narm_endpoint = \"{fake_url}\"\nlogin_endpoint = \"{fake_url}\"\n{sync_keys}\n",
        zones = zones()
    )
}

pub fn files(text: &str) -> Files {
    Files::new(&[("pldns.toml", text), ("sp.secret", &format!("{SECRET}\n"))])
}

pub fn start(fake: &FakeAzure, sync_keys: &str) -> Daemon {
    Daemon::start(files(&config(&fake.url(), sync_keys, "")))
}

pub fn source() -> String {
    format!("sync:{SUBSCRIPTION}")
}

/// `pldns_sync_*{source=...}` and other series of this source.
pub fn series(name: &str, extra: &str) -> String {
    format!("{name}{{source=\"{}\"{extra}}}", source())
}

pub fn pe(name: &str, fqdn: &str, ip: &str) -> serde_json::Value {
    private_endpoint("rg-backup", name, &[(fqdn, &[ip])], "Approved")
}

pub fn populate(fake: &FakeAzure) {
    fake.add_private_endpoint(pe(
        "pe-vault",
        "vault1id1ecs1.blob.core.windows.net",
        "10.1.0.5",
    ));
}

/// The value of `series` on /metrics, if it is there.
pub fn metric(d: &Daemon, series: &str) -> Option<f64> {
    let (_, body) = d.http_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Polls until `ok` holds, for at most `limit`; false when it never did.
pub fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
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

pub fn a(d: &Daemon, name: &str) -> Vec<String> {
    addresses(&d.query(name, RecordType::A))
}

pub fn wait_metric(d: &Daemon, series: &str, limit: Duration, ok: impl Fn(f64) -> bool) {
    let mut last = None;
    let done = eventually(limit, || {
        last = metric(d, series);
        last.is_some_and(&ok)
    });
    assert!(done, "{series} is {last:?}; log:\n{}", d.log().join("\n"));
}

pub fn wait_answer(d: &Daemon, name: &str, ip: &str, limit: Duration) {
    assert!(
        eventually(limit, || a(d, name) == [ip]),
        "{name} never answered {ip}; log:\n{}",
        d.log().join("\n")
    );
}

pub const LONG: Duration = Duration::from_secs(20);
