//! `pldns status` and `pldns missing`: find the running daemon's status page
//! through its config (`[server] metrics`), fetch `/status.json` and print
//! it ([`crate::metrics::page::text`]) or pass the JSON on.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::metrics::page::StatusPage;

const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest status page we read (the register is bounded; this is far
/// above what it can hold).
const MAX_BODY: u64 = 64 << 20;

/// Where the daemon of `config` serves its status page: its `[server]
/// metrics` address, a wildcard address replaced by loopback. A config that
/// does not parse is still read for that one key (the daemon may be
/// running on the last good copy of it).
pub fn status_addr(config: &Path) -> Result<SocketAddr, String> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let (metrics, broken) = match crate::config::parse(config, &text) {
        Ok(c) => (c.metrics, None),
        Err(e) => (raw_metrics(&text), Some(e)),
    };
    let Some(addr) = metrics else {
        if let Some(e) = broken {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default().to_string();
            return Err(format!(
                "{} does not parse ({first}), and its [server] metrics address could not be read from it: fix it, or give --addr with the address the running daemon serves its status page on",
                config.display()
            ));
        }
        return Err(format!(
            "{} has no [server] metrics address, and the status page is served there: add metrics = \"127.0.0.1:9153\" under [server] and restart pldns (or give --addr)",
            config.display()
        ));
    };
    if addr.port() == 0 {
        return Err(format!(
            "{} lets the metrics port be chosen at start-up (port 0): give --addr with the one in the log (\"status page on http://...\")",
            config.display()
        ));
    }
    Ok(reachable(addr))
}

/// `metrics = "..."` read out of a config that does not validate: as TOML
/// when it still is TOML, else line by line (a duplicate key or a stray
/// character elsewhere must not hide the address).
fn raw_metrics(text: &str) -> Option<SocketAddr> {
    if let Ok(table) = text.parse::<toml::Table>() {
        return table.get("server")?.get("metrics")?.as_str()?.parse().ok();
    }
    let mut in_server = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_server = line.trim_start_matches('[').trim_end_matches(']').trim() == "server";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if in_server && key.trim() == "metrics" {
            let value = value.split('#').next().unwrap_or_default().trim();
            return value.trim_matches('"').parse().ok();
        }
    }
    None
}

/// A listener on every address is reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// `GET /status.json`, as text.
pub fn fetch_json(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            format!(
                "nothing listens on {addr}: pldns is not running, or runs with another config (systemctl status pldns)"
            )
        } else {
            format!("cannot reach pldns at {addr}: {e}")
        }
    })?;
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let request = format!("GET /status.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot ask pldns at {addr}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_BODY)
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer from pldns at {addr}: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr} did not answer HTTP: is it pldns's metrics address?"))?;
    let status = head.lines().next().unwrap_or("");
    if !status.contains(" 200 ") {
        return Err(format!(
            "{addr} answered {status:?} to /status.json: is it pldns (version 0.1 or later) on that port?"
        ));
    }
    Ok(body.to_string())
}

/// `GET /status.json`, parsed.
pub fn fetch(addr: SocketAddr) -> Result<StatusPage, String> {
    let body = fetch_json(addr)?;
    serde_json::from_str(&body).map_err(|e| {
        format!("{addr}/status.json is not the status page this pldns reads (another program, or another version): {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_comes_from_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("p.toml");
        std::fs::write(&cfg, "[server]\nmetrics = \"0.0.0.0:9153\"\n").unwrap();
        assert_eq!(
            status_addr(&cfg).unwrap(),
            "127.0.0.1:9153".parse().unwrap()
        );
        std::fs::write(&cfg, "[server]\nmetrics = \"[::]:9153\"\n").unwrap();
        assert_eq!(status_addr(&cfg).unwrap(), "[::1]:9153".parse().unwrap());
        // A config that does not validate still names it.
        std::fs::write(&cfg, "[server]\nmetrics = \"127.0.0.2:9\"\nbogus = 1\n").unwrap();
        assert_eq!(status_addr(&cfg).unwrap(), "127.0.0.2:9".parse().unwrap());
        // Not even TOML (a duplicate key): read line by line.
        let dup = "[server]\nallow = [\"127.0.0.0/8\"]\nallow = []\nmetrics = \"127.0.0.3:9\" # page\n[cache]\nmetrics = \"127.0.0.4:1\"\n";
        std::fs::write(&cfg, dup).unwrap();
        assert_eq!(status_addr(&cfg).unwrap(), "127.0.0.3:9".parse().unwrap());
        // Broken and without the key: the parse error, not "add metrics".
        std::fs::write(&cfg, "[server]\nallow = []\nallow = []\n").unwrap();
        let e = status_addr(&cfg).unwrap_err();
        assert!(
            e.contains("does not parse (") && e.contains("--addr"),
            "{e}"
        );
        std::fs::write(&cfg, "[server]\n").unwrap();
        let e = status_addr(&cfg).unwrap_err();
        assert!(e.contains("has no [server] metrics address"), "{e}");
        let e = status_addr(&dir.path().join("none.toml")).unwrap_err();
        assert!(e.starts_with("cannot read"), "{e}");
    }

    #[test]
    fn a_daemon_that_is_not_running() {
        // A port that was free a moment ago.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = fetch(port).unwrap_err();
        assert!(e.contains("pldns is not running"), "{e}");
    }
}
