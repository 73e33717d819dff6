//! The `pldns` command: argument parsing, logging set-up and exit codes.
//! Everything else lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use pldns::load::Loader;
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
        /// Fail on warnings too (names skipped, addresses from sources that disagree, ...).
        #[arg(long)]
        strict: bool,
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
        /// public, usgov or china (or az's names: AzureCloud, AzureUSGovernment, AzureChinaCloud)
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
    /// What the running daemon serves and what is broken (its status page, from [server] metrics).
    Status {
        #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The status page's address, instead of the config's [server] metrics.
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<std::net::SocketAddr>,
        /// Print the page's JSON (/status.json).
        #[arg(long)]
        json: bool,
    },
    /// Names clients asked in zones with records that the table lacks, and what to add.
    Missing {
        #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<std::net::SocketAddr>,
        /// Only this zone.
        #[arg(long, value_name = "NAME")]
        zone: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add or remove records in the record files, checked first and written atomically.
    Records {
        #[command(subcommand)]
        action: RecordsAction,
    },
    /// Print the table `serve` serves for a config (a broken file's last good contents included), as hosts lines or RFC 1035 zone files.
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

/// The packaged config, the default of the commands that talk to a daemon.
const DEFAULT_CONFIG: &str = "/etc/pldns/pldns.toml";

#[derive(Subcommand)]
enum RecordsAction {
    /// Add IP for NAME (a public name maps into its privatelink zone), to FILE or to
    /// pldns-records.hosts in the zone's first records directory.
    Add {
        name: String,
        ip: String,
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Remove every hosts line and TOML record of NAME from the files the config reads
    /// (az JSON files are named, not edited).
    Remove {
        name: String,
        #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        // `serve` keeps ignoring SIGPIPE: a client that goes away fails
        // only that write.
        pldns::sys::end_on_closed_pipe();
    }
    match cli.command {
        Command::Check { config, strict } => check(&config, strict),
        Command::Serve { config } => serve(config),
        Command::Sync { config, once } => sync(&config, once),
        Command::Zones {
            cloud,
            regions,
            site_recovery,
        } => pldns::azure::cli::zones(&cloud, &regions, site_recovery),
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
        } => export(&config, &format, dir.as_deref(), zone.as_deref()),
        Command::Status { config, addr, json } => pldns::admin::status(&config, addr, json),
        Command::Missing {
            config,
            addr,
            zone,
            json,
        } => pldns::admin::missing(&config, addr, zone.as_deref(), json),
        Command::Records { action } => pldns::admin::report_edit(match action {
            RecordsAction::Add {
                name,
                ip,
                file,
                config,
            } => pldns::admin::edit::add(&config, &name, &ip, file.as_deref()),
            RecordsAction::Remove { name, config } => pldns::admin::edit::remove(&config, &name),
        }),
    }
}

fn report(diags: &pldns::diag::Diagnostics, what: &str) -> ExitCode {
    for d in diags.iter() {
        eprintln!("{d}");
    }
    eprintln!("{} error(s); {what}", diags.len());
    ExitCode::FAILURE
}

/// Absolute, not canonical: the state directory keys copies by this path,
/// file events name the path as watched, and a symlinked config (swapped by
/// deployment tools) must stay a symlink.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn check(config: &Path, strict: bool) -> ExitCode {
    let config = absolute(config);
    let mut loader = Loader::new(&config, false);
    let (snap, rep, restored) = match pldns::load_as_serve(&mut loader) {
        Ok(r) => r,
        Err(diags) => return report(&diags, "configuration not valid"),
    };
    for n in &restored.notes {
        eprintln!("note: {n}");
    }
    if let Some(kept) = &rep.config_kept {
        eprintln!(
            "note: serve would start on the last good configuration kept at {}",
            kept.display()
        );
    }
    println!("{}", pldns::summary::summary(&snap, Some(&rep)));
    for f in loader.sources().ignored() {
        println!(
            "ignored (not .hosts, .toml, .json or hosts): {}",
            f.display()
        );
    }
    let errors = rep.all_errors();
    for e in &errors {
        eprintln!("{e}");
    }
    for s in rep
        .sources
        .iter()
        .filter(|s| s.error.is_some() && s.from_state)
    {
        eprintln!(
            "note: serve would use the last good copy of {} kept in {} ({} entries)",
            s.id,
            loader.state_dir().root().display(),
            s.entries
        );
    }
    for w in &rep.warnings {
        eprintln!("{w}");
    }
    // The service runs as a dynamic user: say so about files it could not
    // read, whoever runs `check` (root reads everything).
    let mut paths = vec![config.clone()];
    paths.extend(snap.files.iter().cloned());
    let dirs: Vec<PathBuf> = snap
        .config
        .zones
        .iter()
        .flat_map(|z| z.records.iter().flatten())
        .filter(|p| p.is_dir())
        .cloned()
        .collect();
    for n in pldns::access::unreadable_by_others(&paths)
        .into_iter()
        .chain(pldns::access::unlistable_dirs(&dirs))
    {
        eprintln!("note: {n}");
    }
    let (e, w) = (errors.len(), rep.warnings.len());
    if e > 0 {
        eprintln!("{e} error(s), {w} warning(s); configuration not valid");
        ExitCode::FAILURE
    } else if w > 0 && strict {
        eprintln!("{w} warning(s); --strict fails on warnings");
        ExitCode::FAILURE
    } else {
        if w > 0 {
            eprintln!("{w} warning(s)");
        }
        ExitCode::SUCCESS
    }
}

