//! `[[sync]]` validation: defaults, and one `FILE:LINE: reason` per mistake.

use std::path::Path;
use std::time::Duration;

use crate::config::{CredentialConfig, parse};

const ZONE: &str = "[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = []\non_miss = \"nxdomain\"\n";
const SUB: &str = "00000000-1111-2222-3333-444444444444";

fn errors(sync: &str) -> String {
    let text = format!("{ZONE}\n[[sync]]\n{sync}\n");
    match parse(Path::new("/etc/pldns/pldns.toml"), &text) {
        Ok(_) => String::new(),
        Err(d) => d.to_string(),
    }
}

#[test]
fn defaults() {
    let text = format!(
        "{ZONE}[[sync]]\nsubscription = \"{}\"\ncredential = \"managed-identity\"\n",
        SUB.to_uppercase()
    );
    let c = parse(Path::new("/etc/pldns/pldns.toml"), &text).unwrap();
    let s = &c.sync[0];
    assert_eq!(s.cloud, crate::azure::Cloud::Public);
    assert_eq!(s.subscription, SUB);
    assert!(s.resource_groups.is_empty());
    assert!(s.pull.private_endpoints && s.pull.private_dns_zones);
    assert_eq!(s.interval, Duration::from_secs(300));
    assert_eq!(s.min_interval, Duration::from_secs(30));
    assert_eq!(
        s.credential,
        CredentialConfig::ManagedIdentity { client_id: None }
    );
    assert_eq!(
        (s.arm_endpoint.clone(), s.login_endpoint.clone()),
        (None, None)
    );
    assert_eq!(s.line, 6);
}

#[test]
fn full_client_secret_table() {
    let text = format!(
        "{ZONE}[[sync]]\ncloud = \"china\"\nsubscription = \"{SUB}\"\nresource_groups = [\"rg-backup\", \"rg(2).x\"]\npull = [\"private-endpoints\"]\ninterval_s = 1\nmin_interval_s = 5\ncredential = \"client-secret\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"{SUB}\"\nclient_secret_file = \"sp.secret\"\narm_endpoint = \"http://127.0.0.1:8080/arm/\"\nlogin_endpoint = \"http://[::1]:9\"\n"
    );
    let c = parse(Path::new("/etc/pldns/pldns.toml"), &text).unwrap();
    let s = &c.sync[0];
    assert_eq!(s.cloud, crate::azure::Cloud::China);
    assert_eq!(s.resource_groups, ["rg-backup", "rg(2).x"]);
    assert!(s.pull.private_endpoints && !s.pull.private_dns_zones);
    assert_eq!(s.interval, Duration::from_secs(1));
    assert_eq!(
        s.credential,
        CredentialConfig::ClientSecret {
            tenant_id: "contoso.onmicrosoft.com".into(),
            client_id: SUB.into(),
            secret_file: "/etc/pldns/sp.secret".into(),
        }
    );
    assert_eq!(
        s.arm_endpoint.as_ref().unwrap().as_str(),
        "http://127.0.0.1:8080/arm/"
    );
}

#[test]
fn certificate_and_cli_tables() {
    let text = format!(
        "{ZONE}[[sync]]\nsubscription = \"{SUB}\"\ncredential = \"client-certificate\"\ntenant_id = \"{SUB}\"\nclient_id = \"{SUB}\"\nclient_certificate_file = \"/etc/pldns/sp.pem\"\n\n[[sync]]\nsubscription = \"{SUB}\"\nresource_groups = [\"rg\"]\ncredential = \"azure-cli\"\n"
    );
    let c = parse(Path::new("/etc/pldns/pldns.toml"), &text).unwrap();
    assert!(matches!(
        &c.sync[0].credential,
        CredentialConfig::ClientCertificate { key_file: None, .. }
    ));
    assert_eq!(
        c.sync[1].credential,
        CredentialConfig::AzureCli { tenant_id: None }
    );
}

#[test]
fn each_mistake_has_its_line() {
    let f = "/etc/pldns/pldns.toml";
    let cases: &[(&str, &str)] = &[
        (
            "subscription = \"nope\"\ncredential = \"azure-cli\"",
            "7: subscription \"nope\" is not a subscription ID",
        ),
        (
            &format!("subscription = \"{SUB}\"\ncredential = \"password\""),
            "8: unknown credential \"password\"",
        ),
        (
            &format!("cloud = \"germany\"\nsubscription = \"{SUB}\"\ncredential = \"azure-cli\""),
            "7: unknown cloud \"germany\"",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"client-secret\"\ntenant_id = \"{SUB}\"\nclient_id = \"{SUB}\""
            ),
            "8: credential = \"client-secret\" needs client_secret_file",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"managed-identity\"\nclient_secret_file = \"x\""
            ),
            "9: client_secret_file does not apply to credential = \"managed-identity\"",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"managed-identity\"\nlogin_endpoint = \"https://login.example.com\""
            ),
            "9: login_endpoint may only name a loopback address",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"azure-cli\"\nlogin_endpoint = \"http://127.0.0.1:1\""
            ),
            "9: login_endpoint does not apply to credential = \"azure-cli\"",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"azure-cli\"\narm_endpoint = \"ftp://127.0.0.1\""
            ),
            "9: arm_endpoint must be an http:// or https:// URL",
        ),
        (
            &format!("subscription = \"{SUB}\"\ncredential = \"azure-cli\"\ninterval_s = 0"),
            "9: interval_s must be at least 1",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"azure-cli\"\npull = [\"private-endpoints\", \"vnets\"]"
            ),
            "9: unknown pull \"vnets\"",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"azure-cli\"\nresource_groups = [\"rg.\"]"
            ),
            "9: resource group \"rg.\": cannot end in a period",
        ),
        (
            &format!(
                "subscription = \"{SUB}\"\ncredential = \"managed-identity\"\nclient_id = \"me\""
            ),
            "9: client_id \"me\" is not an application (client) ID",
        ),
        (
            &format!("subscription = \"{SUB}\"\ncredential = \"azure-cli\"\nsecret = \"x\""),
            "9: unknown field `secret`",
        ),
    ];
    for (sync, want) in cases {
        let got = errors(sync);
        assert!(
            got.contains(&format!("{f}:{want}")),
            "want {want:?}, got {got:?}"
        );
    }
}

#[test]
fn sync_needs_a_zone_with_records_and_distinct_tables() {
    let text = format!(
        "[upstream]\nservers = [\"127.0.0.1:53\"]\n[[zone]]\nname = \"corp.example\"\n[[sync]]\nsubscription = \"{SUB}\"\ncredential = \"azure-cli\"\n"
    );
    let err = parse(Path::new("p.toml"), &text).unwrap_err().to_string();
    assert!(
        err.contains("p.toml:6: [[sync]] has no zone to fill"),
        "{err}"
    );
    let text = format!(
        "{ZONE}[[sync]]\nsubscription = \"{SUB}\"\ncredential = \"azure-cli\"\n[[sync]]\nsubscription = \"{SUB}\"\ncredential = \"managed-identity\"\n"
    );
    let err = parse(Path::new("p.toml"), &text).unwrap_err().to_string();
    assert!(
        err.contains("p.toml:9: this [[sync]] reads the same subscription"),
        "{err}"
    );
}
