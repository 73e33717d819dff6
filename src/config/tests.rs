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
            &["c.toml:2: max_batch_delay_us must be between 0 and 2000"],
        ),
        (
            "[server]\nudp_workers = 0\n",
            &["c.toml:2: udp_workers must be between 1 and 1024"],
        ),
        (
            "[server]\nbusy_poll_us = 5000\n",
            &["c.toml:2: busy_poll_us must be between 0 and 1000"],
        ),
        ("[server\n", &["c.toml:1: "]),
        // Query-path limits (config/limits.rs).
        (
            "[cache]\nmin_ttl = 100000\n",
            &["c.toml:2: min_ttl must be between 0 and 86400"],
        ),
        (
            "[cache]\nmin_ttl = 86400\nmax_ttl = 3600\n",
            &["c.toml:3: max_ttl is below min_ttl"],
        ),
        (
            "[cache]\nsize = 100000000000\n",
            &["c.toml:2: size must be between 0 and 10000000"],
        ),
        (
            "[cache]\nmax_ttl = 0\n",
            &["c.toml:2: max_ttl must be between 1 and 604800"],
        ),
        (
            "[cache]\nmax_negative_ttl = 90000\n",
            &["c.toml:2: max_negative_ttl must be between 0 and 86400"],
        ),
        (
            "[cache]\nserve_stale_s = 700000\n",
            &["c.toml:2: serve_stale_s must be between 0 and 604800"],
        ),
        (
            "[cache]\nserve_stale_s = -1\n",
            &["c.toml:2: invalid value"],
        ),
        (
            "[server]\nedns_udp_size = 100\n",
            &["c.toml:2: edns_udp_size must be between 512 and 4096"],
        ),
        (
            "[server]\nedns_udp_size = 65000\n",
            &["c.toml:2: edns_udp_size must be between 512 and 4096"],
        ),
        (
            "[upstream]\ntimeout_ms = 2000\nquery_timeout_ms = 1000\n",
            &["c.toml:3: query_timeout_ms (1000) is below timeout_ms (2000)"],
        ),
        (
            "[upstream]\nquery_timeout_ms = 500000\n",
            &["c.toml:2: query_timeout_ms must be between 10 and 120000"],
        ),
        (
            "[rrl]\nresponses_per_second = 5000\n",
            &["c.toml:2: responses_per_second must be between 0 and 1000"],
        ),
        (
            "[rrl]\nresponses_per_second = 5\nwindow = 0\nslip = 11\n",
            &[
                "c.toml:3: window must be between 1 and 3600",
                "c.toml:4: slip must be between 0 and 10",
            ],
        ),
        (
            "[rrl]\nipv4_prefix_length = 33\nipv6_prefix_length = 8\n",
            &[
                "c.toml:2: ipv4_prefix_length must be between 8 and 32",
                "c.toml:3: ipv6_prefix_length must be between 16 and 128",
            ],
        ),
        (
            "[rrl]\nmax_table_size = 0\n",
            &["c.toml:2: max_table_size must be between 1 and 1000000"],
        ),
        (
            "[rrl]\nexempt = [\"10.0.0.1/8\"]\n",
            &["c.toml:2: invalid exempt entry \"10.0.0.1/8\": host bits set"],
        ),
        ("[rrl]\nburst = 3\n", &["c.toml:2: unknown field `burst`"]),
        (
            "[server]\ntcp_idle_timeout_ms = 50\ntcp_max_connections = 0\n",
            &[
                "c.toml:2: tcp_idle_timeout_ms must be between 200 and 300000",
                "c.toml:3: tcp_max_connections must be between 1 and 65536",
            ],
        ),
        (
            "[server]\ntcp_max_connections = 10\ntcp_max_connections_per_client = 20\n",
            &["c.toml:3: tcp_max_connections_per_client (20) is above tcp_max_connections (10)"],
        ),
        (
            "[[azure]]\ncloud = \"public\"\nregions = [\"eastus\"]\nforwarders = [\"127.0.0.1\"]\nttl = 9999999\n",
            &["c.toml:5: ttl must be at most 604800"],
        ),
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

#[test]
fn query_path_limits_default_and_parse() {
    let c = parse(Path::new("c.toml"), "").unwrap();
    assert_eq!(c.query_timeout, Duration::from_millis(3000), "two tries");
    assert_eq!(c.cache.serve_stale, 86_400);
    assert_eq!(c.rrl, RrlConfig::default());
    assert!(!c.rrl.enabled());

    let c = parse(
        Path::new("c.toml"),
        r#"
[upstream]
timeout_ms = 400
[cache]
min_ttl = 30
max_ttl = 600
serve_stale_s = 0
[rrl]
responses_per_second = 10
errors_per_second = 2
window = 5
slip = 3
ipv6_prefix_length = 64
exempt = ["192.0.2.0/24", "::1"]
"#,
    )
    .unwrap();
    assert_eq!(c.timeout, Duration::from_millis(400));
    assert_eq!(c.query_timeout, Duration::from_millis(800));
    assert_eq!(
        (c.cache.min_ttl, c.cache.max_ttl, c.cache.serve_stale),
        (30, 600, 0)
    );
    let r = &c.rrl;
    assert!(r.enabled());
    // BIND: nodata and nxdomains default to responses_per_second.
    assert_eq!(
        (
            r.responses_per_second,
            r.nodata_per_second,
            r.nxdomains_per_second
        ),
        (10, 10, 10)
    );
    assert_eq!((r.errors_per_second, r.all_per_second), (2, 0));
    assert_eq!((r.window, r.slip), (5, 3));
    assert_eq!((r.ipv4_prefix_length, r.ipv6_prefix_length), (24, 64));
    assert_eq!(r.exempt.len(), 2);
}

#[test]
fn tcp_limits_default_and_parse() {
    let c = parse(Path::new("c.toml"), "").unwrap();
    assert_eq!(c.tcp, crate::config::TcpConfig::default());
    assert_eq!(
        (
            c.tcp.idle_timeout,
            c.tcp.max_connections,
            c.tcp.max_per_client
        ),
        (Duration::from_secs(10), 1024, 64)
    );
    let c = parse(
        Path::new("c.toml"),
        "[server]\ntcp_idle_timeout_ms = 1500\ntcp_max_connections = 16\n",
    )
    .unwrap();
    // A small overall cap lowers the per-client default with it.
    assert_eq!(
        (
            c.tcp.idle_timeout,
            c.tcp.max_connections,
            c.tcp.max_per_client
        ),
        (Duration::from_millis(1500), 16, 16)
    );
}

#[test]
fn state_dir_is_relative_to_the_config_file() {
    let c = parse(
        Path::new("/srv/demo/config/demo.toml"),
        "[server]\nstate_dir = \"../target/demo-state\"\n",
    )
    .unwrap();
    assert_eq!(
        c.state_dir.as_deref(),
        Some(Path::new("/srv/demo/config/../target/demo-state"))
    );
    let c = parse(Path::new("/etc/pldns/pldns.toml"), "").unwrap();
    assert_eq!(c.state_dir, None);
    let c = parse(
        Path::new("/etc/pldns/pldns.toml"),
        "[server]\nstate_dir = \"/srv/pldns\"\n",
    )
    .unwrap();
    assert_eq!(c.state_dir.as_deref(), Some(Path::new("/srv/pldns")));
    assert_eq!(
        errors("[server]\nstate_dir = \"\"\n"),
        ["c.toml:2: state_dir is empty"]
    );
}
