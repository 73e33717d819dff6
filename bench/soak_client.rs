//! The clients of bench/soak.sh, one class per process, each printing one
//! line of `key=value` counts when its time is up. Loopback only.
//!
//!   soak_client udp  --class C --server A --bind IP --queries F --rate R --duration S [--expect E]
//!   soak_client tcp  (the same: one connection per query)
//!   soak_client flood    --server A --bind IP --name N --rate R --duration S (R 0: flat out)
//!   soak_client tcp-hog  --server A --bind IP --duration S
//!   soak_client tcp-idle --server A --bind IP --count N --duration S
//!
//! Well-behaved classes (`udp`, `tcp`) send at a fixed rate and sort every
//! reply: `ok` (NOERROR, and for `--expect private` an address in 10/8 and
//! none public), `wrong` (NOERROR otherwise), `servfail`, `other` rcodes,
//! `truncated`, and `lost` (no reply within 2 s). `flood` sends as fast as
//! it can (or at `--rate`) from one address and counts replies and slips (TC). `tcp-hog`
//! pipelines forwarded queries on one connection and never reads.
//! `tcp-idle` opens connections and sends nothing.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Args {
    mode: String,
    class: String,
    server: Option<SocketAddr>,
    bind: Option<IpAddr>,
    queries: Vec<(String, u16)>,
    name: String,
    rate: f64,
    duration: f64,
    expect: String,
    count: usize,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        mode: it.next().expect("a mode"),
        rate: 50.0,
        duration: 10.0,
        expect: "any".into(),
        count: 100,
        name: "www.example.com".into(),
        ..Args::default()
    };
    a.class = a.mode.clone();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--class" => a.class = v,
            "--server" => a.server = Some(v.parse().expect("--server ADDR:PORT")),
            "--bind" => a.bind = Some(v.parse().expect("--bind IP")),
            "--name" => a.name = v,
            "--rate" => a.rate = v.parse().expect("--rate"),
            "--duration" => a.duration = v.parse().expect("--duration"),
            "--expect" => a.expect = v,
            "--count" => a.count = v.parse().expect("--count"),
            "--queries" => {
                let text = std::fs::read_to_string(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
                a.queries = text
                    .lines()
                    .filter_map(|l| {
                        let mut f = l.split_whitespace();
                        let name = f.next()?.to_string();
                        Some((name, qtype(f.next().unwrap_or("A"))))
                    })
                    .collect();
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let server = a.server.expect("--server");
    assert!(
        server.ip().is_loopback(),
        "the soak clients talk to loopback only"
    );
    a
}

fn qtype(t: &str) -> u16 {
    match t {
        "AAAA" => 28,
        "CNAME" => 5,
        "TXT" => 16,
        _ => 1,
    }
}

fn encode(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x01, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for l in name.split('.').filter(|l| !l.is_empty()) {
        p.push(l.len() as u8);
        p.extend_from_slice(l.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    p
}

/// Counts of one well-behaved class.
#[derive(Default)]
struct Tally {
    sent: u64,
    ok: u64,
    wrong: u64,
    servfail: u64,
    other: u64,
    truncated: u64,
    lost: u64,
    latencies_us: Vec<u64>,
    /// The rcodes counted in `other`, by name.
    others: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    fn sort(&mut self, reply: &[u8], expect: &str, took: Duration) {
        self.latencies_us.push(took.as_micros() as u64);
        let Ok(m) = Message::from_vec(reply) else {
            self.other += 1;
            return;
        };
        if m.metadata.truncation {
            self.truncated += 1;
            return;
        }
        match m.metadata.response_code {
            ResponseCode::NoError => {
                let ips: Vec<IpAddr> = m
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        _ => None,
                    })
                    .collect();
                let private = |ip: &IpAddr| matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10);
                let good = match expect {
                    "private" => !ips.is_empty() && ips.iter().all(private),
                    "answer" => !m.answers.is_empty(),
                    _ => true,
                };
                if good { self.ok += 1 } else { self.wrong += 1 }
            }
            ResponseCode::ServFail => self.servfail += 1,
            rcode => {
                self.other += 1;
                *self.others.entry(format!("{rcode:?}")).or_default() += 1;
            }
        }
    }

    fn print(mut self, class: &str) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let n = self.latencies_us.len();
            if n == 0 {
                0
            } else {
                self.latencies_us[((n - 1) as f64 * p) as usize]
            }
        };
        println!(
            "class={class} sent={} ok={} wrong={} servfail={} other={} truncated={} lost={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} other_rcodes={}",
            self.sent,
            self.ok,
            self.wrong,
            self.servfail,
            self.other,
            self.truncated,
            self.lost,
            pct(0.5) as f64 / 1000.0,
            pct(0.99) as f64 / 1000.0,
            pct(1.0) as f64 / 1000.0,
            self.others
                .iter()
                .map(|(k, n)| format!("{k}:{n}"))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
}

