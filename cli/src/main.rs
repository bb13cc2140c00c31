//! The `eaof` command: one module per subcommand, each with its clap `Args` and a `run`
//! returning the process exit code. This file only parses and dispatches.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod conform;
mod vectors;

/// Tools for ember's EAOF append-only files: the reference reader and writer, golden
/// fixtures and test vectors.
#[derive(Debug, Parser)]
#[command(name = "eaof", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Vectors(vectors::Args),
    Conform(conform::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Vectors(args) => vectors::run(&args),
        Command::Conform(args) => conform::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
