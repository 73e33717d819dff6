//! A fake Azure on 127.0.0.1 (plain http): the Entra ID token endpoint, the
//! managed-identity token service (VM and Arc flavours) and the Resource
//! Manager list calls pldns makes, answering in the shapes of the
//! azure-rest-api-specs examples (see tests/fixtures/sync/README.md). Tests
//! script faults (429, 500, bad JSON) and count every request.
//!
//! Shared by the unit tests (src/sync/tests) and the whole-daemon tests.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

#[path = "fake_azure_answers.rs"]
mod answers;
use answers::answer;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "s3cr3t-Value~with.special_chars";
pub const SUBSCRIPTION: &str = "00000000-1111-2222-3333-444444444444";
/// The ARM audience pldns asks tokens for (public cloud).
pub const RESOURCE: &str = "https://management.core.windows.net/";
/// `openssl x509 -fingerprint -sha1` of tests/fixtures/sync/cert.pem.
pub const CERT_SHA1: &str = "65B9C3825F65BAD2BA5F7E35B23641A2887D2359";
pub const PE_API: &str = "2024-07-01";
pub const DNS_API: &str = "2024-06-01";

/// The path of a file under tests/fixtures/sync.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sync")
        .join(name)
}

/// How the managed-identity endpoint behaves.
#[derive(Clone, Debug, PartialEq)]
pub enum Identity {
    /// An Azure VM's IMDS: a token for any `Metadata: true` request.
    Vm,
    /// The Arc agent: 401 with `Basic realm=<file>`, then the file's content.
    Arc { key_file: PathBuf, key: String },
}

