//! Test harness: start the real `pldns` binary on loopback port 0 (it logs
//! the port it got), talk DNS to it over UDP and TCP with hickory-proto
//! messages, and stop it by PID.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};

pub mod azure;
pub mod bind;
pub mod fake_azure;
pub mod sync;
pub mod table;
pub mod tcp;
pub mod upstream;
pub mod xfr;

pub const BIN: &str = env!("CARGO_BIN_EXE_pldns");

/// The `[server]` section every test config starts with.
pub const SERVER: &str =
    "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.0/8\", \"::1/128\"]\n";

/// A directory of config and record files.
pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn new(files: &[(&str, &str)]) -> Files {
        let dir = tempfile::tempdir().unwrap();
        // As an admin's /etc/pldns is: readable by the service's user.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let f = Files { dir };
        for (name, text) in files {
            f.write(name, text);
        }
        f
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        self.write_bytes(name, text.as_bytes());
    }

    pub fn write_bytes(&self, name: &str, bytes: &[u8]) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// The state directory every daemon and `check` of these files uses
    /// (`$STATE_DIRECTORY`): never /var/lib in tests.
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }
}

/// A running daemon.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub files: Files,
    log: Arc<Mutex<Vec<String>>>,
}

/// Runs `pldns check` on a config file (its state directory beside it).
pub fn check(config: &Path) -> (ExitStatus, String, String) {
    check_with(config, &[])
}

/// Runs `pldns check ARGS --config FILE`.
pub fn check_with(config: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(BIN)
        .arg("check")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("STATE_DIRECTORY", config.parent().unwrap().join("state"))
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Daemon {
    /// Starts `pldns serve` on `pldns.toml` in `files`.
    pub fn start(files: Files) -> Daemon {
        Self::try_start(files).unwrap_or_else(|(log, status)| {
            panic!("daemon did not start ({status:?}):\n{}", log.join("\n"))
        })
    }

    pub fn try_start(files: Files) -> Result<Daemon, (Vec<String>, Option<ExitStatus>)> {
        Self::try_start_with(files, &[])
    }

    /// Starts with extra environment variables.
    pub fn try_start_with(
        files: Files,
        env: &[(&str, &str)],
    ) -> Result<Daemon, (Vec<String>, Option<ExitStatus>)> {
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(files.path("pldns.toml"))
            .env("RUST_LOG", "info")
            // A [[sync]] whose endpoints a test forgot to point at its fake
            // fails instead of reaching Azure.
            .env(pldns::sync::LOOPBACK_ONLY_ENV, "1")
            .env("STATE_DIRECTORY", files.state_dir())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = log.lock().unwrap().iter().find_map(|l| {
                let rest = l.split("listening on ").nth(1)?;
                rest.split_whitespace().next()?.parse::<SocketAddr>().ok()
            });
            if let Some(addr) = found {
                return Ok(Daemon {
                    child,
                    addr,
                    files,
                    log,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err((log.lock().unwrap().clone(), Some(status)));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err((log.lock().unwrap().clone(), None));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The metrics address the daemon logged (config `metrics = "127.0.0.1:0"`).
    pub fn metrics_addr(&self) -> SocketAddr {
        assert!(self.wait_log("metrics on http://", Duration::from_secs(5)));
        self.log()
            .iter()
            .find_map(|l| {
                l.split("metrics on http://")
                    .nth(1)?
                    .split('/')
                    .next()?
                    .parse()
                    .ok()
            })
            .expect("metrics address in the log")
    }

    /// GET over HTTP/1.1: (status code, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(self.metrics_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The value of one metric line (`name{labels}` exactly as printed).
    pub fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.http_get("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {series} in:\n{body}"))
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Stops the daemon (SIGTERM) and gives its files back, state
    /// directory included, for a restart.
    pub fn stop_keep_files(mut self) -> (ExitStatus, Files) {
        let status = self.stop_inner();
        let placeholder = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        (status, std::mem::replace(&mut self.files, placeholder))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn query(&self, name: &str, rtype: RecordType) -> Message {
        udp_query(self.addr, name, rtype)
    }

    pub fn query_tcp(&self, name: &str, rtype: RecordType) -> Message {
        let q = build_query(name, rtype, Some(1232));
        Message::from_vec(&tcp_exchange(self.addr, &q)).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recursive query with a random ID, with EDNS when `edns` gives a size.
pub fn build_query(name: &str, rtype: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = rand_id();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

pub fn rand_id() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) as u16
}

/// Sends `packet` from `from` and waits up to `timeout` for one reply.
pub fn udp_exchange_from(
    from: &str,
    to: SocketAddr,
    packet: &[u8],
    timeout: Duration,
) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(from).unwrap();
    sock.set_read_timeout(Some(timeout)).unwrap();
    sock.send_to(packet, to).unwrap();
    let mut buf = vec![0; 65_535];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

pub fn udp_exchange(to: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    udp_exchange_from("127.0.0.1:0", to, packet, Duration::from_secs(3))
}

/// A query built by hand, for names hickory refuses to build (labels with
/// `<`, `"`, spaces: what a hostile client sends).
pub fn raw_query(name: &str, qtype: u16) -> Vec<u8> {
    let id = rand_id();
    let mut q = vec![(id >> 8) as u8, id as u8, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    q
}

pub fn udp_query(to: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let q = build_query(name, rtype, Some(1232));
    let reply = udp_exchange(to, &q).unwrap_or_else(|| panic!("no reply to {name} {rtype}"));
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.id, u16::from_be_bytes([q[0], q[1]]));
    m
}

/// One TCP exchange on a new connection.
pub fn tcp_exchange(to: SocketAddr, packet: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(to).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp_send(&mut s, packet);
    tcp_recv(&mut s).expect("tcp reply")
}

pub fn tcp_send(s: &mut TcpStream, packet: &[u8]) {
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    s.write_all(&framed).unwrap();
}

pub fn tcp_recv(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0; 2];
    s.read_exact(&mut len).ok()?;
    let mut buf = vec![0; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// The answer section as `(name, type, rdata text)` triples.
pub fn answers(m: &Message) -> Vec<(String, RecordType, String)> {
    m.answers
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type(), rdata_text(&r.data)))
        .collect()
}

pub fn rdata_text(d: &RData) -> String {
    match d {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => c.0.to_ascii(),
        other => other.to_string(),
    }
}

/// The A and AAAA addresses in the answer section.
pub fn addresses(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| r.data.ip_addr())
        .map(|ip| ip.to_string())
        .collect()
}
