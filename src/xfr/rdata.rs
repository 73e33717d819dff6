//! RDATA by record type, as far as transfer needs it: the canonical form of
//! RDATA read from a message (names decompressed and lowercased, RFC 3597
//! §4 lists the types whose names may be compressed), and the presentation
//! form of zone files (RFC 1035 §5 for the common types, RFC 3597 §5's
//! `\# len hex` for every other).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::name::Name;
use crate::wire::rtype;
use crate::xfr::msg::read::{Malformed, read_name};

const PTR: u16 = 12;
const MX: u16 = 15;
const MINFO: u16 = 14;

/// Where names sit in the RDATA of a type.
enum Layout {
    /// A number of names and nothing else (NS, CNAME, PTR, MD, MF, MB, MG,
    /// MR: one; MINFO: two).
    Names(usize),
    /// MX: a 16-bit preference, then a name.
    PrefName,
    /// SOA: two names, then five 32-bit numbers.
    Soa,
    /// No name that may be compressed: taken as is.
    Opaque,
}

fn layout(t: u16) -> Layout {
    match t {
        rtype::NS | 3 | 4 | rtype::CNAME | 7 | 8 | 9 | PTR => Layout::Names(1),
        MINFO => Layout::Names(2),
        MX => Layout::PrefName,
        rtype::SOA => Layout::Soa,
        _ => Layout::Opaque,
    }
}

/// The RDATA of a record read at `at` (`len` bytes) in `msg`, canonical.
pub fn canonical(msg: &[u8], at: usize, len: usize, t: u16) -> Result<Box<[u8]>, Malformed> {
    let end = at + len;
    let raw = msg
        .get(at..end)
        .ok_or(Malformed("RDATA runs past the end"))?;
    let mut out = Vec::with_capacity(len + 16);
    let mut pos = at;
    let names = match layout(t) {
        Layout::Opaque => return Ok(raw.into()),
        Layout::Names(n) => n,
        Layout::PrefName => {
            out.extend_from_slice(msg.get(at..at + 2).ok_or(Malformed("short MX"))?);
            pos += 2;
            1
        }
        Layout::Soa => 2,
    };
    for _ in 0..names {
        let (name, next) = read_name(msg, pos)?;
        out.extend_from_slice(name.wire());
        pos = next;
    }
    if let Layout::Soa = layout(t) {
        out.extend_from_slice(msg.get(pos..pos + 20).ok_or(Malformed("short SOA"))?);
        pos += 20;
    }
    if pos != end {
        return Err(Malformed("RDATA length does not match its content"));
    }
    match t {
        rtype::A if len != 4 => Err(Malformed("A RDATA is not 4 bytes")),
        rtype::AAAA if len != 16 => Err(Malformed("AAAA RDATA is not 16 bytes")),
        _ => Ok(out.into()),
    }
}

