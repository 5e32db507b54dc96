//! `spoor`: the command-line tool. Glue only: flags in `args`, one module per subcommand.

mod args;
mod commands;
mod filter;
mod input;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes: 0 ok, 1 a query (or check) failed, 2 the command line was wrong.
pub(crate) const EXIT_QUERY_ERROR: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;

/// An error with the exit code it maps to.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The query or the evidence was at fault (exit 1); the message is already rendered.
    Query(String),
    /// The command line was wrong (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Query(a) => commands::query::run(a),
        args::Command::Check(a) => commands::check::run(a),
        args::Command::Tables(a) => commands::tables::run(a),
        args::Command::Sources(a) => commands::sources::run(a),
        args::Command::Hunt(a) => commands::hunt::run(a),
        args::Command::Rules(a) => commands::rules::run(a),
        args::Command::Attack(a) => commands::attack::run(a),
        args::Command::Convert(a) => commands::convert::run(a),
        args::Command::Aws(a) => commands::aws::run(a),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Query(msg)) => {
            eprint!("{msg}");
            if !msg.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(EXIT_QUERY_ERROR)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Other(e)) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_QUERY_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
