//! `pldns check`, `--help`, `--version`; `serve` refusing a config that
//! does not parse (with nothing kept) and starting despite broken record
//! files, with the same `FILE:LINE: reason` lines as `check`.

mod common;

use std::process::Command;

use common::*;

const ZONES: &str = r#"
[upstream]
servers = ["127.0.0.1:5399"]

[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["rec/"]
forwarders = ["127.0.0.1:5398"]

[[zone]]
name = "corp.example"
forwarders = ["127.0.0.1:5397", "[::1]:5397"]
"#;

#[test]
fn check_prints_zones_records_and_forwarders() {
    let f = Files::new(&[
        ("pldns.toml", &format!("{SERVER}{ZONES}")),
        (
            "rec/a.hosts",
            "10.0.0.1 a.blob.core.windows.net\n10.0.0.2 b.blob.core.windows.net\n",
        ),
        (
            "rec/b.toml",
            "[[record]]\nname = \"c.privatelink.blob.core.windows.net\"\na = [\"10.0.0.3\"]\n",
        ),
    ]);
    let (status, out, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "{err}");
    assert!(
        out.contains("zone privatelink.blob.core.windows.net: 3 records"),
        "{out}"
    );
    assert!(out.contains("forwarders: 127.0.0.1:5398"), "{out}");
    assert!(
        out.contains("zone corp.example: forward only, forwarders: 127.0.0.1:5397, [::1]:5397"),
        "{out}"
    );
    assert!(out.contains("upstream: 127.0.0.1:5399"), "{out}");
}

/// Files of one fixture: (name, contents).
type FixtureFiles = Vec<(&'static str, String)>;

/// Each invalid fixture and the error lines `check` must print for it.
fn invalid_cases() -> Vec<(FixtureFiles, Vec<String>)> {
    let zone = |records: &str| {
        format!(
            "{SERVER}[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [{records}]\non_miss = \"nxdomain\"\n"
        )
    };
    vec![
        // config syntax
        (vec![("pldns.toml", "[server\n".to_string())], vec!["pldns.toml:1: ".into()]),
        // unknown key
        (
            vec![("pldns.toml", format!("{SERVER}verbose = true\n"))],
            vec!["pldns.toml:4: unknown field `verbose`".into()],
        ),
        // bad value
        (
            vec![("pldns.toml", format!("{SERVER}[upstream]\nservers = [\"dns.google\"]\n"))],
            vec!["pldns.toml:5: invalid upstream server \"dns.google\"".into()],
        ),
        // missing record file
        (
            vec![("pldns.toml", zone("\"nope.hosts\""))],
            vec!["nope.hosts: No such file or directory".into()],
        ),
        // hosts line that does not parse
        (
            vec![("pldns.toml", zone("\"r.hosts\"")), ("r.hosts", "10.0.0.1 a.privatelink.blob.core.windows.net\n10.0.0 b\n".into())],
            vec!["r.hosts:2: invalid IP address \"10.0.0\"".into()],
        ),
        // TOML record without data
        (
            vec![("pldns.toml", zone("\"r.toml\"")), ("r.toml", "\n[[record]]\nname = \"a.privatelink.blob.core.windows.net\"\n".into())],
            vec!["r.toml:2: a.privatelink.blob.core.windows.net: record needs cname, a or aaaa".into()],
        ),
        // JSON that does not parse
        (
            vec![("pldns.toml", zone("\"r.json\"")), ("r.json", "{\n  \"customDnsConfigs\": [\n    {\"fqdn\": }\n  ]\n}".into())],
            vec!["r.json:3: invalid JSON".into()],
        ),
        // CNAME beside other data
        (
            vec![
                ("pldns.toml", zone("\"r.hosts\", \"r.toml\"")),
                ("r.hosts", "10.0.0.1 a.privatelink.blob.core.windows.net\n".into()),
                ("r.toml", "[[record]]\nname = \"a.privatelink.blob.core.windows.net\"\ncname = \"b.privatelink.blob.core.windows.net\"\n".into()),
            ],
            vec!["r.toml:1: a.privatelink.blob.core.windows.net: a CNAME cannot stand beside other data".into()],
        ),
        // several errors in several files, all reported
        (
            vec![
                ("pldns.toml", zone("\"r.hosts\", \"s.hosts\"")),
                ("r.hosts", "bad a.privatelink.blob.core.windows.net\n".into()),
                ("s.hosts", "\n\n10.0.0.1\n".into()),
            ],
            vec!["r.hosts:1: invalid IP address \"bad\"".into(), "s.hosts:3: no name after address 10.0.0.1".into()],
        ),
    ]
}

#[test]
fn check_and_serve_report_every_error_class_with_file_and_line() {
    for (files, want) in invalid_cases() {
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let f = Files::new(&refs);
        let prefix = format!("{}/", f.dir.path().display());
        let (status, _, err) = check(&f.path("pldns.toml"));
        assert!(!status.success(), "{files:?}");
        let lines: Vec<String> = err.lines().map(|l| l.replace(&prefix, "")).collect();
        for w in &want {
            assert!(
                lines.iter().any(|l| l.starts_with(w.as_str())),
                "want {w:?} in {lines:?}"
            );
        }
        let config_broken = want.iter().all(|w| w.starts_with("pldns.toml"));
        if config_broken {
            // Nothing kept: `serve` refuses to start, with the same lines.
            let (log, status) = match Daemon::try_start(f) {
                Ok(_) => panic!("serve started on invalid input {files:?}"),
                Err(e) => e,
            };
            assert_ne!(status.and_then(|s| s.code()), Some(0));
            let log: Vec<String> = log.iter().map(|l| l.replace(&prefix, "")).collect();
            for w in &want {
                assert!(
                    log.iter().any(|l| l.starts_with(w.as_str())),
                    "serve: want {w:?} in {log:?}"
                );
            }
        } else {
            // A broken record file never keeps `serve` from starting: it
            // logs the same lines and serves without that file.
            let d = Daemon::start(f);
            for w in &want {
                assert!(
                    d.wait_log(w, std::time::Duration::from_secs(2)),
                    "serve: want {w:?} in {:?}",
                    d.log()
                );
            }
        }
    }
}

#[test]
fn help_and_version() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve") && text.contains("check"), "{text}");
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pldns "));
}

#[test]
fn shipped_configs_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["config/demo.toml", "config/pldns.toml"] {
        let (status, out, err) = check(&root.join(name));
        assert!(status.success(), "{name}: {err}");
        assert!(out.contains("zone "), "{name}: {out}");
    }
}

