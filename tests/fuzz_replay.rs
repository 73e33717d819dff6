//! Replays every committed fuzz input through the same target bodies the
//! libFuzzer binaries run (fuzz/harness/), on the stable toolchain and
//! without libFuzzer: the fuzzed corpora (fuzz/corpus/<target>/), the seeds
//! from real traffic (fuzz/seeds/corpus/<target>/) and the inputs that once
//! broke an invariant (fuzz/regressions/<target>/); the last two are kept
//! apart so that minimising a corpus never drops them. See fuzz/README.md.

#[path = "../fuzz/harness/mod.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_corpus_file_keeps_every_invariant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut total = 0;
    let mut broken = Vec::new();
    for (target, run) in harness::TARGETS {
        let dir = root.join("corpus").join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        for kept in [root.join("seeds/corpus"), root.join("regressions")] {
            if let Ok(dir) = std::fs::read_dir(kept.join(target)) {
                files.extend(dir.map(|e| e.expect("kept input").path()));
            }
        }
        files.sort();
        assert!(!files.is_empty(), "no seeds for {target}");
        for f in &files {
            let data = std::fs::read(f).expect("corpus file");
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                broken.push(format!("{target}: {}", f.display()));
            }
        }
        total += files.len();
    }
    assert!(total > 0);
    assert!(
        broken.is_empty(),
        "inputs that break an invariant (panics above):\n{}",
        broken.join("\n")
    );
}
