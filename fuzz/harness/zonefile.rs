//! The zone-file reader (a secondary zone's copy in the state directory,
//! and what `pldns export` writes). Invariants: errors name a line the
//! text has; a zone it reads is inside the zone, and written back out and
//! read again it is the same copy.

use pldns::name::Name;
use pldns::wire::rtype;
use pldns::xfr::secondary::ZoneCopy;
use pldns::xfr::zonefile::read_zone;

use super::xfr::ZONE;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let zone = Name::from_text(ZONE).expect("zone name");
    match read_zone(text, &zone) {
        Ok((soa, records)) => {
            assert!(soa.owner == zone && soa.rtype == rtype::SOA, "the SOA");
            assert!(
                records.iter().all(|r| r.owner.is_in(&zone)),
                "a record outside the zone"
            );
            let copy = ZoneCopy::full(zone.clone(), soa, records);
            let again = copy.to_text("fuzz");
            match ZoneCopy::from_text(&zone, &again) {
                Ok(back) => assert_eq!(back, copy, "written and read back otherwise:\n{again}"),
                Err(e) => panic!("our own zone file does not read back: {e}\n{again}"),
            }
        }
        Err(e) => {
            let lines = text.lines().count();
            let line = e
                .strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            let ok = match line {
                Some(n) => (1..=lines).contains(&n),
                None => e == "no SOA record at the apex",
            };
            assert!(ok, "error {e:?} names no line of the {lines}");
        }
    }
}
