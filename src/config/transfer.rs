//! The zone-transfer part of the config: `[[tsig]]` keys (their secret
//! files read here, so a bad file is a `FILE:LINE` error like any other) and
//! the per-zone keys `transfer_allow`, `notify`, `tsig_key` and `primaries`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::{Validator, parse_net, parse_server_addr};
use crate::name::Name;
use crate::xfr::tsig::file as secret_file;
use crate::xfr::tsig::{Algorithm, Key, Keyring};

/// `[[tsig]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTsig {
    name: Spanned<String>,
    algorithm: Option<Spanned<String>>,
    secret_file: Spanned<String>,
}

/// The transfer keys of one `[[zone]]` as written.
pub(super) struct RawZoneTransfer<'a> {
    pub transfer_allow: Option<&'a Vec<Spanned<String>>>,
    pub notify: Option<&'a Vec<Spanned<String>>>,
    pub tsig_key: Option<&'a Spanned<String>>,
    pub primaries: Option<&'a Vec<Spanned<String>>>,
    pub records: bool,
}

/// How a zone replicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneTransfer {
    /// Clients that may AXFR/IXFR the zone (default: nobody).
    pub allow: Vec<IpNet>,
    /// Secondaries told by NOTIFY after every change of the zone.
    pub notify: Vec<SocketAddr>,
    /// When set, transfers and NOTIFY of this zone are signed with this key,
    /// and unsigned (or otherwise signed) transfer requests are refused.
    pub key: Option<Arc<Key>>,
    /// The primaries of a secondary zone; empty for any other zone.
    pub primaries: Vec<SocketAddr>,
}

impl ZoneTransfer {
    pub fn is_secondary(&self) -> bool {
        !self.primaries.is_empty()
    }

    /// One line for `pldns check`'s summary, when anything is set.
    pub fn describe(&self) -> Option<String> {
        let list = |v: Vec<String>| v.join(", ");
        let mut parts = Vec::new();
        if self.is_secondary() {
            let p = self.primaries.iter().map(|a| a.to_string()).collect();
            parts.push(format!("secondary of {}", list(p)));
        }
        if !self.allow.is_empty() {
            let a = self.allow.iter().map(|n| n.to_string()).collect();
            parts.push(format!("transfers to {}", list(a)));
        }
        if !self.notify.is_empty() {
            let n = self.notify.iter().map(|a| a.to_string()).collect();
            parts.push(format!("NOTIFY {}", list(n)));
        }
        if let Some(k) = &self.key {
            parts.push(format!("TSIG key {} ({})", k.name, k.algorithm.text()));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// True when `client` may transfer the zone (by address; the key is
    /// checked apart).
    pub fn allows(&self, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|net| net.contains(&client))
    }

    /// True when `source` is one of the primaries (NOTIFY is accepted from
    /// them only; the port is the sender's own and not compared).
    pub fn is_primary(&self, source: IpAddr) -> bool {
        let source = match source {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(source, IpAddr::V4),
            v4 => v4,
        };
        self.primaries.iter().any(|p| p.ip() == source)
    }
}

impl super::ZoneConfig {
    /// Answered here, from the table: a zone with records of its own, or
    /// a secondary zone (from its primary's data).
    pub fn is_local(&self) -> bool {
        self.has_records() || self.is_secondary()
    }
}

/// The `[[tsig]]` keys read, and the names of all declared (a zone naming a
/// key whose file is broken gets one error, about the file).
pub(super) struct TsigKeys {
    pub ring: Keyring,
    declared: Vec<Name>,
}

impl Validator<'_> {
    /// Reads every `[[tsig]]` key and its secret file (paths relative to the
    /// config's folder).
    pub(super) fn tsig_keys(&mut self, raw: &[RawTsig], base: &Path) -> TsigKeys {
        let mut keys: Vec<(Arc<Key>, usize)> = Vec::new();
        let mut declared = Vec::new();
        for t in raw {
            let line = crate::diag::line_of(self.text, t.name.span().start);
            let name = match Name::from_text(t.name.get_ref()) {
                Ok(n) => n,
                Err(e) => {
                    self.error(&t.name, format!("invalid TSIG key name: {e}"));
                    continue;
                }
            };
            if let Some((_, prev)) = keys.iter().find(|(k, _)| k.name == name) {
                let msg = format!("TSIG key {name} is already defined at line {prev}");
                self.error(&t.name, msg);
                continue;
            }
            declared.push(name.clone());
            let algorithm = match &t.algorithm {
                Some(a) => match Algorithm::from_text(a.get_ref()) {
                    Some(alg) => Some(alg),
                    None => {
                        let msg = format!(
                            "unsupported TSIG algorithm {:?}: {}",
                            a.get_ref(),
                            Algorithm::NAMES
                        );
                        self.error(a, msg);
                        continue;
                    }
                },
                None => None,
            };
            if let Some(key) = self.read_secret(t, &name, algorithm, base) {
                keys.push((Arc::new(key), line));
            }
        }
        TsigKeys {
            ring: Keyring(keys.into_iter().map(|(k, _)| k).collect()),
            declared,
        }
    }

