//! `pldns sync --config FILE --once` against the fake Azure on loopback:
//! what it prints, its exit status, and that it changes nothing on disk.
//! Every endpoint is the fake's, and PLDNS_SYNC_LOOPBACK_ONLY makes the
//! binary refuse any other.

mod common;

use std::path::Path;
use std::process::Command;

use common::fake_azure::*;
use common::{BIN, Files};

const ZONES: &str = r#"
[[zone]]
name = "privatelink.blob.core.windows.net"
records = []
on_miss = "nxdomain"

[[zone]]
name = "privatelink.eus.backup.windowsazure.com"
records = []
on_miss = "nxdomain"
"#;

fn config(fake: &FakeAzure, credential: &str) -> Files {
    let text = format!(
        "{ZONES}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\n{credential}\narm_endpoint = \"{}\"\n",
        fake.url()
    );
    Files::new(&[("pldns.toml", &text), ("sp.secret", &format!("{SECRET}\n"))])
}

const SECRET_LOGIN: &str = "credential = \"client-secret\"\ntenant_id = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret_file = \"sp.secret\"";

fn secret_login(fake: &FakeAzure) -> String {
    format!("{SECRET_LOGIN}\nlogin_endpoint = \"{}\"", fake.url())
}

fn populate(fake: &FakeAzure) {
    fake.add_private_endpoint(private_endpoint(
        "rg-backup",
        "pe-vault",
        &[
            ("12345-vault1.eus.backup.windowsazure.com", &["10.1.0.4"]),
            ("vault1id1ecs1.blob.core.windows.net", &["10.1.0.5"]),
            ("kv1.vault.azure.net", &["10.1.0.8"]),
        ],
        "Approved",
    ));
    let blob = "privatelink.blob.core.windows.net";
    fake.add_zone(
        "rg-dns",
        blob,
        vec![record_set("rg-dns", blob, "acct1", "A", 10, &["10.3.0.4"])],
    );
}

fn run(files: &Files, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["sync", "--once", "--config"])
        .arg(files.path("pldns.toml"))
        .env(pldns::sync::LOOPBACK_ONLY_ENV, "1")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IMDS_ENDPOINT")
        .env("STATE_DIRECTORY", files.path("state"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir);
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        out.push(format!(
            "{} {}",
            p.display(),
            e.metadata().map(|m| m.len()).unwrap_or(0)
        ));
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[test]
fn prints_what_it_found_and_writes_nothing() {
    let fake = FakeAzure::start();
    populate(&fake);
    let files = config(&fake, &secret_login(&fake));
    let before = listing(files.dir.path());
    let (code, stdout, stderr) = run(&files, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for line in [
        "zone privatelink.blob.core.windows.net",
        "  acct1.privatelink.blob.core.windows.net 10 A 10.3.0.4",
        "  vault1id1ecs1.privatelink.blob.core.windows.net 300 A 10.1.0.5",
        "zone privatelink.eus.backup.windowsazure.com",
        "  12345-vault1.privatelink.eus.backup.windowsazure.com 300 A 10.1.0.4",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line:?} not in\n{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("subscription {SUBSCRIPTION}")),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: sync 1 (line 13): /subscriptions/")
            && stderr.contains("kv1.vault.azure.net is outside every zone with records; skipped"),
        "{stderr}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    assert_eq!(
        listing(files.dir.path()),
        before,
        "sync --once wrote something"
    );
}

#[test]
fn failed_pull_exits_non_zero_with_the_reason() {
    let fake = FakeAzure::start();
    populate(&fake);
    let files = config(&fake, &secret_login(&fake));
    files.write("sp.secret", "wrong-secret-77\n");
    let (code, stdout, stderr) = run(&files, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("pldns: sync 1 (line 13): sign-in with client-secret (client 11111111-2222-3333-4444-555555555555, tenant 72f988bf-86f1-41af-91ab-2d7cd011db47) failed: HTTP 401: AADSTS7000215"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-77") && !stdout.contains("wrong-secret-77"));

    // Bad JSON from Resource Manager.
    files.write("sp.secret", SECRET);
    fake.fault("/privateEndpoints", 200, &[], "{\"value\": [");
    let (code, _, stderr) = run(&files, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("invalid JSON in the answer"), "{stderr}");
}

#[test]
fn refuses_real_azure_endpoints_under_the_test_guard() {
    let fake = FakeAzure::start();
    let text = format!("{ZONES}\n[[sync]]\nsubscription = \"{SUBSCRIPTION}\"\n{SECRET_LOGIN}\n");
    let files = Files::new(&[("pldns.toml", &text), ("sp.secret", SECRET)]);
    let (code, _, stderr) = run(&files, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token: refused, only loopback endpoints are allowed"), "{stderr}");
    drop(fake);
}

#[test]
fn arc_managed_identity_from_the_agent_environment() {
    let fake = FakeAzure::start();
    populate(&fake);
    let files = config(&fake, "credential = \"managed-identity\"");
    let tokens = files.path("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let key_file = tokens.join("c0ffee.key");
    std::fs::write(&key_file, "arc-key-1").unwrap();
    fake.state().identity = Identity::Arc {
        key_file,
        key: "arc-key-1".into(),
    };
    let identity = format!("{}/metadata/identity/oauth2/token", fake.url());
    let (code, stdout, stderr) = run(
        &files,
        &[
            ("IDENTITY_ENDPOINT", &identity),
            ("IMDS_ENDPOINT", &fake.url()),
            ("PLDNS_ARC_TOKENS_DIR", tokens.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("managed-identity (Azure Arc agent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("acct1.privatelink.blob.core.windows.net"),
        "{stdout}"
    );
    assert_eq!(fake.count("/metadata/identity/oauth2/token"), 2);
}

#[test]
fn vm_managed_identity_through_login_endpoint() {
    let fake = FakeAzure::start();
    populate(&fake);
    let files = config(
        &fake,
        &format!(
            "credential = \"managed-identity\"\nlogin_endpoint = \"{}\"",
            fake.url()
        ),
    );
    let (code, stdout, stderr) = run(&files, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("managed-identity (Azure VM"), "{stdout}");
}

#[test]
fn azure_cli_credential_with_a_fake_az_on_path() {
    let fake = FakeAzure::start();
    populate(&fake);
    let files = config(&fake, "credential = \"azure-cli\"");
    let bin = files.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The fake ARM accepts only tokens it issued: hand one to the fake az.
    fake.state().tokens.push("az-issued-token".into());
    fake_az(
        &bin,
        r#"{"accessToken": "az-issued-token", "expires_on": 4102444800, "tokenType": "Bearer"}"#,
        "",
        0,
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (code, stdout, stderr) = run(&files, &[("PATH", &path)]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("acct1.privatelink.blob.core.windows.net"),
        "{stdout}"
    );
    let args = std::fs::read_to_string(bin.join("args.log")).unwrap();
    assert!(
        args.contains("--resource https://management.core.windows.net/"),
        "{args}"
    );
}

#[test]
fn without_sync_tables_or_once_it_says_so() {
    let files = Files::new(&[("pldns.toml", ZONES)]);
    let (code, _, stderr) = run(&files, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("has no [[sync]] table"), "{stderr}");
    let out = Command::new(BIN)
        .args(["sync", "--config"])
        .arg(files.path("pldns.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --once"));
}
