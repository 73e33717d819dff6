//! Zone transfer with a real BIND 9 on loopback, the whole daemon: BIND as
//! a secondary of pldns (every zone, TSIG or address only, NOTIFY then IXFR
//! after an edit, a 100,000-record zone in many messages), and pldns as a
//! secondary of BIND (TSIG enforced both ways, NOTIFY from BIND, the copy
//! served until the SOA expire). Without BIND these tests say SKIPPED and
//! pass, unless PLDNS_REQUIRE_BIND=1 (.ci/run installs bind9).

mod common;

use std::time::{Duration, Instant};

use common::bind::{self, Bind, free_port, key_statement};
use common::xfr::{SECRET, TSIG, WRONG_SECRET, a, hosts, key_file, serial, wait_for};
use common::{Daemon, Files, SERVER};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const BLOB: &str = "privatelink.blob.core.windows.net";
const QUEUE: &str = "privatelink.queue.core.windows.net";

fn named_installed() -> bool {
    bind::tool("named").is_some()
}

/// A zone with records for BIND to pull, from 127.0.0.1 only.
fn primary_zone(name: &str, file: &str, notify_port: u16, key: bool) -> String {
    format!(
        "[[zone]]\nname = \"{name}\"\nrecords = [\"{file}\"]\non_miss = \"nxdomain\"\n\
         transfer_allow = [\"127.0.0.1/32\"]\nnotify = [\"127.0.0.1:{notify_port}\"]\n{}",
        if key { "tsig_key = \"xfr-key\"\n" } else { "" }
    )
}

fn bind_secondary(zone: &str, primary_port: u16, key: Option<&str>) -> String {
    let key = key.map(|k| format!(" key \"{k}\"")).unwrap_or_default();
    format!(
        "zone \"{zone}\" {{ type secondary; primaries {{ 127.0.0.1 port {primary_port}{key}; }}; file \"{zone}.db\"; }};\n"
    )
}

#[test]
fn bind_gets_every_zone_and_an_edit_by_notify_then_ixfr_within_5_s() {
    if !named_installed() {
        return;
    }
    let bport = free_port();
    let files = Files::new(&[
        (
            "blob.hosts",
            "10.0.0.1 acct.privatelink.blob.core.windows.net\n",
        ),
        (
            "queue.hosts",
            "10.0.1.1 acct.privatelink.queue.core.windows.net\n",
        ),
    ]);
    key_file(&files, SECRET);
    files.write(
        "pldns.toml",
        &format!(
            "{SERVER}metrics = \"127.0.0.1:0\"\n{}{}{TSIG}",
            primary_zone(BLOB, "blob.hosts", bport, true),
            // Address only, as a Windows DNS secondary would be.
            primary_zone(QUEUE, "queue.hosts", bport, false),
        ),
    );
    let d = Daemon::start(files);
    let port = d.addr.port();
    let body = format!(
        "{}{}{}",
        key_statement("xfr-key", SECRET),
        bind_secondary(BLOB, port, Some("xfr-key")),
        bind_secondary(QUEUE, port, None),
    );
    let named = Bind::start_on(Some(bport), &body, &[]).unwrap();
    for (zone, ip) in [(BLOB, "10.0.0.1"), (QUEUE, "10.0.1.1")] {
        let name = format!("acct.{zone}");
        wait_for(
            &format!("BIND serves {name}"),
            Duration::from_secs(30),
            || a(named.addr(), &name) == [ip],
        );
        assert_eq!(serial(named.addr(), zone), serial(d.addr, zone), "{zone}");
    }

    // An edit of the records file: reload, NOTIFY (signed), BIND's IXFR.
    let before = serial(d.addr, BLOB).unwrap();
    let edited = Instant::now();
    d.files.write(
        "blob.hosts",
        "10.0.0.1 acct.privatelink.blob.core.windows.net\n10.0.0.2 new.privatelink.blob.core.windows.net\n",
    );
    let name = format!("new.{BLOB}");
    wait_for("BIND serves the new record", Duration::from_secs(5), || {
        a(named.addr(), &name) == ["10.0.0.2"]
    });
    let took = edited.elapsed();
    eprintln!("an edit of pldns's records reached BIND in {took:?}");
    assert!(pldns::xfr::serial::gt(
        serial(d.addr, BLOB).unwrap(),
        before
    ));
    assert!(
        named.wait_log("got incremental response", Duration::from_secs(2)),
        "BIND's log shows the IXFR:\n{}",
        named.lines("transfer of").join("\n")
    );
    assert!(
        named
            .lines("requesting IXFR")
            .iter()
            .any(|l| l.contains(BLOB))
    );
    let m = |s: &str| d.metric(s);
    assert!(
        m(&format!(
            "pldns_xfr_out_total{{zone=\"{BLOB}\",type=\"axfr\",result=\"ok\"}}"
        )) >= 1.0
    );
    assert!(
        m(&format!(
            "pldns_xfr_out_total{{zone=\"{BLOB}\",type=\"ixfr\",result=\"ok\"}}"
        )) >= 1.0
    );
    assert!(
        m(&format!(
            "pldns_xfr_out_total{{zone=\"{QUEUE}\",type=\"axfr\",result=\"ok\"}}"
        )) >= 1.0
    );
    assert!(
        m(&format!(
            "pldns_notify_out_total{{zone=\"{BLOB}\",result=\"acknowledged\"}}"
        )) >= 1.0
    );
}

