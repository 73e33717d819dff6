//! What an admin runs beside the daemon: `pldns status` and `pldns missing`
//! (clients of the running daemon's status page, [`client`]) and `pldns
//! records add/remove` (checked, atomic edits of record files, [`edit`]).

pub mod client;
pub mod edit;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::metrics::page::{StatusPage, text};

/// Exit status when the daemon cannot be asked (not configured, not
/// running); 1 means it answered and reports a problem.
pub const UNREACHABLE: u8 = 2;

/// The running daemon's status page, or the exit code for why not (said
/// on stderr).
fn ask(config: &Path, addr: Option<SocketAddr>) -> Result<StatusPage, ExitCode> {
    let addr = match addr {
        Some(a) => Ok(a),
        None => client::status_addr(config),
    };
    addr.and_then(client::fetch).map_err(|e| {
        eprintln!("pldns: {e}");
        ExitCode::from(UNREACHABLE)
    })
}

fn print_json(value: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pldns: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `pldns status`: 0 when all is well, 1 when the daemon reports something
/// broken or unhealthy, 2 when it cannot be asked.
pub fn status(config: &Path, addr: Option<SocketAddr>, json: bool) -> ExitCode {
    let page = match ask(config, addr) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if json {
        let printed = print_json(&page);
        if printed != ExitCode::SUCCESS {
            return printed;
        }
    } else {
        print!("{}", text::status(&page));
    }
    if page.healthy && page.reload.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `pldns missing`: the missing names with what to add; 0 when the daemon
/// answered, 2 when it cannot be asked.
pub fn missing(
    config: &Path,
    addr: Option<SocketAddr>,
    zone: Option<&str>,
    json: bool,
) -> ExitCode {
    let page = match ask(config, addr) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if json {
        let zones: Vec<_> = page
            .missing
            .iter()
            .filter(|z| {
                zone.is_none_or(|want| z.zone.eq_ignore_ascii_case(want.trim_end_matches('.')))
            })
            .collect();
        print_json(&zones)
    } else {
        print!("{}", text::missing(&page, zone));
        ExitCode::SUCCESS
    }
}

/// Prints what an edit did; 1 when it failed or the name is still served
/// (`remove` of a name an az JSON file also holds).
pub fn report_edit(result: Result<edit::Done, String>) -> ExitCode {
    match result {
        Ok(done) => {
            for line in &done.report {
                println!("{line}");
            }
            for note in &done.notes {
                eprintln!("{note}");
            }
            if done.still_served {
                eprintln!("pldns: the name is still served from the sources above");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("pldns: {e}");
            ExitCode::FAILURE
        }
    }
}
