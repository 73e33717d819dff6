//! What an admin runs beside the daemon: `pldns status` and `pldns missing`
//! (clients of the running daemon's status page, [`client`]) and `pldns
//! records add/remove` (checked, atomic edits of record files, [`edit`]).

pub mod client;
pub mod edit;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::metrics::page::text;

/// Exit status when the daemon cannot be asked (not configured, not
/// running); 1 means it answered and reports a problem.
pub const UNREACHABLE: u8 = 2;

fn resolve(config: &Path, addr: Option<SocketAddr>) -> Result<SocketAddr, ExitCode> {
    match addr {
        Some(a) => Ok(a),
        None => client::status_addr(config).map_err(|e| {
            eprintln!("pldns: {e}");
            ExitCode::from(UNREACHABLE)
        }),
    }
}

/// `pldns status`: 0 when all is well, 1 when the daemon reports something
/// broken or unhealthy, 2 when it cannot be asked.
pub fn status(config: &Path, addr: Option<SocketAddr>, json: bool) -> ExitCode {
    let addr = match resolve(config, addr) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let page = match client::fetch(addr) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pldns: {e}");
            return ExitCode::from(UNREACHABLE);
        }
    };
    if json {
        match serde_json::to_string_pretty(&page) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
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
    let addr = match resolve(config, addr) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let page = match client::fetch(addr) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pldns: {e}");
            return ExitCode::from(UNREACHABLE);
        }
    };
    if json {
        let zones: Vec<_> = page
            .missing
            .iter()
            .filter(|z| {
                zone.is_none_or(|want| z.zone.eq_ignore_ascii_case(want.trim_end_matches('.')))
            })
            .collect();
        match serde_json::to_string_pretty(&zones) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", text::missing(&page, zone));
    }
    ExitCode::SUCCESS
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