#[test]
fn bind_without_the_key_or_with_the_wrong_one_gets_nothing() {
    if !named_installed() {
        return;
    }
    let files = Files::new(&[
        (
            "blob.hosts",
            "10.0.0.1 acct.privatelink.blob.core.windows.net\n",
        ),
        (
            "queue.hosts",
            "10.0.1.1 acct.privatelink.queue.core.windows.net\n",
        ),
        (
            "file.hosts",
            "10.0.2.1 acct.privatelink.file.core.windows.net\n",
        ),
    ]);
    key_file(&files, SECRET);
    let nobody = free_port();
    files.write(
        "pldns.toml",
        &format!(
            "{SERVER}{}{}{}{TSIG}",
            primary_zone(BLOB, "blob.hosts", nobody, true),
            primary_zone(QUEUE, "queue.hosts", nobody, true),
            primary_zone(
                "privatelink.file.core.windows.net",
                "file.hosts",
                nobody,
                true
            ),
        ),
    );
    let d = Daemon::start(files);
    let port = d.addr.port();
    // One zone with the right key (the control), one unsigned, one with a
    // key pldns does not know.
    let body = format!(
        "{}{}key \"bad-key\" {{ algorithm hmac-sha256; secret \"{WRONG_SECRET}\"; }};\n{}{}",
        key_statement("xfr-key", SECRET),
        bind_secondary(BLOB, port, Some("xfr-key")),
        bind_secondary(QUEUE, port, None),
        bind_secondary("privatelink.file.core.windows.net", port, Some("bad-key")),
    );
    let named = Bind::start(&body, &[]).unwrap();
    wait_for("the zone with the key", Duration::from_secs(30), || {
        a(named.addr(), &format!("acct.{BLOB}")) == ["10.0.0.1"]
    });
    // The others were asked as early: the unsigned AXFR refused, the SOA
    // query under an unknown key answered with a TSIG error (BADKEY).
    let refused = format!(
        "transfer of '{QUEUE}/IN' from 127.0.0.1#{port}: failed while receiving responses: REFUSED"
    );
    assert!(named.wait_log(&refused, Duration::from_secs(10)));
    assert!(d.wait_log(
        "not signed with the zone's tsig_key",
        Duration::from_secs(1)
    ));
    let bad = "zone privatelink.file.core.windows.net/IN: refresh: failure trying primary";
    assert!(named.wait_log(bad, Duration::from_secs(10)));
    assert!(named.lines(bad)[0].contains("tsig indicates error"));
    for zone in [QUEUE, "privatelink.file.core.windows.net"] {
        let m = common::xfr::answer(named.addr(), &format!("acct.{zone}"), RecordType::A);
        assert_eq!(
            m.map(|m| m.metadata.response_code),
            Some(ResponseCode::ServFail),
            "{zone}: BIND has no copy"
        );
    }
    // Unsigned by hand: refused too.
    let req = common::xfr::transfer_request(QUEUE, None);
    let answer = common::xfr::transfer_from("127.0.0.1", d.addr, &req);
    assert_eq!(answer[0].metadata.response_code, ResponseCode::Refused);
}

