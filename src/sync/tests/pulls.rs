//! Good pulls: both kinds, paging, resource-group scope, token reuse.

use super::fake_azure::*;
use super::*;
use crate::sync::PullResult;

/// The Backup vault's endpoint (backup, blob and queue names together, as
/// `az network private-endpoint show` lists them), a key vault's (outside
/// every zone) and an endpoint whose connection awaits approval.
fn populate(fake: &FakeAzure) {
    fake.add_private_endpoint(private_endpoint(
        "rg-backup",
        "pe-vault",
        &[
            ("12345-vault1.eus.backup.windowsazure.com", &["10.1.0.4"]),
            ("vault1id1ecs1.blob.core.windows.net", &["10.1.0.5"]),
            (
                "vault1id1ecs1.queue.core.windows.net",
                &["10.1.0.6", "fd00::6"],
            ),
        ],
        "Approved",
    ));
    fake.add_private_endpoint(private_endpoint(
        "rg-other",
        "pe-kv",
        &[("kv1.vault.azure.net", &["10.2.0.4"])],
        "Approved",
    ));
    fake.add_private_endpoint(private_endpoint(
        "rg-backup",
        "pe-pending",
        &[("pending1.blob.core.windows.net", &["10.1.0.9"])],
        "Pending",
    ));
    let blob = "privatelink.blob.core.windows.net";
    fake.add_zone(
        "rg-dns",
        blob,
        vec![
            record_set("rg-dns", blob, "@", "SOA", 3600, &[]),
            record_set("rg-dns", blob, "@", "A", 10, &["10.9.9.9"]),
            record_set("rg-dns", blob, "acct1", "A", 10, &["10.3.0.4", "10.3.0.5"]),
            record_set("rg-dns", blob, "acct2", "AAAA", 20, &["fd00::4"]),
            record_set(
                "rg-dns",
                blob,
                "alias",
                "CNAME",
                30,
                &["acct1.privatelink.blob.core.windows.net"],
            ),
        ],
    );
    // A Private DNS zone that no [[zone]] names: never read.
    fake.add_zone(
        "rg-dns",
        "privatelink.vaultcore.azure.net",
        vec![record_set(
            "rg-dns",
            "privatelink.vaultcore.azure.net",
            "kv1",
            "A",
            10,
            &["10.2.0.4"],
        )],
    );
}

#[tokio::test]
async fn both_pull_kinds() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let src = source(&config);
    let pull = src.pull().await.unwrap();
    assert_eq!(
        lines(&pull),
        [
            "12345-vault1.eus.backup.windowsazure.com A 10.1.0.4",
            "acct1.privatelink.blob.core.windows.net 10 A 10.3.0.4",
            "acct1.privatelink.blob.core.windows.net 10 A 10.3.0.5",
            "acct2.privatelink.blob.core.windows.net 20 AAAA fd00::4",
            "alias.privatelink.blob.core.windows.net 30 CNAME acct1.privatelink.blob.core.windows.net",
            "kv1.vault.azure.net A 10.2.0.4",
            "pending1.blob.core.windows.net A 10.1.0.9",
            "vault1id1ecs1.blob.core.windows.net A 10.1.0.5",
            "vault1id1ecs1.queue.core.windows.net A 10.1.0.6",
            "vault1id1ecs1.queue.core.windows.net AAAA fd00::6",
        ]
    );
    assert_eq!((pull.private_endpoints, pull.zones.len()), (3, 1));
    // Each entry knows the resource it came from.
    let kv = pull
        .entries
        .iter()
        .find(|e| e.name.to_string() == "kv1.vault.azure.net")
        .unwrap();
    assert!(
        pull.origin(kv).ends_with("/privateEndpoints/pe-kv"),
        "{}",
        pull.origin(kv)
    );
    let w = pull.warnings.join("\n");
    assert!(w.contains("pe-pending: the connection is Pending"), "{w}");
    assert!(w.contains("/A/@: A record at the apex"), "{w}");
    assert_eq!(fake.count("privatelink.vaultcore.azure.net"), 0);
    assert_eq!(fake.count("privatelink.blob.core.windows.net/ALL"), 1);
    assert_eq!(src.metrics().pulls(PullResult::Ok), 1);
    assert_eq!(src.metrics().records(), 10);
    assert!(src.metrics().last_success().is_some());
    // The bearer token went to ARM, the secret only to the token endpoint.
    for s in fake.seen() {
        if s.path.starts_with("/subscriptions/") {
            assert_eq!(s.headers["authorization"], "Bearer fake-arm-token-1");
            assert!(s.query.contains("api-version="), "{s:?}");
        } else {
            assert!(s.body.contains("client_secret="), "{s:?}");
        }
    }
}

