use crate::config::{OnMiss, parse};
use crate::xfr::tsig::Algorithm;

const SECRET_B64: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";

/// A config folder with secret files in it.
fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

fn errors(d: &tempfile::TempDir, text: &str) -> Vec<String> {
    let path = d.path().join("c.toml");
    match parse(&path, text) {
        Ok(_) => vec![],
        Err(diags) => diags
            .iter()
            .map(|x| {
                x.to_string()
                    .replace(&d.path().display().to_string(), "DIR")
            })
            .collect(),
    }
}

#[test]
fn the_contract_example_parses() {
    let d = dir(&[("xfr.key", &format!("{SECRET_B64}\n"))]);
    let c = parse(
        &d.path().join("c.toml"),
        r#"
[[zone]]
name = "privatelink.blob.core.windows.net"
records = []
on_miss = "nxdomain"
transfer_allow = ["10.1.0.10/32", "127.0.0.1"]
notify = ["10.1.0.10", "10.1.0.11:5300"]
tsig_key = "xfr-key"

[[tsig]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret_file = "xfr.key"

[[zone]]
name = "privatelink.queue.core.windows.net"
primaries = ["10.1.0.20", "10.1.0.21:5300"]
"#,
    )
    .unwrap();
    let z = &c.zones[0].transfer;
    assert!(z.allows("10.1.0.10".parse().unwrap()));
    assert!(z.allows("::ffff:127.0.0.1".parse().unwrap()));
    assert!(!z.allows("10.1.0.11".parse().unwrap()));
    assert_eq!(
        z.notify,
        vec![
            "10.1.0.10:53".parse().unwrap(),
            "10.1.0.11:5300".parse().unwrap()
        ]
    );
    let key = z.key.as_ref().unwrap();
    assert_eq!(key.name.to_string(), "xfr-key");
    assert_eq!(key.algorithm, Algorithm::HmacSha256);
    assert!(!c.zones[0].is_secondary());

    let s = &c.zones[1];
    assert!(s.is_secondary() && !s.has_records());
    assert!(s.transfer.is_primary("10.1.0.21".parse().unwrap()));
    assert!(!s.transfer.is_primary("10.1.0.22".parse().unwrap()));
    // Authoritative for the whole zone: no forwarders needed.
    assert_eq!(s.on_miss, OnMiss::Nxdomain);
    assert!(s.transfer.allow.is_empty(), "default: nobody may transfer");
    assert_eq!(c.tsig.0.len(), 1);
    assert_eq!(
        c.zones[0].transfer.describe().unwrap(),
        "transfers to 10.1.0.10/32, 127.0.0.1/32; NOTIFY 10.1.0.10:53, 10.1.0.11:5300; TSIG key xfr-key (hmac-sha256)"
    );
    assert_eq!(
        s.transfer.describe().unwrap(),
        "secondary of 10.1.0.20:53, 10.1.0.21:5300"
    );
}

#[test]
fn tsig_keygen_output_is_a_secret_file() {
    let block =
        format!("key \"xfr-key\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{SECRET_B64}\";\n}};\n");
    let d = dir(&[("xfr.key", &block)]);
    let c = parse(
        &d.path().join("c.toml"),
        "[[tsig]]\nname = \"xfr-key\"\nsecret_file = \"xfr.key\"\n",
    )
    .unwrap();
    assert_eq!(c.tsig.0[0].algorithm, Algorithm::HmacSha512);
}

#[test]
fn errors_carry_file_and_line() {
    let d = dir(&[
        ("good.key", SECRET_B64),
        ("bad.key", "not base64 at all!"),
        (
            "other.key",
            &format!("key \"other\" {{ algorithm hmac-sha256; secret \"{SECRET_B64}\"; }};"),
        ),
        (
            "md5.key",
            &format!("key \"k\" {{ algorithm hmac-md5; secret \"{SECRET_B64}\"; }};"),
        ),
    ]);
    let zone = "[[zone]]\nname = \"z.test\"\n";
    let cases: &[(String, &[&str])] = &[
        (
            format!("{zone}records = []\non_miss = \"nxdomain\"\nprimaries = [\"10.0.0.1\"]\n"),
            &["DIR/c.toml:2: zone z.test: records and primaries exclude each other"],
        ),
        (
            format!("{zone}primaries = []\n"),
            &["DIR/c.toml:2: zone z.test: primaries is empty"],
        ),
        (
            format!("{zone}primaries = [\"primary.example\"]\n"),
            &["DIR/c.toml:3: invalid primary \"primary.example\""],
        ),
        (
            format!("{zone}primaries = [\"10.0.0.1\"]\ntsig_key = \"nope\"\n"),
            &["DIR/c.toml:4: unknown tsig_key \"nope\": no [[tsig]] has that name"],
        ),
        (
            format!("{zone}forwarders = [\"10.0.0.1\"]\ntransfer_allow = [\"10.0.0.0/8\"]\n"),
            &["DIR/c.toml:2: zone z.test: transfer_allow applies only to a zone with records or primaries"],
        ),
        (
            format!("{zone}records = []\non_miss = \"nxdomain\"\ntransfer_allow = [\"10.0.0.1/8\"]\nnotify = [\"10.0.0.1:99999\"]\n"),
            &[
                "DIR/c.toml:5: invalid transfer_allow entry \"10.0.0.1/8\": host bits set",
                "DIR/c.toml:6: invalid notify address \"10.0.0.1:99999\"",
            ],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"missing.key\"\n".into(),
            &["DIR/c.toml:3: cannot read secret_file DIR/missing.key: "],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"bad.key\"\n".into(),
            &["DIR/c.toml:3: secret_file DIR/bad.key: the secret is not base64"],
        ),
        (
            "[[tsig]]\nname = \"k\"\nalgorithm = \"hmac-md5\"\nsecret_file = \"good.key\"\n"
                .into(),
            &["DIR/c.toml:3: unsupported TSIG algorithm \"hmac-md5\""],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"md5.key\"\n".into(),
            &["DIR/c.toml:3: secret_file DIR/md5.key: unsupported algorithm \"hmac-md5\""],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"other.key\"\n".into(),
            &["DIR/c.toml:3: secret_file DIR/other.key holds key \"other\", not \"k\""],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"good.key\"\n[[tsig]]\nname = \"K.\"\nsecret_file = \"good.key\"\n".into(),
            &["DIR/c.toml:5: TSIG key k is already defined at line 2"],
        ),
        (
            // The file's error only, not a second one for the zone naming it.
            format!("{zone}primaries = [\"10.0.0.1\"]\ntsig_key = \"k\"\n[[tsig]]\nname = \"k\"\nsecret_file = \"bad.key\"\n"),
            &["DIR/c.toml:7: secret_file DIR/bad.key: the secret is not base64"],
        ),
        (
            "[[tsig]]\nname = \"k\"\nsecret_file = \"good.key\"\nsecret = \"x\"\n".into(),
            &["DIR/c.toml:4: unknown field `secret`"],
        ),
    ];
    for (text, want) in cases {
        let got = errors(&d, text);
        assert_eq!(got.len(), want.len(), "{text:?}: {got:?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(g.starts_with(w), "{text:?}: got {g:?}, want {w:?}");
        }
    }
}
