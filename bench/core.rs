//! The resolution core without sockets: `resolve()` on query bytes against
//! tables of 1k, 100k and 1M records, the cache-hit path, public-name
//! synthesis, the hand-over of a query to forward (its continuation), and
//! the splice of a forwarded answer completed from the table, and response
//! rate limiting (the step after `resolve` for UDP replies: off, and on for
//! well-behaved clients). A counting global allocator reports heap
//! allocations per query next to criterion's times.
//!
//!   cargo bench --bench core

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name as HName, RData, Record};
use pldns::cache::Cache;
use pldns::chain::{self, Start};
use pldns::name::Name;
use pldns::records::Records;
use pldns::resolve::{Transport, resolve};
use pldns::snapshot::Snapshot;
use pldns::splice::Spliced;
use pldns::table::{Data, TableBuilder};
use pldns::wire::{Rcode, ResponseWriter, parse_query};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static STATS: std::sync::LazyLock<pldns::stats::Stats> = std::sync::LazyLock::new(Default::default);

const ZONE: &str = "privatelink.blob.core.windows.net";

fn snapshot(n: usize) -> Arc<Snapshot> {
    snapshot_with(n, "")
}

fn snapshot_with(n: usize, extra: &str) -> Arc<Snapshot> {
    let cfg = pldns::config::parse(
        Path::new("/bench/pldns.toml"),
        &format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\n[upstream]\nservers = [\"127.0.0.1:9\"]\n\
             [[zone]]\nname = \"{ZONE}\"\nrecords = []\non_miss = \"nxdomain\"\n{extra}"
        ),
    )
    .unwrap();
    let mut b = TableBuilder::new(1);
    for i in 0..n {
        let name = Name::from_text(&format!("acct{i:07}.{ZONE}")).unwrap();
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i as u32);
        b.insert(name.wire(), 0, Data::A(ip), 300, (0, 1)).unwrap();
        if i % 2 == 0 {
            let v6 = std::net::Ipv6Addr::from(0xfd00_u128 << 112 | i as u128);
            b.insert(name.wire(), 0, Data::Aaaa(v6), 300, (0, 1))
                .unwrap();
        }
    }
    let alias = Name::from_text(&format!("alias.{ZONE}")).unwrap();
    let target = Name::from_text(&format!("acct{:07}.{ZONE}", n / 2)).unwrap();
    b.insert(alias.wire(), 0, Data::Cname(target.wire()), 300, (0, 1))
        .unwrap();
    let apex = cfg.zones[0].name.wire().len();
    Arc::new(Snapshot::build(
        cfg,
        Records {
            table: b.finish(&[apex]),
            files: vec![],
            pulled: vec![],
        },
        None,
    ))
}

fn query(name: &str, qtype: u16) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    p
}

