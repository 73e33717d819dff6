//! RFC 1035 §5 master files, one zone per file: what `pldns export --format
//! zone` writes (for BIND's named-checkzone, a Windows DNS import, or a
//! migration), and the form a secondary zone's copy takes in the state
//! directory. The reader takes what the writer writes (plus `$TTL` and
//! owner-less continuation lines); it is no general zone-file parser.

use std::fmt::Write;

use super::rdata::{from_text, name_text, to_text, type_from_name, type_name};
use super::zone::Rr;
use crate::name::{MAX_WIRE_LEN, Name};
use crate::wire::rtype;

/// One record to write: owner (wire), type, TTL, canonical RDATA.
pub type Line<'a> = (&'a [u8], u16, u32, &'a [u8]);

/// Writes one zone: a comment, `$ORIGIN`, the SOA, then `records`. Owners
/// are relative to the zone (`@` for the apex), names in RDATA absolute, and
/// every record carries its TTL and class, so no `$TTL` is needed (older
/// Windows DNS servers do not read it).
pub fn write_zone<'a>(
    out: &mut String,
    zone: &Name,
    comment: &str,
    soa: Line<'a>,
    records: impl IntoIterator<Item = Line<'a>>,
) {
    let origin = name_text(zone.wire());
    for line in comment.lines() {
        let _ = writeln!(out, "; {line}");
    }
    let _ = writeln!(out, "$ORIGIN {origin}");
    for (owner, t, ttl, rdata) in std::iter::once(soa).chain(records) {
        let full = name_text(owner);
        let rel = if full == origin {
            "@".to_string()
        } else {
            full.strip_suffix(&format!(".{origin}"))
                .map_or(full.clone(), str::to_string)
        };
        let _ = writeln!(
            out,
            "{rel}\t{ttl}\tIN\t{}\t{}",
            type_name(t),
            to_text(t, rdata)
        );
    }
}

/// Parses a name in a zone file: `@`, absolute (trailing dot) or relative
/// to `origin`; `\DDD` and `\X` escapes; lowercased.
pub fn parse_name(text: &str, origin: &Name) -> Result<Name, String> {
    if text == "@" {
        return Ok(origin.clone());
    }
    if text == "." {
        // The root, as `name_text` writes it (a CNAME or MX target of ".").
        return Ok(Name::from_canonical_wire(&[0]));
    }
    let mut wire = Vec::with_capacity(text.len() + 2);
    let mut label = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut absolute = false;
    let flush = |label: &mut Vec<u8>, wire: &mut Vec<u8>| -> Result<(), String> {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("bad label in {text:?}"));
        }
        wire.push(label.len() as u8);
        wire.extend(label.drain(..).map(|b| b.to_ascii_lowercase()));
        Ok(())
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let digits = bytes
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(u8::is_ascii_digit));
                if let Some(d) = digits {
                    let v: u16 = std::str::from_utf8(d)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(256);
                    label.push(u8::try_from(v).map_err(|_| format!("bad escape in {text:?}"))?);
                    i += 4;
                } else {
                    label.push(*bytes.get(i + 1).ok_or(format!("dangling \\ in {text:?}"))?);
                    i += 2;
                }
            }
            b'.' => {
                flush(&mut label, &mut wire)?;
                i += 1;
                if i == bytes.len() {
                    absolute = true;
                }
            }
            b => {
                label.push(b);
                i += 1;
            }
        }
    }
    if !label.is_empty() {
        flush(&mut label, &mut wire)?;
    }
    if absolute {
        wire.push(0);
    } else {
        wire.extend_from_slice(origin.wire());
    }
    if wire.len() > MAX_WIRE_LEN {
        return Err(format!("name too long: {text:?}"));
    }
    Ok(Name::from_canonical_wire(&wire))
}

/// Splits a line into fields: whitespace-separated, `;` starts a comment
/// (not when escaped). Returns whether the line starts with whitespace.
fn fields(line: &str) -> Result<(bool, Vec<String>), String> {
    let continued = line.starts_with([' ', '\t']);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ';' => break,
            '(' | ')' | '"' => return Err(format!("{c:?} is not supported here")),
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok((continued, out))
}

/// Reads a zone file of `zone`: its SOA and its other records. Errors read
/// `line N: reason`.
pub fn read_zone(text: &str, zone: &Name) -> Result<(Rr, Vec<Rr>), String> {
    let mut origin = zone.clone();
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<Name> = None;
    let mut soa = None;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", i + 1);
        let (continued, f) = fields(line).map_err(at)?;
        let Some(first) = f.first() else { continue };
        match first.as_str() {
            "$ORIGIN" => {
                let o = f
                    .get(1)
                    .ok_or_else(|| at("$ORIGIN without a name".into()))?;
                origin = parse_name(o, zone).map_err(at)?;
                continue;
            }
            "$TTL" => {
                let t = f.get(1).and_then(|t| t.parse().ok());
                default_ttl = Some(t.ok_or_else(|| at("bad $TTL".into()))?);
                continue;
            }
            _ => {}
        }
        let mut rest = f.as_slice();
        let owner = if continued {
            last_owner.clone().ok_or_else(|| at("no owner".into()))?
        } else {
            let o = parse_name(&rest[0], &origin).map_err(at)?;
            rest = &rest[1..];
            o
        };
        let mut ttl = default_ttl;
        while let Some(tok) = rest.first() {
            if let Ok(t) = tok.parse::<u32>() {
                ttl = Some(t);
            } else if !tok.eq_ignore_ascii_case("IN") {
                break;
            }
            rest = &rest[1..];
        }
        let t = rest
            .first()
            .and_then(|t| type_from_name(t))
            .ok_or_else(|| at(format!("unknown type in {line:?}")))?;
        let ttl = ttl.ok_or_else(|| at("no TTL".into()))?;
        let rdata = from_text(t, &rest[1..], &origin).map_err(at)?;
        if !owner.is_in(zone) {
            return Err(at(format!("{owner} is outside zone {zone}")));
        }
        let rr = Rr {
            owner: owner.clone(),
            rtype: t,
            ttl,
            rdata,
        };
        last_owner = Some(owner);
        if t == rtype::SOA && rr.owner == *zone && soa.is_none() {
            soa = Some(rr);
        } else {
            records.push(rr);
        }
    }
    Ok((soa.ok_or("no SOA record at the apex")?, records))
}

#[cfg(test)]
#[path = "zonefile_tests.rs"]
mod tests;
