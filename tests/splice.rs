//! Private Link splicing (contract item 5): public names answered from
//! their privatelink twin, forwarded chains cut where they enter a zone with
//! records and completed from the table, and what `on_miss` does there.

mod common;

use std::time::{Duration, Instant};

use common::azure::*;
use common::upstream::*;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn public_name_with_twin_in_table_never_waits_for_upstream() {
    let up = Upstream::start(|_| Reply::Silent);
    let d = start(&up, &privatelink_zones("forward", ""), 1000);
    for (name, ip) in [
        ("acct.blob.core.windows.net", "10.0.0.5"),
        ("acct.queue.core.windows.net", "10.0.0.6"),
        (
            "vault-ab-pod01-fab1.eus.backup.windowsazure.com",
            "10.0.0.8",
        ),
    ] {
        let t = Instant::now();
        let m = d.query(name, RecordType::A);
        assert_eq!(m.answers[0].record_type(), RecordType::CNAME, "{name}");
        assert_eq!(addresses(&m), [ip], "{name}");
        assert!(t.elapsed() < Duration::from_millis(200));
    }
    assert_eq!(up.queries(), 0);
}

#[test]
fn forwarded_chain_is_spliced_into_the_table() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 1000);
    // A custom name whose public chain runs through a storage account.
    let m = d.query("backup.contoso.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        vec![
            (
                "backup.contoso.com.".into(),
                RecordType::CNAME,
                "vaultacct.blob.core.windows.net.".into()
            ),
            (
                "vaultacct.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "vaultacct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "vaultacct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.7".into()
            ),
        ]
    );
    assert!(!addresses(&m).contains(&PUBLIC_IP.to_string()));
    // Cached, and still spliced when served from the cache.
    let again = d.query("backup.contoso.com", RecordType::A);
    assert_eq!(addresses(&again), ["10.0.0.7"]);
    assert_eq!(up.queries(), 1);
}

#[test]
fn splice_miss_with_nxdomain_gives_the_chain_and_nxdomain() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 1000);
    for svc in ["blob", "queue"] {
        let m = d.query(&format!("newacct.{svc}.core.windows.net"), RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{svc}");
        assert_eq!(answers(&m).len(), 1, "{svc}: the chain up to the zone");
        assert_eq!(
            m.authorities[0].name.to_ascii(),
            format!("privatelink.{svc}.core.windows.net.")
        );
        assert!(!addresses(&m).contains(&PUBLIC_IP.to_string()));
    }
    // Backup: a chain into the backup zone is cut and completed, or ends in
    // NXDOMAIN where the table lacks the name.
    assert_eq!(
        addresses(&d.query("vault.contoso.com", RecordType::A)),
        ["10.0.0.8"]
    );
    let m = d.query("oldvault.contoso.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(answers(&m).len(), 1);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.eus.backup.windowsazure.com."
    );
    // A backup name the table lacks: public DNS says NXDOMAIN, relayed.
    let m = d.query(
        "vault-ab-pod01-rec2.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn splice_miss_with_forward_asks_the_zones_forwarders() {
    let public = Upstream::start(public_dns);
    let azure = Upstream::start(|q| match question(q).0.as_str() {
        "newacct.privatelink.blob.core.windows.net." => Reply::ok(vec![a(
            "newacct.privatelink.blob.core.windows.net.",
            "10.9.9.9",
            10,
        )]),
        _ => Reply::nxdomain("privatelink.blob.core.windows.net.", 10),
    });
    let zones = privatelink_zones("forward", &format!("forwarders = [\"{}\"]", azure.addr));
    let d = start(&public, &zones, 1000);
    let m = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(
        answers(&m),
        vec![
            (
                "newacct.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "newacct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "newacct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.9.9.9".into()
            ),
        ]
    );
    assert_eq!(
        azure.names(),
        ["newacct.privatelink.blob.core.windows.net."]
    );
    // Upstream data for a name inside a zone with records is not cached.
    d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(azure.queries(), 2);
    // A name inside the zone that the table lacks goes straight to the zone's forwarders.
    let m = d.query("other.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(azure.queries(), 3);
}

#[test]
fn splice_of_a_type_the_table_lacks_gives_nodata() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 0);
    let m = d.query("backup.contoso.com", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answers(&m).len(), 2, "the chain, nothing beyond it");
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn local_cname_pointing_outside_is_completed_by_forwarding() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 0);
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::A);
    assert!(m.metadata.authoritative);
    assert_eq!(
        answers(&m),
        vec![
            (
                "alias.privatelink.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "www.example.com.".into()
            ),
            (
                "www.example.com.".into(),
                RecordType::A,
                "93.184.216.34".into()
            ),
        ]
    );
}

