//! A daemon serving records in every format (hosts, TOML, az JSON) across
//! three Private Link zones, for the tests of answers from the table and of
//! the transports.

use hickory_proto::op::Message;
use hickory_proto::rr::RData;

use super::{Daemon, Files, SERVER};

pub fn config(extra: &str) -> String {
    format!(
        r#"{SERVER}{extra}
[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
ttl = 120

[[zone]]
name = "privatelink.queue.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"

[[zone]]
name = "privatelink.eus.backup.windowsazure.com"
records = ["backup.json"]
on_miss = "nxdomain"
"#
    )
}

pub const HOSTS: &str = "# portal output\n\
10.0.0.5 acct.blob.core.windows.net #/subscriptions/x/resourceGroups/y\n\
10.0.0.6 acct.queue.core.windows.net\n\
10.0.0.9 deep.a.b.privatelink.blob.core.windows.net\n";

pub const TOML: &str = r#"
[[record]]
name = "dual.privatelink.blob.core.windows.net"
a = ["10.0.0.7"]
aaaa = ["fd00::7"]
ttl = 30

[[record]]
name = "alias.privatelink.blob.core.windows.net"
cname = "dual.privatelink.blob.core.windows.net"

[[record]]
name = "cross.privatelink.blob.core.windows.net"
cname = "acct.queue.core.windows.net"

[[record]]
name = "loop1.privatelink.blob.core.windows.net"
cname = "loop2.privatelink.blob.core.windows.net"

[[record]]
name = "loop2.privatelink.blob.core.windows.net"
cname = "loop1.privatelink.blob.core.windows.net"

[[record]]
name = "dangling.privatelink.blob.core.windows.net"
cname = "gone.privatelink.queue.core.windows.net"
"#;

pub const JSON: &str = r#"{
  "customDnsConfigs": [
    {"fqdn": "vault-ab-pod01-fab1.eus.backup.windowsazure.com", "ipAddresses": ["10.0.1.4"]},
    {"fqdn": "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com", "ipAddresses": ["10.0.1.5", "10.0.1.6"]}
  ]
}"#;

pub fn many_records() -> String {
    (1..=120)
        .map(|i| format!("10.1.0.{i} big.privatelink.blob.core.windows.net\n"))
        .collect()
}

pub fn daemon() -> Daemon {
    Daemon::start(Files::new(&[
        ("pldns.toml", &config("")),
        ("rec/site.hosts", HOSTS),
        ("rec/site.toml", TOML),
        ("rec/big.hosts", &many_records()),
        ("backup.json", JSON),
    ]))
}

pub fn soa_serial(m: &Message) -> u32 {
    match &m.authorities[0].data {
        RData::SOA(soa) => soa.serial,
        other => panic!("not a SOA: {other:?}"),
    }
}
