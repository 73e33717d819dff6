//! pldns-loadgen: a UDP DNS load generator that can outrun the servers it
//! measures. One thread, several connected sockets, queries sent and
//! answers received in batches of 64 with sendmmsg/recvmmsg, a fixed
//! offered rate (open loop) or as fast as `--outstanding` allows.
//!
//!   loadgen --server 127.0.0.1:5353 --queries q.txt [--rate 50000]
//!           [--duration 10] [--outstanding 2000] [--sockets 4]
//!           [--timeout-ms 1000] [--edns] [--interval-ms 100]
//!   loadgen --echo 127.0.0.1:5399      # an echo server, to measure loadgen itself
//!
//! The query file is dnsperf's: `name TYPE` per line. The result is one line
//! of `key=value` pairs (easy to read from a script).

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const BATCH: usize = 64;
const MAX_MSG: usize = 4096;

struct Args {
    server: Option<SocketAddr>,
    echo: Option<SocketAddr>,
    queries: Option<String>,
    rate: u64,
    duration: f64,
    outstanding: usize,
    sockets: usize,
    timeout: Duration,
    edns: bool,
    /// Print latency percentiles per interval of this many ms (0: off).
    interval_ms: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        server: None,
        echo: None,
        queries: None,
        rate: 0,
        duration: 10.0,
        outstanding: 2000,
        sockets: 4,
        timeout: Duration::from_millis(1000),
        edns: false,
        interval_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => a.server = Some(val().parse().expect("--server ADDR:PORT")),
            "--echo" => a.echo = Some(val().parse().expect("--echo ADDR:PORT")),
            "--queries" => a.queries = Some(val()),
            "--rate" => a.rate = val().parse().expect("--rate QPS"),
            "--duration" => a.duration = val().parse().expect("--duration SECONDS"),
            "--outstanding" => a.outstanding = val().parse().expect("--outstanding N"),
            "--sockets" => a.sockets = val().parse().expect("--sockets N"),
            "--timeout-ms" => {
                a.timeout = Duration::from_millis(val().parse().expect("--timeout-ms MS"))
            }
            "--edns" => a.edns = true,
            "--interval-ms" => a.interval_ms = val().parse().expect("--interval-ms MS"),
            "--bench" => {} // passed by `cargo bench`
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn qtype_code(t: &str) -> u16 {
    match t.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "ANY" => 255,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("unknown type {other}")),
    }
}

/// Encodes one query (ID 0; patched per send).
fn encode(name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut p = vec![0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    if edns {
        p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    p
}

fn load_queries(path: &str, edns: bool) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let q: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next().unwrap();
            encode(name, qtype_code(f.next().unwrap_or("A")), edns)
        })
        .collect();
    assert!(!q.is_empty(), "{path}: no queries");
    q
}

/// Buffers and headers for one sendmmsg/recvmmsg batch.
struct Batch {
    bufs: Vec<[u8; MAX_MSG]>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    addrs: Vec<libc::sockaddr_storage>,
}

impl Batch {
    fn new() -> Box<Batch> {
        let mut b = Box::new(Batch {
            bufs: vec![[0u8; MAX_MSG]; BATCH],
            // SAFETY: iovec, mmsghdr and sockaddr_storage are plain C structs
            // for which all-zero bytes are a valid value.
            iov: vec![unsafe { std::mem::zeroed() }; BATCH],
            hdrs: vec![unsafe { std::mem::zeroed() }; BATCH],
            addrs: vec![unsafe { std::mem::zeroed() }; BATCH],
        });
        for i in 0..BATCH {
            b.iov[i].iov_base = b.bufs[i].as_mut_ptr().cast();
            b.iov[i].iov_len = MAX_MSG;
            b.hdrs[i].msg_hdr.msg_iov = &mut b.iov[i];
            b.hdrs[i].msg_hdr.msg_iovlen = 1;
            b.hdrs[i].msg_hdr.msg_name = (&mut b.addrs[i] as *mut libc::sockaddr_storage).cast();
            b.hdrs[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        }
        b
    }

    /// Receives up to BATCH datagrams; returns how many.
    fn recv(&mut self, fd: i32, flags: i32) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i].iov_len = MAX_MSG;
            self.hdrs[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        }
        // SAFETY: every header points at live buffers owned by `self`.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as u32,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn len(&self, i: usize) -> usize {
        self.hdrs[i].msg_len as usize
    }

    /// Sends the first `n` buffers (lengths in iov_len); with `to_source`,
    /// each goes back to the address it came from.
    fn send(&mut self, fd: i32, n: usize, to_source: bool) -> io::Result<usize> {
        for i in 0..n {
            if !to_source {
                self.hdrs[i].msg_hdr.msg_name = std::ptr::null_mut();
                self.hdrs[i].msg_hdr.msg_namelen = 0;
            }
        }
        let mut done = 0;
        while done < n {
            // SAFETY: as in `recv`.
            let r =
                unsafe { libc::sendmmsg(fd, self.hdrs[done..].as_mut_ptr(), (n - done) as u32, 0) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    break;
                }
                return Err(e);
            }
            done += r as usize;
        }
        Ok(done)
    }
}

