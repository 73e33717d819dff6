//! The Resource Manager and sign-in endpoints of each cloud, from
//! `azure-clouds.csv` beside this file. Its rows are the `resource_manager`,
//! `active_directory` and `active_directory_resource_id` endpoints of
//! azure-cli's built-in clouds (what `az cloud show --name NAME` prints), copied
//! from Azure/azure-cli `src/azure-cli-core/azure/cli/core/cloud.py` at commit
//! 004224f71b2281f7f7acf5435f224805c1c54674. The sign-in hosts agree with
//! `azure_identity` 1.1's authority hosts, the Resource Manager hosts with
//! `azure_core`'s older `resource_manager_endpoint` constants; azure_core 1.x
//! no longer ships the Resource Manager endpoints, hence this file.

use super::Cloud;

const CLOUDS: &str = include_str!("azure-clouds.csv");

/// Where one cloud's Resource Manager and sign-in service live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// azure-cli's name of the cloud (`az cloud set --name`).
    pub cli_name: &'static str,
    /// Resource Manager's base URL.
    pub resource_manager: &'static str,
    /// Microsoft Entra ID's sign-in host (the "authority host").
    pub login: &'static str,
    /// The resource (audience) of Resource Manager tokens; its OAuth 2.0 v2
    /// scope is this plus `.default`.
    pub resource: &'static str,
}

impl Endpoints {
    /// The v2 scope of a Resource Manager token. The resource ends in `/`,
    /// so the scope has two slashes, as Entra ID's docs write it
    /// (`https://management.core.windows.net//.default`).
    pub fn scope(&self) -> String {
        format!("{}/.default", self.resource)
    }
}

/// The endpoints of `cloud`.
pub fn endpoints(cloud: Cloud) -> Endpoints {
    CLOUDS
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&cloud.label()))
        .and_then(|f| match f[..] {
            [_, cli_name, resource_manager, login, resource] => Some(Endpoints {
                cli_name,
                resource_manager,
                login,
                resource,
            }),
            _ => None,
        })
        // The file is embedded and tested below: every cloud has a row.
        .unwrap_or_else(|| panic!("azure-clouds.csv has no row for {}", cloud.label()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cloud_has_https_endpoints() {
        for cloud in [Cloud::Public, Cloud::China, Cloud::Usgov] {
            let e = endpoints(cloud);
            for url in [e.resource_manager, e.login, e.resource] {
                assert!(url.starts_with("https://"), "{url}");
                assert!(url::Url::parse(url).is_ok(), "{url}");
            }
        }
        let public = endpoints(Cloud::Public);
        assert_eq!(public.resource_manager, "https://management.azure.com/");
        assert_eq!(public.login, "https://login.microsoftonline.com");
        assert_eq!(
            public.scope(),
            "https://management.core.windows.net//.default"
        );
        assert_eq!(endpoints(Cloud::China).cli_name, "AzureChinaCloud");
        assert_eq!(
            endpoints(Cloud::Usgov).login,
            "https://login.microsoftonline.us"
        );
    }
}
