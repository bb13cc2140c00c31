//! `eaof driver`: an implementation of the format behind the driver protocol
//! (docs/DRIVER.md), on this process's stdin and stdout, for `eaof explore --target cmd`.
//!
//! Guarantees: one answer per request until stdin ends, then exit 0; a broken frame ends it
//! with exit 4. The implementation and its planted bug, if any, are fixed for the process.

use std::io;
use std::process::ExitCode;

use eaof_check::driver::eaof_files::EaofDriver;
use eaof_check::driver::ember::EmberDriver;
use eaof_check::driver::{serve, Driver};
use eaof_check::planted::Bug;

/// Serve the driver protocol for eaof or ember-persistence 0.4.9 on stdin and stdout
///
/// Started by `eaof explore --target cmd -- eaof driver IMPLEMENTATION`: each request is a
/// little-endian u32 length then a JSON object on stdin, each answer the same on stdout
/// (docs/DRIVER.md). `eaof` drives eaof's own writer and reader on real files, reports every
/// file-system call its writer makes, and injects faults when asked; `ember` drives
/// ember-persistence 0.4.9 as a server uses it.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Planted bugs (eaof only), to show the checker finds each one:
  no-file-fsync                 sync returns without an fsync of the file
  no-dir-fsync-after-rename     truncate's rename is never made durable
  append-after-torn-tail        reopening appends after a torn tail instead of cutting it
  no-poison-after-failed-fsync  after a failed fsync the writer goes on
  ignore-short-write            an append that wrote part of its bytes counts as done

Examples:
  eaof explore --target cmd -- eaof driver eaof
  eaof explore --target cmd -- eaof driver ember
  eaof explore --target cmd -- eaof driver eaof --planted no-file-fsync"
)]
pub struct Args {
    /// The implementation to drive.
    #[arg(value_enum)]
    implementation: Implementation,
    /// Plant this bug in eaof's writer.
    #[arg(long, value_name = "BUG", value_parser = clap::builder::PossibleValuesParser::new(Bug::ALL.map(Bug::name)))]
    planted: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Implementation {
    /// eaof on real files
    Eaof,
    /// ember-persistence 0.4.9 on real files
    Ember,
}

pub fn run(args: &Args) -> ExitCode {
    let bug = args.planted.as_deref().and_then(Bug::from_name);
    let mut driver: Box<dyn Driver> = match (args.implementation, bug) {
        (Implementation::Eaof, bug) => Box::new(EaofDriver::new(bug)),
        (Implementation::Ember, None) => Box::new(EmberDriver::default()),
        (Implementation::Ember, Some(_)) => {
            eprintln!("eaof driver: bugs are planted in eaof's writer only");
            return ExitCode::from(2);
        }
    };
    let (stdin, stdout) = (io::stdin(), io::stdout());
    match serve(
        &mut *driver,
        &mut stdin.lock(),
        &mut io::BufWriter::new(stdout.lock()),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eaof driver: {e}");
            ExitCode::from(4)
        }
    }
}
