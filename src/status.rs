//! What is broken, in words: the lines `serve` logs after a load, the one
//! line systemd shows in `systemctl status`, and what `check` adds to its
//! `FILE:LINE` errors. Built from a load's [`Report`].

use std::fmt::Write;

use crate::load::Report;
use crate::snapshot::Snapshot;

/// The error lines of a load (`FILE:LINE: reason`), each broken thing
/// followed by what is served in its place.
pub fn error_lines(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(diags) = &report.config_error {
        out.extend(diags.iter().map(|d| d.to_string()));
        let file = diags
            .iter()
            .next()
            .map(|d| d.file.display().to_string())
            .unwrap_or_default();
        out.push(match &report.config_kept {
            Some(kept) => format!(
                "{file} does not parse: serving the last good configuration, kept at {}, until it is fixed",
                kept.display()
            ),
            None => format!(
                "{file} does not parse: the configuration in service stays (its record files are still read) until it is fixed"
            ),
        });
    }
    for d in &report.dir_errors {
        out.push(format!(
            "{d} (the files it held keep their last good contents)"
        ));
    }
    for s in report.sources.iter().filter(|s| s.error.is_some()) {
        if let Some(e) = &s.error {
            out.extend(e.iter().map(|d| d.to_string()));
        }
        out.push(if s.entries > 0 || s.from_state {
            format!(
                "{}: its newest version is not served; it keeps its last good contents ({} entries{}) until fixed",
                s.id,
                s.entries,
                if s.from_state { ", kept in the state directory" } else { "" }
            )
        } else {
            format!("{}: not served: it has no good version yet", s.id)
        });
    }
    out
}

/// One line for `systemctl status` and the periodic reminder.
pub fn one_line(report: &Report) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &report.config_error
        && let Some(first) = d.iter().next()
    {
        parts.push(format!(
            "config {} does not parse ({first})",
            first.file.display()
        ));
    }
    let broken: Vec<String> = report
        .sources
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.id.to_string())
        .collect();
    if !broken.is_empty() {
        parts.push(format!(
            "{} record source(s) broken, serving their last good contents: {}",
            broken.len(),
            broken.join(", ")
        ));
    }
    for d in &report.dir_errors {
        parts.push(format!(
            "records directory {} cannot be read",
            d.file.display()
        ));
    }
    if let Some(e) = &report.state_error {
        parts.push(e.clone());
    }
    if parts.is_empty() {
        "all sources valid".into()
    } else {
        parts.join("; ")
    }
}

/// The `STATUS=` systemd shows: what is served and what is broken.
pub fn status_line(snapshot: &Snapshot, report: &Report) -> String {
    let mut status = format!("serving {} records", snapshot.record_count());
    if !report.valid() || report.state_error.is_some() {
        let _ = write!(status, "; {}", one_line(report));
    }
    status
}

/// Tells systemd (when it started us) the new status line.
pub fn notify_systemd(snapshot: &Snapshot, report: &Report) {
    let status = status_line(snapshot, report);
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&status)]);
}

/// Tells systemd (Type=notify) that the sockets are bound and queries are
/// answered, and keeps its watchdog fed while the UDP threads go round.
/// Without NOTIFY_SOCKET (not under systemd) this does nothing.
pub fn systemd_ready(state: &std::sync::Arc<crate::state::State>) {
    let status = status_line(&state.snapshot(), &state.report());
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&status),
    ]);
    if let Some(interval) = sd_notify::watchdog_enabled() {
        let state = state.clone();
        tokio::spawn(async move {
            let mut last = u64::MAX;
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tick.tick().await;
                let beat = state
                    .udp_heartbeat
                    .load(std::sync::atomic::Ordering::Relaxed);
                // A UDP thread that stopped going round means no answers:
                // stop pinging and let systemd restart us.
                if beat != last {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                }
                last = beat;
            }
        });
    }
}