/// One scripted answer, used once, for the first request whose path
/// contains `path`.
pub struct Fault {
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A request the fake saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When the request arrived.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

pub struct State {
    pub base: String,
    pub secret: String,
    pub identity: Identity,
    pub token_lifetime: u64,
    /// Tokens handed out; ARM accepts only these.
    pub tokens: Vec<String>,
    pub private_endpoints: Vec<Value>,
    pub zones: Vec<Value>,
    /// Record sets per zone name.
    pub record_sets: HashMap<String, Vec<Value>>,
    pub page_size: usize,
    /// Replaces the host of nextLink (the "foreign host" test).
    pub next_link_base: Option<String>,
    pub faults: VecDeque<Fault>,
    /// Answers kept until `heal`: an outage, not one bad answer.
    pub outages: Vec<Fault>,
    pub seen: Vec<Seen>,
}

pub struct FakeAzure {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FakeAzure {
    pub fn start() -> FakeAzure {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            base: format!("http://{addr}"),
            secret: SECRET.into(),
            identity: Identity::Vm,
            token_lifetime: 3599,
            tokens: Vec::new(),
            private_endpoints: Vec::new(),
            zones: Vec::new(),
            record_sets: HashMap::new(),
            page_size: 100,
            next_link_base: None,
            faults: VecDeque::new(),
            outages: Vec::new(),
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        FakeAzure { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT`, what the config's endpoints point to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fault(&self, path: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        self.state().faults.push_back(Fault {
            path: path.into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        });
    }

    /// Every request whose path contains `path` gets this answer until
    /// [`heal`](Self::heal).
    pub fn outage(&self, path: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        self.state().outages.push(Fault {
            path: path.into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        });
    }

    /// Ends every outage.
    pub fn heal(&self) {
        self.state().outages.clear();
    }

    /// When each request whose path contains `part` arrived.
    pub fn times(&self, part: &str) -> Vec<std::time::Instant> {
        self.state()
            .seen
            .iter()
            .filter(|s| s.path.contains(part))
            .map(|s| s.at)
            .collect()
    }

    /// Requests seen whose path contains `part`.
    pub fn count(&self, part: &str) -> usize {
        self.state()
            .seen
            .iter()
            .filter(|s| s.path.contains(part))
            .count()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    pub fn add_private_endpoint(&self, pe: Value) {
        self.state().private_endpoints.push(pe);
    }

    pub fn add_zone(&self, rg: &str, zone: &str, record_sets: Vec<Value>) {
        let mut s = self.state();
        s.zones.push(private_zone(rg, zone));
        s.record_sets.insert(zone.to_string(), record_sets);
    }
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// A private endpoint as `PrivateEndpointList.json` shows one.
pub fn private_endpoint(rg: &str, name: &str, dns: &[(&str, &[&str])], status: &str) -> Value {
    let id = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints/{name}"
    );
    json!({
        "id": id,
        "name": name,
        "type": "Microsoft.Network/privateEndpoints",
        "location": "eastus",
        "properties": {
            "provisioningState": "Succeeded",
            "privateLinkServiceConnections": [{
                "id": format!("{id}/privateLinkServiceConnections/{name}-conn"),
                "properties": {
                    "privateLinkServiceId": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/vault1"),
                    "groupIds": ["AzureBackup"],
                    "privateLinkServiceConnectionState": {
                        "status": status,
                        "description": "Auto-approved",
                        "actionsRequired": "None"
                    }
                }
            }],
            "manualPrivateLinkServiceConnections": [],
            "subnet": {"id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/pe")},
            "networkInterfaces": [{"id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{name}.nic.abcd1234")}],
            "customDnsConfigs": dns.iter().map(|(fqdn, ips)| json!({"fqdn": fqdn, "ipAddresses": ips})).collect::<Vec<_>>(),
            "applicationSecurityGroups": [],
            "ipConfigurations": [],
        }
    })
}

/// A Private DNS zone as `PrivateZoneListInSubscription.json` shows one.
pub fn private_zone(rg: &str, zone: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{zone}"),
        "name": zone,
        "type": "Microsoft.Network/privateDnsZones",
        "etag": "00000000-0000-0000-0000-000000000000",
        "location": "global",
        "properties": {
            "maxNumberOfRecordSets": 25000,
            "numberOfRecordSets": 1,
            "provisioningState": "Succeeded"
        }
    })
}

/// A record set as `RecordSetALLList.json` shows one: `kind` is A, AAAA,
/// CNAME or SOA; `data` the addresses or the CNAME target.
pub fn record_set(rg: &str, zone: &str, name: &str, kind: &str, ttl: u32, data: &[&str]) -> Value {
    let mut props = json!({
        "fqdn": if name == "@" { format!("{zone}.") } else { format!("{name}.{zone}.") },
        "isAutoRegistered": false,
        "ttl": ttl,
    });
    match kind {
        "A" => {
            props["aRecords"] = data.iter().map(|a| json!({"ipv4Address": a})).collect();
        }
        "AAAA" => {
            props["aaaaRecords"] = data.iter().map(|a| json!({"ipv6Address": a})).collect();
        }
        "CNAME" => props["cnameRecord"] = json!({"cname": data.first().copied().unwrap_or("")}),
        _ => {
            props["soaRecord"] = json!({"email": "azureprivatedns-host.microsoft.com", "host": "azureprivatedns.net", "serialNumber": 1, "ttl": 3600})
        }
    }
    json!({
        "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{zone}/{kind}/{name}"),
        "name": name,
        "type": format!("Microsoft.Network/privateDnsZones/{kind}"),
        "etag": "00000000-0000-0000-0000-000000000000",
        "properties": props,
    })
}

fn serve(conn: TcpStream, state: &Mutex<State>) {
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let seen = Seen {
        at: std::time::Instant::now(),
        method,
        path,
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, extra, text) = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.seen.push(seen.clone());
        answer(&mut st, &seen)
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        text.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&text);
    let mut conn = conn;
    let _ = conn.write_all(out.as_bytes());
}

/// A fake `az` on PATH: prints `stdout` and exits with `code`, and logs
/// its arguments to `args.log` beside it.
pub fn fake_az(dir: &std::path::Path, stdout: &str, stderr: &str, code: i32) {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> \"{log}\"\ncat <<'EOF_OUT'\n{stdout}\nEOF_OUT\ncat >&2 <<'EOF_ERR'\n{stderr}\nEOF_ERR\nexit {code}\n",
        log = dir.join("args.log").display()
    );
    let path = dir.join("az");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `STANDARD` base64, for tests that build Basic headers.
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}