fn local(bind: Option<IpAddr>) -> SocketAddr {
    SocketAddr::new(bind.unwrap_or(IpAddr::from([127, 0, 0, 1])), 0)
}

/// Paces `f` at `rate` per second for `duration` seconds.
fn paced(rate: f64, duration: f64, mut f: impl FnMut(u64)) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < duration {
        let due = start + Duration::from_secs_f64(n as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        f(n);
        n += 1;
    }
}

fn udp(a: &Args) {
    let server = a.server.expect("server");
    let sock = UdpSocket::bind(local(a.bind)).expect("bind");
    sock.connect(server).expect("connect");
    sock.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let waiting: Arc<Mutex<HashMap<u16, Instant>>> = Arc::default();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (sock, waiting, tally, done) = (
            sock.try_clone().expect("clone"),
            waiting.clone(),
            tally.clone(),
            done.clone(),
        );
        let expect = a.expect.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65535];
            while !done.load(Relaxed) {
                let Ok(n) = sock.recv(&mut buf) else { continue };
                if n < 12 {
                    continue;
                }
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                if let Some(sent) = waiting.lock().unwrap().remove(&id) {
                    tally
                        .lock()
                        .unwrap()
                        .sort(&buf[..n], &expect, sent.elapsed());
                }
            }
        })
    };
    paced(a.rate, a.duration, |n| {
        let (name, t) = &a.queries[n as usize % a.queries.len()];
        let id = n as u16;
        let mut w = waiting.lock().unwrap();
        // An ID still waiting after 65536 queries is lost.
        if w.insert(id, Instant::now()).is_some() {
            tally.lock().unwrap().lost += 1;
        }
        drop(w);
        tally.lock().unwrap().sent += 1;
        let _ = sock.send(&encode(id, name, *t));
    });
    std::thread::sleep(TIMEOUT);
    done.store(true, Relaxed);
    let _ = receiver.join();
    let mut t = Arc::try_unwrap(tally)
        .ok()
        .expect("one owner")
        .into_inner()
        .unwrap();
    t.lost += waiting.lock().unwrap().len() as u64;
    t.print(&a.class);
}

fn tcp_exchange(server: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&server, TIMEOUT).ok()?;
    s.set_read_timeout(Some(TIMEOUT)).ok()?;
    s.set_write_timeout(Some(TIMEOUT)).ok()?;
    let mut msg = (query.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(query);
    s.write_all(&msg).ok()?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).ok()?;
    Some(reply)
}

fn tcp(a: &Args) {
    let server = a.server.expect("server");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut threads = Vec::new();
    paced(a.rate, a.duration, |n| {
        let (name, t) = a.queries[n as usize % a.queries.len()].clone();
        let (tally, expect) = (tally.clone(), a.expect.clone());
        tally.lock().unwrap().sent += 1;
        threads.push(std::thread::spawn(move || {
            let start = Instant::now();
            let reply = tcp_exchange(server, &encode(n as u16, &name, t));
            let mut t = tally.lock().unwrap();
            match reply {
                Some(r) => t.sort(&r, &expect, start.elapsed()),
                None => t.lost += 1,
            }
        }));
    });
    threads.into_iter().for_each(|t| drop(t.join()));
    let t = Arc::try_unwrap(tally)
        .ok()
        .expect("one owner")
        .into_inner()
        .unwrap();
    t.print(&a.class);
}

