//! `[[azure]]` presets: the Private Link zones of a vault expanded from the
//! embedded shared/data for every cloud, and `check`'s warnings about the
//! mistakes readers of the Azure docs make.

mod common;

use std::process::Command;

use common::*;

#[test]
fn azure_presets_expand_in_the_config_for_all_three_clouds() {
    let f = Files::new(&[
        (
            "pldns.toml",
            "[server]\nlisten = [\"127.0.0.1:0\"]\n\
             [[azure]]\ncloud = \"public\"\nregions = [\"eastus\", \"westeurope\"]\nforwarders = [\"127.0.0.1:5399\"]\nrecords = [\"rec/\"]\nsite_recovery = true\n\
             [[azure]]\ncloud = \"AzureUSGovernment\"\nregions = [\"usgovvirginia\"]\nforwarders = [\"127.0.0.1:5399\"]\n\
             [[azure]]\ncloud = \"china\"\nregions = [\"chinaeast2\"]\nforwarders = [\"127.0.0.1:5399\"]\n",
        ),
        (
            "rec/pe.json",
            r#"[{"fqdn": "vault-ab-pod01-fab1.we.backup.windowsazure.com", "ipAddresses": ["10.0.0.4"]}]"#,
        ),
    ]);
    let (status, out, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "{err}");
    for zone in [
        "privatelink.eus.backup.windowsazure.com: 0 records",
        "privatelink.we.backup.windowsazure.com: 1 records",
        "privatelink.blob.core.windows.net",
        "privatelink.queue.core.windows.net",
        "privatelink.siterecovery.windowsazure.com",
        "privatelink.ugv.backup.windowsazure.us: forward only",
        "privatelink.blob.core.usgovcloudapi.net",
        "privatelink.sha2.backup.windowsazure.cn: forward only",
        "privatelink.queue.core.chinacloudapi.cn",
    ] {
        assert!(
            out.contains(&format!("zone {zone}")),
            "{zone} missing from:\n{out}"
        );
    }
    // A backup zone without records has no public fallback: check says so.
    assert!(
        err.contains("zone privatelink.ugv.backup.windowsazure.us has no records"),
        "{err}"
    );

    let bad = Files::new(&[(
        "pldns.toml",
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[azure]]\ncloud = \"public\"\nregions = [\"eastu\"]\nforwarders = [\"127.0.0.1:5399\"]\n",
    )]);
    let (status, _, err) = check(&bad.path("pldns.toml"));
    assert!(!status.success());
    assert!(
        err.contains("pldns.toml:5: unknown public region \"eastu\"; did you mean eastus"),
        "{err}"
    );

    // Our cloud names and az's (`az cloud show --query name`).
    for (cloud, region, zone) in [
        (
            "usgov",
            "usgovtexas",
            "privatelink.ugt.backup.windowsazure.us",
        ),
        (
            "AzureUSGovernment",
            "usgovtexas",
            "privatelink.ugt.backup.windowsazure.us",
        ),
        (
            "AzureCloud",
            "eastus",
            "privatelink.eus.backup.windowsazure.com",
        ),
        (
            "AzureChinaCloud",
            "chinaeast2",
            "privatelink.sha2.backup.windowsazure.cn",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["zones", "--cloud", cloud, "--region", region])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(zone),
            "{cloud}: {text}"
        );
    }
}

#[test]
fn check_warns_about_azure_dns_and_unknown_geo_codes() {
    let f = Files::new(&[(
        "pldns.toml",
        "[server]\nlisten = [\"127.0.0.1:0\"]\n\
         [[zone]]\nname = \"privatelink.eastus.backup.windowsazure.com\"\nforwarders = [\"168.63.129.16\"]\n",
    )]);
    let (status, _, err) = check(&f.path("pldns.toml"));
    assert!(status.success(), "warnings do not fail check: {err}");
    assert!(
        err.contains("\"eastus\" is not the Backup geo code of any public region"),
        "{err}"
    );
    assert!(
        err.contains("168.63.129.16 is a forwarder of privatelink.eastus.backup.windowsazure.com"),
        "{err}"
    );
    assert!(
        err.contains("only from inside an Azure virtual network"),
        "{err}"
    );
}
