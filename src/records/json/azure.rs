//! The JSON shapes Azure admins have on disk, each entry at its line:
//!
//! - `az network private-endpoint show` / `list`: endpoints whose
//!   `customDnsConfigs[]` hold `fqdn` + `ipAddresses` (a list names every
//!   endpoint of a subscription: names outside the zones are skipped with a
//!   warning); a bare list of `{fqdn, ipAddresses}` objects.
//! - `az network private-dns record-set a list`, `... aaaa list`, `... list`:
//!   record sets with `fqdn`, `ttl`, `aRecords[].ipv4Address`,
//!   `aaaaRecords[].ipv6Address`, `cnameRecord.cname` (SOA, MX, ... skipped).
//! - `az rest` (ARM REST): `{"value": [...], "nextLink": ...}`, with the
//!   fields above under `properties`.
//! - PowerShell `Get-AzPrivateEndpoint | ConvertTo-Json` and
//!   `Get-AzPrivateDnsRecordSet | ConvertTo-Json`: PascalCase keys; a
//!   record set has `Name`, `ZoneName`, `Ttl`, `RecordType` and `Records`.
//!   ConvertTo-Json's default `-Depth 2` turns what lies deeper into text:
//!   a list of strings into its items joined by spaces (read as such), an
//!   object into its type name (an error that says to add `-Depth`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use serde_json::value::RawValue;

use super::{Doc, Kind, Obj, array, kind, number, string};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use crate::records::{Entry, EntryData};

/// The longest TTL a record file may set (one week), as in TOML files.
const MAX_TTL: f64 = 604_800.0;

const DEPTH_FIX: &str = "ConvertTo-Json cut it off at its default -Depth 2; save it again with `ConvertTo-Json -Depth 10`";

pub(super) struct Ctx<'c, 'a> {
    pub(super) path: &'c Path,
    pub(super) doc: &'c Doc<'a>,
    pub(super) out: &'c mut dyn FnMut(Entry),
    pub(super) diags: &'c mut Diagnostics,
    pub(super) warnings: &'c mut Vec<Diagnostic>,
    /// Every line is this one (entries read from a JSON string inside the
    /// file: PowerShell's `CustomDnsConfigsText`).
    pub(super) line_override: Option<usize>,
}

/// The value is .NET's name of a type (`Microsoft.Azure.Commands...`,
/// `System.Collections.Generic.List`1[...]`): ConvertTo-Json ran out of
/// depth there.
fn is_type_name(s: &str) -> bool {
    let s = s.trim();
    (s.starts_with("Microsoft.") || s.starts_with("System.")) && !s.contains(' ')
}

impl Ctx<'_, '_> {
    fn line(&self, v: &RawValue) -> usize {
        self.line_override.unwrap_or_else(|| self.doc.line(v))
    }

    fn error(&mut self, v: &RawValue, msg: impl Into<String>) {
        let line = self.line(v);
        self.diags.push(Diagnostic::at(self.path, line, msg));
    }

    fn warn(&mut self, v: &RawValue, msg: impl Into<String>) {
        let line = self.line(v);
        self.warnings.push(Diagnostic::at(self.path, line, msg));
    }

    fn emit(&mut self, name: &Name, data: EntryData, ttl: Option<u32>, line: usize) {
        (self.out)(Entry {
            name: name.clone(),
            data,
            ttl,
            line,
        });
    }

    pub(super) fn document(&mut self, root: &RawValue) {
        if let Some(items) = array(root) {
            return self.items(&items);
        }
        let Some(obj) = Obj::of(root) else {
            return self.error(
                root,
                "expected the JSON of `az network private-endpoint show/list`, of `az network private-dns record-set list`, of Get-AzPrivateEndpoint or Get-AzPrivateDnsRecordSet | ConvertTo-Json, or a list of {fqdn, ipAddresses} objects",
            );
        };
        // ARM REST lists (`az rest`), and Windows PowerShell's wrapper of
        // an array: {"value": [...], "Count": n}.
        if let Some(value) = obj.get("value")
            && let Some(items) = array(value)
        {
            if let Some(next) = obj.get("nextLink").and_then(string) {
                self.warn(
                    root,
                    format!(
                        "this is one page of a longer list (nextLink {next}): the entries of the later pages are missing; save each page as its own file, or use the az command, which follows nextLink"
                    ),
                );
            }
            return self.items(&items);
        }
        self.item(&obj);
    }

