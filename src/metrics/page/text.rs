//! The status page as terminal text, for `pldns status` and `pldns
//! missing` (which read the daemon's `/status.json`). Names from clients
//! are printed with control characters replaced, so a hostile name cannot
//! drive the terminal.

use std::fmt::Write;

use super::time::{ago, span, utc};
use super::words::{forwarder_state, last_reload, loaded, replication, source_state, sync_state};
use super::{MissingZone, StatusPage, count};

/// `text` without control characters (terminal escapes).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Everything, in the page's order.
pub fn status(p: &StatusPage) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "pldns {} on {}: up {} (since {}), config {}",
        clean(&p.version),
        clean(&p.host),
        span(p.uptime_s),
        utc(p.started),
        clean(&p.config)
    );
    for line in p.health.lines() {
        let _ = writeln!(t, "health: {}", clean(line));
    }
    if !p.reload.errors.is_empty() {
        let _ = writeln!(t, "\nBROKEN:");
        for e in &p.reload.errors {
            let _ = writeln!(t, "  {}", clean(e));
        }
    }
    let total: usize = p.missing.iter().map(|z| z.names.len()).sum();
    let _ = writeln!(
        t,
        "\nmissing names: {total}{}",
        if total > 0 {
            " (pldns missing shows what to add)"
        } else {
            ""
        }
    );
    for z in &p.missing {
        let open = z.names.iter().filter(|n| !n.answered_now).count();
        let _ = writeln!(
            t,
            "  {}: {}, {open} still missing",
            clean(&z.zone),
            count(z.names.len() as u64, "name", "names")
        );
    }
    let _ = writeln!(t, "\nzones:");
    for z in &p.zones {
        let mut line = format!("  {} ({})", clean(&z.name), clean(&z.kind));
        if let Some(n) = z.records {
            let _ = write!(line, ": {n} records");
        }
        if let Some(s) = z.serial {
            let _ = write!(line, ", serial {s}");
        }
        if let Some(m) = &z.on_miss {
            let _ = write!(line, ", on_miss {}", clean(m));
        }
        if let Some(m) = z.missing_total {
            let _ = write!(line, ", {m} missed");
        }
        if !z.forwarders.is_empty() {
            let _ = write!(line, ", forwarders {}", clean(&z.forwarders.join(", ")));
        }
        if let Some(x) = &z.transfer {
            let _ = write!(line, "; {}", clean(x));
        }
        if let Some((_, activity)) = z.replication.as_ref().map(|r| replication(r, p.now))
            && !activity.is_empty()
        {
            let _ = write!(line, "\n    {}", clean(&activity));
        }
        let _ = writeln!(t, "{line}");
    }
    let _ = writeln!(t, "\nforwarders:");
    if p.forwarders.is_empty() {
        let _ = writeln!(t, "  (none configured)");
    }
    for f in &p.forwarders {
        let _ = writeln!(
            t,
            "  {} {}: rtt {}, {} queries, {} failures, {} SERVFAIL, {} REFUSED, last failure {}; used by {}",
            clean(&f.server),
            forwarder_state(f).1,
            f.srtt_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms")),
            f.requests,
            f.failures,
            f.servfails,
            f.refused,
            f.last_failure_ago_s
                .map_or_else(|| "never".into(), |s| format!("{} ago", span(s))),
            clean(&f.used_by.join(", "))
        );
    }
    let r = &p.reload;
    let _ = writeln!(t, "\nreload: {}", clean(&loaded(r, p.now)));
    if let Some(l) = &r.last {
        let _ = writeln!(t, "  {}", clean(&last_reload(l, p.now)));
    }
    for s in &r.sources {
        let (_, state) = source_state(s);
        let _ = writeln!(t, "  {}: {} entries, {state}", clean(&s.source), s.entries);
    }
    for w in &r.warnings {
        let _ = writeln!(t, "  warning: {}", clean(w));
    }
    if let Some(e) = &r.state_error {
        let _ = writeln!(t, "  state directory {}: {}", clean(&r.state_dir), clean(e));
    }
    if !p.syncs.is_empty() {
        let _ = writeln!(t, "\nazure sync:");
        for s in &p.syncs {
            let (_, state) = sync_state(s);
            let _ = writeln!(
                t,
                "  {} ({}, {}, every {}): {} records, {}{}",
                clean(&s.source),
                clean(&s.scope),
                clean(&s.cloud),
                span(s.interval_s),
                s.records.unwrap_or(0),
                clean(&state),
                s.last_pull
                    .as_ref()
                    .map(|l| format!("; last pull {} {}", clean(&l.result), ago(l.ended, p.now)))
                    .unwrap_or_default()
            );
            for e in s
                .errors
                .iter()
                .chain(s.last_pull.iter().flat_map(|l| l.error.iter()))
            {
                let _ = writeln!(t, "    {}", clean(e));
            }
        }
    }
    let _ = writeln!(
        t,
        "\nqueries: {} answered{}",
        p.queries.total,
        p.queries
            .mean_latency_us
            .map(|us| format!(", mean {:.2} ms", us as f64 / 1000.0))
            .unwrap_or_default()
    );
    t
}

/// The missing names (of one zone, or all) with what to do about each.
pub fn missing(p: &StatusPage, zone: Option<&str>) -> String {
    let zones: Vec<&MissingZone> = p
        .missing
        .iter()
        .filter(|z| zone.is_none_or(|want| z.zone.eq_ignore_ascii_case(want.trim_end_matches('.'))))
        .collect();
    let mut t = String::new();
    if zones.iter().all(|z| z.names.is_empty()) {
        let _ = writeln!(
            t,
            "no missing names{} since the daemon started ({} ago)",
            zone.map(|z| format!(" in {}", clean(z)))
                .unwrap_or_default(),
            span(p.uptime_s)
        );
        return t;
    }
    for z in zones {
        let _ = writeln!(t, "zone {}:", clean(&z.zone));
        for n in &z.names {
            let asked = n.public_name.as_deref().unwrap_or(&n.name);
            let _ = writeln!(
                t,
                "  {}  asked {}, first {}, last {}{}",
                clean(asked),
                count(n.count, "time", "times"),
                ago(n.first_seen, p.now),
                ago(n.last_seen, p.now),
                if n.answered_now {
                    " (answered now)"
                } else {
                    ""
                }
            );
            if n.answered_now {
                continue;
            }
            if let Some(find) = &n.hint.find_address {
                let _ = writeln!(t, "      address: {}", clean(find));
            }
            if let Some(add) = &n.hint.add {
                let _ = writeln!(t, "      add:     {}", clean(add));
            }
            if let Some(note) = &n.hint.note {
                let _ = writeln!(t, "      note:    {}", clean(note));
            }
        }
    }
    t
}