/// Bursts of replies must not overflow the socket buffer: 8 MB, forced
/// past rmem_max when we may (root), else as much as the kernel allows.
fn big_buffers(sock: &UdpSocket) {
    let size: libc::c_int = 8 << 20;
    for opt in [
        libc::SO_RCVBUFFORCE,
        libc::SO_RCVBUF,
        libc::SO_SNDBUFFORCE,
        libc::SO_SNDBUF,
    ] {
        // SAFETY: setsockopt with a pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            );
        }
    }
}

fn echo(addr: SocketAddr) -> ! {
    let sock = UdpSocket::bind(addr).expect("bind echo");
    big_buffers(&sock);
    eprintln!("echo server on {}", sock.local_addr().unwrap());
    let fd = sock.as_raw_fd();
    let mut b = Batch::new();
    loop {
        let n = match b.recv(fd, libc::MSG_WAITFORONE) {
            Ok(n) => n,
            Err(_) => continue,
        };
        for i in 0..n {
            let len = b.len(i);
            b.iov[i].iov_len = len;
            if len > 2 {
                b.bufs[i][2] |= 0x80;
            }
        }
        let _ = b.send(fd, n, true);
        for i in 0..BATCH {
            b.hdrs[i].msg_hdr.msg_name = (&mut b.addrs[i] as *mut libc::sockaddr_storage).cast();
        }
    }
}

/// Latency histogram with 1 µs buckets up to 1 s.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: vec![0; 1_000_000],
            count: 0,
            max: 0,
        }
    }

    fn add(&mut self, us: u64) {
        let last = self.buckets.len() - 1;
        self.buckets[(us as usize).min(last)] += 1;
        self.count += 1;
        self.max = self.max.max(us);
    }

    fn percentile(&self, p: f64) -> u64 {
        let target = ((self.count as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target {
                return us as u64;
            }
        }
        self.max
    }
}

struct Sock {
    sock: UdpSocket,
    /// Send time (ns since start, +1 so 0 means free) per query ID.
    sent_at: Vec<u64>,
    next_id: u16,
}