#[tokio::test]
async fn pull_once_places_names_and_warns_about_the_rest() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let report = crate::sync::pull_once(config, fast()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let out = &report.listing;
    for line in [
        "zone privatelink.blob.core.windows.net",
        "  vault1id1ecs1.privatelink.blob.core.windows.net 300 A 10.1.0.5",
        "  acct1.privatelink.blob.core.windows.net 10 A 10.3.0.4",
        "zone privatelink.eus.backup.windowsazure.com",
        "  12345-vault1.privatelink.eus.backup.windowsazure.com 60 A 10.1.0.4",
        "  vault1id1ecs1.privatelink.queue.core.windows.net 300 AAAA fd00::6",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} not in\n{out}");
    }
    let w = report.warnings.join("\n");
    assert!(
        w.contains("kv1.vault.azure.net is outside every zone with records"),
        "{w}"
    );
    assert!(w.contains("pe-kv"), "{w}");
}

#[tokio::test]
async fn follows_next_link_across_pages() {
    let fake = FakeAzure::start();
    fake.state().page_size = 2;
    for i in 0..5 {
        fake.add_private_endpoint(private_endpoint(
            "rg-backup",
            &format!("pe{i}"),
            &[(&format!("acct{i}.blob.core.windows.net"), &["10.0.0.1"])],
            "Approved",
        ));
    }
    let zone = "privatelink.queue.core.windows.net";
    let sets = (0..5)
        .map(|i| record_set("rg-dns", zone, &format!("q{i}"), "A", 10, &["10.0.1.1"]))
        .collect();
    fake.add_zone("rg-dns", zone, sets);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let pull = source(&config).pull().await.unwrap();
    assert_eq!(pull.entries.len(), 10);
    // Three pages of each list (2 + 2 + 1), the zone list once.
    assert_eq!(fake.count("/privateEndpoints"), 3);
    assert_eq!(fake.count(&format!("{zone}/ALL")), 3);
    assert_eq!(pull.requests, 7);
}

#[tokio::test]
async fn resource_groups_scope_the_lists() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &fake,
        "resource_groups = [\"rg-backup\", \"rg-dns\"]\npull = [\"private-endpoints\", \"private-dns-zones\"]",
    );
    let pull = source(&config).pull().await.unwrap();
    let names = lines(&pull).join("\n");
    assert!(!names.contains("kv1.vault.azure.net"), "{names}");
    assert!(
        names.contains("acct1.privatelink.blob.core.windows.net"),
        "{names}"
    );
    let paths: Vec<String> = fake.seen().iter().map(|s| s.path.clone()).collect();
    for rg in ["rg-backup", "rg-dns"] {
        let p = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints"
        );
        assert!(paths.contains(&p), "{paths:?}");
    }
    assert!(!paths.iter().any(|p| p
        == &format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Network/privateEndpoints")));
}

#[tokio::test]
async fn one_pull_kind_only() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "pull = [\"private-dns-zones\"]");
    let pull = source(&config).pull().await.unwrap();
    assert_eq!(pull.private_endpoints, 0);
    assert_eq!(fake.count("/privateEndpoints"), 0);
    assert_eq!(pull.entries.len(), 4);
}

#[tokio::test]
async fn the_token_is_reused_until_it_is_refused() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let src = source(&config);
    src.pull().await.unwrap();
    src.pull().await.unwrap();
    assert_eq!(fake.count("/oauth2/v2.0/token"), 1);
    // ARM stops accepting the token (revoked, expired early): pldns signs
    // in again once and the pull still succeeds.
    fake.state().tokens.clear();
    src.pull().await.unwrap();
    assert_eq!(fake.count("/oauth2/v2.0/token"), 2);
}

#[tokio::test]
async fn change_log_counts_added_and_removed_per_zone() {
    let fake = FakeAzure::start();
    populate(&fake);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake, "");
    let src = source(&config);
    let first = src.pull().await.unwrap();
    fake.add_private_endpoint(private_endpoint(
        "rg-backup",
        "pe-new",
        &[("vault1id1prot1.blob.core.windows.net", &["10.1.0.7"])],
        "Approved",
    ));
    fake.state()
        .private_endpoints
        .retain(|p| p["name"] != "pe-vault");
    let second = src.pull().await.unwrap();
    let ch = crate::sync::changes(&config, &first.entries, &second.entries);
    assert_eq!(
        crate::sync::describe_changes(&ch),
        "privatelink.blob.core.windows.net +1 -1, privatelink.queue.core.windows.net +0 -2, privatelink.eus.backup.windowsazure.com +0 -1"
    );
    assert_eq!(crate::sync::describe_changes(&[]), "no change");
}
