//! What an admin does about a missing name, ready to paste: where to find
//! its private address (the private endpoint's `customDnsConfigs` list the
//! public name with its addresses) and the `pldns records add` line that
//! puts it in the table; or, with `[[sync]]`, what the early pull means.

use serde::{Deserialize, Serialize};

/// The config path the `records add` line names only when it is not the
/// packaged default.
pub const DEFAULT_CONFIG: &str = "/etc/pldns/pldns.toml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    /// Prints the private address(es) Azure has for the name.
    pub find_address: Option<String>,
    /// Adds the record (after the address is filled in).
    pub add: Option<String>,
    pub note: Option<String>,
}

/// Where a zone's records come from, as far as the hint cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feeds {
    /// The zone lists record files or directories (`records add` has
    /// somewhere to write).
    pub files: bool,
    /// A `[[sync]]` feeds this daemon.
    pub synced: bool,
}

/// The hint for `name` (its `public` form when in a Private Link zone).
/// Names come from clients: a name that is not a plain host name gets no
/// command to paste.
pub fn hint(name: &str, public: Option<&str>, config: &str, feeds: Feeds) -> Hint {
    let asked = public.unwrap_or(name);
    if !is_host_name(asked) {
        return Hint {
            find_address: None,
            add: None,
            note: Some(
                "not a host name (only letters, digits, '-', '_' and '.'): no Azure resource has it; a client asked for something odd".into(),
            ),
        };
    }
    let config_arg = if config == DEFAULT_CONFIG {
        String::new()
    } else {
        format!(" --config {}", shell_word(config))
    };
    let find_address = public.map(|p| {
        format!(
            "az network private-endpoint list --query \"[].customDnsConfigs[] | [?fqdn=='{p}'].ipAddresses[]\" -o tsv"
        )
    });
    let add = feeds
        .files
        .then(|| format!("sudo pldns records add {asked} PRIVATE_IP{config_arg}"));
    let note = feeds.synced.then(|| {
        "[[sync]] pulled early after this miss: if the name is still missing, its private endpoint is outside the synced subscription or resource groups (or has no DNS configuration yet)".to_string()
    });
    Hint {
        find_address,
        add,
        note,
    }
}

fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// `word` quoted for a POSIX shell when it holds anything but the
/// characters of a name or a path.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+=".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: Feeds = Feeds {
        files: true,
        synced: false,
    };

    #[test]
    fn a_zone_only_sync_feeds_gets_no_add_line() {
        let only_sync = Feeds {
            files: false,
            synced: true,
        };
        let h = hint(
            "a.privatelink.blob.core.windows.net",
            Some("a.blob.core.windows.net"),
            DEFAULT_CONFIG,
            only_sync,
        );
        assert!(h.add.is_none() && h.find_address.is_some() && h.note.is_some());
    }

    #[test]
    fn a_storage_account() {
        let h = hint(
            "acct.privatelink.blob.core.windows.net",
            Some("acct.blob.core.windows.net"),
            DEFAULT_CONFIG,
            FILES,
        );
        assert_eq!(
            h.add.as_deref(),
            Some("sudo pldns records add acct.blob.core.windows.net PRIVATE_IP")
        );
        assert_eq!(
            h.find_address.as_deref(),
            Some(
                "az network private-endpoint list --query \"[].customDnsConfigs[] | [?fqdn=='acct.blob.core.windows.net'].ipAddresses[]\" -o tsv"
            )
        );
        assert!(h.note.is_none());
    }

    #[test]
    fn another_config_is_quoted() {
        let h = hint(
            "host1.corp.example",
            None,
            "/srv/my dns/p.toml",
            Feeds {
                files: true,
                synced: true,
            },
        );
        assert_eq!(
            h.add.as_deref(),
            Some(
                "sudo pldns records add host1.corp.example PRIVATE_IP --config '/srv/my dns/p.toml'"
            )
        );
        assert!(h.find_address.is_none());
        assert!(h.note.is_some());
    }

    #[test]
    fn odd_names_get_no_command() {
        for odd in [
            "a'b.corp.example",
            "$(reboot).blob.core.windows.net",
            "a b.example",
            "x\\.y",
        ] {
            let h = hint(odd, Some(odd), DEFAULT_CONFIG, FILES);
            assert!(h.add.is_none() && h.find_address.is_none(), "{odd}");
        }
    }
}
