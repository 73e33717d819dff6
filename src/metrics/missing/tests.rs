use super::*;
use crate::missing::ZoneMisses;

const ZONE: &str = "privatelink.blob.core.windows.net";

fn name(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

fn miss_n(q: &MissQueue, zone: &Arc<ZoneMisses>, i: usize) {
    q.record(zone, name(&format!("r{i}.{ZONE}")).wire());
}

#[test]
fn log_is_bounded_but_names_not_logged_stay_due() {
    let q = MissQueue::with_capacity(1024);
    let zone = ZoneMisses::new(name(ZONE));
    let m = MissingNames::default();
    for i in 0..100 {
        miss_n(&q, &zone, i);
        miss_n(&q, &zone, i);
    }
    assert_eq!(m.drain(&q), 200);
    assert_eq!(zone.count(), 200);
    let log = lock(&m.log);
    assert_eq!(log.lines, LOG_BURST);
    assert_eq!(log.logged.len(), LOG_BURST as usize);
    // The 20 logged names' second misses are not due; the other 80 names
    // were suppressed twice each.
    assert_eq!(log.suppressed, 160);
}

#[test]
fn a_window_ends_with_its_count_and_gives_the_budget_back() {
    let q = MissQueue::with_capacity(1024);
    let zone = ZoneMisses::new(name(ZONE));
    let m = MissingNames::default();
    for i in 0..30 {
        miss_n(&q, &zone, i);
    }
    m.drain(&q);
    let mut log = lock(&m.log);
    assert_eq!((log.lines, log.suppressed), (LOG_BURST, 10));
    let later = Instant::now() + LOG_WINDOW;
    log.end_window_if_due(later);
    assert_eq!((log.lines, log.suppressed), (0, 0));
    assert_eq!(log.window_start, None);
}

#[test]
fn events_lost_in_a_full_queue_count_as_not_logged() {
    let q = MissQueue::with_capacity(2);
    let zone = ZoneMisses::new(name(ZONE));
    let m = MissingNames::default();
    for i in 0..5 {
        miss_n(&q, &zone, i);
    }
    assert_eq!(m.drain(&q), 2);
    assert_eq!(zone.count(), 5, "the zone count is exact");
    assert_eq!(lock(&m.log).suppressed, 3);
    // Counted once, not at every drain.
    m.drain(&q);
    assert_eq!(lock(&m.log).suppressed, 3);
}

#[test]
fn register_keeps_the_most_recently_seen_names_per_zone() {
    let q = MissQueue::with_capacity(REGISTER_NAMES + 100);
    let blob = ZoneMisses::new(name(ZONE));
    let queue_zone = ZoneMisses::new(name("privatelink.queue.core.windows.net"));
    let m = MissingNames::default();
    q.record(
        &queue_zone,
        name("q.privatelink.queue.core.windows.net").wire(),
    );
    for i in 0..REGISTER_NAMES {
        miss_n(&q, &blob, i);
    }
    // r0 again: now seen more recently than r1.., so they go first.
    miss_n(&q, &blob, 0);
    for i in REGISTER_NAMES..REGISTER_NAMES + 10 {
        miss_n(&q, &blob, i);
    }
    m.drain(&q);

    let blob_names = m.names_in(&name(ZONE));
    assert_eq!(blob_names.len(), REGISTER_NAMES);
    let newest = format!("r{}.{ZONE}", REGISTER_NAMES + 9);
    assert_eq!(blob_names[0].name, name(&newest), "most recent first");
    let r0 = blob_names
        .iter()
        .find(|n| n.name == name(&format!("r0.{ZONE}")));
    let r0 = r0.expect("a name seen again is kept");
    assert_eq!(r0.count, 2);
    assert!(r0.first_seen <= r0.last_seen);
    let kept: std::collections::HashSet<String> =
        blob_names.iter().map(|n| n.name.to_string()).collect();
    for evicted in 1..=10 {
        assert!(!kept.contains(&format!("r{evicted}.{ZONE}")), "r{evicted}");
    }
    assert!(kept.contains(&format!("r11.{ZONE}")));
    // Another zone's flood does not evict this zone's names.
    let queue_names = m.names_in(&name("privatelink.queue.core.windows.net"));
    assert_eq!(queue_names.len(), 1);
    assert_eq!(m.names().len(), REGISTER_NAMES + 1);
}

#[tokio::test]
async fn subscribers_hear_of_misses_and_never_hold_the_consumer_up() {
    let q = MissQueue::with_capacity(64);
    let zone = ZoneMisses::new(name(ZONE));
    let m = MissingNames::default();
    let mut slow = m.subscribe(1);
    let gone = m.subscribe(4);
    drop(gone);
    for i in 0..3 {
        miss_n(&q, &zone, i);
    }
    assert_eq!(m.drain(&q), 3, "a full subscriber does not block");
    assert_eq!(
        slow.recv().await,
        Some(Missed {
            zone: name(ZONE),
            name: name(&format!("r0.{ZONE}")),
        })
    );
    assert!(slow.try_recv().is_err(), "the rest was dropped for it");
    assert_eq!(lock(&m.subscribers).len(), 1, "a closed one is removed");
    miss_n(&q, &zone, 7);
    m.drain(&q);
    assert_eq!(slow.recv().await.unwrap().name, name(&format!("r7.{ZONE}")));
}