#[test]
fn a_cname_query_gets_the_cname_and_not_the_chain_behind_it() {
    // Upstream answers a CNAME query as resolvers do: the CNAME alone.
    let up = Upstream::start(|q| {
        let (n, t) = question(q);
        if t != RecordType::CNAME {
            return public_dns(q);
        }
        let acct = n.split('.').next().unwrap_or_default();
        Reply::ok(vec![cname(
            &n,
            &format!("{acct}.privatelink.blob.core.windows.net."),
            60,
        )])
    });
    let config = with_metrics(&config(
        &format!("\"{}\"", up.addr),
        &privatelink_zones("nxdomain", ""),
        1000,
    ));
    let d = start_with(&config);
    let missing = "pldns_missing_records_total{zone=\"privatelink.blob.core.windows.net\"}";

    // Spliced path: the table lacks the target, which does not matter.
    let m = d.query("newacct.blob.core.windows.net", RecordType::CNAME);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        vec![(
            "newacct.blob.core.windows.net.".into(),
            RecordType::CNAME,
            "newacct.privatelink.blob.core.windows.net.".into()
        )]
    );
    assert_eq!(d.metric(missing), 0.0, "a CNAME query is no missing record");
    assert_eq!(up.queries(), 1);

    // Twin path: the table has the target; the answer is the CNAME alone.
    let m = d.query("acct.blob.core.windows.net", RecordType::CNAME);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        vec![(
            "acct.blob.core.windows.net.".into(),
            RecordType::CNAME,
            "acct.privatelink.blob.core.windows.net.".into()
        )]
    );
    assert!(m.authorities.is_empty(), "no NODATA for the target");

    // A table CNAME pointing outside: the CNAME, nothing forwarded.
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::CNAME);
    assert!(m.metadata.authoritative);
    assert_eq!(answers(&m).len(), 1);
    assert_eq!(up.queries(), 1);
    assert_eq!(d.metric(missing), 0.0);
}

#[test]
fn a_forwarded_miss_never_shadows_a_name_the_table_has() {
    // Found by the fuzz corpus (fuzz/regressions/query/shadow-of-a-table-name, a
    // real BIND answer): a name the table lacks is forwarded, and upstream
    // chains it to a name the table has, with public data for that name.
    let azure = Upstream::start(|q| {
        Reply::ok(vec![
            cname(
                &question(q).0,
                "acct.privatelink.blob.core.windows.net.",
                60,
            ),
            cname(
                "acct.privatelink.blob.core.windows.net.",
                "blob.bl5prdstr09a.store.core.windows.net.",
                60,
            ),
            a("blob.bl5prdstr09a.store.core.windows.net.", PUBLIC_IP, 60),
            a("acct.privatelink.blob.core.windows.net.", PUBLIC_IP, 60),
        ])
    });
    let zones = privatelink_zones("forward", &format!("forwarders = [\"{}\"]", azure.addr));
    let d = start(&azure, &zones, 1000);
    let m = d.query("shadow.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        vec![
            (
                "shadow.privatelink.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "acct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "acct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.5".into()
            ),
        ]
    );
}
