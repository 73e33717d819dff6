//! The `pldns` command: argument parsing, logging set-up and exit codes.
//! Everything else lives in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use pldns::state::State;

#[derive(Parser)]
#[command(
    name = "pldns",
    version,
    about = "DNS forwarder that answers Azure Private Link zones from a live record table"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground (SIGHUP reloads, SIGTERM/SIGINT stop).
    Serve {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Load the config and every record source, print a summary, exit non-zero on any error.
    Check {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Pull the records of every [[sync]] from Azure once and print them; changes nothing on disk.
    Sync {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Pull once and exit (the daemon pulls by itself).
        #[arg(long)]
        once: bool,
    },
    /// Print the Private Link zones an Azure Backup vault needs (what an [[azure]] preset expands to).
    Zones {
        /// public, usgov or china
        #[arg(long, default_value = "public")]
        cloud: String,
        /// Region name (eastus), display name ("East US") or Backup geo code (eus); repeatable.
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Add Azure Site Recovery's zone.
        #[arg(long)]
        site_recovery: bool,
    },
    /// Turn hosts files and `az network private-endpoint show` JSON into one TOML records file (on stdout).
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the table a config loads, as hosts lines or RFC 1035 zone files.
    Export {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_parser = ["hosts", "zone"], default_value = "hosts")]
        format: String,
        /// With --format zone: write one <zone>.zone file per zone into DIR.
        #[arg(long, value_name = "DIR", conflicts_with = "zone")]
        dir: Option<PathBuf>,
        /// With --format zone: print only this zone.
        #[arg(long, value_name = "NAME")]
        zone: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config } => serve(config),
        Command::Sync { config, once } => sync(&config, once),
        Command::Zones {
            cloud,
            regions,
            site_recovery,
        } => zones(&cloud, &regions, site_recovery),
        Command::Import { files } => match pldns::convert::import(&files) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(diags) => report(&diags, "nothing imported"),
        },
        Command::Export {
            config,
            format,
            dir,
            zone,
        } => match pldns::load(&config, None) {
            Ok(snap) if format == "zone" => {
                match pldns::xfr::export::run(&snap, dir.as_deref(), zone.as_deref()) {
                    Ok(text) => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("pldns: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Ok(_) if dir.is_some() || zone.is_some() => {
                eprintln!("pldns: --dir and --zone go with --format zone");
                ExitCode::FAILURE
            }
            Ok(snap) => {
                print!("{}", pldns::convert::export_hosts(&snap));
                ExitCode::SUCCESS
            }
            Err(diags) => report(&diags, "configuration not valid"),
        },
    }
}

fn report(diags: &pldns::diag::Diagnostics, what: &str) -> ExitCode {
    for d in diags.iter() {
        eprintln!("{d}");
    }
    eprintln!("{} error(s); {what}", diags.len());
    ExitCode::FAILURE
}

fn check(config: &std::path::Path) -> ExitCode {
    match pldns::load(config, None) {
        Ok(snap) => {
            println!("{}", pldns::summary::summary(&snap));
            for w in pldns::azure::warnings(&snap.config) {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(diags) => report(&diags, "configuration not valid"),
    }
}

fn sync(config: &std::path::Path, once: bool) -> ExitCode {
    if !once {
        eprintln!(
            "pldns: `pldns sync` needs --once (it pulls once and prints; `pldns serve` pulls every interval_s)"
        );
        return ExitCode::FAILURE;
    }
    let config = match pldns::config::load(config) {
        Ok(c) => c,
        Err(diags) => return report(&diags, "configuration not valid"),
    };
    init_logging(&pldns::config::LogConfig {
        level: "error".into(),
        ..config.log.clone()
    });
    if config.sync.is_empty() {
        eprintln!(
            "pldns: {} has no [[sync]] table: nothing to pull",
            config.path.display()
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pldns: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(pldns::sync::pull_once(
        Arc::new(config),
        pldns::sync::SyncOptions::default(),
    ));
    print!("{}", report.listing);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for f in &report.failures {
        eprintln!("pldns: {f}");
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn zones(cloud: &str, regions: &[String], site_recovery: bool) -> ExitCode {
    use pldns::azure;
    let Some(cloud) = azure::Cloud::parse(cloud) else {
        eprintln!("pldns: unknown cloud {cloud:?}: public, usgov or china");
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

fn init_logging(log: &pldns::config::LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    match log.format {
        pldns::config::LogFormat::Json => builder.json().init(),
        pldns::config::LogFormat::Plain => builder.init(),
    }
}

fn serve(config: PathBuf) -> ExitCode {
    // Absolute, not canonical: file events name the path as watched, and a
    // symlinked config (swapped by deployment tools) must stay a symlink.
    let config = std::path::absolute(&config).unwrap_or(config);
    let snap = match pldns::load(&config, None) {
        Ok(s) => s,
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            eprintln!(
                "pldns: not starting: {} error(s) in the configuration",
                diags.len()
            );
            return ExitCode::FAILURE;
        }
    };
    init_logging(&snap.config.log);
    for w in pldns::azure::warnings(&snap.config) {
        warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pldns: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listeners = match pldns::server::bind(&snap.config.listen) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
        };
        for line in pldns::summary::summary(&snap).lines() {
            info!("{line}");
        }
        let metrics_addr = snap.config.metrics;
        let state = Arc::new(State::new(&config, snap));
        if let Some(addr) = metrics_addr {
            match pldns::metrics::serve(addr, state.clone()).await {
                Ok(task) => {
                    tokio::spawn(task);
                }
                Err(e) => {
                    eprintln!("pldns: cannot serve metrics on {addr}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("pldns: cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        let (hup_tx, hup_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                info!("SIGHUP: reloading");
                let _ = hup_tx.send(());
            }
        });
        tokio::spawn(pldns::reload::run(state.clone(), hup_rx));
        systemd_ready(&state);
        let stop_state = state.clone();
        let stop = async move {
            tokio::select! {
                _ = term.recv() => info!("SIGTERM received"),
                _ = int.recv() => info!("SIGINT received"),
            }
            stop_state.set_stopping();
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        };
        pldns::server::run(listeners, state, stop).await;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        info!("stopped");
        ExitCode::SUCCESS
    })
}

/// Tells systemd (Type=notify) that the sockets are bound and queries are
/// answered, and keeps its watchdog fed while the UDP threads go round.
/// Without NOTIFY_SOCKET (not under systemd) this does nothing.
fn systemd_ready(state: &Arc<State>) {
    let status = format!("serving {} records", state.snapshot().record_count());
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&status),
    ]);
    if let Some(interval) = sd_notify::watchdog_enabled() {
        let state = state.clone();
        tokio::spawn(async move {
            let mut last = u64::MAX;
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tick.tick().await;
                let beat = state
                    .udp_heartbeat
                    .load(std::sync::atomic::Ordering::Relaxed);
                // A UDP thread that stopped going round means no answers:
                // stop pinging and let systemd restart us.
                if beat != last {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                }
                last = beat;
            }
        });
    }
}
