//! The `redline` command line: parse arguments, load config, dispatch.
//!
//! Errors print as `redline: {err:#}` and exit non-zero; what to do next is
//! part of each message.

mod commander;
mod config;
mod db;
mod feed_log;
mod freeze;
mod http;
mod journal;
mod log;
mod placement;
mod reload;
mod run;
mod side;
mod systemd;
mod timestamp;
mod venue_log;

#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/support/pg.rs"]
mod test_pg;

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write as _;

use anyhow::Context;
use clap::{Parser, Subcommand};
use redline_engine::feed::Recorded;

use crate::config::Config;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "redline",
    version,
    about = "redline: a low-latency trading decision engine",
    long_about = "redline: a low-latency trading decision engine.\n\n\
        With no command it runs the engine on its embedded default config \
        (see `redline default-config`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine (the default when no command is given).
    Run {
        /// A TOML file laid over the embedded default; without it the
        /// embedded default runs as is.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check a config file and print every error with its key path.
    CheckConfig {
        /// The TOML file to check (laid over the embedded default).
        file: PathBuf,
    },
    /// Print the embedded default config.
    DefaultConfig,
    /// Apply the database's schema migrations (the engine also does at
    /// start), then exit.
    Migrate {
        /// A TOML file laid over the embedded default, naming
        /// persistence.database_url (or set DATABASE_URL).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Read a journal directory (the engine's, or a copy of it).
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Summarise it: segments, entries by kind, first and last entry and
    /// time, and whether the tail is whole.
    Inspect {
        /// The journal directory (persistence.journal_dir).
        dir: PathBuf,
    },
    /// Print every entry as a JSON object, one a line.
    Dump {
        /// The journal directory (persistence.journal_dir).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run { config: None }) {
        Command::Run { config } => {
            load(config.as_deref()).and_then(|(c, replay)| run::run(&c, replay, config))
        }
        Command::CheckConfig { file } => load(Some(&file)).map(|_| {
            println!("{}: ok", file.display());
        }),
        Command::DefaultConfig => {
            print!("{}", config::DEFAULT_TOML);
            Ok(())
        }
        Command::Migrate { config } => load(config.as_deref()).and_then(|(c, _)| migrate(&c)),
        Command::Journal {
            command: JournalCommand::Inspect { dir },
        } => journal::inspect(&dir).map(|summary| print!("{summary}")),
        Command::Journal {
            command: JournalCommand::Dump { dir },
        } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            journal::dump(&dir, &mut out).and_then(|_| match out.flush() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("redline: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `redline migrate`.
fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = config
        .persistence
        .database()?
        .context("no database: set persistence.database_url (or DATABASE_URL) to migrate")?;
    let mut client = db
        .connect(postgres::NoTls)
        .context("cannot connect to the database")?;
    let applied = db::migrate(&mut client).context("a migration failed")?;
    match applied.as_slice() {
        [] => println!("redline: migrate: the schema is up to date"),
        versions => println!("redline: migrate: applied {versions:?}"),
    }
    Ok(())
}

/// The config, checked, and the replay it names (read once, here).
fn load(path: Option<&std::path::Path>) -> anyhow::Result<(Config, Option<Vec<Recorded>>)> {
    let config = match path {
        Some(path) => Config::load(path)?,
        None => Config::embedded()?,
    };
    let replay = config.replay().with_context(|| match path {
        Some(path) => format!("invalid config {}", path.display()),
        None => "invalid embedded config".to_owned(),
    })?;
    Ok((config, replay))
}
