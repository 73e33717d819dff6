use std::net::Ipv4Addr;

use super::*;
use crate::config::{self, Config};
use crate::name::Name;
use crate::records::Records;
use crate::statedir::StateDir;

pub(super) struct Fixture {
    dir: tempfile::TempDir,
}

/// What one build gave: the table, and errors and warnings with the
/// fixture's folder cut off.
pub(super) struct Outcome {
    pub(super) records: Records,
    pub(super) errors: Vec<String>,
    pub(super) warnings: Vec<String>,
}

impl Fixture {
    pub(super) fn new(files: &[(&str, &str)]) -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        for (name, text) in files {
            f.write(name, text);
        }
        f
    }

    pub(super) fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub(super) fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub(super) fn config(&self, text: &str) -> Config {
        let path = self.path("pldns.toml");
        std::fs::write(&path, text).unwrap();
        config::load(&path).unwrap()
    }

    fn short(&self, d: &Diagnostic) -> String {
        d.to_string()
            .replace(&format!("{}/", self.dir.path().display()), "")
    }

    pub(super) fn build(&self, set: &mut SourceSet, cfg: &Config) -> Outcome {
        set.refresh_files(cfg, &[]);
        let built = set.build(cfg);
        Outcome {
            errors: set.errors().iter().map(|d| self.short(d)).collect(),
            warnings: built.warnings.iter().map(|d| self.short(d)).collect(),
            records: built.records,
        }
    }

    pub(super) fn load(&self, config_text: &str) -> Outcome {
        let cfg = self.config(config_text);
        self.build(&mut SourceSet::new(None, false), &cfg)
    }
}

pub(super) const THREE_ZONES: &str = r#"
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

pub(super) fn name(s: &str) -> Vec<u8> {
    Name::from_text(s).unwrap().wire().to_vec()
}

pub(super) fn a(o: &Outcome, n: &str) -> Vec<String> {
    o.records
        .table
        .get(&name(n))
        .map(|n| n.a().iter().map(|ip| ip.to_string()).collect())
        .unwrap_or_default()
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
    let o = f.load(THREE_ZONES);
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{:?}",
        o.errors
    );
    let t = &o.records.table;
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
        o.records.files.len(),
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
            "[[record]]\nname = \"acct.privatelink.blob.core.windows.net\"\na = [\"10.0.0.5\"]\naaaa = [\"fd00::7\"]\nttl = 30\n",
        ),
        ("rec/ignored.txt", "not a record file"),
        ("rec/.hidden.hosts", "garbage"),
        (
            "rec/vault2.JSON",
            r#"[{"fqdn": "v2.blob.core.windows.net", "ipAddresses": ["10.0.0.8"]}]"#,
        ),
        ("rec/HOSTS", "10.0.0.9 h.queue.core.windows.net\n"),
    ]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(None, false);
    let o = f.build(&mut set, &cfg);
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{:?} {:?}",
        o.errors,
        o.warnings
    );
    let set_ = o
        .records
        .table
        .get(&name("acct.privatelink.blob.core.windows.net"))
        .unwrap();
    assert_eq!(set_.a().len(), 1, "duplicates dropped: {:?}", set_.a());
    assert_eq!(set_.a_ttl(), 30, "smallest TTL of the RRset");
    assert_eq!(set_.aaaa().len(), 1);
    assert_eq!(a(&o, "v2.privatelink.blob.core.windows.net"), ["10.0.0.8"]);
    assert_eq!(a(&o, "h.privatelink.queue.core.windows.net"), ["10.0.0.9"]);
    assert_eq!(o.records.files.len(), 4);
    let ignored: Vec<String> = set
        .ignored()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ignored, [".hidden.hosts", "ignored.txt"]);
}