    fn read_secret(
        &mut self,
        t: &RawTsig,
        name: &Name,
        algorithm: Option<Algorithm>,
        base: &Path,
    ) -> Option<Key> {
        let path = base.join(t.secret_file.get_ref());
        let shown = path.display();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                self.error(
                    &t.secret_file,
                    format!("cannot read secret_file {shown}: {e}"),
                );
                return None;
            }
        };
        let file = match secret_file::parse(&text, t.name.get_ref()) {
            Ok(f) => f,
            Err(e) => {
                self.error(&t.secret_file, format!("secret_file {shown}: {e}"));
                return None;
            }
        };
        if let Some(in_file) = &file.name
            && Name::from_text(in_file).ok().as_ref() != Some(name)
        {
            let msg = format!(
                "secret_file {shown} holds key \"{in_file}\", not \"{name}\" (both servers must use the same key name)"
            );
            self.error(&t.secret_file, msg);
            return None;
        }
        let from_file = match file.algorithm.as_deref().map(Algorithm::from_text) {
            Some(None) => {
                let msg = format!(
                    "secret_file {shown}: unsupported algorithm {:?}: {}",
                    file.algorithm.unwrap_or_default(),
                    Algorithm::NAMES
                );
                self.error(&t.secret_file, msg);
                return None;
            }
            Some(Some(a)) => Some(a),
            None => None,
        };
        let algorithm = match (algorithm, from_file) {
            (Some(a), Some(b)) if a != b => {
                let msg = format!(
                    "secret_file {shown} is a {} key, but algorithm = \"{}\"",
                    b.text(),
                    a.text()
                );
                self.error(&t.secret_file, msg);
                return None;
            }
            (a, b) => a.or(b).unwrap_or(Algorithm::HmacSha256),
        };
        Some(Key::new(name.clone(), algorithm, &file.secret))
    }

    /// Validates the transfer keys of zone `name`.
    pub(super) fn zone_transfer(
        &mut self,
        z: &RawZoneTransfer<'_>,
        name: &Name,
        zone_key: &Spanned<String>,
        keys: &TsigKeys,
    ) -> ZoneTransfer {
        let mut out = ZoneTransfer::default();
        if let Some(list) = z.primaries {
            if z.records {
                self.error(
                    zone_key,
                    format!("zone {name}: records and primaries exclude each other (a zone has its own records, or is a secondary pulled from its primaries)"),
                );
            }
            if list.is_empty() {
                self.error(
                    zone_key,
                    format!("zone {name}: primaries is empty: name at least one primary server"),
                );
            }
            out.primaries = self.addrs(list, "primary", parse_server_addr);
        }
        let answered_here = z.records || z.primaries.is_some();
        let only_local = |v: &mut Self, what: &str| {
            v.error(
                zone_key,
                format!("zone {name}: {what} applies only to a zone with records or primaries"),
            );
        };
        if let Some(list) = z.transfer_allow {
            if !answered_here {
                only_local(self, "transfer_allow");
            }
            for item in list {
                match parse_net(item.get_ref()) {
                    Ok(n) => out.allow.push(n),
                    Err(e) => self.error(
                        item,
                        format!("invalid transfer_allow entry {:?}: {e}", item.get_ref()),
                    ),
                }
            }
        }
        if let Some(list) = z.notify {
            if !answered_here {
                only_local(self, "notify");
            }
            out.notify = self.addrs(list, "notify address", parse_server_addr);
        }
        if let Some(k) = z.tsig_key {
            if !answered_here {
                only_local(self, "tsig_key");
            }
            let wanted = Name::from_text(k.get_ref()).ok();
            match wanted.as_ref().and_then(|n| keys.ring.named(n).cloned()) {
                Some(key) => out.key = Some(key),
                // Declared, but its secret file failed: already reported.
                None if wanted.is_some_and(|n| keys.declared.contains(&n)) => {}
                None => self.error(
                    k,
                    format!(
                        "unknown tsig_key {:?}: no [[tsig]] has that name",
                        k.get_ref()
                    ),
                ),
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
