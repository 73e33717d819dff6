//! hosts-file lines: `<ip> <fqdn> [<fqdn>...]`, `#` comments anywhere. This
//! is also the portal's "Generate hostfile" output, whose lines end in a
//! `#/subscriptions/...` comment.

use std::net::IpAddr;
use std::path::Path;

use super::{Entry, EntryData};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;

/// Parses hosts lines from decoded text (see `decode`: no byte-order mark).
pub fn parse(path: &Path, text: &str, out: &mut dyn FnMut(Entry), diags: &mut Diagnostics) {
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        let ip: IpAddr = match addr.parse() {
            Ok(ip) => ip,
            Err(_) => {
                diags.push(Diagnostic::at(path, line, bad_address(addr, content)));
                continue;
            }
        };
        let mut any = false;
        for field in fields {
            any = true;
            if field.parse::<IpAddr>().is_ok() {
                diags.push(Diagnostic::at(
                    path,
                    line,
                    format!(
                        "{field} is an address, not a name: one address per line, then its names"
                    ),
                ));
                continue;
            }
            match Name::from_text(field) {
                Ok(name) => out(Entry {
                    name,
                    data: EntryData::from(ip),
                    ttl: None,
                    line,
                }),
                Err(e) => diags.push(Diagnostic::at(path, line, format!("invalid name: {e}"))),
            }
        }
        if !any {
            diags.push(Diagnostic::at(
                path,
                line,
                format!("no name after address {addr}"),
            ));
        }
    }
}

/// The error for a first field that is not an address, with the likely
/// cause: a line copied the other way round (`NAME IP`, as `az` tables and
/// nslookup print it).
fn bad_address(addr: &str, content: &str) -> String {
    let reversed = content
        .split_whitespace()
        .skip(1)
        .find(|f| f.parse::<IpAddr>().is_ok());
    match reversed {
        Some(ip) if Name::from_text(addr).is_ok() => format!(
            "invalid IP address {addr:?}: the line reads NAME IP, hosts lines read IP NAME (write \"{ip} {addr}\")"
        ),
        _ => format!("invalid IP address {addr:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Entry>, Vec<String>) {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        parse(Path::new("h.hosts"), text, &mut |e| out.push(e), &mut diags);
        (out, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn portal_hostfile_lines_and_comments() {
        let (out, errs) = run("# generated\r\n\
             10.1.0.4 acct.blob.core.windows.net #/subscriptions/x/resourceGroups/y\r\n\
             \r\n\
             fd00::5\tacct.queue.core.windows.net   other.queue.core.windows.net\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].line, 2);
        assert_eq!(out[0].name.to_string(), "acct.blob.core.windows.net");
        assert_eq!(out[0].data, EntryData::A("10.1.0.4".parse().unwrap()));
        assert_eq!(out[2].line, 4);
        assert_eq!(out[2].data, EntryData::Aaaa("fd00::5".parse().unwrap()));
    }

    #[test]
    fn errors_name_the_line() {
        let (_, errs) = run(
            "10.0.0.1 ok.blob.core.windows.net\n10.0.0.300 x.y\n10.0.0.2\n10.0.0.3 bad..name\n",
        );
        assert_eq!(
            errs,
            vec![
                "h.hosts:2: invalid IP address \"10.0.0.300\"",
                "h.hosts:3: no name after address 10.0.0.2",
                "h.hosts:4: invalid name: empty label in \"bad..name\"",
            ]
        );
    }

    #[test]
    fn a_reversed_line_gets_a_hint() {
        let (_, errs) = run("acct.blob.core.windows.net 10.0.0.4\n");
        assert_eq!(
            errs,
            vec![
                "h.hosts:1: invalid IP address \"acct.blob.core.windows.net\": the line reads NAME IP, hosts lines read IP NAME (write \"10.0.0.4 acct.blob.core.windows.net\")"
            ]
        );
    }
}