/// What `serve` serves for this config: a broken file contributes its last
/// good contents (the state directory's copy), as it does in the daemon.
fn export(config: &Path, format: &str, dir: Option<&Path>, zone: Option<&str>) -> ExitCode {
    if format != "zone" && (dir.is_some() || zone.is_some()) {
        eprintln!("pldns: --dir and --zone go with --format zone");
        return ExitCode::FAILURE;
    }
    let config = absolute(config);
    let mut loader = Loader::new(&config, false);
    let (snap, rep, _) = match pldns::load_as_serve(&mut loader) {
        Ok(r) => r,
        Err(diags) => return report(&diags, "configuration not valid"),
    };
    if format == "zone" {
        match pldns::xfr::export::run(&snap, dir, zone) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", pldns::convert::export_hosts(&snap));
    }
    if !rep.valid() {
        for line in pldns::status::error_lines(&rep) {
            eprintln!("{line}");
        }
        eprintln!("exported what serve serves: the last good contents of what is broken");
    }
    ExitCode::SUCCESS
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
    pldns::logging::init(&pldns::config::LogConfig {
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

fn serve(config: PathBuf) -> ExitCode {
    let config = absolute(&config);
    let mut loader = Loader::new(&config, true);
    // A config that does not parse starts on the state directory's copy;
    // without one there is nothing safe to serve.
    let (cfg, config_error) = match loader.open() {
        Ok(c) => c,
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            eprintln!(
                "pldns: not starting: {} error(s) in the configuration, and no last good copy of it is kept (looked in {})",
                diags.len(),
                pldns::load::fallback_state_dirs(&config, None)
                    .iter()
                    .map(|d| d.root().display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::FAILURE;
        }
    };
    pldns::logging::init(&cfg.log);
    // Azure sync's kept pulls are in the first table: served before any pull.
    let dir = loader.state_dir().clone();
    let restored = pldns::sync::kept::restore(&dir, loader.sources_mut(), &cfg);
    for n in &restored.notes {
        warn!("{n}");
    }
    // So are secondary zones' kept copies; and the zones' kept serials.
    let xfr = pldns::xfr::serve::prepare(&mut loader, &cfg);
    let (mut snap, rep) = loader.first_build(cfg, config_error);
    xfr.restore(&mut snap);
    if let Some(kept) = &rep.config_kept {
        error!(
            "STARTING ON THE LAST GOOD CONFIGURATION kept at {}: {} does not parse (errors below); fix it, it is picked up without a restart",
            kept.display(),
            config.display()
        );
    }
    pldns::reload::log_warnings(&rep, None);
    pldns::reload::log_errors(&rep);
    info!(
        "state directory {}{}",
        loader.state_dir().root().display(),
        rep.state_error
            .as_deref()
            .map(|e| format!(" (not writable: {e})"))
            .unwrap_or_default()
    );
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
    pldns::server::raise_open_files_limit(&snap.config);
    runtime.block_on(async move {
        let listeners = match pldns::server::bind(&snap.config.listen, snap.config.udp.workers()) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("pldns: {e}");
                return ExitCode::FAILURE;
            }
        };
        for line in pldns::summary::summary(&snap, Some(&rep)).lines() {
            info!("{line}");
        }
        let metrics_addr = snap.config.metrics;
        let state = Arc::new(State::new(loader, snap, rep));
        xfr.start(&state);
        tokio::spawn(pldns::metrics::missing::run(state.clone()));
        tokio::spawn(pldns::sync::run(state.clone(), restored));
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
        tokio::spawn(pldns::reload::start(state.clone(), hup_rx));
        pldns::status::systemd_ready(&state);
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