    fn items(&mut self, items: &[&RawValue]) {
        for item in items {
            match Obj::of(item) {
                Some(obj) => self.item(&obj),
                None if kind(item) == Kind::Str
                    && string(item).is_some_and(|s| is_type_name(&s)) =>
                {
                    self.error(
                        item,
                        format!("an object was written as its type name: {DEPTH_FIX}"),
                    )
                }
                None => self.error(item, "expected an object"),
            }
        }
    }

    /// One object: an endpoint, a record set, or an {fqdn, ipAddresses}.
    fn item(&mut self, obj: &Obj<'_>) {
        if let Some(configs) = obj.field("customDnsConfigs") {
            return self.endpoint(obj, configs);
        }
        let record_set_keys = [
            "aRecords",
            "aaaaRecords",
            "cnameRecord",
            "soaRecord",
            "mxRecords",
            "ptrRecords",
            "srvRecords",
            "txtRecords",
        ];
        let arm_type = obj.get("type").and_then(string).unwrap_or_default();
        if record_set_keys.iter().any(|k| obj.field(k).is_some())
            || arm_type
                .to_ascii_lowercase()
                .starts_with("microsoft.network/privatednszones/")
        {
            return self.record_set(obj);
        }
        if obj.get("Records").is_some() && obj.get("ZoneName").is_some() {
            return self.ps_record_set(obj);
        }
        if obj.get("fqdn").is_some() || obj.get("ipAddresses").is_some() {
            return self.dns_config(obj);
        }
        if arm_type.eq_ignore_ascii_case("Microsoft.Network/privateEndpoints")
            || obj.field("privateLinkServiceConnections").is_some()
        {
            // An endpoint whose DNS a zone group manages: nothing here.
            return;
        }
        self.error(
            obj.raw,
            "not a private endpoint, a private DNS record set or an {fqdn, ipAddresses} object",
        );
    }

    fn endpoint(&mut self, pe: &Obj<'_>, configs: &RawValue) {
        match kind(configs) {
            Kind::Array => {
                for c in array(configs).unwrap_or_default() {
                    match Obj::of(c) {
                        Some(obj) => self.dns_config(&obj),
                        None if string(c).is_some_and(|s| is_type_name(&s)) => {
                            if !self.read_configs_text(pe) {
                                self.error(c, format!("CustomDnsConfigs holds type names, not the entries: {DEPTH_FIX}"));
                            }
                            return;
                        }
                        None => self.error(c, "customDnsConfigs holds a non-object"),
                    }
                }
            }
            // `az` prints null when a zone group manages the endpoint's DNS.
            Kind::Null => {}
            Kind::Str if self.read_configs_text(pe) => {}
            Kind::Str => self.error(
                configs,
                format!("customDnsConfigs is text, not a list: {DEPTH_FIX}"),
            ),
            _ => self.error(configs, "customDnsConfigs is not a list"),
        }
    }

    /// PowerShell's `CustomDnsConfigsText` (the list as indented JSON, in
    /// a string) when the list itself was cut off. True when it was read.
    fn read_configs_text(&mut self, pe: &Obj<'_>) -> bool {
        let Some(raw) = pe.get("CustomDnsConfigsText") else {
            return false;
        };
        let Some(text) = string(raw) else {
            return false;
        };
        let Ok(inner) = serde_json::from_str::<&RawValue>(&text) else {
            return false;
        };
        let line = self.line(raw);
        let doc = Doc::new(&text);
        let mut sub = Ctx {
            path: self.path,
            doc: &doc,
            out: &mut *self.out,
            diags: &mut *self.diags,
            warnings: &mut *self.warnings,
            line_override: Some(line),
        };
        sub.items(&array(inner).unwrap_or_default());
        true
    }

