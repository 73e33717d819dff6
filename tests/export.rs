//! `pldns export --format zone`: one RFC 1035 file per zone, each accepted
//! by BIND's named-checkzone without "out of zone" complaints.

mod common;

use std::process::Command;

use common::{BIN, Files, bind};

const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:0"]
[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
[[zone]]
name = "privatelink.queue.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
ttl = 60
[[zone]]
name = "corp.example"
forwarders = ["127.0.0.1:5300"]
"#;

fn export(f: &Files, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["export", "--config"])
        .arg(f.path("pldns.toml"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_zone_file_per_zone_that_named_checkzone_accepts() {
    let f = Files::new(&[
        ("pldns.toml", CONFIG),
        (
            "rec/a.hosts",
            "10.0.0.5 acct.blob.core.windows.net\n10.0.0.6 acct.queue.core.windows.net\nfd00::7 v6.privatelink.blob.core.windows.net\n",
        ),
        (
            "rec/b.toml",
            "[[record]]\nname = \"alias.privatelink.blob.core.windows.net\"\ncname = \"acct.privatelink.blob.core.windows.net\"\n\
             [[record]]\nname = \"out.privatelink.blob.core.windows.net\"\ncname = \"elsewhere.example.com\"\n",
        ),
    ]);
    let dir = f.path("out");
    let (ok, stdout, stderr) = export(&f, &["--format", "zone", "--dir", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let blob = dir.join("privatelink.blob.core.windows.net.zone");
    let queue = dir.join("privatelink.queue.core.windows.net.zone");
    assert!(stdout.contains(&blob.display().to_string()), "{stdout}");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![blob.clone(), queue.clone()],
        "no file for the forwarding zone"
    );
    let text = std::fs::read_to_string(&blob).unwrap();
    assert!(text.contains("\nacct\t300\tIN\tA\t10.0.0.5\n"), "{text}");
    assert!(
        text.contains("\nout\t300\tIN\tCNAME\telsewhere.example.com.\n"),
        "{text}"
    );
    assert!(!text.contains("queue"), "one zone per file:\n{text}");

    let Some(checkzone) = bind::tool("named-checkzone") else {
        return;
    };
    for (zone, file) in [
        ("privatelink.blob.core.windows.net", &blob),
        ("privatelink.queue.core.windows.net", &queue),
    ] {
        let out = Command::new(&checkzone)
            .arg(zone)
            .arg(file)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "named-checkzone {zone}:\n{said}");
        assert!(!said.contains("out of zone"), "{said}");
        assert!(said.contains("OK"), "{said}");
    }
}

#[test]
fn zone_to_stdout_needs_one_zone_or_a_choice() {
    let f = Files::new(&[
        ("pldns.toml", CONFIG),
        ("rec/a.hosts", "10.0.0.5 acct.blob.core.windows.net\n"),
    ]);
    let (ok, _, stderr) = export(&f, &["--format", "zone"]);
    assert!(!ok);
    assert!(
        stderr.contains("--dir DIR") && stderr.contains("--zone NAME"),
        "{stderr}"
    );
    let (ok, stdout, _) = export(
        &f,
        &[
            "--format",
            "zone",
            "--zone",
            "privatelink.queue.core.windows.net",
        ],
    );
    assert!(ok);
    assert!(
        stdout.starts_with("; zone privatelink.queue.core.windows.net, serial "),
        "{stdout}"
    );
    let (ok, _, stderr) = export(&f, &["--format", "zone", "--zone", "corp.example"]);
    assert!(
        !ok && stderr.contains("no zone with records named corp.example"),
        "{stderr}"
    );
    let (ok, _, stderr) = export(&f, &["--format", "hosts", "--zone", "corp.example"]);
    assert!(!ok && stderr.contains("--format zone"), "{stderr}");
    // hosts format unchanged.
    let (ok, stdout, _) = export(&f, &[]);
    assert!(
        ok && stdout.contains("10.0.0.5 acct.privatelink.blob.core.windows.net"),
        "{stdout}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `pldns export ... | head -1`: far more than a pipe holds, and the
    // reader closes at once. Like other Unix tools, pldns ends (SIGPIPE),
    // it does not panic.
    use std::fmt::Write;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut hosts = String::new();
    for i in 0..20_000 {
        let _ = writeln!(
            hosts,
            "10.1.{}.{} acct{i}.privatelink.blob.core.windows.net",
            i / 250,
            i % 250
        );
    }
    let f = Files::new(&[("pldns.toml", CONFIG), ("rec/big.hosts", &hosts)]);
    let mut child = Command::new(BIN)
        .args(["export", "--config"])
        .arg(f.path("pldns.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
}
