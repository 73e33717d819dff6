//! The gauges that say whether what is served is what is on disk: the
//! config and every record source valid or not, served from the state
//! directory or not, and whether the state directory takes our copies.

use std::fmt::Write;

use crate::state::State;

/// Label values are quoted strings: a path may hold `"` or `\`.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) fn render(state: &State, s: &mut String) {
    let report = state.report();
    let head = |s: &mut String, name: &str, help: &str| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    head(
        s,
        "pldns_build_info",
        "Always 1; the version of the running binary.",
    );
    let _ = writeln!(
        s,
        "pldns_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    head(
        s,
        "pldns_config_valid",
        "1 when the config and every record source load; 0 while any is broken (its last good contents serve).",
    );
    let _ = writeln!(s, "pldns_config_valid {}", u8::from(report.valid()));
    head(
        s,
        "pldns_config_from_state",
        "1 while the config in service is the state directory's copy (the file did not parse at start-up).",
    );
    let _ = writeln!(
        s,
        "pldns_config_from_state {}",
        u8::from(report.config_kept.is_some())
    );
    head(
        s,
        "pldns_source_valid",
        "Per record source: 1 when its newest version is in service, 0 while it is broken.",
    );
    for src in &report.sources {
        let _ = writeln!(
            s,
            "pldns_source_valid{{source=\"{}\"}} {}",
            label(&src.id.to_string()),
            u8::from(src.error.is_none())
        );
    }
    head(
        s,
        "pldns_source_from_state",
        "Per record source: 1 while what it serves was read back from the state directory.",
    );
    for src in &report.sources {
        let _ = writeln!(
            s,
            "pldns_source_from_state{{source=\"{}\"}} {}",
            label(&src.id.to_string()),
            u8::from(src.from_state)
        );
    }
    head(
        s,
        "pldns_state_dir_writable",
        "0 when the last copy could not be written to the state directory (a restart would serve older copies).",
    );
    let _ = writeln!(
        s,
        "pldns_state_dir_writable {}",
        u8::from(report.state_error.is_none())
    );
}
