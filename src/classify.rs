//! Which way a name goes: answered from a zone with records, synthesised
//! from the table through its public twin, or forwarded (to a zone's
//! forwarders or to `[upstream]`). Longest match wins; the rule itself is
//! [`crate::zonemap`], shared with the record loader.

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
    let located = snap.route(qname);
    if let Some(twin) = located.twin
        && let Some(mapped) = snap.twin_name(qname, twin)
        && snap
            .node(mapped.wire())
            .is_some_and(|n| !n.is_empty_non_terminal())
    {
        return Route::Twin {
            zone: twin.zone,
            mapped,
        };
    }
    match located.zone {
        Some(zi) if snap.zones[zi].local.is_some() => Route::Local(zi),
        zone => Route::Forward(zone),
    }
}
