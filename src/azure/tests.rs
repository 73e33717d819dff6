use super::*;
use std::path::Path;

#[test]
fn embedded_data_is_the_shared_data() {
    // CI clones the repo with shared/ beside it; elsewhere there is nothing to compare.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    for (file, embedded) in [
        ("azure-backup-geo-codes.csv", GEO_CODES),
        ("azure-privatelink-zones.csv", ZONES),
    ] {
        if let Ok(text) = std::fs::read_to_string(shared.join(file)) {
            assert_eq!(
                text, embedded,
                "src/azure/{file} differs from shared/data/{file}: copy it again"
            );
        }
    }
    assert_eq!(regions().len(), 77);
}

#[test]
fn presets_expand_for_every_cloud() {
    let eastus = find_region(Cloud::Public, "eastus").unwrap();
    assert_eq!(eastus.geo_code, "eus");
    assert_eq!(
        zones(Cloud::Public, std::slice::from_ref(&eastus), false).unwrap(),
        [
            "privatelink.eus.backup.windowsazure.com",
            "privatelink.blob.core.windows.net",
            "privatelink.queue.core.windows.net",
        ]
    );
    let ne = find_region(Cloud::Public, "North Europe").unwrap();
    let z = zones(Cloud::Public, &[eastus, ne], true).unwrap();
    assert_eq!(z[1], "privatelink.ne.backup.windowsazure.com");
    assert!(z.contains(&"privatelink.siterecovery.windowsazure.com".to_string()));

    let gov = find_region(Cloud::Usgov, "usgovvirginia").unwrap();
    assert_eq!(
        zones(Cloud::Usgov, &[gov], false).unwrap(),
        [
            "privatelink.ugv.backup.windowsazure.us",
            "privatelink.blob.core.usgovcloudapi.net",
            "privatelink.queue.core.usgovcloudapi.net",
        ]
    );
    let china = find_region(Cloud::China, "chinanorth3").unwrap();
    assert_eq!(
        zones(Cloud::China, std::slice::from_ref(&china), false).unwrap(),
        [
            "privatelink.bjb3.backup.windowsazure.cn",
            "privatelink.blob.core.chinacloudapi.cn",
            "privatelink.queue.core.chinacloudapi.cn",
        ]
    );
    assert!(
        zones(Cloud::China, &[china], true)
            .unwrap_err()
            .contains("Site Recovery")
    );
}

#[test]
fn unknown_regions_list_close_matches() {
    let e = find_region(Cloud::Public, "eastu").unwrap_err();
    assert!(e.contains("did you mean") && e.contains("eastus"), "{e}");
    let e = find_region(Cloud::Public, "usgovvirginia").unwrap_err();
    assert!(e.contains("usgov cloud"), "{e}");
    assert!(
        find_region(Cloud::Public, "EUS").is_ok(),
        "geo codes work too"
    );
}

#[test]
fn az_cloud_names_are_accepted() {
    for (name, cloud) in [
        ("AzureCloud", Cloud::Public),
        ("AzureUSGovernment", Cloud::Usgov),
        ("AzureChinaCloud", Cloud::China),
        ("azurecloud", Cloud::Public),
        ("public", Cloud::Public),
    ] {
        assert_eq!(Cloud::parse(name), Some(cloud), "{name}");
    }
    assert_eq!(Cloud::parse("AzureGermanCloud"), None);
}
