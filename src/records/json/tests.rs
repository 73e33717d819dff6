use super::*;

fn run(text: &str) -> (Vec<Entry>, Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut diags = Diagnostics::default();
    let mut warnings = Vec::new();
    parse(
        Path::new("pe.json"),
        text,
        &mut |e| out.push(e),
        &mut diags,
        &mut warnings,
    );
    (
        out,
        diags.iter().map(|d| d.to_string()).collect(),
        warnings.iter().map(|d| d.to_string()).collect(),
    )
}

fn shown(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let data = match &e.data {
                crate::records::EntryData::A(ip) => ip.to_string(),
                crate::records::EntryData::Aaaa(ip) => ip.to_string(),
                crate::records::EntryData::Cname(t) => format!("CNAME {t}"),
            };
            format!("{}:{} {} {:?}", e.line, e.name, data, e.ttl)
        })
        .collect()
}

#[test]
fn az_show_output() {
    let (out, errs, _) = run(r#"{
  "customDnsConfigs": [
    {
      "fqdn": "contoso-vault-001-ab-pod01-fc1.eus.backup.windowsazure.com",
      "ipAddresses": ["10.10.0.4"]
    },
    {
      "fqdn": "acct.blob.core.windows.net",
      "ipAddresses": ["10.10.0.5", "10.10.0.6"]
    }
  ],
  "id": "/subscriptions/x",
  "location": "eastus",
  "provisioningState": "Succeeded",
  "tags": null,
  "weight": 1.5e3,
  "escaped": "a\"b\u00e9\ud83d\ude00"
}"#);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].line, 3);
    assert_eq!(out[1].line, 7);
    assert_eq!(out[2].line, 7);
}

#[test]
fn bare_list_and_endpoint_list() {
    let (out, errs, _) = run(
        r#"[{"fqdn": "a.blob.core.windows.net", "ipAddresses": ["10.0.0.1"]},
{"customDnsConfigs": [{"fqdn": "b.queue.core.windows.net", "ipAddresses": ["fd00::1"]}]},
{"customDnsConfigs": null, "name": "zone-group-managed"},
{"customDnsConfigs": [], "privateLinkServiceConnections": []}]"#,
    );
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].line, 2);
}

#[test]
fn errors_name_the_line() {
    let (_, errs, warnings) = run(
        "[\n{\"fqdn\": \"a.b\", \"ipAddresses\": [\"10.0.0.999\"]},\n{\"ipAddresses\": []},\n{\"fqdn\": \"c.d\"},\n{\"fqdn\": \"e.f\", \"ipAddresses\": []}\n]",
    );
    assert_eq!(
        errs,
        vec![
            "pe.json:2: a.b: invalid IP address \"10.0.0.999\"",
            "pe.json:3: entry has no fqdn",
            "pe.json:4: c.d: no ipAddresses",
        ]
    );
    assert_eq!(warnings, ["pe.json:5: e.f: no ipAddresses: skipped"]);
    let (_, errs, _) = run("{\n  \"customDnsConfigs\": [\n    {\"fqdn\": \"x\",}\n  ]\n}");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("pe.json:3: invalid JSON: "), "{errs:?}");
    let (_, errs, _) = run(&"[".repeat(200));
    assert!(
        errs[0].starts_with("pe.json:1: invalid JSON: EOF"),
        "{errs:?}"
    );
    let (_, errs, _) = run("42");
    assert!(
        errs[0].starts_with("pe.json:1: expected the JSON of `az"),
        "{errs:?}"
    );
    let (_, errs, _) = run("[{\"name\": \"something else\"}]");
    assert!(
        errs[0].starts_with("pe.json:1: not a private endpoint"),
        "{errs:?}"
    );
}

