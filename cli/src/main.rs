//! The `eaof` command: one module per subcommand, each with its clap `Args` and a `run`
//! returning the process exit code. This file only parses and dispatches.
//!
//! Unsafe code is denied everywhere but in [`map`], which maps files read-only (memmap2)
//! and turns SIGBUS into an exit: that is what lets `check`, `inspect` and `repair` work on
//! files larger than memory with the library's zero-copy reading (see that module).
#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Prints a note or a warning on stderr. A failure to write it is not a failure of the
/// command (and must not panic, as `eprintln!` would): the command's result is its exit
/// code and its report on stdout, whose write errors are never ignored (see [`out`]).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use note;

mod bench;
mod check;
mod conform;
mod describe;
mod driver;
mod durable;
mod exit;
mod explore;
mod fields;
mod inspect;
mod json_line;
mod keyfile;
mod keygen;
mod leftovers;
mod load;
mod map;
mod out;
mod records;
mod repair;
mod salvage;
mod show;
mod source;
mod vectors;
mod verdict_json;

/// Tools for ember's EAOF append-only files: inspect, check and repair them, make keys,
/// model-check an implementation of the format, and regenerate the golden fixtures.
///
/// An EAOF file is a 5-byte header (`EAOF` and a version: 1 or 2 plaintext, 3 encrypted)
/// followed by records. After a crash the end of a file may be torn: cutting the torn tail
/// loses no intact record (eaof's writer does it when it reopens the file; ember 0.4.9 does
/// not, so repair the file before restarting ember on it). A file whose damage is followed
/// by an intact record is corrupt: cutting would lose that record, so eaof's writer refuses
/// it.
///
/// Start with `eaof check FILE`; `eaof inspect FILE` lists the records; `eaof repair FILE`
/// fixes what can be fixed safely, and with --force what needs a decision.
#[derive(Debug, Parser)]
#[command(
    name = "eaof",
    version,
    propagate_version = true,
    after_long_help = concat!(
        exit::codes_help!(),
        "\n\nExamples:\n  eaof check shard-0.aof\n  eaof inspect shard-0.aof | less\n  ",
        "eaof repair shard-0.aof\n  eaof keygen shard.key\n  eaof explore\n  eaof help repair"
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Inspect(inspect::Args),
    Check(check::Args),
    Repair(repair::Args),
    Keygen(keygen::Args),
    Vectors(vectors::Args),
    Explore(explore::Args),
    Conform(conform::Args),
    Driver(driver::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Repair(args) => repair::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Vectors(args) => vectors::run(&args),
        Command::Explore(args) => explore::run(&args),
        Command::Conform(args) => conform::run(&args),
        Command::Driver(args) => driver::run(&args),
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
