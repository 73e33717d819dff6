//! The record parsers (hosts, TOML, Azure JSON), through the one entry the
//! loader uses (`records::parse`: the format from the file name, the text
//! decoded from UTF-8 or UTF-16 with or without a byte-order mark).
//! Invariants: every `FILE:LINE` names the file and a line the text has;
//! and the same text saved as UTF-8 with a BOM, UTF-16 LE and UTF-16 BE (as
//! Windows PowerShell writes it) parses to exactly the same result.

use std::path::Path;

use pldns::diag::Diagnostic;
use pldns::records;

pub fn run_hosts(data: &[u8]) {
    parse_as("fuzz.hosts", data);
}

pub fn run_toml(data: &[u8]) {
    parse_as("fuzz.toml", data);
}

pub fn run_json(data: &[u8]) {
    parse_as("fuzz.json", data);
}

fn parse_as(file: &str, data: &[u8]) {
    let path = Path::new(file);
    let result = records::parse(path, data);
    // Plain UTF-8 (the common case): check lines against its text, and
    // that every Windows encoding of it reads the same.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.starts_with('\u{feff}') || text.contains('\0') {
        return;
    }
    let lines = text.split('\n').count();
    let in_range =
        |d: &Diagnostic| d.file == path && d.line.is_none_or(|l| (1..=lines).contains(&l));
    match &result {
        Ok(c) => {
            for e in &c.entries {
                assert!((1..=lines).contains(&e.line), "entry at line {}", e.line);
            }
            for w in &c.warnings {
                assert!(in_range(w), "warning {w} outside the {lines} lines");
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty(), "an error without a diagnostic");
            for d in diags.iter() {
                assert!(in_range(d), "{d} outside the {lines} lines");
            }
        }
    }
    let utf16 = |to: fn(u16) -> [u8; 2]| -> Vec<u8> {
        std::iter::once(0xFEFF)
            .chain(text.encode_utf16())
            .flat_map(to)
            .collect()
    };
    let saved = [
        [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
        utf16(u16::to_le_bytes),
        utf16(u16::to_be_bytes),
    ];
    for bytes in saved {
        assert_eq!(
            records::parse(path, &bytes),
            result,
            "another encoding, another result"
        );
    }
}