    fn dns_config(&mut self, item: &Obj<'_>) {
        let line = self.line(item.raw);
        let fqdn = match item.get("fqdn") {
            Some(v) => match string(v) {
                Some(s) => s,
                None => return self.error(item.raw, "fqdn is not a string"),
            },
            None => return self.error(item.raw, "entry has no fqdn"),
        };
        let name = match Name::from_text(&fqdn) {
            Ok(n) => n,
            Err(e) => return self.error(item.raw, format!("invalid fqdn: {e}")),
        };
        let Some(addrs) = item.get("ipAddresses") else {
            return self.error(item.raw, format!("{name}: no ipAddresses"));
        };
        let texts: Vec<String> = match kind(addrs) {
            Kind::Array => {
                let mut v = Vec::new();
                for a in array(addrs).unwrap_or_default() {
                    match string(a) {
                        Some(s) => v.push(s),
                        None => {
                            return self.error(
                                item.raw,
                                format!("{name}: ipAddresses holds a non-string"),
                            );
                        }
                    }
                }
                v
            }
            // ConvertTo-Json past its depth joins a list's items with spaces.
            Kind::Str => string(addrs)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            Kind::Null => Vec::new(),
            _ => return self.error(item.raw, format!("{name}: ipAddresses is not a list")),
        };
        if texts.is_empty() {
            return self.warn(item.raw, format!("{name}: no ipAddresses: skipped"));
        }
        for s in texts {
            match s.parse::<IpAddr>() {
                Ok(ip) => self.emit(&name, EntryData::from(ip), None, line),
                Err(_) if is_type_name(&s) => {
                    return self.error(
                        item.raw,
                        format!("{name}: ipAddresses reads {s:?}: {DEPTH_FIX}"),
                    );
                }
                Err(_) => self.error(item.raw, format!("{name}: invalid IP address {s:?}")),
            }
        }
    }

    fn ttl(&mut self, v: Option<&RawValue>) -> Option<u32> {
        let v = v?;
        match number(v) {
            Some(t) if (0.0..=MAX_TTL).contains(&t) && t.fract() == 0.0 => Some(t as u32),
            Some(_) => {
                self.error(v, "ttl must be a whole number of seconds, at most 604800");
                None
            }
            None if kind(v) == Kind::Null => None,
            None => {
                self.error(v, "ttl is not a number");
                None
            }
        }
    }

    /// An az / ARM record set: `fqdn`, `ttl`, and the records by type.
    fn record_set(&mut self, rs: &Obj<'_>) {
        let Some(fqdn) = rs.field("fqdn").and_then(string) else {
            return self.error(rs.raw, "record set has no fqdn");
        };
        let name = match Name::from_text(&fqdn) {
            Ok(n) => n,
            Err(e) => return self.error(rs.raw, format!("invalid fqdn: {e}")),
        };
        let ttl = self.ttl(rs.field("ttl"));
        for (key, field, v6) in [
            ("aRecords", "ipv4Address", false),
            ("aaaaRecords", "ipv6Address", true),
        ] {
            let Some(list) = rs.field(key) else { continue };
            if kind(list) == Kind::Null {
                continue;
            }
            let Some(items) = array(list) else {
                self.error(list, format!("{key} is not a list"));
                continue;
            };
            for item in items {
                let addr = Obj::of(item).and_then(|o| o.get(field)).and_then(string);
                let Some(addr) = addr else {
                    self.error(item, format!("{name}: {key} entry without {field}"));
                    continue;
                };
                self.address(&name, &addr, v6, ttl, item);
            }
        }
        if let Some(c) = rs.field("cnameRecord")
            && kind(c) != Kind::Null
        {
            match Obj::of(c).and_then(|o| o.get("cname")).and_then(string) {
                Some(target) => self.cname(&name, &target, ttl, c),
                None => self.error(c, format!("{name}: cnameRecord without cname")),
            }
        }
    }

