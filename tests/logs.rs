//! Logs as the journal sees them: sd-daemon priority prefixes when stderr
//! is the stream `JOURNAL_STREAM` names (and only then), in the plain and
//! the JSON format, and forwarder failures at warning level without a
//! flood.

mod common;

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

struct Run {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Run {
    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "{needle} not in {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> SocketAddr {
        let line = self.wait_for("listening on ");
        line.split("listening on ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// Starts `serve` with stderr in a file; `JOURNAL_STREAM` names that file
/// (`journal`) or another inode.
fn run(files: &Files, journal: bool) -> Run {
    let log = files.path("stderr.log");
    let file = File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let ino = if journal { meta.ino() } else { meta.ino() + 1 };
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(files.path("pldns.toml"))
        .env("RUST_LOG", "info")
        .env("STATE_DIRECTORY", files.state_dir())
        .env("JOURNAL_STREAM", format!("{}:{ino}", meta.dev()))
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    Run { child, log }
}

fn site(extra: &str, silent: SocketAddr) -> Files {
    Files::new(&[
        (
            "pldns.toml",
            &format!(
                "{SERVER}{extra}\n[upstream]\nservers = [\"{silent}\"]\ntimeout_ms = 50\n\
                 [[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n"
            ),
        ),
        ("rec/site.hosts", "10.0.0.5 acct.blob.core.windows.net\n"),
        ("rec/broken.hosts", "10.0.0.300 bad.blob.core.windows.net\n"),
    ])
}

fn prefix(line: &str) -> Option<u8> {
    let rest = line.strip_prefix('<')?;
    let (n, _) = rest.split_once('>')?;
    n.parse().ok()
}

#[test]
fn priorities_when_stderr_is_the_journal() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let files = site("", silent.local_addr().unwrap());
    let r = run(&files, true);
    let addr = r.addr();
    udp_query(
        addr,
        "newacct.privatelink.blob.core.windows.net",
        RecordType::A,
    );
    // A forwarder that never answers, asked five times: one warning line.
    for i in 0..5 {
        udp_query(addr, &format!("host{i}.example.com"), RecordType::A);
    }
    r.wait_for("missing record: newacct");
    let lines = r.lines();
    for l in &lines {
        assert!(prefix(l).is_some(), "no priority prefix: {l:?}");
        // The journal stamps lines itself.
        assert!(
            !l[3..].starts_with("20"),
            "timestamp under the journal: {l:?}"
        );
    }
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {lines:?}"))
    };
    assert_eq!(
        prefix(find("broken.hosts:1: invalid IP address")),
        Some(3),
        "errors are <3>"
    );
    assert_eq!(
        prefix(find("missing record: newacct")),
        Some(4),
        "warnings are <4>"
    );
    assert_eq!(prefix(find("listening on")), Some(6), "info is <6>");
    let failures: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("forwarder ") && l.contains("no answer"))
        .collect();
    assert_eq!(failures.len(), 1, "rate-limited: {failures:?}");
    assert_eq!(prefix(failures[0]), Some(4));
    assert!(failures[0].contains("within 50 ms"), "{}", failures[0]);
}

#[test]
fn json_lines_carry_the_prefix_too_and_real_values() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let files = site("[log]\nformat = \"json\"\n", silent.local_addr().unwrap());
    let r = run(&files, true);
    let line = r.wait_for("listening on");
    let (p, json) = line.split_at(3);
    assert_eq!(p, "<6>");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["level"], "INFO");
    assert!(
        v.get("timestamp").is_none(),
        "the journal stamps lines: {json}"
    );
    let addr = r.addr();
    // A reload's lists are JSON arrays, not strings holding one.
    files.write("rec/more.hosts", "10.0.0.9 more.blob.core.windows.net\n");
    let line = r.wait_for("reload applied");
    let v: serde_json::Value = serde_json::from_str(&line[3..]).unwrap();
    assert_eq!(v["fields"]["zones_added"], serde_json::json!([]), "{line}");
    assert_eq!(v["fields"]["records_added"], 1);
    assert_eq!(v["fields"]["config_changed"], false);
    let _ = addr;
}

#[test]
fn no_prefix_when_stderr_is_something_else() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let files = site("", silent.local_addr().unwrap());
    let r = run(&files, false);
    r.addr();
    for l in r.lines() {
        assert!(prefix(&l).is_none(), "{l:?}");
    }
    assert!(Path::new(&r.log).exists());
}
