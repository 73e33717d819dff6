use super::*;
use crate::config;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Fixture { dir }
    }

    fn load(&self, config_text: &str) -> Result<(Config, Records), Vec<String>> {
        let path = self.dir.path().join("pldns.toml");
        std::fs::write(&path, config_text).unwrap();
        let cfg = config::load(&path).map_err(|d| vec![d.to_string()])?;
        let prefix = format!("{}/", self.dir.path().display());
        records::load(&cfg)
            .map(|r| (cfg, r))
            .map_err(|d: crate::diag::Diagnostics| {
                d.iter()
                    .map(|d| d.to_string().replace(&prefix, ""))
                    .collect()
            })
    }
}

use crate::records;

const THREE_ZONES: &str = r#"
[[zone]]
name = "privatelink.eus.backup.windowsazure.com"
records = ["rec/"]
on_miss = "nxdomain"
[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
ttl = 60
[[zone]]
name = "privatelink.queue.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
"#;

fn name(s: &str) -> Vec<u8> {
    Name::from_text(s).unwrap().wire().to_vec()
}

#[test]
fn one_az_file_feeds_three_zones_and_public_names_are_mapped() {
    let f = Fixture::new(&[(
        "rec/pe.json",
        r#"{"customDnsConfigs": [
  {"fqdn": "vault-ab-pod01-fab1.eus.backup.windowsazure.com", "ipAddresses": ["10.0.0.4"]},
  {"fqdn": "acct.blob.core.windows.net", "ipAddresses": ["10.0.0.5"]},
  {"fqdn": "acct.queue.core.windows.net", "ipAddresses": ["10.0.0.6"]}
]}"#,
    )]);
    let (_, r) = f.load(THREE_ZONES).unwrap();
    let t = &r.table;
    let vault = t.get(&name(
        "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com",
    ));
    assert_eq!(vault.unwrap().zone(), 0);
    let blob = t
        .get(&name("acct.privatelink.blob.core.windows.net"))
        .unwrap();
    assert_eq!(blob.zone(), 1);
    assert_eq!(blob.a(), ["10.0.0.5".parse::<Ipv4Addr>().unwrap()]);
    assert_eq!(blob.a_ttl(), 60, "zone ttl");
    let queue = t.get(&name("acct.privatelink.queue.core.windows.net"));
    assert_eq!(queue.unwrap().zone(), 2);
    assert_eq!(t.zones[1].records, 1);
    assert_eq!(
        r.files.len(),
        1,
        "a directory shared by three zones is read once"
    );
}

#[test]
fn merge_across_formats_and_files() {
    let f = Fixture::new(&[
        (
            "rec/a.hosts",
            "10.0.0.5 acct.blob.core.windows.net\n10.0.0.5 ACCT.privatelink.blob.core.windows.net.\n",
        ),
        (
            "rec/b.toml",
            "[[record]]\nname = \"acct.privatelink.blob.core.windows.net\"\na = [\"10.0.0.7\"]\naaaa = [\"fd00::7\"]\nttl = 30\n",
        ),
        ("rec/ignored.txt", "not a record file"),
        ("rec/.hidden.hosts", "garbage"),
    ]);
    let (_, r) = f.load(THREE_ZONES).unwrap();
    let set = r
        .table
        .get(&name("acct.privatelink.blob.core.windows.net"))
        .unwrap();
    assert_eq!(set.a().len(), 2, "duplicates dropped: {:?}", set.a());
    assert_eq!(set.a_ttl(), 30, "smallest TTL of the RRset");
    assert_eq!(set.aaaa().len(), 1);
    assert_eq!(r.files.len(), 2);
}

#[test]
fn every_error_class_with_file_and_line() {
    let f = Fixture::new(&[
        (
            "rec/a.hosts",
            "10.0.0.1 x.privatelink.blob.core.windows.net\n\
             10.0.0.2 elsewhere.example.com\n\
             10.0.0.3 privatelink.blob.core.windows.net\n\
             10.0.0.4 blob.core.windows.net\n",
        ),
        (
            "rec/b.toml",
            "[[record]]\nname = \"x.privatelink.blob.core.windows.net\"\ncname = \"y.privatelink.blob.core.windows.net\"\n\n\
             [[record]]\nname = \"c.privatelink.blob.core.windows.net\"\ncname = \"d.example\"\n\n\
             [[record]]\nname = \"c.privatelink.blob.core.windows.net\"\ncname = \"e.example\"\n",
        ),
    ]);
    let Err(errs) = f.load(THREE_ZONES) else {
        panic!("loaded")
    };
    assert_eq!(
        errs,
        vec![
            "rec/a.hosts:2: elsewhere.example.com is outside every zone with records",
            "rec/a.hosts:3: privatelink.blob.core.windows.net is the apex of zone privatelink.blob.core.windows.net, which holds only its SOA and NS",
            "rec/a.hosts:4: blob.core.windows.net is the apex of zone privatelink.blob.core.windows.net, which holds only its SOA and NS",
            "rec/b.toml:1: x.privatelink.blob.core.windows.net: a CNAME cannot stand beside other data for the same name (see rec/a.hosts:1)",
            "rec/b.toml:9: c.privatelink.blob.core.windows.net has two CNAME targets, d.example (at rec/b.toml:5) and e.example",
        ]
    );
}

#[test]
fn missing_sources_and_unknown_formats() {
    let f = Fixture::new(&[("records.txt", "")]);
    let Err(errs) = f
        .load("[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"missing.hosts\", \"records.txt\"]\non_miss = \"nxdomain\"\n")
    else {
        panic!("loaded")
    };
    assert_eq!(errs.len(), 2);
    assert_eq!(
        errs[0],
        "missing.hosts: No such file or directory (os error 2)"
    );
    assert!(
        errs[1].starts_with("records.txt: unknown record format"),
        "{errs:?}"
    );
}

#[test]
fn a_file_named_hosts_is_read() {
    let f = Fixture::new(&[(
        "rec/hosts",
        "10.0.0.9 h.privatelink.queue.core.windows.net\n",
    )]);
    let (_, r) = f.load(THREE_ZONES).unwrap();
    assert_eq!(r.table.zones[2].records, 1);
}
