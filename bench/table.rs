//! Table scale: what `serve` does with 100k and 1M records in one hosts
//! file (plus one small file): the start-up load (parse, build, keep a copy
//! in the state directory), a reload after an edit of the small file (the
//! big one is not parsed again), a reload after an edit of the big one, the
//! swap, and the process's resident memory with the table and the sources'
//! last good contents in service.
//!
//!   cargo bench --bench table
//!
//! Prints one `key=value` line per size. RSS is read from /proc/self/status
//! (VmRSS now, VmHWM the peak), so run it on its own.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use pldns::load::Loader;

fn status(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn write_fixture(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut hosts = std::io::BufWriter::new(std::fs::File::create(dir.join("big.hosts")).unwrap());
    for i in 0..n {
        writeln!(
            hosts,
            "10.{}.{}.{} acct{i:07}.blob.core.windows.net",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        )
        .unwrap();
    }
    hosts.flush().unwrap();
    std::fs::write(
        dir.join("small.hosts"),
        "10.255.0.1 small.blob.core.windows.net\n",
    )
    .unwrap();
    let config = dir.join("pldns.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = [\"127.0.0.1:0\"]\nstate_dir = \"state\"\n[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"big.hosts\", \"small.hosts\"]\non_miss = \"nxdomain\"\n",
    )
    .unwrap();
    config
}

fn append(path: &std::path::Path, line: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let rss_start = status("VmRSS:");
    for n in [100_000usize, 1_000_000] {
        let dir = tempfile::tempdir().unwrap();
        let config = write_fixture(dir.path(), n);
        let t = Instant::now();
        let mut loader = Loader::new(&config, true);
        let (snap, report) = loader.start().expect("valid fixture");
        let start_ms = ms(t);
        assert!(report.valid());
        let current = ArcSwap::from_pointee(snap);

        // A reload after an edit of the small file: the big one is read
        // and hashed, not parsed.
        append(
            &dir.path().join("small.hosts"),
            "10.255.0.2 small2.blob.core.windows.net",
        );
        let t = Instant::now();
        let (next, _) = loader.reload(&current.load(), &[]);
        let reload_small_ms = ms(t);
        current.store(Arc::new(next));
        loader.persist();

        // A reload after an edit of the big file: parsed and built again.
        append(
            &dir.path().join("big.hosts"),
            "10.255.0.3 big2.blob.core.windows.net",
        );
        let t = Instant::now();
        let (next, _) = loader.reload(&current.load(), &[]);
        let reload_big_ms = ms(t);
        let t = Instant::now();
        let old = current.swap(Arc::new(next));
        let swap_us = t.elapsed().as_secs_f64() * 1e6;
        drop(old);
        let t = Instant::now();
        loader.persist();
        let keep_ms = ms(t);
        println!(
            "records={n} start_ms={start_ms:.1} reload_small_edit_ms={reload_small_ms:.1} reload_big_edit_ms={reload_big_ms:.1} swap_us={swap_us:.2} keep_copy_ms={keep_ms:.1} rss_mb={:.1} peak_rss_mb={:.1} baseline_rss_mb={:.1}",
            status("VmRSS:") as f64 / 1024.0,
            status("VmHWM:") as f64 / 1024.0,
            rss_start as f64 / 1024.0,
        );
        assert_eq!(current.load().record_count(), n + 3);
        drop(current);
        drop(loader);
    }
}
