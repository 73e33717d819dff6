//! A real BIND 9 on loopback for interoperation tests: a named.conf written
//! into a temporary folder, `named -g` run in the foreground as the current
//! user on a free port, its log collected, and stopped by PID on drop.
//!
//! Without BIND installed these tests say so and pass, unless
//! `PLDNS_REQUIRE_BIND=1` (set by `.ci/run`, which installs `bind9`).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A BIND tool (`named`, `named-checkzone`, `nsupdate`), if installed.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("PLDNS_REQUIRE_BIND").is_ok_and(|v| v == "1") {
            panic!(
                "{name} not found, and PLDNS_REQUIRE_BIND=1: install bind9 (apt-get install bind9 bind9-utils bind9-dnsutils)"
            );
        }
        eprintln!(
            "SKIPPED: {name} not installed (apt-get install bind9 bind9-utils bind9-dnsutils)"
        );
    }
    found
}

/// A port free for both UDP and TCP on 127.0.0.1 (free when asked: the
/// caller binds it right after).
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct Bind {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
}

impl Bind {
    /// Starts named with `body` (zones, keys, servers) after an options
    /// block of our own, and `files` (zone files) in its folder. `None` when
    /// BIND is not installed.
    pub fn start(body: &str, files: &[(&str, &str)]) -> Option<Bind> {
        Self::start_on(None, body, files)
    }

    /// As [`Bind::start`], on `port` when given (a port the caller chose
    /// with [`free_port`] and already told a primary to NOTIFY).
    pub fn start_on(fixed: Option<u16>, body: &str, files: &[(&str, &str)]) -> Option<Bind> {
        let named = tool("named")?;
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let port = fixed.unwrap_or_else(free_port);
            let d = dir.path().display();
            let conf = format!(
                r#"options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    automatic-interface-scan no;
}};
controls {{ }};
{body}
"#
            );
            std::fs::write(dir.path().join("named.conf"), conf).unwrap();
            // Debug level 3 shows what a transfer was ("requesting IXFR",
            // "got incremental response"), which the default level hides.
            let mut child = Command::new(&named)
                .args([
                    "-g",
                    "-d",
                    "3",
                    "-4",
                    "-n",
                    "1",
                    "-p",
                    &port.to_string(),
                    "-c",
                ])
                .arg(dir.path().join("named.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start named");
            let log = Arc::new(Mutex::new(Vec::new()));
            let sink = log.clone();
            let stderr = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if std::env::var("PLDNS_BIND_LOG").is_ok() {
                        eprintln!("named: {line}");
                    }
                    sink.lock().unwrap().push(line);
                }
            });
            let mut bind = Bind {
                child,
                port,
                dir,
                log,
            };
            // named runs on even when it could bind only UDP or only TCP
            // (another test took the port in the meantime): that is a
            // failed start too.
            // The line that ends in "running", once every socket and zone
            // is set up (not the "running on Linux" of the first lines).
            let running = bind.wait_for_line(|l| l.ends_with(" running"), Duration::from_secs(20));
            let log = bind.log().join("\n");
            if running && !log.contains("address in use") {
                return Some(bind);
            }
            let _ = bind.child.kill();
            let _ = bind.child.wait();
            if fixed.is_some() || !log.contains("address in use") {
                panic!("named did not start:\n{log}");
            }
        }
        panic!("named found no free port");
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_line(|l| l.contains(needle), timeout)
    }

    /// Waits until a log line satisfies `ok`.
    pub fn wait_for_line(&self, ok: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log.lock().unwrap().iter().any(|l| ok(l)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Log lines containing `needle`.
    pub fn lines(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `key` statement for a secret.
pub fn key_statement(name: &str, secret_b64: &str) -> String {
    format!("key \"{name}\" {{ algorithm hmac-sha256; secret \"{secret_b64}\"; }};\n")
}

/// Sends `script` (nsupdate's commands) to `nsupdate`, signed with the
/// HMAC-SHA256 key `key` and its base64 secret; true when it succeeded.
pub fn nsupdate(nsupdate: &std::path::Path, key: &str, secret_b64: &str, script: &str) -> bool {
    use std::io::Write;
    let Ok(mut child) = std::process::Command::new(nsupdate)
        .args(["-y", &format!("hmac-sha256:{key}:{secret_b64}")])
        .stdin(std::process::Stdio::piped())
        .spawn()
    else {
        return false;
    };
    let written = child
        .stdin
        .take()
        .is_some_and(|mut s| s.write_all(script.as_bytes()).is_ok());
    child.wait().is_ok_and(|s| s.success()) && written
}
