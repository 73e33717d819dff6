//! The fake Azure's answers: Entra ID's token endpoint (secret or
//! certificate assertion, checked as Entra ID does), the managed-identity
//! token service, and Resource Manager's list calls with paging.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;

type Reply = (u16, Vec<(String, String)>, String);

fn reply(status: u16, body: Value) -> Reply {
    (status, Vec::new(), body.to_string())
}

fn arm_error(status: u16, code: &str, message: &str) -> Reply {
    reply(status, json!({"error": {"code": code, "message": message}}))
}

pub(super) fn answer(st: &mut State, req: &Seen) -> Reply {
    if let Some(f) = st.outages.iter().find(|f| req.path.contains(&f.path)) {
        return (f.status, f.headers.clone(), f.body.clone());
    }
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
