//! `eaof check`: the verdict of a file in one line, and as the exit code.
//!
//! Guarantees: reads the file once and changes nothing; prints exactly one line on stdout
//! (the verdict, an `unreadable` one included, starting with the file name); the exit code
//! is the verdict's ([`crate::exit::Exit`]). For a corrupt file the line also says what
//! `repair --force` would keep and drop (the same plan `repair` follows).

use std::io::{self, Write};
use std::process::ExitCode;

use eaof::Verdict;

use crate::describe::verdict_line;
use crate::exit::{codes_help, Exit};
use crate::load::{Loaded, Target, Unreadable};
use crate::out;
use crate::salvage::{self, NeedsKey, Salvage};
use crate::verdict_json;

/// Judge a file: clean, torn tail, corrupt or unreadable, in one line and the exit code
///
/// Reads every record and prints one line: how many intact records were read and in which
/// bytes, what is wrong and at which byte (the record kind and the field, where the bytes
/// say), and what `eaof repair` would do. Nothing is written. Use it in scripts and
/// before starting a server on a file; the exit code carries the verdict. With --json the
/// line is one JSON object (its fields are listed below).
///
/// A torn tail is what a crash leaves and is safe: cutting it loses no intact record.
/// eaof's writer cuts it itself when it reopens the file; ember 0.4.9 does not (it appends
/// after the damage, and what it appends then cannot be read), so run `eaof repair` before
/// restarting an ember server on the file. Corruption is not safe: an intact record lies
/// beyond the damage, so eaof's writer refuses the file and `eaof repair` asks for --force.
///
/// The line goes to stdout whatever the verdict (unreadable included); a note (such as a key
/// given for a plaintext file) goes to stderr. The file is mapped, not read into memory:
/// any size works in the same few MiB of heap.
#[derive(Debug, clap::Args)]
#[command(after_long_help = concat!(
    codes_help!(),
    "\n\n",
    crate::verdict_json::fields_help!(),
    "\n\nExamples:\n  eaof check shard-0.aof\n  ",
    "eaof check --key-file shard.key shard-0.aof\n  ",
    "eaof check --json shard-0.aof | jq .ok_up_to\n  ",
    "for f in data/*.aof; do eaof check \"$f\" || echo \"$f needs attention\"; done"
))]
pub struct Args {
    #[command(flatten)]
    target: Target,

    /// Print the verdict as one JSON object (verdict, records, ok_up_to, next_intact...)
    /// instead of a sentence.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let mut out = out::stdout();
    let result = check(args, &mut out);
    out::finish("check", out, result)
}

fn check(args: &Args, out: &mut impl Write) -> io::Result<Exit> {
    let judged = Loaded::read(&args.target).and_then(|loaded| {
        let verdict = loaded.judge()?;
        Ok((loaded, verdict))
    });
    let (loaded, verdict) = match judged {
        Ok(judged) => judged,
        Err(e) => return unreadable(&e, args.json, out),
    };
    crate::leftovers::note(&loaded.path);
    if let Some(note) = loaded.unused_key_note(&verdict) {
        crate::note!("{note}");
    }
    let plan = salvage_of(&loaded, &verdict);
    if args.json {
        let object = verdict_json::verdict(&loaded, &verdict, plan.as_ref());
        writeln!(out, "{object}")?;
    } else {
        let line = verdict_line(
            &loaded.name(),
            loaded.bytes(),
            loaded.key.as_ref(),
            &verdict,
            plan.as_ref(),
        );
        writeln!(out, "{line}")?;
    }
    Ok(Exit::of(&verdict))
}

/// The plan `repair --force` would follow, for a corrupt file.
pub fn salvage_of(loaded: &Loaded, verdict: &Verdict) -> Option<Result<Salvage, NeedsKey>> {
    match (verdict, loaded.version()) {
        (Verdict::Corrupt { .. }, Some(version)) => Some(salvage::plan(
            loaded.bytes(),
            version,
            loaded.key.as_ref(),
            verdict,
            &|at| loaded.release_before(at),
        )),
        _ => None,
    }
}

/// Prints why the file cannot be read (the one line, or its JSON object).
pub fn unreadable(e: &Unreadable, json: bool, out: &mut impl Write) -> io::Result<Exit> {
    if json {
        writeln!(out, "{}", verdict_json::unreadable(e))?;
    } else {
        writeln!(out, "{e}")?;
    }
    Ok(Exit::Unreadable)
}
