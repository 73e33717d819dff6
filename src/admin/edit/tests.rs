use super::*;

const ZONES: &str = "[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\", \"extra.toml\"]\non_miss = \"nxdomain\"\n\
[[zone]]\nname = \"privatelink.eus.backup.windowsazure.com\"\nrecords = [\"backup.hosts\"]\non_miss = \"nxdomain\"\n\
[[zone]]\nname = \"corp.example\"\nforwarders = [\"127.0.0.1:9\"]\n";

fn site(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rec")).unwrap();
    let cfg = dir.path().join("pldns.toml");
    std::fs::write(
        &cfg,
        format!("[server]\nlisten = [\"127.0.0.1:0\"]\n{ZONES}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("backup.hosts"), "").unwrap();
    std::fs::write(dir.path().join("extra.toml"), "").unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    (dir, cfg)
}

fn served(cfg: &Path, name: &str) -> Vec<String> {
    let snap = crate::load::load_strict(cfg, None).unwrap();
    let wire = Name::from_text(name).unwrap();
    snap.node(wire.wire())
        .map(|n| {
            let mut v: Vec<String> = n.a().iter().map(|a| a.to_string()).collect();
            v.extend(n.aaaa().iter().map(|a| a.to_string()));
            v.extend(
                n.cname()
                    .map(|(t, _)| Name::from_canonical_wire(t).to_string()),
            );
            v
        })
        .unwrap_or_default()
}

#[test]
fn add_goes_to_the_default_file_of_the_zone() {
    let (dir, cfg) = site(&[("extra.toml", ""), ("backup.hosts", "")]);
    let done = add(&cfg, "Acct.Blob.Core.Windows.Net.", "10.0.0.7", None).unwrap();
    let file = dir.path().join("rec").join(DEFAULT_FILE);
    assert!(
        done.report[0].contains("as acct.privatelink.blob.core.windows.net"),
        "{:?}",
        done.report
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\n10.0.0.7 acct.blob.core.windows.net  # added by pldns records on "));
    assert_eq!(
        served(&cfg, "acct.privatelink.blob.core.windows.net"),
        ["10.0.0.7"]
    );
    // The same again: nothing to do, nothing written.
    let before = std::fs::read(&file).unwrap();
    let again = add(
        &cfg,
        "acct.privatelink.blob.core.windows.net",
        "10.0.0.7",
        None,
    )
    .unwrap();
    assert!(
        again.report[0].contains("nothing to do"),
        "{:?}",
        again.report
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // A second address for the name goes beside the first.
    add(&cfg, "acct.blob.core.windows.net", "fd00::7", None).unwrap();
    assert_eq!(
        served(&cfg, "acct.privatelink.blob.core.windows.net"),
        ["10.0.0.7", "fd00::7"]
    );
    // The zone without a directory: its first hosts file.
    add(&cfg, "vault1.eus.backup.windowsazure.com", "10.0.1.4", None).unwrap();
    assert!(
        std::fs::read_to_string(dir.path().join("backup.hosts"))
            .unwrap()
            .contains("10.0.1.4 vault1.eus.backup.windowsazure.com")
    );
}

#[test]
fn add_to_a_toml_file() {
    let (dir, cfg) = site(&[(
        "extra.toml",
        "# mine\n[[record]]\nname = \"x.privatelink.blob.core.windows.net\"\na = [\"10.0.0.1\"]\n",
    )]);
    let file = dir.path().join("extra.toml");
    add(&cfg, "y.blob.core.windows.net", "10.0.0.2", Some(&file)).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# mine\n[[record]]\nname = \"x.privatelink"),
        "{text}"
    );
    assert!(text.ends_with("[[record]]\nname = \"y.blob.core.windows.net\"\na = [\"10.0.0.2\"]\n"));
    assert_eq!(
        served(&cfg, "y.privatelink.blob.core.windows.net"),
        ["10.0.0.2"]
    );
}

#[test]
fn add_refuses_what_the_daemon_would_refuse() {
    let (dir, cfg) = site(&[
        (
            "extra.toml",
            "[[record]]\nname = \"alias.privatelink.blob.core.windows.net\"\ncname = \"acct.privatelink.blob.core.windows.net\"\n",
        ),
        ("rec/az.json", "[]"),
        ("rec/broken.hosts", "10.0.0.300 bad.blob.core.windows.net\n"),
    ]);
    let cases: Vec<(Result<Done, String>, &str)> = vec![
        (
            add(&cfg, "www.example.com", "10.0.0.1", None),
            "is in no zone with records",
        ),
        (
            add(&cfg, "host.corp.example", "10.0.0.1", None),
            "is in no zone with records",
        ),
        (
            add(&cfg, "a.blob.core.windows.net", "10.0.0.999", None),
            "not an IPv4 or IPv6 address",
        ),
        (
            add(&cfg, "10.0.0.1", "a.blob.core.windows.net", None),
            "the name comes first (pldns records add a.blob.core.windows.net 10.0.0.1)",
        ),
        (
            add(&cfg, "a$b.blob.core.windows.net", "10.0.0.1", None),
            "not a host name",
        ),
        (
            add(&cfg, "privatelink.blob.core.windows.net", "10.0.0.1", None),
            "apex",
        ),
        (
            add(&cfg, "alias.blob.core.windows.net", "10.0.0.1", None),
            "a CNAME cannot stand beside other data",
        ),
        (
            add(
                &cfg,
                "a.blob.core.windows.net",
                "10.0.0.1",
                Some(&dir.path().join("rec/az.json")),
            ),
            "az output (JSON)",
        ),
        (
            add(
                &cfg,
                "a.blob.core.windows.net",
                "10.0.0.1",
                Some(&dir.path().join("rec/broken.hosts")),
            ),
            "does not load as it is",
        ),
        (
            add(
                &cfg,
                "a.blob.core.windows.net",
                "10.0.0.1",
                Some(&dir.path().join("elsewhere.hosts")),
            ),
            "is not read by",
        ),
    ];
    for (result, why) in cases {
        let e = result.unwrap_err();
        assert!(e.contains(why), "{why:?} not in {e:?}");
    }
    assert!(!dir.path().join("rec").join(DEFAULT_FILE).exists());
    assert!(!dir.path().join("elsewhere.hosts").exists());
}

#[test]
fn remove_takes_every_line_and_table_and_names_json() {
    let (dir, cfg) = site(&[
        (
            "rec/site.hosts",
            "# site\n10.0.0.5 acct.blob.core.windows.net other.blob.core.windows.net # portal\n10.0.0.6 acct.privatelink.blob.core.windows.net\n",
        ),
        (
            "extra.toml",
            "[[record]]\nname = \"acct.privatelink.blob.core.windows.net\"\na = [\"10.0.0.8\"]\n\n[[record]]\nname = \"keep.blob.core.windows.net\"\na = [\"10.0.0.9\"]\n",
        ),
    ]);
    let done = remove(&cfg, "acct.blob.core.windows.net").unwrap();
    assert!(!done.still_served);
    assert_eq!(done.report.len(), 2, "{:?}", done.report);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rec/site.hosts")).unwrap(),
        "# site\n10.0.0.5 other.blob.core.windows.net  # portal\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("extra.toml")).unwrap(),
        "\n[[record]]\nname = \"keep.blob.core.windows.net\"\na = [\"10.0.0.9\"]\n"
    );
    assert!(served(&cfg, "acct.privatelink.blob.core.windows.net").is_empty());
    assert_eq!(
        served(&cfg, "other.privatelink.blob.core.windows.net"),
        ["10.0.0.5"]
    );
    let e = remove(&cfg, "acct.blob.core.windows.net").unwrap_err();
    assert!(e.contains("nothing to remove"), "{e}");

    // A name an az file also holds: the hosts line goes, the JSON is named.
    std::fs::write(
        dir.path().join("rec/pe.json"),
        r#"{"customDnsConfigs": [{"fqdn": "keep.blob.core.windows.net", "ipAddresses": ["10.0.0.9"]}]}"#,
    )
    .unwrap();
    let done = remove(&cfg, "keep.blob.core.windows.net").unwrap();
    assert!(done.still_served);
    assert!(
        done.notes
            .iter()
            .any(|n| n.contains("pe.json:1") && n.contains("az output")),
        "{:?}",
        done.notes
    );
    assert_eq!(
        served(&cfg, "keep.privatelink.blob.core.windows.net"),
        ["10.0.0.9"]
    );
}