#[test]
fn errors_break_their_file_only_and_skipped_names_are_warnings() {
    let f = Fixture::new(&[
        (
            "rec/a.hosts",
            "10.0.0.1 x.privatelink.blob.core.windows.net\n\
             10.0.0.2 elsewhere.example.com\n\
             10.0.0.3 privatelink.blob.core.windows.net\n\
             10.0.0.4 vault.eastus.backup.windowsazure.com\n",
        ),
        (
            "rec/b.toml",
            "[[record]]\nname = \"c.privatelink.blob.core.windows.net\"\ncname = \"d.example\"\n\n\
             [[record]]\nname = \"c.privatelink.blob.core.windows.net\"\ncname = \"e.example\"\n",
        ),
        (
            "rec/c.hosts",
            "10.0.0.9 ok.blob.core.windows.net\n10.0.0.300 bad.blob.core.windows.net\n",
        ),
    ]);
    let o = f.load(THREE_ZONES);
    assert_eq!(
        o.errors,
        vec![
            "rec/b.toml:5: c.privatelink.blob.core.windows.net has two CNAME targets, d.example (at rec/b.toml:1) and e.example",
            "rec/c.hosts:2: invalid IP address \"10.0.0.300\"",
        ]
    );
    assert_eq!(
        o.warnings,
        vec![
            "rec/a.hosts:2: elsewhere.example.com is outside every zone with records: skipped",
            "rec/a.hosts:3: privatelink.blob.core.windows.net is the apex of zone privatelink.blob.core.windows.net, which holds only its SOA and NS: skipped",
            "rec/a.hosts:4: vault.eastus.backup.windowsazure.com is outside every zone with records: skipped (its zone is privatelink.eastus.backup.windowsazure.com, named after the Backup geo code \"eastus\")",
        ]
    );
    // The good file is served; the broken ones contribute nothing (no
    // good version yet), not even their good lines.
    assert_eq!(a(&o, "x.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    assert!(a(&o, "ok.privatelink.blob.core.windows.net").is_empty());
    assert!(
        o.records
            .table
            .get(&name("c.privatelink.blob.core.windows.net"))
            .is_none()
    );
}

#[test]
fn missing_sources_and_unknown_formats() {
    let f = Fixture::new(&[("records.txt", "")]);
    let o = f.load("[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"missing.hosts\", \"records.txt\"]\non_miss = \"nxdomain\"\n");
    assert_eq!(o.errors.len(), 2);
    assert_eq!(
        o.errors[0],
        "missing.hosts: No such file or directory (os error 2)"
    );
    assert!(
        o.errors[1].starts_with("records.txt: unknown record format"),
        "{:?}",
        o.errors
    );
}

#[test]
fn a_broken_edit_keeps_the_file_and_other_edits_apply() {
    let f = Fixture::new(&[
        ("rec/a.hosts", "10.0.0.1 one.blob.core.windows.net\n"),
        ("rec/b.hosts", "10.0.0.2 two.blob.core.windows.net\n"),
    ]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(None, false);
    let o = f.build(&mut set, &cfg);
    assert!(o.errors.is_empty());
    f.write(
        "rec/a.hosts",
        "10.0.0.1 one.blob.core.windows.net\n10.0.0.3 three.blob.core.windows.net\n10.0.0.300 bad.blob.core.windows.net\n",
    );
    f.write("rec/b.hosts", "10.0.0.22 two.blob.core.windows.net\n");
    let o = f.build(&mut set, &cfg);
    assert_eq!(
        o.errors,
        ["rec/a.hosts:3: invalid IP address \"10.0.0.300\""]
    );
    assert_eq!(a(&o, "one.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    assert!(a(&o, "three.privatelink.blob.core.windows.net").is_empty());
    assert_eq!(
        a(&o, "two.privatelink.blob.core.windows.net"),
        ["10.0.0.22"]
    );
    let st = set.status();
    assert!(st[0].error.is_some() && st[0].entries == 1 && !st[0].from_state);
    assert!(st[1].error.is_none());
    // The fix applies the whole file.
    f.write(
        "rec/a.hosts",
        "10.0.0.1 one.blob.core.windows.net\n10.0.0.3 three.blob.core.windows.net\n",
    );
    let o = f.build(&mut set, &cfg);
    assert!(o.errors.is_empty());
    assert_eq!(
        a(&o, "three.privatelink.blob.core.windows.net"),
        ["10.0.0.3"]
    );
}

#[test]
fn a_clash_between_files_refuses_the_edit_not_the_data_in_service() {
    let f = Fixture::new(&[
        (
            "rec/a.toml",
            "[[record]]\nname = \"x.privatelink.blob.core.windows.net\"\ncname = \"y.privatelink.blob.core.windows.net\"\n",
        ),
        ("rec/b.hosts", "10.0.0.2 two.blob.core.windows.net\n"),
    ]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(None, false);
    assert!(f.build(&mut set, &cfg).errors.is_empty());
    // b.hosts (after a.toml in build order) gains an A beside a.toml's CNAME.
    f.write(
        "rec/b.hosts",
        "10.0.0.2 two.blob.core.windows.net\n10.0.0.7 x.blob.core.windows.net\n10.0.0.8 eight.blob.core.windows.net\n",
    );
    let o = f.build(&mut set, &cfg);
    assert_eq!(
        o.errors,
        [
            "rec/b.hosts:2: x.privatelink.blob.core.windows.net: a CNAME cannot stand beside other data for the same name (see rec/a.toml:1)"
        ]
    );
    assert!(a(&o, "eight.privatelink.blob.core.windows.net").is_empty());
    assert_eq!(a(&o, "two.privatelink.blob.core.windows.net"), ["10.0.0.2"]);
    let x = o
        .records
        .table
        .get(&name("x.privatelink.blob.core.windows.net"))
        .unwrap();
    assert!(x.cname().is_some());

    // Now the edit is in a.toml, which sorts first: still the edit loses.
    f.write("rec/b.hosts", "10.0.0.7 x.blob.core.windows.net\n");
    // (A comment, not an empty file: a file an edit just left empty keeps
    // its contents for a moment; see the next test.)
    f.write("rec/a.toml", "# no records for now\n");
    let o = f.build(&mut set, &cfg);
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    f.write("rec/a.toml", "[[record]]\nname = \"x.privatelink.blob.core.windows.net\"\ncname = \"y.privatelink.blob.core.windows.net\"\n");
    let o = f.build(&mut set, &cfg);
    assert_eq!(
        o.errors,
        [
            "rec/a.toml:1: x.privatelink.blob.core.windows.net: a CNAME cannot stand beside other data for the same name (see rec/b.hosts:1)"
        ]
    );
    assert_eq!(a(&o, "x.privatelink.blob.core.windows.net"), ["10.0.0.7"]);
}

#[test]
fn addresses_from_sources_that_disagree_are_a_warning() {
    let f = Fixture::new(&[
        (
            "rec/old.hosts",
            "10.0.0.1 acct.blob.core.windows.net\n10.0.0.5 same.blob.core.windows.net\n",
        ),
        (
            "rec/pe.json",
            r#"[{"fqdn": "acct.blob.core.windows.net", "ipAddresses": ["10.0.0.9"]},
{"fqdn": "same.blob.core.windows.net", "ipAddresses": ["10.0.0.5"]}]"#,
        ),
    ]);
    let o = f.load(THREE_ZONES);
    assert!(o.errors.is_empty());
    assert_eq!(
        o.warnings,
        [
            "rec/pe.json:1: acct.privatelink.blob.core.windows.net also gets addresses from rec/old.hosts:1, and the two disagree: clients get every address in rotation, a stale one included"
        ]
    );
    assert_eq!(a(&o, "acct.privatelink.blob.core.windows.net").len(), 2);
}

#[test]
fn a_producer_source_joins_through_the_same_rules() {
    let f = Fixture::new(&[(
        "rec/a.toml",
        "[[record]]\nname = \"x.privatelink.blob.core.windows.net\"\ncname = \"y.privatelink.blob.core.windows.net\"\n",
    )]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(None, false);
    let entry = |n: &str, ip: &str, line| Entry {
        name: Name::from_text(n).unwrap(),
        data: EntryData::A(ip.parse().unwrap()),
        ttl: Some(30),
        line,
    };
    let id = SourceId::Sync("prod".into());
    set.submit(
        id.clone(),
        Contents::new(vec![
            entry("pulled.blob.core.windows.net", "10.1.0.1", 1),
            entry("kv.vault.azure.net", "10.1.0.2", 2),
        ]),
        false,
    );
    let o = f.build(&mut set, &cfg);
    assert_eq!(
        a(&o, "pulled.privatelink.blob.core.windows.net"),
        ["10.1.0.1"]
    );
    assert_eq!(
        o.warnings,
        ["sync:prod:2: kv.vault.azure.net is outside every zone with records: skipped"]
    );
    // A pull that clashes with a file is refused whole; the last pull stays.
    set.submit(
        id.clone(),
        Contents::new(vec![
            entry("pulled.blob.core.windows.net", "10.1.0.9", 1),
            entry("x.blob.core.windows.net", "10.1.0.3", 2),
        ]),
        false,
    );
    let o = f.build(&mut set, &cfg);
    assert_eq!(
        o.errors,
        [
            "sync:prod:2: x.privatelink.blob.core.windows.net: a CNAME cannot stand beside other data for the same name (see rec/a.toml:1)"
        ]
    );
    assert_eq!(
        a(&o, "pulled.privatelink.blob.core.windows.net"),
        ["10.1.0.1"]
    );
    // A failed pull keeps the last good one and is reported.
    set.fail(
        id.clone(),
        Diagnostics(vec![Diagnostic::file(&id.label(), "HTTP 403 from ARM")]),
    );
    let o = f.build(&mut set, &cfg);
    assert!(
        o.errors
            .contains(&"sync:prod: HTTP 403 from ARM".to_string()),
        "{:?}",
        o.errors
    );
    assert_eq!(
        a(&o, "pulled.privatelink.blob.core.windows.net"),
        ["10.1.0.1"]
    );
    set.remove(&id);
    let o = f.build(&mut set, &cfg);
    assert!(a(&o, "pulled.privatelink.blob.core.windows.net").is_empty());
    assert!(o.errors.is_empty());
}

mod state;

#[test]
fn a_file_just_left_empty_keeps_its_contents_and_an_old_empty_one_does_not() {
    let f = Fixture::new(&[("rec/b.hosts", "10.0.0.2 two.blob.core.windows.net\n")]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(None, false);
    assert!(f.build(&mut set, &cfg).errors.is_empty());
    // Truncated a moment ago (an in-place save caught half way).
    f.write("rec/b.hosts", "");
    let o = f.build(&mut set, &cfg);
    assert_eq!(a(&o, "two.privatelink.blob.core.windows.net"), ["10.0.0.2"]);
    // Empty for longer than the grace: emptied on purpose.
    let old = std::time::SystemTime::now() - EMPTY_GRACE - std::time::Duration::from_secs(1);
    std::fs::File::options()
        .write(true)
        .open(f.path("rec/b.hosts"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let o = f.build(&mut set, &cfg);
    assert!(a(&o, "two.privatelink.blob.core.windows.net").is_empty());
}