    /// `Get-AzPrivateDnsRecordSet | ConvertTo-Json`: relative `Name` in
    /// `ZoneName`, `Ttl`, `RecordType` (a string, or the enum's number:
    /// A 0, AAAA 1, CNAME 2) and `Records`.
    fn ps_record_set(&mut self, rs: &Obj<'_>) {
        let zone = rs.get("ZoneName").and_then(string).unwrap_or_default();
        let rel = rs
            .get("Name")
            .and_then(string)
            .unwrap_or_else(|| "@".into());
        let fqdn = if rel == "@" {
            zone
        } else {
            format!("{rel}.{zone}")
        };
        let name = match Name::from_text(&fqdn) {
            Ok(n) => n,
            Err(e) => return self.error(rs.raw, format!("invalid record set name: {e}")),
        };
        let ttl = self.ttl(rs.get("Ttl"));
        let rtype = rs.get("RecordType").and_then(|t| {
            string(t).or_else(|| {
                number(t).map(|n| match n as i64 {
                    0 => "A".to_string(),
                    1 => "AAAA".to_string(),
                    2 => "CNAME".to_string(),
                    _ => "other".to_string(),
                })
            })
        });
        let rtype = rtype.map(|t| t.to_ascii_uppercase());
        if rtype
            .as_deref()
            .is_some_and(|t| !matches!(t, "A" | "AAAA" | "CNAME"))
        {
            return;
        }
        let Some(records) = rs.get("Records") else {
            return;
        };
        let items = match kind(records) {
            Kind::Array => array(records).unwrap_or_default(),
            Kind::Null => return,
            _ => {
                return self.error(
                    records,
                    format!("{name}: Records is not a list: {DEPTH_FIX}"),
                );
            }
        };
        for item in items {
            // Past ConvertTo-Json's depth a record is its ToString(): the
            // address or the target itself.
            let (value, key) = match Obj::of(item) {
                Some(o) => {
                    let found = ["Ipv4Address", "Ipv6Address", "Cname"]
                        .into_iter()
                        .find_map(|k| o.get(k).and_then(string).map(|v| (v, k)));
                    match found {
                        Some(f) => (f.0, Some(f.1)),
                        None => continue,
                    }
                }
                None => match string(item) {
                    Some(s) if is_type_name(&s) => {
                        self.error(
                            item,
                            format!("{name}: a record was written as its type name: {DEPTH_FIX}"),
                        );
                        continue;
                    }
                    Some(s) => (s, None),
                    None => {
                        self.error(item, format!("{name}: Records holds a non-object"));
                        continue;
                    }
                },
            };
            let is_cname = key == Some("Cname")
                || (key.is_none() && rtype.as_deref() == Some("CNAME"))
                || (key.is_none() && rtype.is_none() && value.parse::<IpAddr>().is_err());
            if is_cname {
                self.cname(&name, &value, ttl, item);
            } else {
                let v6 = key == Some("Ipv6Address")
                    || (key.is_none() && rtype.as_deref() == Some("AAAA"))
                    || (key.is_none() && rtype.is_none() && value.contains(':'));
                self.address(&name, &value, v6, ttl, item);
            }
        }
    }

    fn address(&mut self, name: &Name, addr: &str, v6: bool, ttl: Option<u32>, at: &RawValue) {
        let line = self.line(at);
        let data = if v6 {
            addr.parse::<Ipv6Addr>().ok().map(EntryData::Aaaa)
        } else {
            addr.parse::<Ipv4Addr>().ok().map(EntryData::A)
        };
        match data {
            Some(d) => self.emit(name, d, ttl, line),
            None => self.error(
                at,
                format!(
                    "{name}: invalid IPv{} address {addr:?}",
                    if v6 { 6 } else { 4 }
                ),
            ),
        }
    }

    fn cname(&mut self, name: &Name, target: &str, ttl: Option<u32>, at: &RawValue) {
        let line = self.line(at);
        match Name::from_text(target) {
            Ok(t) => self.emit(name, EntryData::Cname(t), ttl, line),
            Err(e) => self.error(at, format!("{name}: invalid cname target: {e}")),
        }
    }
}
