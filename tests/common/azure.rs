//! Fixtures for the forwarding tests: a fake public resolver that answers
//! like Azure's public DNS (storage chains, backup NXDOMAIN, a few ordinary
//! names), the Private Link zones, and a daemon configured with them.

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::upstream::*;
use super::{Daemon, Files, SERVER};

pub const PUBLIC_IP: &str = "52.239.1.1";

/// Azure's public answer for a storage account with a private endpoint.
pub fn public_chain(acct: &str, svc: &str) -> Vec<hickory_proto::rr::Record> {
    vec![
        cname(
            &format!("{acct}.{svc}.core.windows.net."),
            &format!("{acct}.privatelink.{svc}.core.windows.net."),
            60,
        ),
        cname(
            &format!("{acct}.privatelink.{svc}.core.windows.net."),
            "blob.bl5prdstr09a.store.core.windows.net.",
            60,
        ),
        a("blob.bl5prdstr09a.store.core.windows.net.", PUBLIC_IP, 60),
    ]
}

/// A public resolver: Azure chains for storage, NXDOMAIN for backup names,
/// a few ordinary names.
pub fn public_dns(q: &Message) -> Reply {
    let (n, t) = question(q);
    let n = n.trim_end_matches('.').to_string();
    let parts: Vec<&str> = n.split('.').collect();
    if n.ends_with(".blob.core.windows.net") || n.ends_with(".queue.core.windows.net") {
        let svc = if n.contains(".blob.") {
            "blob"
        } else {
            "queue"
        };
        let acct = parts[0];
        return match t {
            RecordType::A => Reply::ok(public_chain(acct, svc)),
            _ => Reply::ok(public_chain(acct, svc)[..2].to_vec()),
        };
    }
    if n.ends_with("backup.windowsazure.com") {
        return Reply::nxdomain("windowsazure.com.", 60);
    }
    match n.as_str() {
        "www.example.com" => Reply::ok(vec![a("www.example.com.", "93.184.216.34", 300)]),
        "backup.contoso.com" => {
            let mut chain = vec![cname(
                "backup.contoso.com.",
                "vaultacct.blob.core.windows.net.",
                300,
            )];
            chain.extend(public_chain("vaultacct", "blob"));
            Reply::ok(chain)
        }
        "nx.example.com" => Reply::nxdomain("example.com.", 30),
        // Custom names pointing into the backup zone (public DNS has no
        // backup chain of its own).
        "vault.contoso.com" => Reply::ok(vec![
            cname(
                "vault.contoso.com.",
                "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com.",
                300,
            ),
            a(
                "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com.",
                PUBLIC_IP,
                300,
            ),
        ]),
        "oldvault.contoso.com" => Reply::ok(vec![cname(
            "oldvault.contoso.com.",
            "vault-ab-pod01-gone.privatelink.eus.backup.windowsazure.com.",
            300,
        )]),
        _ => Reply::nxdomain(".", 30),
    }
}

pub fn config(upstream: &str, zones: &str, cache: usize) -> String {
    format!(
        r#"{SERVER}
[upstream]
servers = [{upstream}]
timeout_ms = 300

[cache]
size = {cache}
{zones}"#
    )
}

pub fn privatelink_zones(on_miss: &str, forwarders: &str) -> String {
    ["privatelink.blob.core.windows.net", "privatelink.queue.core.windows.net", "privatelink.eus.backup.windowsazure.com"]
        .iter()
        .map(|z| format!("\n[[zone]]\nname = \"{z}\"\nrecords = [\"rec/\"]\non_miss = \"{on_miss}\"\n{forwarders}\n"))
        .collect()
}

pub const RECORDS: &str = "10.0.0.5 acct.blob.core.windows.net\n\
10.0.0.6 acct.queue.core.windows.net\n\
10.0.0.7 vaultacct.blob.core.windows.net\n\
10.0.0.8 vault-ab-pod01-fab1.eus.backup.windowsazure.com\n";

pub const OUTSIDE_ALIAS: &str =
    "[[record]]\nname = \"alias.privatelink.blob.core.windows.net\"\ncname = \"www.example.com\"\n";

pub fn start(upstream: &Upstream, zones: &str, cache: usize) -> Daemon {
    start_with(&config(&format!("\"{}\"", upstream.addr), zones, cache))
}

/// A daemon on `config` with the records of [`start`].
pub fn start_with(config: &str) -> Daemon {
    Daemon::start(Files::new(&[
        ("pldns.toml", config),
        ("rec/site.hosts", RECORDS),
        ("rec/alias.toml", OUTSIDE_ALIAS),
    ]))
}

/// `config` with the metrics endpoint on a loopback port.
pub fn with_metrics(config: &str) -> String {
    config.replacen(SERVER, &format!("{SERVER}metrics = \"127.0.0.1:0\"\n"), 1)
}
