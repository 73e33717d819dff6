//! The exposition of zone transfer's counters ([`crate::xfr::stats`]), for
//! the zones of the config in service: transfers out, NOTIFY out and in,
//! and each secondary zone's refreshes, serial and time left before its
//! copy expires.

use std::fmt::Write;

use crate::state::State;
use crate::xfr::notify::unix_now;
use crate::xfr::stats::{Refresh, ZoneReport};

fn head(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends the zone-transfer series to `s`.
pub fn render(state: &State, s: &mut String) {
    let snap = state.snapshot();
    let reports: Vec<ZoneReport> = state
        .xfr
        .stats
        .zones(unix_now())
        .into_iter()
        .filter(|r| snap.config.zones.iter().any(|z| z.name == r.zone))
        .collect();
    let secondary = |r: &ZoneReport| {
        snap.config
            .zones
            .iter()
            .any(|z| z.name == r.zone && z.is_secondary())
    };

    head(
        s,
        "pldns_xfr_out_total",
        "counter",
        "Zone transfers served, by zone, type and result (ok, refused, failed, notauth).",
    );
    for r in &reports {
        for (kind, result, n) in &r.transfers_out {
            let _ = writeln!(
                s,
                "pldns_xfr_out_total{{zone=\"{}\",type=\"{}\",result=\"{}\"}} {n}",
                r.zone,
                kind.label(),
                result.label()
            );
        }
    }
    head(
        s,
        "pldns_xfr_out_messages_total",
        "counter",
        "Messages of the zone transfers served, by zone.",
    );
    for r in &reports {
        let _ = writeln!(
            s,
            "pldns_xfr_out_messages_total{{zone=\"{}\"}} {}",
            r.zone, r.out_messages
        );
    }
    head(
        s,
        "pldns_xfr_out_bytes_total",
        "counter",
        "Bytes of the zone transfers served, by zone.",
    );
    for r in &reports {
        let _ = writeln!(
            s,
            "pldns_xfr_out_bytes_total{{zone=\"{}\"}} {}",
            r.zone, r.out_bytes
        );
    }
    head(
        s,
        "pldns_notify_out_total",
        "counter",
        "NOTIFY sent to secondaries, by zone and result (sent, acknowledged, given_up).",
    );
    for r in &reports {
        for (what, n) in [
            ("sent", r.notify_sent),
            ("acknowledged", r.notify_acknowledged),
            ("given_up", r.notify_given_up),
        ] {
            let _ = writeln!(
                s,
                "pldns_notify_out_total{{zone=\"{}\",result=\"{what}\"}} {n}",
                r.zone
            );
        }
    }
    head(
        s,
        "pldns_notify_in_total",
        "counter",
        "NOTIFY received for secondary zones, by zone and result (accepted from a listed primary, refused).",
    );
    for r in reports.iter().filter(|r| secondary(r)) {
        for (what, n) in [
            ("accepted", r.notify_in_accepted),
            ("refused", r.notify_in_refused),
        ] {
            let _ = writeln!(
                s,
                "pldns_notify_in_total{{zone=\"{}\",result=\"{what}\"}} {n}",
                r.zone
            );
        }
    }
    head(
        s,
        "pldns_secondary_refresh_total",
        "counter",
        "Refreshes of secondary zones, by zone and result (transferred, current, failed).",
    );
    for r in reports.iter().filter(|r| secondary(r)) {
        for result in Refresh::ALL {
            let n = r
                .refreshes
                .iter()
                .find(|(x, _)| *x == result)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(
                s,
                "pldns_secondary_refresh_total{{zone=\"{}\",result=\"{}\"}} {n}",
                r.zone,
                result.label()
            );
        }
    }
    let copies: Vec<_> = reports
        .iter()
        .filter(|r| secondary(r))
        .filter_map(|r| Some((&r.zone, r.secondary.as_ref()?)))
        .collect();
    head(
        s,
        "pldns_secondary_serial",
        "gauge",
        "The serial of the copy a secondary zone serves.",
    );
    for (zone, sec) in &copies {
        let _ = writeln!(
            s,
            "pldns_secondary_serial{{zone=\"{zone}\"}} {}",
            sec.serial
        );
    }
    head(
        s,
        "pldns_secondary_expires_in_seconds",
        "gauge",
        "Seconds until a secondary zone's copy expires without a refresh (0: expired, the zone answers SERVFAIL).",
    );
    for (zone, sec) in &copies {
        let _ = writeln!(
            s,
            "pldns_secondary_expires_in_seconds{{zone=\"{zone}\"}} {}",
            sec.expires_in_s
        );
    }
}