#[test]
fn az_record_set_lists_and_arm_rest_pages() {
    let az = r#"[
  {
    "aRecords": [
      {
        "ipv4Address": "10.1.0.4"
      }
    ],
    "fqdn": "acct.privatelink.blob.core.windows.net.",
    "name": "acct",
    "ttl": 10,
    "type": "Microsoft.Network/privateDnsZones/A"
  },
  {
    "fqdn": "privatelink.blob.core.windows.net.",
    "soaRecord": {"host": "azureprivatedns.net", "serialNumber": 1},
    "ttl": 3600,
    "type": "Microsoft.Network/privateDnsZones/SOA"
  },
  {
    "cnameRecord": {"cname": "acct.privatelink.blob.core.windows.net"},
    "fqdn": "alias.privatelink.blob.core.windows.net.",
    "ttl": 3600,
    "type": "Microsoft.Network/privateDnsZones/CNAME"
  },
  {
    "aaaaRecords": [{"ipv6Address": "fd00::4"}],
    "fqdn": "acct.privatelink.blob.core.windows.net.",
    "ttl": 10,
    "type": "Microsoft.Network/privateDnsZones/AAAA"
  }
]"#;
    let (out, errs, _) = run(az);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        shown(&out),
        [
            "4:acct.privatelink.blob.core.windows.net 10.1.0.4 Some(10)",
            "20:alias.privatelink.blob.core.windows.net CNAME acct.privatelink.blob.core.windows.net Some(3600)",
            "26:acct.privatelink.blob.core.windows.net fd00::4 Some(10)",
        ]
    );
    let arm = r#"{
  "nextLink": "https://management.azure.com/subscriptions/s/x?$skipToken=t",
  "value": [
    {
      "name": "acct",
      "type": "Microsoft.Network/privateDnsZones/A",
      "properties": {
        "aRecords": [{"ipv4Address": "10.1.0.4"}],
        "fqdn": "acct.privatelink.blob.core.windows.net.",
        "ttl": 300
      }
    },
    {
      "name": "pe1",
      "type": "Microsoft.Network/privateEndpoints",
      "properties": {
        "customDnsConfigs": [{"fqdn": "b.blob.core.windows.net", "ipAddresses": ["10.1.0.5"]}]
      }
    }
  ]
}"#;
    let (out, errs, warnings) = run(arm);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        shown(&out),
        [
            "8:acct.privatelink.blob.core.windows.net 10.1.0.4 Some(300)",
            "17:b.blob.core.windows.net 10.1.0.5 None",
        ]
    );
    assert!(
        warnings[0].starts_with("pe.json:1: this is one page of a longer list"),
        "{warnings:?}"
    );
    let (_, errs, _) = run(
        r#"[{"fqdn": "x.privatelink.blob.core.windows.net.", "aRecords": [{"ipv4Address": "fd00::1"}], "ttl": -1}]"#,
    );
    assert_eq!(
        errs,
        [
            "pe.json:1: ttl must be a whole number of seconds, at most 604800",
            "pe.json:1: x.privatelink.blob.core.windows.net: invalid IPv4 address \"fd00::1\""
        ]
    );
}

#[test]
fn powershell_objects_and_too_shallow_depth() {
    // Get-AzPrivateEndpoint | ConvertTo-Json -Depth 10, Windows PowerShell spacing.
    let deep = r#"{
    "ProvisioningState":  "Succeeded",
    "CustomDnsConfigs":  [
                             {
                                 "Fqdn":  "acct.blob.core.windows.net",
                                 "IpAddresses":  [
                                                     "10.2.0.4"
                                                 ]
                             }
                         ],
    "Name":  "pe1"
}"#;
    let (out, errs, _) = run(deep);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(shown(&out), ["4:acct.blob.core.windows.net 10.2.0.4 None"]);
    // One endpoint at the default depth: the address list became text.
    let one = r#"{"CustomDnsConfigs": [{"Fqdn": "acct.blob.core.windows.net", "IpAddresses": "10.2.0.4 10.2.0.5"}]}"#;
    let (out, errs, _) = run(one);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(out.len(), 2);
    // Several endpoints at the default depth: the entries became type
    // names; CustomDnsConfigsText (Windows PowerShell writes it) saves them.
    let cut = r#"[
 {
  "CustomDnsConfigs": ["Microsoft.Azure.Commands.Network.Models.PSPrivateEndpointCustomDnsConfig"],
  "CustomDnsConfigsText": "[\r\n  {\r\n    \"Fqdn\": \"acct.blob.core.windows.net\",\r\n    \"IpAddresses\": [\r\n      \"10.2.0.4\"\r\n    ]\r\n  }\r\n]"
 },
 {
  "CustomDnsConfigs": ["Microsoft.Azure.Commands.Network.Models.PSPrivateEndpointCustomDnsConfig"]
 }
]"#;
    let (out, errs, _) = run(cut);
    assert_eq!(shown(&out), ["4:acct.blob.core.windows.net 10.2.0.4 None"]);
    assert_eq!(
        errs,
        [
            "pe.json:7: CustomDnsConfigs holds type names, not the entries: ConvertTo-Json cut it off at its default -Depth 2; save it again with `ConvertTo-Json -Depth 10`"
        ]
    );
    // Get-AzPrivateDnsRecordSet: full depth, then cut (records as text).
    let rs = r#"[
  {"Name": "acct", "ZoneName": "privatelink.blob.core.windows.net", "Ttl": 10, "RecordType": 0,
   "Records": [{"Ipv4Address": "10.3.0.4"}], "IsAutoRegistered": false},
  {"Name": "alias", "ZoneName": "privatelink.blob.core.windows.net", "Ttl": 60, "RecordType": "CNAME",
   "Records": ["acct.privatelink.blob.core.windows.net"]},
  {"Name": "v6", "ZoneName": "privatelink.blob.core.windows.net", "Ttl": 60, "RecordType": 1,
   "Records": ["fd00::5"]},
  {"Name": "@", "ZoneName": "privatelink.blob.core.windows.net", "Ttl": 3600, "RecordType": 5,
   "Records": ["Microsoft.Azure.Commands.PrivateDns.Models.SoaRecord"]}
]"#;
    let (out, errs, _) = run(rs);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        shown(&out),
        [
            "3:acct.privatelink.blob.core.windows.net 10.3.0.4 Some(10)",
            "5:alias.privatelink.blob.core.windows.net CNAME acct.privatelink.blob.core.windows.net Some(60)",
            "7:v6.privatelink.blob.core.windows.net fd00::5 Some(60)",
        ]
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // serde_json skips a raw value without recursing, and we look only a
    // few levels deep.
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (_, errs, _) = run(&text);
    assert_eq!(errs, ["pe.json:1: expected an object"]);
}
