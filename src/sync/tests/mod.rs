//! Pulls against the fake Azure of tests/common/fake_azure.rs (loopback,
//! plain http). Every endpoint of every config here is the fake's, and the
//! sources run with `loopback_only`, so nothing can reach Azure.

#[path = "../../../tests/common/fake_azure.rs"]
pub mod fake_azure;

mod failures;
mod pulls;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{RetryPolicy, SyncOptions, SyncSource};
use crate::config::Config;
use fake_azure::*;

/// Short waits, so retry tests take milliseconds (429's Retry-After is
/// honoured as the server says, though).
pub fn fast() -> SyncOptions {
    SyncOptions {
        retry: RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            request_timeout: Duration::from_secs(5),
            pull_timeout: Duration::from_secs(20),
        },
        loopback_only: true,
    }
}

/// The zones every test config declares (fed only by sync).
pub const ZONES: &str = r#"
[[zone]]
name = "privatelink.blob.core.windows.net"
records = []
on_miss = "nxdomain"

[[zone]]
name = "privatelink.queue.core.windows.net"
records = []
on_miss = "nxdomain"

[[zone]]
name = "privatelink.eus.backup.windowsazure.com"
records = []
on_miss = "nxdomain"
ttl = 60
"#;

/// A config whose one `[[sync]]` signs in with the fixture secret against
/// `fake`; `extra` adds keys to the table.
pub fn config(dir: &Path, fake: &FakeAzure, extra: &str) -> Arc<Config> {
    std::fs::write(dir.join("sp.secret"), format!("{SECRET}\n")).unwrap();
    let text = format!(
        "{ZONES}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\ncredential = \"client-secret\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"sp.secret\"\narm_endpoint = \"{url}\"\nlogin_endpoint = \"{url}\"\n{extra}\n",
        url = fake.url()
    );
    config_text(dir, &text)
}

pub fn config_text(dir: &Path, text: &str) -> Arc<Config> {
    let path = dir.join("pldns.toml");
    std::fs::write(&path, text).unwrap();
    let config = crate::config::load(&path).unwrap_or_else(|d| panic!("{d}"));
    for s in &config.sync {
        let arm = s.arm_endpoint.as_ref().expect("tests set arm_endpoint");
        assert!(crate::config::is_loopback(arm), "{arm}");
    }
    Arc::new(config)
}

pub fn source(config: &Arc<Config>) -> SyncSource {
    SyncSource::new(config.clone(), 0, fast()).unwrap()
}

/// The entries of a pull as "name type data" lines, sorted.
pub fn lines(pull: &super::Pull) -> Vec<String> {
    let mut v: Vec<String> = pull
        .entries
        .iter()
        .map(|e| {
            let data = match &e.data {
                crate::records::EntryData::A(ip) => format!("A {ip}"),
                crate::records::EntryData::Aaaa(ip) => format!("AAAA {ip}"),
                crate::records::EntryData::Cname(t) => format!("CNAME {t}"),
            };
            match e.ttl {
                Some(t) => format!("{} {t} {data}", e.name),
                None => format!("{} {data}", e.name),
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn source_names_are_stable_and_distinct() {
    let fake = FakeAzure::start();
    let dir = tempfile::tempdir().unwrap();
    let url = fake.url();
    let table = |extra: &str| {
        format!(
            "[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\ncredential = \"managed-identity\"\narm_endpoint = \"{url}\"\n{extra}\n"
        )
    };
    let text = format!(
        "{ZONES}{}{}{}",
        table("resource_groups = [\"RG-dns\", \"rg-backup\"]"),
        table(""),
        table("cloud = \"usgov\"")
    );
    let config = config_text(dir.path(), &text);
    assert_eq!(
        super::source_names(&config.sync),
        [
            format!("{SUBSCRIPTION}/rg-backup,rg-dns"),
            SUBSCRIPTION.to_string(),
            format!("{SUBSCRIPTION}#2"),
        ]
    );
}