fn main() {
    let args = parse_args();
    if let Some(addr) = args.echo {
        echo(addr);
    }
    let server = args
        .server
        .expect("--server ADDR:PORT (or --echo ADDR:PORT)");
    let queries = load_queries(args.queries.as_deref().expect("--queries FILE"), args.edns);
    let mut socks: Vec<Sock> = (0..args.sockets.max(1))
        .map(|_| {
            let bind = if server.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let s = UdpSocket::bind(bind).unwrap();
            s.connect(server).unwrap();
            s.set_nonblocking(true).unwrap();
            big_buffers(&s);
            Sock {
                sock: s,
                sent_at: vec![0; 65_536],
                next_id: 1,
            }
        })
        .collect();
    let per_sock_cap = (args.outstanding / socks.len()).clamp(1, 60_000);
    let mut out = Batch::new();
    let mut inb = Batch::new();
    let mut hist = Histogram::new();
    // (answered at ns, latency us), kept only for --interval-ms.
    let mut samples: Vec<(u64, u32)> = Vec::new();
    let mut order: VecDeque<(u64, u16, u16)> = VecDeque::new(); // (sent ns+1, sock, id)
    let mut outstanding = vec![0usize; socks.len()];
    let (mut sent, mut received, mut lost, mut qi) = (0u64, 0u64, 0u64, 0usize);
    let timeout_ns = args.timeout.as_nanos() as u64;
    let duration_ns = (args.duration * 1e9) as u64;
    let start = Instant::now();
    let mut turn = 0usize;
    let mut pollfds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: s.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        let mut busy = false;
        let now = start.elapsed().as_nanos() as u64;
        let sending = now < duration_ns;
        if !sending && order.is_empty() {
            break;
        }
        if !sending && now > duration_ns + timeout_ns {
            break;
        }
        // Send what the rate and the outstanding cap allow, one batch per socket turn.
        if sending {
            let allowed = if args.rate > 0 {
                ((args.rate as u128 * now as u128 / 1_000_000_000) as u64).saturating_sub(sent)
            } else {
                u64::MAX
            };
            let si = turn % socks.len();
            turn += 1;
            let room = per_sock_cap.saturating_sub(outstanding[si]);
            let n = (allowed.min(room as u64) as usize).min(BATCH);
            if n > 0 {
                let s = &mut socks[si];
                let mut k = 0;
                while k < n {
                    let id = s.next_id;
                    s.next_id = s.next_id.wrapping_add(1);
                    if s.sent_at[id as usize] != 0 {
                        continue;
                    }
                    let q = &queries[qi % queries.len()];
                    qi += 1;
                    out.bufs[k][..q.len()].copy_from_slice(q);
                    out.bufs[k][..2].copy_from_slice(&id.to_be_bytes());
                    out.iov[k].iov_len = q.len();
                    s.sent_at[id as usize] = now + 1;
                    order.push_back((now + 1, si as u16, id));
                    k += 1;
                }
                let done = out.send(s.sock.as_raw_fd(), n, false).unwrap_or(0);
                // Unsent queries are not counted: free their slots.
                for _ in done..n {
                    if let Some((_, _, id)) = order.pop_back() {
                        s.sent_at[id as usize] = 0;
                    }
                }
                sent += done as u64;
                outstanding[si] += done;
                busy |= done > 0;
            }
        }
        // Receive everything waiting.
        for (si, s) in socks.iter_mut().enumerate() {
            while let Ok(n) = inb.recv(s.sock.as_raw_fd(), libc::MSG_DONTWAIT) {
                if n == 0 {
                    break;
                }
                busy = true;
                let now = start.elapsed().as_nanos() as u64;
                for i in 0..n {
                    if inb.len(i) < 12 {
                        continue;
                    }
                    let id = u16::from_be_bytes([inb.bufs[i][0], inb.bufs[i][1]]);
                    let t = s.sent_at[id as usize];
                    if t != 0 {
                        s.sent_at[id as usize] = 0;
                        outstanding[si] -= 1;
                        received += 1;
                        let us = (now + 1 - t) / 1000;
                        hist.add(us);
                        if args.interval_ms > 0 {
                            samples.push((now, us as u32));
                        }
                    }
                }
                if n < BATCH {
                    break;
                }
            }
        }
        // Expire the oldest queries past the timeout.
        let now = start.elapsed().as_nanos() as u64;
        while let Some(&(t, si, id)) = order.front() {
            let s = &mut socks[si as usize];
            if s.sent_at[id as usize] != t {
                order.pop_front();
                continue;
            }
            if now + 1 - t < timeout_ns {
                break;
            }
            s.sent_at[id as usize] = 0;
            outstanding[si as usize] -= 1;
            lost += 1;
            order.pop_front();
        }
        if !busy {
            // Nothing sent or received: block until an answer arrives or
            // the next query is due, so our CPU time is our real cost.
            let wait_ms = if args.rate > 0 && sending { 0 } else { 1 };
            if wait_ms > 0 || outstanding.iter().sum::<usize>() > 0 {
                // SAFETY: `pollfds` is a live array of pollfd of that length.
                unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, wait_ms) };
            }
        }
    }
    // SAFETY: getrusage fills the struct we pass.
    let cpu_us = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) as f64 * 1e6
            + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) as f64
    };
    if args.interval_ms > 0 {
        let width = args.interval_ms * 1_000_000;
        let mut i = 0;
        while i < samples.len() {
            let slot = samples[i].0 / width;
            let mut lat: Vec<u32> = Vec::new();
            while i < samples.len() && samples[i].0 / width == slot {
                lat.push(samples[i].1);
                i += 1;
            }
            lat.sort_unstable();
            let pct =
                |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
            println!(
                "interval t_ms={} n={} p50_us={} p99_us={} max_us={}",
                slot * args.interval_ms,
                lat.len(),
                pct(0.5),
                pct(0.99),
                lat[lat.len() - 1]
            );
        }
    }
    let secs = args.duration.min(start.elapsed().as_secs_f64());
    println!(
        "sent={sent} received={received} lost={lost} qps={:.0} p50_us={} p90_us={} p99_us={} p999_us={} max_us={} client_cpu_us_per_query={:.2}",
        received as f64 / secs,
        hist.percentile(0.50),
        hist.percentile(0.90),
        hist.percentile(0.99),
        hist.percentile(0.999),
        hist.max,
        cpu_us / received.max(1) as f64,
    );
}
