//! hosts-file lines: `<ip> <fqdn> [<fqdn>...]`, `#` comments anywhere. This
//! is also the portal's "Generate hostfile" output, whose lines end in a
//! `#/subscriptions/...` comment.

use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use super::{Entry, EntryData};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;

/// Reads hosts lines one at a time, so a million-line file is never held
/// whole in memory.
pub fn parse(
    path: &Path,
    mut reader: impl BufRead,
    out: &mut dyn FnMut(Entry),
    diags: &mut Diagnostics,
) {
    let mut raw = String::new();
    let mut line = 0;
    loop {
        raw.clear();
        line += 1;
        match reader.read_line(&mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::InvalidData {
                    "not UTF-8 text".to_string()
                } else {
                    e.to_string()
                };
                diags.push(Diagnostic::at(path, line, why));
                break;
            }
        }
        let text = if line == 1 {
            raw.strip_prefix('\u{feff}').unwrap_or(&raw)
        } else {
            &raw
        };
        let content = text.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        let ip: IpAddr = match addr.parse() {
            Ok(ip) => ip,
            Err(_) => {
                diags.push(Diagnostic::at(
                    path,
                    line,
                    format!("invalid IP address {addr:?}"),
                ));
                continue;
            }
        };
        let mut any = false;
        for field in fields {
            any = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Entry>, Vec<String>) {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        parse(
            Path::new("h.hosts"),
            text.as_bytes(),
            &mut |e| out.push(e),
            &mut diags,
        );
        (out, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn portal_hostfile_lines_and_comments() {
        let (out, errs) = run("\u{feff}# generated\r\n\
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
}
