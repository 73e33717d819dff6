//! The sentences the HTML page and the terminal text share, so the two say
//! the same thing: each state with its tone (the HTML colours it, the text
//! prints it as it is).

use super::time::{ago, span, utc};
use super::{ForwarderStatus, LastReload, ReloadStatus, Replication, SourceRow, SyncStatus, count};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Warn,
    Bad,
}

impl Tone {
    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Warn => "warn",
            Tone::Bad => "bad",
        }
    }
}

pub fn source_state(s: &SourceRow) -> (Tone, &'static str) {
    match (s.ok, s.from_state, s.entries) {
        (true, false, _) => (Tone::Ok, "ok"),
        (true, true, _) => (Tone::Warn, "ok, from the state directory"),
        (false, true, _) => (Tone::Bad, "broken: serving the copy in the state directory"),
        (false, false, 0) => (Tone::Bad, "broken: not served (no good version yet)"),
        (false, false, _) => (Tone::Bad, "broken: serving its last good contents"),
    }
}

pub fn forwarder_state(f: &ForwarderStatus) -> (Tone, String) {
    let row = count(f.consecutive_failures, "failure", "failures");
    if !f.up {
        (Tone::Bad, format!("down ({row} in a row)"))
    } else if f.consecutive_failures > 0 {
        (Tone::Warn, format!("failing ({row} in a row; tried again)"))
    } else {
        (Tone::Ok, "up".into())
    }
}

/// What zone transfer did for a zone, in one line: the copy a secondary
/// zone serves first (an expired copy is an outage), then transfers out
/// and NOTIFY.
pub fn replication(r: &Replication, now: u64) -> (Tone, String) {
    let mut parts = Vec::new();
    let mut tone = Tone::Ok;
    match (r.copy_serial, r.copy_expires_in_s) {
        _ if r.copy_expired => {
            tone = Tone::Bad;
            parts.push("copy EXPIRED: the zone answers SERVFAIL until a primary answers".into());
        }
        (Some(serial), Some(left)) => {
            parts.push(format!("copy serial {serial}, expires in {}", span(left)));
        }
        _ => {}
    }
    if r.refreshes_ok + r.refreshes_failed > 0 {
        let last = r
            .last_refresh
            .map_or_else(String::new, |t| format!(", last {}", ago(t, now)));
        parts.push(format!(
            "{} ({} failed){last}",
            count(r.refreshes_ok + r.refreshes_failed, "refresh", "refreshes"),
            r.refreshes_failed
        ));
        if r.refreshes_failed > 0 && tone == Tone::Ok {
            tone = Tone::Warn;
        }
    }
    if r.transfers_out > 0 {
        parts.push(format!(
            "{} out ({} refused, {} failed)",
            count(r.transfers_out, "transfer", "transfers"),
            r.transfers_out_refused,
            r.transfers_out_failed
        ));
    }
    if r.notify_sent > 0 {
        parts.push(format!(
            "NOTIFY sent {}, acknowledged {}, given up {}",
            r.notify_sent, r.notify_acknowledged, r.notify_given_up
        ));
        if r.notify_given_up > 0 && tone == Tone::Ok {
            tone = Tone::Warn;
        }
    }
    if r.notify_in_accepted + r.notify_in_refused > 0 {
        parts.push(format!(
            "NOTIFY in {} ({} refused)",
            r.notify_in_accepted + r.notify_in_refused,
            r.notify_in_refused
        ));
    }
    (tone, parts.join("; "))
}

pub fn sync_state(s: &SyncStatus) -> (Tone, String) {
    match (s.ok, &s.last_pull) {
        (Some(false), _) => (Tone::Bad, "failing: the last good pull serves".into()),
        (_, Some(l)) if l.result != "ok" => (
            Tone::Bad,
            format!("last pull failed ({}): the last good pull serves", l.result),
        ),
        _ if s.serving_kept_pull_from.is_some() => (
            Tone::Warn,
            "serving the pull kept from before the restart".into(),
        ),
        (Some(true), _) => (Tone::Ok, "ok".into()),
        (None, _) => (Tone::Warn, "nothing pulled yet".into()),
    }
}

/// When the table was loaded and how reloads went.
pub fn loaded(r: &ReloadStatus, now: u64) -> String {
    format!(
        "table in service loaded {} ({}); {} applied, {} left something broken",
        utc(r.loaded),
        ago(r.loaded, now),
        count(r.reloads_ok, "reload", "reloads"),
        r.reloads_failed
    )
}

/// What the last reload did.
pub fn last_reload(l: &LastReload, now: u64) -> String {
    let mut s = format!(
        "last reload {} ({}), by {}, in {} ms: +{} -{} records",
        utc(l.at),
        ago(l.at, now),
        l.trigger,
        l.took_ms,
        l.records_added,
        l.records_removed
    );
    if !l.zones_added.is_empty() {
        s.push_str(&format!("; zones added: {}", l.zones_added.join(", ")));
    }
    if !l.zones_removed.is_empty() {
        s.push_str(&format!("; zones removed: {}", l.zones_removed.join(", ")));
    }
    if l.config_changed {
        s.push_str("; the configuration changed");
    }
    s
}

/// `Table in service ...`: a sentence's first letter up.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
