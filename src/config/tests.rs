use super::*;

fn errors(text: &str) -> Vec<String> {
    match parse(Path::new("c.toml"), text) {
        Ok(_) => vec![],
        Err(d) => d.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn defaults() {
    let c = parse(
        Path::new("/etc/pldns/pldns.toml"),
        "[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"records.d/\"]\non_miss = \"nxdomain\"\n",
    )
    .unwrap();
    assert_eq!(c.listen.len(), 2);
    assert_eq!(c.allow, default_allow());
    assert_eq!(c.timeout, Duration::from_millis(1500));
    assert_eq!(c.cache.size, 100_000);
    assert_eq!(c.edns_udp_size, 1232);
    let z = &c.zones[0];
    assert_eq!(z.ttl, 300);
    assert_eq!(z.on_miss, OnMiss::Nxdomain);
    assert_eq!(
        z.records.as_ref().unwrap()[0],
        Path::new("/etc/pldns/records.d/")
    );
}

#[test]
fn zone_forwarders_default_to_upstream() {
    let c = parse(
        Path::new("c.toml"),
        r#"
[upstream]
servers = ["192.0.2.53", "[2001:db8::53]:5353"]
[[zone]]
name = "corp.example"
[[zone]]
name = "privatelink.blob.core.windows.net"
records = []
forwarders = ["127.0.0.1:5300"]
"#,
    )
    .unwrap();
    assert_eq!(c.zones[0].forwarders, c.upstream);
    assert!(c.zones[0].forwarders_inherited);
    assert_eq!(
        c.zones[1].forwarders,
        vec!["127.0.0.1:5300".parse().unwrap()]
    );
    assert!(c.zones[0].records.is_none());
}

#[test]
fn errors_carry_file_and_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[server]\nlisten = [\"127.0.0.1:5353\"]\nport = 53\n",
            &["c.toml:3: unknown field `port`"],
        ),
        (
            "[server]\nlisten = [\"localhost:53\"]\n",
            &["c.toml:2: invalid listen address \"localhost:53\""],
        ),
        (
            "[server]\nallow = [\"10.0.0.0/33\"]\n",
            &["c.toml:2: invalid allow entry \"10.0.0.0/33\""],
        ),
        (
            "[upstream]\nservers = [\"1.2.3\"]\n",
            &["c.toml:2: invalid upstream server \"1.2.3\""],
        ),
        (
            "[upstream]\nservers = [\"127.0.0.1\"]\ntimeout_ms = 0\n",
            &["c.toml:3: timeout_ms must be between"],
        ),
        (
            "[[zone]]\nname = \"a..b\"\nforwarders = [\"127.0.0.1\"]\n",
            &["c.toml:2: invalid zone name: empty label"],
        ),
        (
            "[[zone]]\nname = \"x.test\"\nforwarders = [\"127.0.0.1\"]\n\n[[zone]]\nname = \"X.test.\"\nforwarders = [\"127.0.0.1\"]\n",
            &["c.toml:6: zone x.test is already defined at line 2"],
        ),
        (
            "[[zone]]\nname = \"x.test\"\n",
            &["c.toml:2: zone x.test: a zone without records needs forwarders"],
        ),
        (
            "[[zone]]\nname = \"x.test\"\nrecords = []\n",
            &["c.toml:2: zone x.test: on_miss = \"forward\" needs forwarders"],
        ),
        (
            "[[zone]]\nname = \"x.test\"\nrecords = []\non_miss = \"drop\"\n",
            &["c.toml:4: unknown variant `drop`"],
        ),
        (
            "[[zone]]\nname = \"x.test\"\nforwarders = [\"127.0.0.1\"]\nttl = 5\n",
            &["c.toml:4: ttl applies only to a zone with records"],
        ),
        ("[cache]\nsize = -1\n", &["c.toml:2: invalid value"]),
        (
            "[server]\nmax_batch_delay_us = 5000\n",
            &["c.toml:2: max_batch_delay_us must be at most 2000"],
        ),
        ("[server\n", &["c.toml:1: "]),
        (
            "[server]\nlisten = [\"nope\"]\n[upstream]\nservers = [\"nope\"]\n",
            &[
                "c.toml:2: invalid listen address",
                "c.toml:4: invalid upstream server",
            ],
        ),
    ];
    for (text, want) in cases {
        let got = errors(text);
        assert_eq!(got.len(), want.len(), "{text:?}: {got:?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(g.starts_with(w), "{text:?}: got {g:?}, want {w:?}");
        }
    }
}

#[test]
fn missing_file_reads_file_colon_reason() {
    let err = load(Path::new("/nonexistent/pldns.toml")).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/pldns.toml: "),
        "{err}"
    );
}