/// BIND holds `bz.test` (TSIG required for transfers) and `open.test`
/// (short SOA timers); pldns is their secondary.
#[test]
fn pldns_is_a_secondary_of_bind_follows_its_notify_and_expires_its_copy() {
    let (Some(nsupdate), true) = (bind::tool("nsupdate"), named_installed()) else {
        return;
    };
    let sport = free_port();
    let zone_file = "$TTL 300\n@ IN SOA ns.bz.test. admin.bz.test. 1 3600 600 86400 60\n@ IN NS ns.bz.test.\nns IN A 10.0.0.53\nacct IN A 10.0.0.1\nalias IN CNAME acct\ntxt IN TXT \"kept, not answered\"\n";
    // Refresh and retry 5 s, expire 8 s: what the expiry needs, quickly.
    let open_file = "$TTL 60\n@ IN SOA ns.open.test. admin.open.test. 7 5 5 8 60\n@ IN NS ns.open.test.\nns IN A 10.0.0.53\nhost IN A 10.0.9.9\n";
    let body = format!(
        "{}zone \"bz.test\" {{ type primary; file \"bz.db\"; allow-transfer {{ key \"xfr-key\"; }}; allow-update {{ key \"xfr-key\"; }}; notify explicit; notify-delay 0; also-notify {{ 127.0.0.1 port {sport} key \"xfr-key\"; }}; }};\n\
         zone \"open.test\" {{ type primary; file \"open.db\"; allow-transfer {{ any; }}; }};\n\
         zone \"nokey.test\" {{ type primary; file \"nokey.db\"; allow-transfer {{ key \"xfr-key\"; }}; }};\n",
        key_statement("xfr-key", SECRET)
    );
    let files = [
        ("bz.db", zone_file),
        ("open.db", open_file),
        ("nokey.db", zone_file),
    ];
    let named = Bind::start(&body, &files).unwrap();
    let files = Files::new(&[]);
    key_file(&files, SECRET);
    let p = named.addr();
    files.write(
        "pldns.toml",
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{sport}\"]\nallow = [\"127.0.0.0/8\"]\nmetrics = \"127.0.0.1:0\"\n\
             [[zone]]\nname = \"bz.test\"\nprimaries = [\"{p}\"]\ntsig_key = \"xfr-key\"\n\
             [[zone]]\nname = \"open.test\"\nprimaries = [\"{p}\"]\n\
             [[zone]]\nname = \"nokey.test\"\nprimaries = [\"{p}\"]\n{TSIG}"
        ),
    );
    let d = Daemon::start(files);
    wait_for("pldns pulls bz.test", Duration::from_secs(10), || {
        a(d.addr, "alias.bz.test") == ["10.0.0.1"]
    });
    assert_eq!(serial(d.addr, "bz.test"), Some(1), "the primary's serial");
    // Without the key BIND refuses: pldns has no copy, and says so.
    wait_for("the unsigned pull fails", Duration::from_secs(10), || {
        d.metric("pldns_secondary_refresh_total{zone=\"nokey.test\",result=\"failed\"}") >= 1.0
    });
    let m = common::xfr::answer(d.addr, "acct.nokey.test", RecordType::A).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);

    // A dynamic update on BIND: NOTIFY (signed) to pldns, then IXFR.
    let script = format!(
        "server 127.0.0.1 {}\nzone bz.test\nupdate add new.bz.test 60 A 192.0.2.9\nsend\n",
        named.port
    );
    let updated = Instant::now();
    assert!(bind::nsupdate(&nsupdate, "xfr-key", SECRET, &script));
    wait_for("pldns serves BIND's update", Duration::from_secs(5), || {
        a(d.addr, "new.bz.test") == ["192.0.2.9"]
    });
    eprintln!(
        "BIND's update served by pldns {:?} later",
        updated.elapsed()
    );
    assert!(d.wait_log("IXFR of bz.test", Duration::from_secs(1)));
    assert!(d.metric("pldns_notify_in_total{zone=\"bz.test\",result=\"accepted\"}") >= 1.0);
    assert_eq!(d.metric("pldns_secondary_serial{zone=\"bz.test\"}"), 2.0);

    // BIND goes away: open.test (expire 8 s) is served until it expires,
    // then SERVFAIL; bz.test (a day) is still served.
    assert_eq!(a(d.addr, "host.open.test"), ["10.0.9.9"]);
    drop(named);
    let gone = Instant::now();
    wait_for("open.test expires", Duration::from_secs(30), || {
        common::xfr::answer(d.addr, "host.open.test", RecordType::A)
            .is_some_and(|m| m.metadata.response_code == ResponseCode::ServFail)
    });
    assert!(
        gone.elapsed() >= Duration::from_secs(3),
        "not before its expire"
    );
    assert_eq!(a(d.addr, "acct.bz.test"), ["10.0.0.1"]);
    assert_eq!(
        d.metric("pldns_secondary_expires_in_seconds{zone=\"open.test\"}"),
        0.0
    );
}

#[test]
fn a_100k_record_zone_goes_to_bind_in_many_messages() {
    if !named_installed() {
        return;
    }
    const COUNT: usize = 100_000;
    let files = Files::new(&[("big.hosts", &hosts(BLOB, COUNT))]);
    let nobody = free_port();
    files.write(
        "pldns.toml",
        &format!("{SERVER}{}", primary_zone(BLOB, "big.hosts", nobody, false)),
    );
    let d = Daemon::start(files);
    let named = Bind::start(&bind_secondary(BLOB, d.addr.port(), None), &[]).unwrap();
    let last = format!("h{}.{BLOB}", COUNT - 1);
    wait_for(
        "BIND serves the last record",
        Duration::from_secs(60),
        || !a(named.addr(), &last).is_empty(),
    );
    assert!(named.wait_log("Transfer completed", Duration::from_secs(5)));
    let line = named.lines("Transfer completed").remove(0);
    eprintln!("{line}");
    // "Transfer completed: 230 messages, 100003 records, 2300000 bytes, 0.5 secs"
    let field = |after: &str| -> f64 {
        let at = line.find(after).unwrap();
        let head = line[..at].trim_end();
        head.rsplit([' ', ':']).next().unwrap().parse().unwrap()
    };
    let (messages, records) = (field(" messages"), field(" records"));
    assert_eq!(records as usize, COUNT + 3, "SOA, NS, the records, SOA");
    assert!(messages > 100.0, "about 16 KB each: {messages}");
}
