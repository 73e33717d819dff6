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
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

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

type Reply = (u16, Vec<(String, String)>, String);

fn reply(status: u16, body: Value) -> Reply {
    (status, Vec::new(), body.to_string())
}

fn arm_error(status: u16, code: &str, message: &str) -> Reply {
    reply(status, json!({"error": {"code": code, "message": message}}))
}

fn answer(st: &mut State, req: &Seen) -> Reply {
    if let Some(i) = st.faults.iter().position(|f| req.path.contains(&f.path))
        && let Some(f) = st.faults.remove(i)
    {
        return (f.status, f.headers, f.body);
    }
    let q = query_map(&req.query);
    if req.path.ends_with("/oauth2/v2.0/token") {
        return entra_token(st, req);
    }
    if req.path == "/metadata/identity/oauth2/token" {
        return identity_token(st, req, &q);
    }
    // Resource Manager: a token we issued, then the list calls.
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    if !st.tokens.iter().any(|t| t == bearer) {
        return arm_error(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let api = q.get("api-version").map(String::as_str).unwrap_or("");
    let sub_ok = segs.get(1).is_some_and(|s| *s == SUBSCRIPTION);
    if segs.first() != Some(&"subscriptions") || !sub_ok {
        return arm_error(
            404,
            "SubscriptionNotFound",
            "The subscription could not be found.",
        );
    }
    let rg = (segs.get(2) == Some(&"resourceGroups")).then(|| segs.get(3).copied().unwrap_or(""));
    let tail: Vec<&str> = segs
        .iter()
        .skip(if rg.is_some() { 4 } else { 2 })
        .copied()
        .collect();
    let in_rg = |v: &Value| match rg {
        None => true,
        Some(rg) => v["id"]
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains(&format!("/resourcegroups/{}/", rg.to_ascii_lowercase())),
    };
    let items: Vec<Value> = match tail.as_slice() {
        ["providers", "Microsoft.Network", "privateEndpoints"] => {
            if api != PE_API {
                return arm_error(400, "InvalidApiVersionParameter", "bad api-version");
            }
            st.private_endpoints
                .iter()
                .filter(|v| in_rg(v))
                .cloned()
                .collect()
        }
        ["providers", "Microsoft.Network", "privateDnsZones"] => {
            if api != DNS_API {
                return arm_error(400, "InvalidApiVersionParameter", "bad api-version");
            }
            st.zones.iter().filter(|v| in_rg(v)).cloned().collect()
        }
        [
            "providers",
            "Microsoft.Network",
            "privateDnsZones",
            zone,
            "ALL",
        ] if rg.is_some() => {
            if api != DNS_API {
                return arm_error(400, "InvalidApiVersionParameter", "bad api-version");
            }
            match st.record_sets.get(*zone) {
                Some(sets) => sets.clone(),
                None => return arm_error(404, "ResourceNotFound", "no such zone"),
            }
        }
        _ => return arm_error(404, "NotFound", "no such route in the fake"),
    };
    // Paging as ARM does it: `$skipToken` in an absolute nextLink.
    let skip: usize = q
        .get("$skipToken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let size = st.page_size.max(1);
    let page: Vec<Value> = items.iter().skip(skip).take(size).cloned().collect();
    let mut body = json!({ "value": page });
    if skip + size < items.len() {
        let base = st.next_link_base.clone().unwrap_or_else(|| st.base.clone());
        body["nextLink"] = json!(format!(
            "{base}{}?api-version={api}&$skipToken={}",
            req.path,
            skip + size
        ));
    }
    reply(200, body)
}

fn issue(st: &mut State) -> Reply {
    let token = format!("fake-arm-token-{}", st.tokens.len() + 1);
    st.tokens.push(token.clone());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    reply(
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": st.token_lifetime,
            "ext_expires_in": st.token_lifetime,
            "access_token": token,
            "expires_on": (now + st.token_lifetime).to_string(),
        }),
    )
}

fn entra_token(st: &mut State, req: &Seen) -> Reply {
    let f = query_map(&req.body);
    let bad = |code: &str, text: &str| {
        reply(
            401,
            json!({"error": code, "error_description": format!("{text}\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2025-01-01 00:00:00Z"), "error_codes": [7000215]}),
        )
    };
    if req.method != "POST" || !req.path.starts_with(&format!("/{TENANT}/")) {
        return reply(
            400,
            json!({"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}),
        );
    }
    if f.get("grant_type").map(String::as_str) != Some("client_credentials")
        || f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("scope").map(String::as_str) != Some(&format!("{RESOURCE}/.default"))
    {
        return reply(
            400,
            json!({"error": "invalid_request", "error_description": "AADSTS900144: bad request"}),
        );
    }
    if let Some(secret) = f.get("client_secret") {
        if *secret != st.secret {
            return bad(
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            );
        }
        return issue(st);
    }
    let audience = format!("{}{}", st.base, req.path);
    match (f.get("client_assertion_type"), f.get("client_assertion")) {
        (Some(t), Some(a)) if t == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" => {
            match check_assertion(a, &audience) {
                Ok(()) => issue(st),
                Err(why) => bad("invalid_client", &format!("AADSTS700027: {why}")),
            }
        }
        _ => bad(
            "invalid_client",
            "AADSTS7000216: client_assertion or client_secret required",
        ),
    }
}

/// Checks a client assertion the way Entra ID does: RS256 over the
/// fixture key, `x5t` the certificate's SHA-1, audience and subject.
fn check_assertion(jwt: &str, audience: &str) -> Result<(), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err("not a JWT".into());
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&decode(c)?).map_err(|e| e.to_string())?;
    let sha1: Vec<u8> = (0..CERT_SHA1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&CERT_SHA1[i..i + 2], 16).unwrap())
        .collect();
    if header["alg"] != "RS256" || header["x5t"] != URL_SAFE_NO_PAD.encode(&sha1) {
        return Err(format!("unknown certificate or algorithm: {header}"));
    }
    let public = std::fs::read(fixture("public-pkcs1.der")).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{h}.{c}").as_bytes(), &decode(s)?)
        .map_err(|_| "Client assertion contains an invalid signature.".to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if claims["aud"] != audience
        || claims["iss"] != CLIENT_ID
        || claims["sub"] != CLIENT_ID
        || claims["exp"].as_u64().is_none_or(|e| e < now)
        || claims["nbf"].as_u64().is_none_or(|n| n > now + 60)
        || claims["jti"].as_str().is_none_or(str::is_empty)
    {
        return Err(format!("bad claims: {claims}"));
    }
    Ok(())
}

fn identity_token(st: &mut State, req: &Seen, q: &HashMap<String, String>) -> Reply {
    if req.headers.get("metadata").map(String::as_str) != Some("true") {
        return reply(
            400,
            json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    if q.get("resource").map(String::as_str) != Some(RESOURCE) {
        return reply(
            400,
            json!({"error": "invalid_resource", "error_description": "bad resource"}),
        );
    }
    match st.identity.clone() {
        Identity::Vm => {
            if q.get("api-version").map(String::as_str) != Some("2018-02-01") {
                return reply(
                    400,
                    json!({"error": "invalid_request", "error_description": "api-version"}),
                );
            }
            issue(st)
        }
        Identity::Arc { key_file, key } => match req.headers.get("authorization") {
            None => (
                401,
                vec![(
                    "WWW-Authenticate".into(),
                    format!("Basic realm={}", key_file.display()),
                )],
                String::new(),
            ),
            Some(a) if *a == format!("Basic {key}") => issue(st),
            Some(_) => reply(
                401,
                json!({"error": "unauthorized", "error_description": "bad key"}),
            ),
        },
    }
}

/// `a=1&b=2` (query or form body), percent-decoded.
fn query_map(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
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
