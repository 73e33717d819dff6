//! The `pldns` command: argument parsing, logging set-up and exit codes.
//! Everything else lives in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

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
        let (hup_tx, hup_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                info!("SIGHUP: reloading");
                let _ = hup_tx.send(());
            }
        });
        tokio::spawn(pldns::reload::run(state.clone(), hup_rx));
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