/// Allocations per call of `f`, over many calls after a warm-up.
fn allocs_per_call(mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    let n = 10_000;
    for _ in 0..n {
        f();
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

fn bench_case(
    c: &mut Criterion,
    id: &str,
    snap: &Arc<Snapshot>,
    cache: Option<&Cache>,
    packet: &[u8],
    expect: &str,
) {
    let client: IpAddr = "127.0.0.1".parse().unwrap();
    let mut out = Vec::with_capacity(4096);
    let first = resolve(
        snap,
        cache,
        &STATS,
        packet,
        client,
        Transport::Udp,
        &mut out,
    );
    assert!(format!("{first:?}").starts_with(expect), "{id}: {first:?}");
    let allocs = allocs_per_call(|| {
        black_box(resolve(
            snap,
            cache,
            &STATS,
            black_box(packet),
            client,
            Transport::Udp,
            &mut out,
        ));
    });
    println!(
        "{id}: {allocs:.2} allocations/query, answer {} bytes",
        out.len()
    );
    c.bench_function(id, |b| {
        b.iter(|| {
            black_box(resolve(
                snap,
                cache,
                &STATS,
                black_box(packet),
                client,
                Transport::Udp,
                &mut out,
            ))
        })
    });
}

/// A cache holding the answer to `www.example.com` A, as a forward would
/// have stored it.
fn cached(snap: &Snapshot) -> Cache {
    let cache = Cache::new(&snap.config.cache).unwrap();
    let q = query("www.example.com", 1);
    let parsed = parse_query(&q).unwrap();
    let mut body = Vec::new();
    let mut w = ResponseWriter::new(&mut body, &parsed, Rcode::NoError, false);
    w.record(
        parsed.qname.wire(),
        1,
        300,
        pldns::wire::Rdata::Bytes(&[93, 184, 216, 34]),
    );
    w.finish_body();
    cache.store(
        &parsed,
        &mut body,
        Rcode::NoError,
        snap.routing_generation,
        Instant::now(),
    );
    cache
}

fn core(c: &mut Criterion) {
    for (n, label) in [(1_000, "1k"), (100_000, "100k"), (1_000_000, "1M")] {
        let snap = snapshot(n);
        let hit = format!("acct{:07}.{ZONE}", n / 3 * 2);
        bench_case(
            c,
            &format!("local_a/{label}"),
            &snap,
            None,
            &query(&hit, 1),
            "Reply",
        );
        bench_case(
            c,
            &format!("local_aaaa/{label}"),
            &snap,
            None,
            &query(&hit, 28),
            "Reply",
        );
        bench_case(
            c,
            &format!("local_cname_chain/{label}"),
            &snap,
            None,
            &query(&format!("alias.{ZONE}"), 1),
            "Reply",
        );
        bench_case(
            c,
            &format!("nxdomain/{label}"),
            &snap,
            None,
            &query(&format!("missing.{ZONE}"), 1),
            "Reply",
        );
        bench_case(
            c,
            &format!("nodata/{label}"),
            &snap,
            None,
            &query(&hit, 16),
            "Reply",
        );
        let public = hit.replace(".privatelink.", ".");
        bench_case(
            c,
            &format!("public_name_synthesis/{label}"),
            &snap,
            None,
            &query(&public, 1),
            "Reply",
        );
    }

    // Cache hit: a forwarded answer stored as bytes, served with ID, case and
    // TTLs patched.
    let snap = snapshot(1_000);
    let cache = cached(&snap);
    let q = query("www.example.com", 1);
    bench_case(c, "cache_hit", &snap, Some(&cache), &q, "Reply");
    bench_case(
        c,
        "cache_miss_to_forward",
        &snap,
        Some(&cache),
        &query("other.example.com", 1),
        "Forward",
    );

    // Splice: the upstream's public chain for a storage account, cut at the
    // privatelink name and completed from the table (once per upstream reply;
    // the result is then served from the cache).
    let acct = format!("acct{:07}", 500);
    let q = query("custom.contoso.com", 1);
    let parsed = parse_query(&q).unwrap();
    let mut reply = Message::query();
    let n = |s: &str| HName::from_ascii(s).unwrap();
    reply.add_answer(Record::from_rdata(
        n("custom.contoso.com."),
        60,
        RData::CNAME(CNAME(n(&format!("{acct}.blob.core.windows.net.")))),
    ));
    reply.add_answer(Record::from_rdata(
        n(&format!("{acct}.blob.core.windows.net.")),
        60,
        RData::CNAME(CNAME(n(&format!("{acct}.{ZONE}.")))),
    ));
    reply.add_answer(Record::from_rdata(
        n(&format!("{acct}.{ZONE}.")),
        60,
        RData::CNAME(CNAME(n("blob.bl5.store.core.windows.net."))),
    ));
    reply.add_answer(Record::from_rdata(
        n("blob.bl5.store.core.windows.net."),
        60,
        RData::A(A("52.239.1.1".parse().unwrap())),
    ));
    let mut out = Vec::with_capacity(4096);
    let asked = parsed.qname.wire().to_vec();
    let mut run = || {
        let mut w = ResponseWriter::new(&mut out, &parsed, Rcode::NoError, false);
        let cut = pldns::splice::splice(&snap, parsed.qtype, &mut w, &asked, &reply);
        let Spliced::Cut { zone, name } = cut else {
            panic!("no cut: {cut:?}");
        };
        let start = Start::Cut { zone, name };
        black_box(chain::follow(&snap, &parsed, &start, &mut w, &STATS.misses));
    };
    let allocs = allocs_per_call(&mut run);
    println!("splice_forwarded_chain: {allocs:.2} allocations/answer");
    c.bench_function("splice_forwarded_chain", |b| b.iter(&mut run));
}

/// `resolve` and then the rate-limiting step `Front::act` takes for a UDP
/// reply: one branch when `[rrl]` is off; with it on, the verdict for
/// clients that stay under their limit (65,536 of them in turn, each in a
/// /24 of its own, asking once a second).
fn bench_rrl(
    c: &mut Criterion,
    id: &str,
    snap: &Arc<Snapshot>,
    cache: Option<&Cache>,
    packet: &[u8],
) {
    let mut out = Vec::with_capacity(4096);
    let mut i = 0u32;
    let start = Instant::now();
    let mut run = || {
        i = i.wrapping_add(1);
        // 65,536 clients, each asking once per (simulated) second.
        let client = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0001 | (i & 0xFFFF) << 8));
        let now = start + Duration::from_secs(u64::from(i >> 16));
        black_box(resolve(
            snap,
            cache,
            &STATS,
            black_box(packet),
            client,
            Transport::Udp,
            &mut out,
        ));
        let send = match &snap.rrl {
            Some(rrl) => pldns::resolve::rate_limit(rrl, snap, client, &mut out, now),
            None => true,
        };
        assert!(send);
    };
    let allocs = allocs_per_call(&mut run);
    println!("{id}: {allocs:.2} allocations/query");
    c.bench_function(id, |b| b.iter(&mut run));
}

fn rrl(c: &mut Criterion) {
    let hit = format!("acct{:07}.{ZONE}", 666);
    let off = snapshot(1_000);
    let on = snapshot_with(1_000, "[rrl]\nresponses_per_second = 100\n");
    assert!(off.rrl.is_none() && on.rrl.is_some());
    for (label, snap) in [("off", &off), ("on", &on)] {
        bench_rrl(
            c,
            &format!("rrl_{label}/local_a"),
            snap,
            None,
            &query(&hit, 1),
        );
        let cache = cached(snap);
        bench_rrl(
            c,
            &format!("rrl_{label}/cache_hit"),
            snap,
            Some(&cache),
            &query("www.example.com", 1),
        );
        bench_rrl(
            c,
            &format!("rrl_{label}/nxdomain"),
            snap,
            None,
            &query(&format!("missing.{ZONE}"), 1),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = core, rrl
}
criterion_main!(benches);
