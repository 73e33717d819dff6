//! The DNS behaviour of zones with records (contract items 1-3), over real
//! sockets against the real binary.

mod common;

use std::time::Duration;

use common::table::*;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

#[test]
fn every_record_format_answers_authoritatively() {
    let d = daemon();
    // hosts (portal "Generate hostfile" line, public name mapped in)
    let m = d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.metadata.recursion_available);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
    assert_eq!(m.answers[0].ttl, 120, "zone ttl");
    // TOML, record ttl
    let m = d.query("dual.privatelink.blob.core.windows.net", RecordType::AAAA);
    assert_eq!(addresses(&m), ["fd00::7"]);
    assert_eq!(m.answers[0].ttl, 30);
    // az JSON: public name mapped, and several IPs for one name
    let m = d.query(
        "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(addresses(&m), ["10.0.1.4"]);
    let mut ips = addresses(&d.query(
        "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
    ));
    ips.sort();
    assert_eq!(ips, ["10.0.1.5", "10.0.1.6"]);
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn names_are_case_insensitive_and_the_question_is_echoed() {
    let d = daemon();
    let m = d.query("AcCt.PrivateLink.BLOB.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
    assert_eq!(
        m.queries[0].name.to_ascii(),
        "AcCt.PrivateLink.BLOB.core.windows.net."
    );
}

#[test]
fn cname_chains_are_followed_through_the_table() {
    let d = daemon();
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(
        answers(&m),
        vec![
            (
                "alias.privatelink.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "dual.privatelink.blob.core.windows.net.".into()
            ),
            (
                "dual.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.7".into()
            ),
        ]
    );
    assert!(m.metadata.authoritative);
    // Across zones, through a public name that maps into the queue zone.
    let m = d.query("cross.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(answers(&m).len(), 3, "{m:?}");
    assert_eq!(addresses(&m), ["10.0.0.6"]);
    // Asking for the CNAME itself does not follow it.
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::CNAME);
    assert_eq!(answers(&m).len(), 1);
    // A loop is cut: SERVFAIL, not a hang.
    let m = d.query("loop1.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // A chain into a missing name of an nxdomain zone: the chain, then NXDOMAIN.
    let m = d.query("dangling.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(answers(&m).len(), 1);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.queue.core.windows.net."
    );
}

#[test]
fn nodata_empty_non_terminal_and_nxdomain_carry_the_soa() {
    let d = daemon();
    // NODATA: name exists, no AAAA.
    let m = d.query("acct.privatelink.blob.core.windows.net", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.blob.core.windows.net."
    );
    // Empty non-terminals (RFC 8020): NODATA, not NXDOMAIN.
    for ent in [
        "a.b.privatelink.blob.core.windows.net",
        "b.privatelink.blob.core.windows.net",
    ] {
        let m = d.query(ent, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{ent}");
        assert!(m.answers.is_empty());
        assert_eq!(m.authorities.len(), 1);
    }
    // A missing name with on_miss = "nxdomain".
    let m = d.query("missing.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].ttl, 120);
}

#[test]
fn apex_answers_soa_and_ns() {
    let d = daemon();
    let soa = d.query("privatelink.blob.core.windows.net", RecordType::SOA);
    assert_eq!(soa.answers.len(), 1);
    assert!(soa.metadata.authoritative);
    let RData::SOA(s) = &soa.answers[0].data else {
        panic!()
    };
    assert!(
        s.serial > 1_700_000_000,
        "serial is a timestamp: {}",
        s.serial
    );
    let ns = d.query("privatelink.blob.core.windows.net", RecordType::NS);
    assert_eq!(ns.answers[0].record_type(), RecordType::NS);
    let a = d.query("privatelink.blob.core.windows.net", RecordType::A);
    assert!(a.answers.is_empty());
    assert_eq!(soa_serial(&a), s.serial);
}

#[test]
fn any_gets_one_rrset() {
    let d = daemon();
    let m = d.query("dual.privatelink.blob.core.windows.net", RecordType::ANY);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types: Vec<_> = m.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, [RecordType::A], "RFC 8482: a subset, not everything");
}

#[test]
fn public_name_is_answered_from_the_table_without_upstream() {
    let d = daemon();
    let m = d.query("acct.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(
        !m.metadata.authoritative,
        "we are not authoritative for the public name"
    );
    assert_eq!(
        answers(&m),
        vec![
            (
                "acct.blob.core.windows.net.".into(),
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
    let m = d.query(
        "vault-ab-pod01-fab1.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(addresses(&m), ["10.0.1.4"]);
}

#[test]
fn names_to_forward_get_servfail_when_no_forwarder_is_configured() {
    let d = daemon();
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // A public name whose twin the table lacks is forwarded too.
    let m = d.query("other.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn sighup_reloads_records() {
    let d = daemon();
    let serial = soa_serial(&d.query("missing.privatelink.blob.core.windows.net", RecordType::A));
    d.files
        .write("rec/new.hosts", "10.0.0.77 fresh.blob.core.windows.net\n");
    // Serials are seconds; make sure the clock has moved on.
    std::thread::sleep(Duration::from_millis(1100));
    d.signal("HUP");
    assert!(
        d.wait_log("reload applied", Duration::from_secs(5)),
        "{:?}",
        d.log()
    );
    let m = d.query("fresh.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.77"]);
    let after = soa_serial(&d.query("missing.privatelink.blob.core.windows.net", RecordType::A));
    assert!(
        after > serial,
        "serial moves with the data: {serial} -> {after}"
    );
    // A broken edit keeps the previous table.
    d.files.write(
        "rec/new.hosts",
        "10.0.0.78 other.blob.core.windows.net\nnot-an-ip x\n",
    );
    d.signal("HUP");
    assert!(
        d.wait_log("new.hosts:2: invalid IP address", Duration::from_secs(5)),
        "{:?}",
        d.log()
    );
    assert_eq!(
        addresses(&d.query("fresh.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.77"]
    );
    let m = d.query("other.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NXDomain,
        "no partial apply"
    );
}
