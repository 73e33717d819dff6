//! Last known good (contract: "Command line", "Last known good", behaviour
//! 9): a broken record file never keeps `serve` from starting or stops the
//! other files' edits; it serves its last good contents, kept in the state
//! directory across restarts; a config that does not parse starts on the
//! kept copy; and the fault shows in the log and the metrics until fixed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const LIMIT: Duration = Duration::from_secs(2);

fn config() -> String {
    format!(
        "{SERVER}metrics = \"127.0.0.1:0\"\n\
         [[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"records.d/\"]\non_miss = \"nxdomain\"\n"
    )
}

fn lookup(d: &Daemon, name: &str) -> (ResponseCode, Vec<String>) {
    let m = d.query(name, RecordType::A);
    (m.metadata.response_code, addresses(&m))
}

/// Polls until `name` resolves to `want` (empty: NXDOMAIN).
fn until(d: &Daemon, name: &str, want: &[&str]) {
    let t = Instant::now();
    loop {
        let (rcode, ips) = lookup(d, name);
        if (want.is_empty() && rcode == ResponseCode::NXDomain) || (!want.is_empty() && ips == want)
        {
            return;
        }
        assert!(
            t.elapsed() < LIMIT,
            "{name}: still {rcode:?} {ips:?}\n{}",
            d.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn until_metric(d: &Daemon, series: &str, want: f64) {
    let t = Instant::now();
    while d.metric(series) != want {
        assert!(t.elapsed() < LIMIT, "{series} is not {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn site() -> Files {
    Files::new(&[
        ("pldns.toml", &config()),
        ("records.d/a.hosts", "10.0.0.1 one.blob.core.windows.net\n"),
        ("records.d/b.hosts", "10.0.0.2 two.blob.core.windows.net\n"),
    ])
}

#[test]
fn starts_with_one_broken_file_among_good_ones_and_the_gauge_follows() {
    let f = site();
    f.write(
        "records.d/c.hosts",
        "10.0.0.3 three.blob.core.windows.net\n10.0.0.300 bad.blob.core.windows.net\n",
    );
    let d = Daemon::start(f);
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    assert_eq!(
        lookup(&d, "two.privatelink.blob.core.windows.net").1,
        ["10.0.0.2"]
    );
    // The broken file, never good before, contributes nothing yet.
    assert_eq!(
        lookup(&d, "three.privatelink.blob.core.windows.net").0,
        ResponseCode::NXDomain
    );
    assert!(d.wait_log("c.hosts:2: invalid IP address \"10.0.0.300\"", LIMIT));
    assert!(d.wait_log("c.hosts: not served: it has no good version yet", LIMIT));
    assert_eq!(d.metric("pldns_config_valid"), 0.0);
    let c = d.files.path("records.d/c.hosts");
    let series = format!("pldns_source_valid{{source=\"{}\"}}", c.display());
    assert_eq!(d.metric(&series), 0.0);
    let (status, body) = d.http_get("/healthz");
    assert_eq!(status, 200, "serving the good files is healthy: {body}");
    assert!(
        body.contains("degraded: 1 record source(s) broken"),
        "{body}"
    );
    // The fix: the whole file applies and the gauge goes back to 1.
    d.files.write(
        "records.d/c.hosts",
        "10.0.0.3 three.blob.core.windows.net\n",
    );
    until(&d, "three.privatelink.blob.core.windows.net", &["10.0.0.3"]);
    until_metric(&d, "pldns_config_valid", 1.0);
    assert_eq!(d.metric(&series), 1.0);
    assert_eq!(d.metric("pldns_reloads_total{result=\"ok\"}"), 1.0);
}

#[test]
fn a_good_edit_takes_effect_while_another_file_is_broken() {
    let d = Daemon::start(site());
    d.files.write(
        "records.d/a.hosts",
        "10.0.0.1 one.blob.core.windows.net\n10.0.0.11 eleven.blob.core.windows.net\nnot-an-address x\n",
    );
    assert!(d.wait_log("a.hosts:3: invalid IP address \"not-an-address\"", LIMIT));
    until_metric(&d, "pldns_config_valid", 0.0);
    // b.hosts is edited while a.hosts is broken: b's edit applies, a keeps
    // its last good contents (not even its good new line).
    d.files.write(
        "records.d/b.hosts",
        "10.0.0.2 two.blob.core.windows.net\n10.0.0.22 twentytwo.blob.core.windows.net\n",
    );
    until(
        &d,
        "twentytwo.privatelink.blob.core.windows.net",
        &["10.0.0.22"],
    );
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    assert_eq!(
        lookup(&d, "eleven.privatelink.blob.core.windows.net").0,
        ResponseCode::NXDomain
    );
    // A new file appears and applies too.
    d.files.write(
        "records.d/new.hosts",
        "10.0.0.5 five.blob.core.windows.net\n",
    );
    until(&d, "five.privatelink.blob.core.windows.net", &["10.0.0.5"]);
    assert_eq!(d.metric("pldns_config_valid"), 0.0);
}

#[test]
fn a_restart_after_breaking_a_file_serves_its_kept_copy() {
    let d = Daemon::start(site());
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    let (status, f) = d.stop_keep_files();
    assert_eq!(status.code(), Some(0));
    let kept = f
        .state_dir()
        .join(format!("records{}", f.path("records.d/a.hosts").display()));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "10.0.0.1 one.blob.core.windows.net\n",
        "the state directory keeps a copy of every good file"
    );
    // Broken while pldns was down (a reboot with a bad edit).
    f.write(
        "records.d/a.hosts",
        "10.0.0.1 one.blob.core.windows.net\n10.0.0\n",
    );
    let d = Daemon::start(f);
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    assert_eq!(
        lookup(&d, "two.privatelink.blob.core.windows.net").1,
        ["10.0.0.2"]
    );
    assert!(d.wait_log("a.hosts:2: invalid IP address \"10.0.0\"", LIMIT));
    assert!(d.wait_log(
        "keeps its last good contents (1 entries, kept in the state directory)",
        LIMIT
    ));
    let a = d.files.path("records.d/a.hosts");
    assert_eq!(
        d.metric(&format!(
            "pldns_source_from_state{{source=\"{}\"}}",
            a.display()
        )),
        1.0
    );
    assert_eq!(d.metric("pldns_config_valid"), 0.0);
    // `export` prints what is served: the kept copy, not the broken file.
    let out = std::process::Command::new(BIN)
        .args(["export", "--config"])
        .arg(d.files.path("pldns.toml"))
        .env("STATE_DIRECTORY", d.files.state_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("10.0.0.1 one.privatelink.blob.core.windows.net"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exported what serve serves"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_broken_config_at_start_runs_on_the_kept_config_or_refuses() {
    // Nothing kept: refuse, as before.
    let f = Files::new(&[("pldns.toml", "[server\n")]);
    match Daemon::try_start(f) {
        Ok(_) => panic!("started without any good config"),
        Err((log, status)) => {
            assert_ne!(status.and_then(|s| s.code()), Some(0));
            assert!(
                log.iter()
                    .any(|l| l.contains("no last good copy of it is kept")),
                "{log:?}"
            );
        }
    }

    // Kept from a good run: start on it, loudly. Its relative record paths
    // resolve against the config file's folder, as the original's do.
    let d = Daemon::start(site());
    let (_, f) = d.stop_keep_files();
    let good = std::fs::read_to_string(f.path("pldns.toml")).unwrap();
    f.write("pldns.toml", &format!("{good}\n[[zone]\nname = \"typo\"\n"));
    let d = Daemon::start(f);
    assert!(d.wait_log("STARTING ON THE LAST GOOD CONFIGURATION kept at", LIMIT));
    assert!(
        d.wait_log("pldns.toml:10: unclosed array table", LIMIT),
        "{:?}",
        d.log()
    );
    assert!(d.wait_log("does not parse; serving the last good copy kept at", LIMIT));
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    assert_eq!(d.metric("pldns_config_valid"), 0.0);
    assert_eq!(d.metric("pldns_config_from_state"), 1.0);
    // Record edits still apply while the config is broken.
    d.files.write(
        "records.d/new.hosts",
        "10.0.0.5 five.blob.core.windows.net\n",
    );
    until(&d, "five.privatelink.blob.core.windows.net", &["10.0.0.5"]);
    // `check` stays strict and says what serve would do.
    let (status, _, err) = check(&d.files.path("pldns.toml"));
    assert!(!status.success());
    assert!(
        err.contains("serve would start on the last good configuration kept at"),
        "{err}"
    );
    // The fix is picked up without a restart.
    d.files.write("pldns.toml", &good);
    until_metric(&d, "pldns_config_from_state", 0.0);
    until_metric(&d, "pldns_config_valid", 1.0);
}

#[test]
fn a_config_edit_that_does_not_parse_keeps_the_whole_config() {
    let d = Daemon::start(site());
    let good = std::fs::read_to_string(d.files.path("pldns.toml")).unwrap();
    // The broken edit also changes on_miss: nothing of it applies.
    d.files.write(
        "pldns.toml",
        &format!("{}\nbogus = 1\n", good.replace("nxdomain", "forward")),
    );
    assert!(d.wait_log("unknown field `bogus`", LIMIT));
    assert!(d.wait_log("the configuration in service stays", LIMIT));
    assert_eq!(
        lookup(&d, "missing.privatelink.blob.core.windows.net").0,
        ResponseCode::NXDomain
    );
    assert_eq!(d.metric("pldns_config_valid"), 0.0);
    assert_eq!(d.metric("pldns_config_from_state"), 0.0);
}

#[test]
fn an_unwritable_state_directory_is_reported_and_serving_goes_on() {
    let f = site();
    f.write("not-a-dir", "a file where the state directory should be");
    f.write(
        "pldns.toml",
        &config().replace("metrics = ", "state_dir = \"not-a-dir/state\"\nmetrics = "),
    );
    let d = Daemon::start(f);
    assert_eq!(
        lookup(&d, "one.privatelink.blob.core.windows.net").1,
        ["10.0.0.1"]
    );
    assert!(d.wait_log("cannot keep a copy of", LIMIT), "{:?}", d.log());
    assert_eq!(d.metric("pldns_state_dir_writable"), 0.0);
    assert_eq!(d.metric("pldns_config_valid"), 1.0);
}

#[test]
fn check_warns_and_strict_fails_on_names_outside_every_zone() {
    let f = Files::new(&[
        ("pldns.toml", &config()),
        (
            "records.d/a.hosts",
            "10.0.0.1 one.blob.core.windows.net\n10.0.0.9 fileserver.corp.example\n",
        ),
    ]);
    let prefix = format!("{}/", f.dir.path().display());
    let (status, _, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "{err}");
    assert!(
        err.replace(&prefix, "").lines().any(|l| l
            == "records.d/a.hosts:2: fileserver.corp.example is outside every zone with records: skipped"),
        "{err}"
    );
    let (status, _, err) = check_with(&f.path("pldns.toml"), &["--strict"]);
    assert!(!status.success(), "{err}");
    // Warnings are printed with the errors too: the geo-code hint is there
    // exactly when a Backup name does not fit its zone.
    let f = Files::new(&[
        (
            "pldns.toml",
            &format!(
                "{SERVER}[[zone]]\nname = \"privatelink.eastus.backup.windowsazure.com\"\nrecords = [\"r.hosts\", \"s.hosts\"]\non_miss = \"nxdomain\"\n"
            ),
        ),
        (
            "r.hosts",
            "10.0.0.4 vault-ab-pod01-fab1.eus.backup.windowsazure.com\n",
        ),
        ("s.hosts", "\nbad line\n"),
    ]);
    let (status, _, err) = check(&f.path("pldns.toml"));
    assert!(!status.success());
    let err = err.replace(&prefix, "");
    assert!(
        err.contains("s.hosts:2: invalid IP address \"bad\""),
        "{err}"
    );
    assert!(
        err.contains(
            "\"eastus\" is not the Backup geo code of any public region (East US is \"eus\""
        ),
        "{err}"
    );
    assert!(
        err.contains("r.hosts:1: vault-ab-pod01-fab1.eus.backup.windowsazure.com is outside every zone with records: skipped (its zone is privatelink.eus.backup.windowsazure.com"),
        "{err}"
    );
}
