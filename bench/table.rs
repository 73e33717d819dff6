//! Table scale: time to load and build a snapshot of 100k and 1M records
//! from a hosts file (exactly what a reload does), the time to swap it in,
//! and the process's resident memory with the 1M-record table in service.
//!
//!   cargo bench --bench table
//!
//! Prints one `key=value` line per size. RSS is read from /proc/self/status
//! (VmRSS now, VmHWM the peak), so run it on its own.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

fn status(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn write_fixture(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut hosts =
        std::io::BufWriter::new(std::fs::File::create(dir.join("records.hosts")).unwrap());
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
    let config = dir.join("pldns.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"records.hosts\"]\non_miss = \"nxdomain\"\n",
    )
    .unwrap();
    config
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rss_start = status("VmRSS:");
    for n in [100_000usize, 1_000_000] {
        let config = write_fixture(dir.path(), n);
        let current = ArcSwap::from_pointee(pldns::load(&config, None).expect("valid fixture"));
        // A reload: build from disk while the old table serves, then swap.
        let t = Instant::now();
        let next = pldns::load(&config, Some(&current.load())).expect("valid fixture");
        let build_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let old = current.swap(Arc::new(next));
        let swap_us = t.elapsed().as_secs_f64() * 1e6;
        drop(old);
        println!(
            "records={n} build_ms={build_ms:.1} swap_us={swap_us:.2} rss_mb={:.1} peak_rss_mb={:.1} baseline_rss_mb={:.1}",
            status("VmRSS:") as f64 / 1024.0,
            status("VmHWM:") as f64 / 1024.0,
            rss_start as f64 / 1024.0,
        );
        assert_eq!(current.load().record_count(), n);
    }
}
