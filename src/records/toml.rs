//! `.toml` record files: `[[record]]` tables with `name`, then either
//! `cname` alone or `a` and/or `aaaa` lists, and an optional `ttl`.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Entry, EntryData};
use crate::diag::{Diagnostic, Diagnostics, line_of};
use crate::name::Name;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    record: Vec<Spanned<RawRecord>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    name: Spanned<String>,
    cname: Option<Spanned<String>>,
    a: Option<Vec<Spanned<String>>>,
    aaaa: Option<Vec<Spanned<String>>>,
    ttl: Option<Spanned<u32>>,
}

pub fn parse(path: &Path, text: &str, out: &mut dyn FnMut(Entry), diags: &mut Diagnostics) {
    let file: RawFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            diags.push(Diagnostic::at(path, line, e.message().trim_end()));
            return;
        }
    };
    let at = |s: &std::ops::Range<usize>| line_of(text, s.start);
    for rec in &file.record {
        // The contract's LINE is where the entry starts: its `[[record]]`.
        let line = at(&rec.span());
        let r = rec.get_ref();
        let name = match Name::from_text(r.name.get_ref()) {
            Ok(n) => n,
            Err(e) => {
                diags.push(Diagnostic::at(path, line, format!("invalid name: {e}")));
                continue;
            }
        };
        let ttl = r.ttl.as_ref().map(|t| *t.get_ref());
        if let Some(t) = &r.ttl
            && *t.get_ref() > 604_800
        {
            diags.push(Diagnostic::at(path, line, "ttl must be at most 604800"));
            continue;
        }
        let mut push = |data| {
            out(Entry {
                name: name.clone(),
                data,
                ttl,
                line,
            })
        };
        match (&r.cname, &r.a, &r.aaaa) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => diags.push(Diagnostic::at(
                path,
                line,
                format!("{name}: cname cannot be combined with a or aaaa"),
            )),
            (None, None, None) => diags.push(Diagnostic::at(
                path,
                line,
                format!("{name}: record needs cname, a or aaaa"),
            )),
            (Some(target), None, None) => match Name::from_text(target.get_ref()) {
                Ok(t) => push(EntryData::Cname(t)),
                Err(e) => diags.push(Diagnostic::at(
                    path,
                    line,
                    format!("invalid cname target: {e}"),
                )),
            },
            (None, a, aaaa) => {
                let mut any = false;
                for ip in a.iter().flatten() {
                    any = true;
                    match ip.get_ref().parse() {
                        Ok(v4) => push(EntryData::A(v4)),
                        Err(_) => diags.push(Diagnostic::at(
                            path,
                            line,
                            format!("{name}: invalid IPv4 address {:?} in a", ip.get_ref()),
                        )),
                    }
                }
                for ip in aaaa.iter().flatten() {
                    any = true;
                    match ip.get_ref().parse() {
                        Ok(v6) => push(EntryData::Aaaa(v6)),
                        Err(_) => diags.push(Diagnostic::at(
                            path,
                            line,
                            format!("{name}: invalid IPv6 address {:?} in aaaa", ip.get_ref()),
                        )),
                    }
                }
                if !any {
                    diags.push(Diagnostic::at(
                        path,
                        line,
                        format!("{name}: empty a/aaaa lists"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Entry>, Vec<String>) {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        parse(Path::new("r.toml"), text, &mut |e| out.push(e), &mut diags);
        (out, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn records_of_every_kind() {
        let (out, errs) = run(r#"
[[record]]
name = "vault1.privatelink.eus.backup.windowsazure.com"
a = ["10.0.0.4", "10.0.0.5"]
aaaa = ["fd00::4"]
ttl = 60

[[record]]
name = "alias.privatelink.blob.core.windows.net"
cname = "acct.privatelink.blob.core.windows.net"
"#);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(out.len(), 4);
        assert!(out[..3].iter().all(|e| e.line == 2 && e.ttl == Some(60)));
        assert_eq!(out[3].line, 8);
        assert!(matches!(out[3].data, EntryData::Cname(_)));
    }

    #[test]
    fn errors_name_the_line() {
        let (_, errs) = run(r#"[[record]]
name = "a.privatelink.blob.core.windows.net"
cname = "b.privatelink.blob.core.windows.net"
a = ["10.0.0.1"]

[[record]]
name = "c.privatelink.blob.core.windows.net"
a = ["10.0.0.1", "nope"]

[[record]]
name = "d.privatelink.blob.core.windows.net"

[[record]]
name = "e.privatelink.blob.core.windows.net"
aaaa = ["10.0.0.1"]
"#);
        assert_eq!(
            errs,
            vec![
                "r.toml:1: a.privatelink.blob.core.windows.net: cname cannot be combined with a or aaaa",
                "r.toml:6: c.privatelink.blob.core.windows.net: invalid IPv4 address \"nope\" in a",
                "r.toml:10: d.privatelink.blob.core.windows.net: record needs cname, a or aaaa",
                "r.toml:13: e.privatelink.blob.core.windows.net: invalid IPv6 address \"10.0.0.1\" in aaaa",
            ]
        );
    }

    #[test]
    fn unknown_keys_and_syntax_errors() {
        let (_, errs) = run("[[record]]\nname = \"x.y\"\nmx = \"z\"\n");
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("r.toml:3: unknown field `mx`"),
            "{errs:?}"
        );
        let (_, errs) = run("[[record]]\nname = \"x.y\n");
        assert!(errs[0].starts_with("r.toml:2: "), "{errs:?}");
    }
}
