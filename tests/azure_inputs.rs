//! Azure inputs as admins have them (tests/fixtures/azure/): az and ARM
//! REST JSON, PowerShell's ConvertTo-Json (PascalCase, UTF-16 and UTF-8
//! with BOM, a too-shallow -Depth), the portal's hostfile lines; each one
//! loads and is answered, outside names are warnings, and the broken ones
//! say what to do.

mod common;

use std::path::Path;

use common::*;
use hickory_proto::rr::RecordType;

const ZONES: &str = "[[zone]]\nname = \"privatelink.eus.backup.windowsazure.com\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n\
[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n\
[[zone]]\nname = \"privatelink.queue.core.windows.net\"\nrecords = [\"rec/\"]\non_miss = \"nxdomain\"\n";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/azure")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every valid fixture, with one name it must answer and the address.
const VALID: &[(&str, &str, &str)] = &[
    (
        "az-pe-show-backup.json",
        "contoso-vault-1a2b3c4d-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com",
        "10.20.1.4",
    ),
    (
        "az-pe-list-subscription.json",
        "zcontosoeus1prot01.privatelink.queue.core.windows.net",
        "10.20.1.12",
    ),
    (
        "az-dns-a-list-blob.json",
        "zcontosoeus1ecs02.privatelink.blob.core.windows.net",
        "10.20.3.4",
    ),
    (
        "az-dns-list-backup-zone.json",
        "contoso-vault-1a2b3c4d-ab-pod01-id2.privatelink.eus.backup.windowsazure.com",
        "10.20.4.5",
    ),
    (
        "arm-rest-pe-list.json",
        "zcontosoeus1prot03.privatelink.blob.core.windows.net",
        "10.20.5.4",
    ),
    (
        "ps51-pe-depth10-utf16.json",
        "zcontosoeus1prot04.privatelink.queue.core.windows.net",
        "10.20.6.5",
    ),
    (
        "ps7-pe-default-depth.json",
        "zcontosoeus1prot05.privatelink.blob.core.windows.net",
        "10.20.7.4",
    ),
    (
        "ps-dns-recordset-utf8bom.json",
        "zcontosoeus1ecs02.privatelink.queue.core.windows.net",
        "10.20.8.4",
    ),
    (
        "portal-hostfile-utf16.hosts",
        "zcontosoeus1prot07.privatelink.blob.core.windows.net",
        "10.20.9.4",
    ),
];

fn files_with(names: &[&str], target: impl Fn(&str) -> String) -> Files {
    let f = Files::new(&[("pldns.toml", &format!("{SERVER}{ZONES}"))]);
    for name in names {
        f.write_bytes(&target(name), &fixture(name));
    }
    f
}

#[test]
fn every_azure_input_loads_and_is_answered() {
    let names: Vec<&str> = VALID.iter().map(|v| v.0).collect();
    // Windows saves endings in any case: vault2.JSON is JSON.
    let f = files_with(&names, |n| {
        if n == "ps7-pe-default-depth.json" {
            "rec/vault2.JSON".into()
        } else {
            format!("rec/{n}")
        }
    });
    f.write("rec/notes.txt", "which vault is which\n");
    let (status, out, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "{err}");
    // A subscription-wide endpoint list names key vaults and SQL servers:
    // warnings with FILE:LINE, not errors.
    let list = f.path("rec/az-pe-list-subscription.json");
    for outside in [
        "contoso-kv.vault.azure.net",
        "contoso-sql.database.windows.net",
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(outside))
            .unwrap_or_else(|| panic!("no warning for {outside} in {err}"));
        assert!(
            line.starts_with(&format!("{}:", list.display()))
                && line.ends_with("is outside every zone with records: skipped"),
            "{line}"
        );
    }
    assert!(
        out.contains(&format!(
            "ignored (not .hosts, .toml, .json or hosts): {}",
            f.path("rec/notes.txt").display()
        )),
        "{out}"
    );
    let (status, _, err) = check_with(&f.path("pldns.toml"), &["--strict"]);
    assert!(!status.success(), "--strict fails on the warnings: {err}");
    assert!(err.contains("--strict fails on warnings"), "{err}");

    let d = Daemon::start(f);
    for (file, name, ip) in VALID {
        let m = d.query(name, RecordType::A);
        assert_eq!(addresses(&m), [*ip], "{file}: {name}");
    }
    // The public name of a record from az's record-set list, and the
    // CNAME of PowerShell's record sets.
    let m = d.query("mabsstaging.blob.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.20.3.5", "10.20.3.6"]);
    let m = d.query(
        "staging-alias.privatelink.queue.core.windows.net",
        RecordType::A,
    );
    assert_eq!(addresses(&m), ["10.20.8.5"]);
}

#[test]
fn broken_azure_inputs_say_what_to_do() {
    let f = Files::new(&[("pldns.toml", &format!("{SERVER}{ZONES}"))]);
    for name in ["ps7-pe-list-default-depth.json", "reversed.hosts"] {
        f.write_bytes(&format!("rec/{name}"), &fixture(&format!("invalid/{name}")));
    }
    let (status, _, err) = check(&f.path("pldns.toml"));
    assert!(!status.success());
    let prefix = format!("{}/", f.dir.path().display());
    let err = err.replace(&prefix, "");
    assert!(
        err.contains("rec/ps7-pe-list-default-depth.json:6: CustomDnsConfigs holds type names, not the entries: ConvertTo-Json cut it off at its default -Depth 2; save it again with `ConvertTo-Json -Depth 10`"),
        "{err}"
    );
    assert!(
        err.contains("rec/reversed.hosts:2: invalid IP address \"zcontosoeus1prot08.blob.core.windows.net\": the line reads NAME IP, hosts lines read IP NAME (write \"10.20.10.4 zcontosoeus1prot08.blob.core.windows.net\")"),
        "{err}"
    );
}
