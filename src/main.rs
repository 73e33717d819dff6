//! The `pldns` command: argument parsing, logging set-up and exit codes.
//! Everything else lives in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config } => serve(config),
    }
}

fn check(config: &std::path::Path) -> ExitCode {
    match pldns::load(config, None) {
        Ok(snap) => {
            println!("{}", pldns::summary::summary(&snap));
            ExitCode::SUCCESS
        }
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            eprintln!("{} error(s); configuration not valid", diags.len());
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn serve(config: PathBuf) -> ExitCode {
    init_logging();
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
        let state = Arc::new(State::new(&config, snap));
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("pldns: cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        let reload_state = state.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                info!("SIGHUP: reloading");
                reload(&reload_state).await;
            }
        });
        let stop_state = state.clone();
        let stop = async move {
            tokio::select! {
                _ = term.recv() => info!("SIGTERM received"),
                _ = int.recv() => info!("SIGINT received"),
            }
            stop_state.set_stopping();
        };
        pldns::server::run(listeners, state, stop).await;
        info!("stopped");
        ExitCode::SUCCESS
    })
}

async fn reload(state: &Arc<State>) {
    let st = state.clone();
    let started = std::time::Instant::now();
    let old_listen = state.snapshot().config.listen.clone();
    match tokio::task::spawn_blocking(move || st.reload()).await {
        Ok(Ok(snap)) => {
            info!(
                records = snap.record_count(),
                zones = snap.zones.len(),
                ms = started.elapsed().as_millis() as u64,
                "reload applied"
            );
            if snap.config.listen != old_listen {
                warn!("listen addresses changed; restart pldns to apply them");
            }
        }
        Ok(Err(diags)) => {
            for d in diags.iter() {
                error!("{d}");
            }
            error!(
                "reload failed: {} error(s); the previous configuration and records stay in service",
                diags.len()
            );
        }
        Err(e) => error!("reload task failed: {e}"),
    }
}