fn flood(a: &Args) {
    let server = a.server.expect("server");
    let sock = UdpSocket::bind(local(a.bind)).expect("bind");
    sock.connect(server).expect("connect");
    sock.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let (answered, truncated) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (sock, answered, truncated, done) = (
            sock.try_clone().expect("clone"),
            answered.clone(),
            truncated.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65535];
            while !done.load(Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    answered.fetch_add(1, Relaxed);
                    if n > 2 && buf[2] & 0x02 != 0 {
                        truncated.fetch_add(1, Relaxed);
                    }
                }
            }
        })
    };
    let query = encode(0, &a.name, 1);
    let mut sent = 0u64;
    if a.rate > 0.0 {
        paced(a.rate, a.duration, |_| {
            sent += u64::from(sock.send(&query).is_ok())
        });
    } else {
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < a.duration {
            sent += u64::from(sock.send(&query).is_ok());
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Relaxed);
    let _ = receiver.join();
    let (ans, tc) = (answered.load(Relaxed), truncated.load(Relaxed));
    println!(
        "class={} sent={sent} answered={ans} slipped={tc} answered_per_s={:.0}",
        a.class,
        ans as f64 / a.duration
    );
}

fn connect_from(bind: Option<IpAddr>, server: SocketAddr) -> std::io::Result<TcpStream> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(server),
        socket2::Type::STREAM,
        None,
    )?;
    if let Some(ip) = bind {
        s.bind(&SocketAddr::new(ip, 0).into())?;
    }
    s.connect_timeout(&server.into(), TIMEOUT)?;
    Ok(s.into())
}

fn tcp_hog(a: &Args) {
    let server = a.server.expect("server");
    let mut s = connect_from(a.bind, server).expect("connect");
    s.set_nonblocking(true).expect("nonblocking");
    let (start, mut written, mut pending, mut closed) = (Instant::now(), 0u64, Vec::new(), false);
    let mut first_block = None;
    while start.elapsed().as_secs_f64() < a.duration && !closed {
        if pending.is_empty() {
            let q = encode(
                written as u16,
                &format!("host{}.example.com", 1_000_000 + written),
                1,
            );
            pending = (q.len() as u16).to_be_bytes().to_vec();
            pending.extend_from_slice(&q);
        }
        match s.write(&pending) {
            Ok(n) if n == pending.len() => {
                pending.clear();
                written += 1;
            }
            Ok(n) => drop(pending.drain(..n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                first_block.get_or_insert(start.elapsed());
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => closed = true,
        }
    }
    let blocked = first_block.map_or("never".into(), |d| format!("{:.1}s", d.as_secs_f64()));
    println!(
        "class={} written={written} first_blocked={blocked} closed_by_server={closed}",
        a.class
    );
}

fn tcp_idle(a: &Args) {
    let server = a.server.expect("server");
    let mut conns = Vec::new();
    let mut refused = 0;
    for _ in 0..a.count {
        match connect_from(a.bind, server) {
            Ok(c) => conns.push(c),
            Err(_) => refused += 1,
        }
    }
    std::thread::sleep(Duration::from_secs_f64(a.duration));
    let closed = conns
        .iter()
        .filter(|c| {
            let mut r: &TcpStream = c;
            r.set_nonblocking(true).ok();
            match r.read(&mut [0u8; 1]) {
                Ok(n) => n == 0,
                Err(e) => e.kind() != ErrorKind::WouldBlock,
            }
        })
        .count();
    println!(
        "class={} opened={} refused={refused} closed_by_server={closed}",
        a.class,
        conns.len()
    );
}

fn main() {
    let a = args();
    match a.mode.as_str() {
        "udp" => udp(&a),
        "tcp" => tcp(&a),
        "flood" => flood(&a),
        "tcp-hog" => tcp_hog(&a),
        "tcp-idle" => tcp_idle(&a),
        other => panic!("unknown mode {other}"),
    }
}
