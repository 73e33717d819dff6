//! The bodies of the fuzz targets, shared by the libFuzzer binaries
//! (`fuzz/fuzz_targets/*.rs`, through this crate's lib) and by `cargo test`
//! (`tests/fuzz_replay.rs` includes this directory by `#[path]` and replays
//! every committed corpus file), so an input that once broke an invariant
//! stays a test. Each `run` panics when an invariant breaks; input that is
//! merely invalid is expected and fine.

pub mod answer;
pub mod check;
pub mod config;
pub mod fixture;
pub mod input;
pub mod query;
pub mod records;
pub mod tsig;
pub mod upstream;
pub mod xfr;
pub mod zonefile;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("query", query::run),
    ("answer", answer::run),
    ("hosts", records::run_hosts),
    ("toml", records::run_toml),
    ("json", records::run_json),
    ("config", config::run),
    ("xfr", xfr::run),
    ("tsig", tsig::run),
    ("zonefile", zonefile::run),
];