#[test]
fn check_says_which_files_the_service_cannot_read_and_which_sources_disagree() {
    use std::os::unix::fs::PermissionsExt;
    let f = Files::new(&[
        (
            "pldns.toml",
            &format!(
                "{SERVER}[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n"
            ),
        ),
        (
            "rec/old.hosts",
            "# kept by hand\n10.0.0.1 acct.blob.core.windows.net\n",
        ),
        (
            "rec/pe.json",
            "[\n{\"fqdn\": \"acct.blob.core.windows.net\", \"ipAddresses\": [\"10.0.0.9\"]}\n]",
        ),
    ]);
    // An admin's private umask: root (sudo pldns check) reads it, the
    // service's dynamic user would not.
    std::fs::set_permissions(
        f.path("rec/old.hosts"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let (status, _, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "{err}");
    let prefix = format!("{}/", f.dir.path().display());
    let err = err.replace(&prefix, "");
    assert!(
        err.lines().any(|l| l.starts_with("note: ")
            && l.contains("rec/old.hosts: mode 0600")
            && l.contains("DynamicUser=yes")
            && l.contains("chmod o+r")),
        "{err}"
    );
    assert!(
        err.contains("rec/pe.json:2: acct.privatelink.blob.core.windows.net also gets addresses from rec/old.hosts:2, and the two disagree"),
        "{err}"
    );
    let (status, _, _) = check_with(&f.path("pldns.toml"), &["--strict"]);
    assert!(!status.success());
}