/// Type names zone files and logs use; others read `TYPEnnn` (RFC 3597 §5).
const TYPE_NAMES: &[(u16, &str)] = &[
    (rtype::A, "A"),
    (rtype::NS, "NS"),
    (rtype::CNAME, "CNAME"),
    (rtype::SOA, "SOA"),
    (PTR, "PTR"),
    (MX, "MX"),
    (16, "TXT"),
    (rtype::AAAA, "AAAA"),
    (33, "SRV"),
    (43, "DS"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (257, "CAA"),
];

/// The name of a type in zone files.
pub fn type_name(t: u16) -> String {
    TYPE_NAMES
        .iter()
        .find(|(n, _)| *n == t)
        .map_or_else(|| format!("TYPE{t}"), |(_, s)| (*s).to_string())
}

pub fn type_from_name(s: &str) -> Option<u16> {
    let s = s.to_ascii_uppercase();
    TYPE_NAMES
        .iter()
        .find(|(_, n)| *n == s)
        .map(|(t, _)| *t)
        .or_else(|| s.strip_prefix("TYPE")?.parse().ok())
}

/// A wire name as an absolute zone-file name: every byte outside letters,
/// digits, `-`, `_` (and a lone `*` label) escaped as `\DDD`, so `;`, `(`,
/// `"`, spaces and dots inside labels cannot change the line's meaning.
pub fn name_text(wire: &[u8]) -> String {
    let mut s = String::new();
    for label in crate::name::suffixes(wire) {
        let len = label[0] as usize;
        if len == 0 {
            break;
        }
        let bytes = &label[1..=len];
        if bytes == b"*" {
            s.push('*');
        } else {
            for &b in bytes {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                    s.push(b as char);
                } else {
                    s.push_str(&format!("\\{b:03}"));
                }
            }
        }
        s.push('.');
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Presentation form of canonical RDATA. Types without their own form
/// (and RDATA that does not fit its type) use RFC 3597's generic form.
pub fn to_text(t: u16, rdata: &[u8]) -> String {
    let generic = || {
        let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
        if rdata.is_empty() {
            "\\# 0".to_string()
        } else {
            format!("\\# {} {hex}", rdata.len())
        }
    };
    let name_at = |at: usize| -> Option<(String, usize)> {
        let (n, next) = read_name(rdata, at).ok()?;
        Some((name_text(n.wire()), next))
    };
    let text = match layout(t) {
        _ if t == rtype::A => <[u8; 4]>::try_from(rdata)
            .ok()
            .map(|b| Ipv4Addr::from(b).to_string()),
        _ if t == rtype::AAAA => <[u8; 16]>::try_from(rdata)
            .ok()
            .map(|b| Ipv6Addr::from(b).to_string()),
        Layout::Names(1) => name_at(0)
            .filter(|(_, e)| *e == rdata.len())
            .map(|(n, _)| n),
        Layout::PrefName if rdata.len() > 2 => name_at(2)
            .filter(|(_, e)| *e == rdata.len())
            .map(|(n, _)| format!("{} {n}", u16::from_be_bytes([rdata[0], rdata[1]]))),
        Layout::Soa => (|| {
            let (m, at) = name_at(0)?;
            let (r, at) = name_at(at)?;
            let nums = rdata.get(at..)?;
            if nums.len() != 20 {
                return None;
            }
            let v: Vec<String> = nums
                .chunks(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]).to_string())
                .collect();
            Some(format!("{m} {r} {}", v.join(" ")))
        })(),
        _ => None,
    };
    text.unwrap_or_else(generic)
}

/// Reads presentation RDATA of type `t` from its fields (`\#` generic form
/// for any type). Names are absolute or relative to `origin`.
pub fn from_text(t: u16, fields: &[String], origin: &Name) -> Result<Box<[u8]>, String> {
    if fields.first().map(String::as_str) == Some("\\#") {
        let len: usize = fields
            .get(1)
            .and_then(|l| l.parse().ok())
            .ok_or("\\# needs a length")?;
        let hex: String = fields[2..].concat();
        if hex.len() != 2 * len {
            return Err(format!("\\# {len}: {} hex digits", hex.len()));
        }
        return (0..len)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map(Vec::into_boxed_slice)
            .map_err(|e| format!("bad hex: {e}"));
    }
    let want = |n: usize| {
        if fields.len() == n {
            Ok(())
        } else {
            Err(format!("{} takes {n} fields", type_name(t)))
        }
    };
    let name = |s: &str| super::zonefile::parse_name(s, origin).map(|n| n.wire().to_vec());
    let mut out = Vec::new();
    match t {
        rtype::A => {
            want(1)?;
            let ip: Ipv4Addr = fields[0].parse().map_err(|e| format!("{e}"))?;
            out.extend_from_slice(&ip.octets());
        }
        rtype::AAAA => {
            want(1)?;
            let ip: Ipv6Addr = fields[0].parse().map_err(|e| format!("{e}"))?;
            out.extend_from_slice(&ip.octets());
        }
        rtype::SOA => {
            want(7)?;
            out.extend(name(&fields[0])?);
            out.extend(name(&fields[1])?);
            for f in &fields[2..] {
                let v: u32 = f.parse().map_err(|_| format!("bad SOA number {f:?}"))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        MX => {
            want(2)?;
            let pref: u16 = fields[0].parse().map_err(|_| "bad MX preference")?;
            out.extend_from_slice(&pref.to_be_bytes());
            out.extend(name(&fields[1])?);
        }
        t if matches!(layout(t), Layout::Names(1)) => {
            want(1)?;
            out.extend(name(&fields[0])?);
        }
        _ => return Err(format!("{} needs the \\# form", type_name(t))),
    }
    Ok(out.into())
}
