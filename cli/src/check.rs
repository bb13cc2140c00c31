//! `eaof check`: the verdict of a file in one line, and as the exit code.
//!
//! Guarantees: reads the file once and changes nothing; prints exactly one line on stdout
//! (the verdict, an `unreadable` one included, starting with the file name); the exit code
//! is the verdict's ([`crate::exit::Exit`]). For a corrupt file the line also says what
//! `repair --force` would keep and drop (the same plan `repair` follows).

use std::process::ExitCode;

use eaof::Verdict;

use crate::describe::verdict_line;
use crate::exit::{codes_help, Exit};
use crate::load::{Loaded, Target};
use crate::salvage::Salvage;

/// Judge a file: clean, torn tail, corrupt or unreadable, in one line and the exit code
///
/// Reads every record and prints one line: how many intact records were read and in which
/// bytes, what is wrong and at which byte (the record kind and the field, where the bytes
/// say), and what `eaof repair` would do. Nothing is written. Use it in scripts and
/// before starting a server on a file; the exit code carries the verdict.
///
/// A torn tail is what a crash leaves and is safe: cutting it loses no intact record.
/// eaof's writer cuts it itself when it reopens the file; ember 0.4.9 does not (it appends
/// after the damage, and what it appends then cannot be read), so run `eaof repair` before
/// restarting an ember server on the file. Corruption is not safe: an intact record lies
/// beyond the damage, so eaof's writer refuses the file and `eaof repair` asks for --force.
///
/// The line goes to stdout whatever the verdict (unreadable included); a note (such as a key
/// given for a plaintext file) goes to stderr.
#[derive(Debug, clap::Args)]
#[command(after_long_help = concat!(
    codes_help!(),
    "\n\nExamples:\n  eaof check shard-0.aof\n  ",
    "eaof check --key-file shard.key shard-0.aof\n  ",
    "for f in data/*.aof; do eaof check \"$f\" || echo \"$f needs attention\"; done"
))]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &Args) -> ExitCode {
    let loaded = match Loaded::read(&args.target) {
        Ok(loaded) => loaded,
        Err(e) => {
            say!("{e}");
            return Exit::Unreadable.into();
        }
    };
    let verdict = match loaded.judge() {
        Ok(verdict) => verdict,
        Err(e) => {
            say!("{e}");
            return Exit::Unreadable.into();
        }
    };
    if let Some(note) = loaded.unused_key_note(&verdict) {
        eprintln!("{note}");
    }
    let salvage = match (&verdict, loaded.version()) {
        (Verdict::Corrupt { .. }, Some(version)) => Some(Salvage::plan(
            &loaded.bytes,
            version,
            loaded.key.as_ref(),
            &verdict,
        )),
        _ => None,
    };
    say!(
        "{}",
        verdict_line(
            &loaded.name(),
            &loaded.bytes,
            loaded.key.as_ref(),
            &verdict,
            salvage.as_ref()
        )
    );
    Exit::of(&verdict).into()
}
