//! Which way a name goes: answered from a zone with records, synthesised
//! from the table through its public twin, or forwarded (to a zone's
//! forwarders or to `[upstream]`). Longest zone match wins.

use crate::snapshot::Snapshot;
use crate::wire::NameBuf;

#[derive(Debug)]
pub enum Route {
    /// Inside zone `.0`, which has records: answer from the table.
    Local(usize),
    /// A public name (`acct.blob.core.windows.net`) whose privatelink twin
    /// `mapped` is in the table of zone `zone`: answer with the CNAME at
    /// once, without asking upstream.
    Twin { zone: usize, mapped: NameBuf },
    /// Forward to this zone's forwarders, or to `[upstream]` when `None`.
    Forward(Option<usize>),
}

pub fn classify(snap: &Snapshot, qname: &[u8]) -> Route {
    let zone = snap.zone_of(qname);
    if let Some(zi) = zone
        && snap.zones[zi].local.is_some()
    {
        return Route::Local(zi);
    }
    if let Some((zone, mapped)) = twin_in_table(snap, qname) {
        return Route::Twin { zone, mapped };
    }
    Route::Forward(zone)
}

/// The privatelink name of a public name, when the table holds data for it.
pub fn twin_in_table(snap: &Snapshot, name: &[u8]) -> Option<(usize, NameBuf)> {
    let (zi, twin_len) = snap.twin_of(name)?;
    let head = &name[..name.len() - twin_len];
    let mapped = NameBuf::concat(head, snap.zones[zi].name.wire())?;
    let node = snap.node(mapped.wire())?;
    (!node.is_empty_non_terminal()).then_some((zi, mapped))
}
