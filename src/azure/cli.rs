//! `pldns zones`: the Private Link zones an Azure Backup vault needs, as
//! `[[zone]]` tables to paste, or the regions of a cloud.

use std::process::ExitCode;

use crate::azure;

/// Prints the zones of `regions` in `cloud` (every region of the cloud
/// when none is given).
pub fn zones(cloud: &str, regions: &[String], site_recovery: bool) -> ExitCode {
    let Some(cloud) = azure::Cloud::parse(cloud) else {
        eprintln!(
            "pldns: unknown cloud {cloud:?}: public, usgov or china (or az's AzureCloud, AzureUSGovernment, AzureChinaCloud)"
        );
        return ExitCode::FAILURE;
    };
    if regions.is_empty() {
        println!("# {} regions: name, Backup geo code", cloud.label());
        for r in azure::regions().iter().filter(|r| r.cloud == cloud.label()) {
            println!("{:<22} {:<6} {}", r.name, r.geo_code, r.display);
        }
        return ExitCode::SUCCESS;
    }
    let mut found = Vec::new();
    for r in regions {
        match azure::find_region(cloud, r) {
            Ok(region) => found.push(region),
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match azure::zones(cloud, &found, site_recovery) {
        Ok(zones) => {
            let names: Vec<String> = found
                .iter()
                .map(|r| format!("{} ({})", r.name, r.geo_code))
                .collect();
            println!(
                "# {} cloud, {}: paste into pldns.toml, or use an [[azure]] preset",
                cloud.label(),
                names.join(", ")
            );
            for z in zones {
                println!("\n[[zone]]\nname = \"{z}\"\nrecords = [\"records.d/\"]");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pldns: {e}");
            ExitCode::FAILURE
        }
    }
}
