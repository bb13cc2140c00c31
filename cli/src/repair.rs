//! `eaof repair`: make a damaged file read clean, never losing an intact record silently.
//!
//! Guarantees:
//! - a torn tail is cut at the last intact record's end (`set_len`, fsync): it loses no
//!   intact record by definition, so it needs no confirmation; a header torn while the file
//!   was created is written anew (temp file, fsync, rename, fsync of the directory);
//! - a corrupt file is changed only with `--force`, and then only after its plan is printed
//!   (every byte range kept and dropped, with what is wrong at each dropped one), confirmed
//!   (on a terminal, or by `--yes`), and the original saved as `FILE.bak` (which must not
//!   exist) and made durable; the rebuilt file is verified to read clean with exactly the
//!   planned records before it replaces the original, crash-safely;
//! - an unreadable file (wrong key included) is never changed;
//! - a file that changed length since it was read (a writer appending) is not changed.
//!
//! The exit code says what state the file is in afterwards: 0 it reads clean (repaired, or
//! it already was), 3 it is still corrupt (refused or not confirmed: nothing changed), 4
//! unreadable or an I/O error.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use eaof::format::{self, FORMAT_VERSION, FORMAT_VERSION_ENCRYPTED};
use eaof::scanner::Scanner;
use eaof::{Damage, Verdict};

use crate::describe::{self, verdict_line};
use crate::durable;
use crate::exit::Exit;
use crate::load::{Loaded, Target, Unreadable};
use crate::salvage::Salvage;

/// Repair a damaged file: cut a torn tail; rebuild a corrupt file only with --force
///
/// A torn tail (what a crash leaves: a partial or failed last record, zeros, garbage) is cut
/// back to the end of the last intact record, and the number of bytes removed is printed.
/// This loses no intact record, and is what eaof's writer does itself when it reopens the
/// file (ember 0.4.9 does not: it appends after the damage, where its new records cannot
/// be read).
/// A header torn while the file was being created is written anew: version 2 (plaintext),
/// or 3 (encrypted) when --key-file is given, or as --header-version says.
///
/// A corrupt file (an intact record lies beyond the damage) is refused unless --force. With
/// --force, repair plans a rebuild that keeps every intact record it can find: it reads
/// records as a reader does, and past each damaged range it resumes at the next byte where
/// an intact record starts. It prints every range it keeps and drops, with what is wrong at
/// each dropped one, asks for confirmation (unless --yes; without a terminal it refuses
/// instead), saves the original as FILE.bak (refusing if that exists), and replaces the file
/// crash-safely. A version byte damaged in the header is rewritten to the version the
/// records read as, losing nothing.
///
/// Dropped bytes may have held records that no reader can recover: the rebuilt file replays
/// every record it keeps, but not what the dropped ones did (a lost DEL brings its key back).
/// Keep FILE.bak until you have checked the result.
///
/// Run it while no server or writer has the file open: repair refuses a file whose length
/// changed since it read it, but cannot see every concurrent change.
#[derive(Debug, clap::Args)]
#[command(after_long_help = concat!(
    "Exit codes (the state of the file afterwards):
  0  the file reads clean: repaired, or nothing to repair
  2  usage error (bad arguments)
  3  still corrupt: refused without --force, not confirmed, or FILE.bak exists;
     nothing was changed
  4  unreadable (not an EAOF file, unsupported version, key needed, wrong key) or an I/O
     error; nothing was changed
`eaof check` says beforehand what repair would do.",
    "\n\nExamples:\n  eaof check shard-0.aof; eaof repair shard-0.aof      # cut a torn tail\n  ",
    "eaof repair --force shard-0.aof                      # rebuild, asking first\n  ",
    "eaof repair --force --yes --key-file shard.key shard-0.aof && eaof check --key-file \
     shard.key shard-0.aof"
))]
pub struct Args {
    #[command(flatten)]
    target: Target,

    /// Rebuild a corrupt file from every intact record, dropping the damaged byte ranges
    /// (the original is kept as FILE.bak).
    #[arg(long)]
    force: bool,

    /// Do not ask before rebuilding a corrupt file (needed when stdin is not a terminal).
    #[arg(long)]
    yes: bool,

    /// Version of the header written when the header itself was torn: 2 (plaintext) or 3
    /// (encrypted). Default: 3 with --key-file, 2 without.
    #[arg(long, value_name = "V", value_parser = clap::value_parser!(u8).range(2..=3))]
    header_version: Option<u8>,
}

/// Why repair changed nothing.
#[derive(Debug)]
enum Refusal {
    Unreadable(Unreadable),
    /// The file is corrupt and stays as it was.
    StillCorrupt(String),
    /// An I/O error while changing the file (the crash-safe steps leave the old file or the
    /// new one).
    Io {
        path: PathBuf,
        doing: &'static str,
        error: io::Error,
    },
    /// The rebuilt file did not verify: a bug, reported rather than written.
    Unverified(String),
}

impl Refusal {
    fn exit(&self) -> Exit {
        match self {
            Refusal::StillCorrupt(_) => Exit::Corrupt,
            Refusal::Unreadable(_) | Refusal::Io { .. } | Refusal::Unverified(_) => {
                Exit::Unreadable
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unreadable(e) => write!(f, "{e}; nothing was changed"),
            Refusal::StillCorrupt(why) => f.write_str(why),
            Refusal::Io { path, doing, error } => {
                write!(f, "{}: {doing}: {error}", path.display())
            }
            Refusal::Unverified(why) => f.write_str(why),
        }
    }
}

impl From<Unreadable> for Refusal {
    fn from(e: Unreadable) -> Self {
        Refusal::Unreadable(e)
    }
}

pub fn run(args: &Args) -> ExitCode {
    match repair(args) {
        Ok(exit) => exit.into(),
        Err(refusal) => {
            eprintln!("{refusal}");
            refusal.exit().into()
        }
    }
}

fn repair(args: &Args) -> Result<Exit, Refusal> {
    let loaded = Loaded::read(&args.target)?;
    let verdict = loaded.judge()?;
    if let Some(note) = loaded.unused_key_note(&verdict) {
        eprintln!("{note}");
    }
    let name = loaded.name();
    let io = |doing, error| Refusal::Io {
        path: loaded.path.clone(),
        doing,
        error,
    };
    let file_len = loaded.bytes.len() as u64;
    match &verdict {
        Verdict::Clean { records, .. } => {
            say!(
                "{name}: clean: {}; nothing to repair",
                describe::records(*records)
            );
            Ok(Exit::Clean)
        }
        Verdict::TornTail {
            cause: Damage::PartialHeader { len },
            ..
        } => {
            let (version, chosen) = match args.header_version {
                Some(v) => (v, true),
                None if loaded.key.is_some() => (FORMAT_VERSION_ENCRYPTED, false),
                None => (FORMAT_VERSION, false),
            };
            durable::replace(&loaded.path, file_len, &format::header(version))
                .map_err(|e| io("writing a new header", e))?;
            let what = if format::is_sealed(version) {
                "encrypted"
            } else {
                "plaintext"
            };
            let replaced = match len {
                0 => "into the empty file a crash left".to_owned(),
                n => format!("in place of the {} a crash left", describe::bytes_n(*n)),
            };
            say!(
                "{name}: wrote a new header, version {version} ({what}), {replaced}; the file \
                 holds no record and is ready for a writer"
            );
            if version == FORMAT_VERSION && !chosen {
                eprintln!(
                    "note: a writer opened with a key keeps appending plaintext records to a \
                     version 2 file; for an encrypted file, repair with --key-file K or \
                     --header-version 3 instead"
                );
            }
            Ok(Exit::Clean)
        }
        Verdict::TornTail { .. }
            if !args.force && describe::sealed_looking_tail(&loaded.bytes, &verdict) =>
        {
            Err(Refusal::StillCorrupt(format!(
                "{}\nrefusing: {}; `eaof repair --force {name}` cuts it; nothing was changed",
                verdict_line(&name, &loaded.bytes, loaded.key.as_ref(), &verdict, None),
                describe::SEALED_LOOKING
            )))
        }
        Verdict::TornTail {
            records,
            offset,
            len,
            cause,
        } => {
            let version = loaded.version().unwrap_or(FORMAT_VERSION);
            let located =
                describe::locate(&loaded.bytes, version, loaded.key.as_ref(), *offset, cause);
            durable::cut(&loaded.path, file_len, *offset)
                .map_err(|e| io("cutting the torn tail", e))?;
            say!(
                "{name}: cut {} at byte {offset} ({located}); kept all {}; the file now ends \
                 at byte {offset}",
                describe::bytes_n(*len),
                describe::intact(*records)
            );
            Ok(Exit::Clean)
        }
        Verdict::Corrupt { .. } => rebuild(args, &loaded, &verdict),
    }
}

fn rebuild(args: &Args, loaded: &Loaded, verdict: &Verdict) -> Result<Exit, Refusal> {
    let name = loaded.name();
    let version = loaded.version().unwrap_or(FORMAT_VERSION);
    let key = loaded.key.as_ref();
    let planned = Salvage::plan(&loaded.bytes, version, key, verdict);
    let line = verdict_line(&name, &loaded.bytes, key, verdict, Some(&planned));
    let plan = match planned {
        Ok(plan) => plan,
        Err(_) => {
            return Err(Refusal::StillCorrupt(format!(
                "{line}\nnothing was changed"
            )))
        }
    };
    if !args.force {
        return Err(Refusal::StillCorrupt(format!(
            "{line}\nrefusing: cutting at the damage would lose the intact records after it. \
             `eaof repair --force {name}` rebuilds the file from every intact record (the \
             original is kept as {name}.bak); nothing was changed"
        )));
    }
    print_plan(&name, &plan);
    let bak = durable::bak_path(&loaded.path);
    if bak.symlink_metadata().is_ok() {
        return Err(Refusal::StillCorrupt(format!(
            "{}: exists (an earlier backup?): move it away first; nothing was changed",
            bak.display()
        )));
    }
    let out = plan.output(&loaded.bytes);
    verify(&out, loaded, &plan)?;
    if !args.yes {
        confirm(&name, &bak, &plan)?;
    }
    let io = |path: &PathBuf, doing, error| Refusal::Io {
        path: path.clone(),
        doing,
        error,
    };
    durable::create_new(&bak, &loaded.bytes, durable::mode_of(&loaded.path)).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Refusal::StillCorrupt(format!(
                "{}: exists: move it away first; nothing was changed",
                bak.display()
            ))
        } else {
            io(&bak, "saving the original (nothing else was changed)", e)
        }
    })?;
    durable::replace(&loaded.path, loaded.bytes.len() as u64, &out).map_err(|e| {
        io(
            &loaded.path,
            "replacing the file (it is unchanged; the original is also in the .bak file)",
            e,
        )
    })?;
    say!(
        "{name}: rebuilt: {}, {}; dropped {}; the original is in {}",
        describe::records(plan.records()),
        describe::bytes_n(out.len() as u64),
        describe::bytes_n(plan.dropped_bytes()),
        bak.display()
    );
    Ok(Exit::Clean)
}

/// Prints every kept and dropped range, in file order.
fn print_plan(name: &str, plan: &Salvage) {
    say!("{name}: corrupt; rebuilding it from every intact record:");
    if let Some(from) = plan.header_from {
        say!(
            "  fix   byte 4              header `version` {from} -> {} (the records read as \
             version {})",
            plan.version,
            plan.version
        );
    }
    let mut lines: Vec<(u64, String)> = plan
        .kept
        .iter()
        .map(|k| {
            let range = format!("{}..{}", k.range.start, k.range.end);
            (
                k.range.start,
                format!(
                    "  keep  bytes {range:<14}  {}",
                    describe::records(k.records)
                ),
            )
        })
        .chain(plan.dropped.iter().map(|d| {
            let range = format!("{}..{}", d.range.start, d.range.end);
            (
                d.range.start,
                format!(
                    "  drop  bytes {range:<14}  {}: {}",
                    describe::bytes_n(d.range.end - d.range.start),
                    d.located
                ),
            )
        }))
        .collect();
    lines.sort_by_key(|(start, _)| *start);
    for (_, line) in lines {
        say!("{line}");
    }
    say!(
        "result: {} kept (every intact record found), {} dropped",
        describe::records(plan.records()),
        describe::bytes_n(plan.dropped_bytes())
    );
    if !plan.dropped.is_empty() {
        say!(
            "the dropped bytes may have held records no reader can recover: replaying the \
             result does not redo what they did (a lost DEL brings its key back)"
        );
    }
}

/// The rebuilt bytes must read clean with exactly the planned records.
fn verify(out: &[u8], loaded: &Loaded, plan: &Salvage) -> Result<(), Refusal> {
    let expected = Verdict::Clean {
        records: plan.records(),
        end: out.len() as u64,
    };
    let got = Scanner::new(out, loaded.key.as_ref()).map(Scanner::finish);
    match got {
        Ok(verdict) if verdict == expected => Ok(()),
        other => Err(Refusal::Unverified(format!(
            "{}: the rebuilt file would not read clean ({other:?}, expected {expected:?}); \
             this is a bug in eaof: nothing was changed",
            loaded.name()
        ))),
    }
}

fn confirm(name: &str, bak: &std::path::Path, plan: &Salvage) -> Result<(), Refusal> {
    let question = format!(
        "Rebuild {name}, dropping {} (the original goes to {})? [y/N] ",
        describe::bytes_n(plan.dropped_bytes()),
        bak.display()
    );
    let stdin = io::stdin();
    let terminal = stdin.is_terminal();
    ask(
        name,
        &question,
        terminal,
        &mut stdin.lock(),
        &mut io::stderr(),
    )
}

/// Asks `question` on `prompt` and reads the answer from `answers`: only `y` or `yes` (any
/// case) confirms; anything else, an empty line, the end of input or a read error does not.
/// Without a terminal nobody can be asking, so it refuses without reading.
fn ask(
    name: &str,
    question: &str,
    terminal: bool,
    answers: &mut impl BufRead,
    prompt: &mut impl Write,
) -> Result<(), Refusal> {
    if !terminal {
        return Err(Refusal::StillCorrupt(format!(
            "{name}: stdin is not a terminal, so no one can confirm: pass --yes to rebuild \
             it; nothing was changed"
        )));
    }
    let _ = write!(prompt, "{question}");
    let _ = prompt.flush();
    let mut answer = String::new();
    let read = answers.read_line(&mut answer);
    match (read, answer.trim().to_ascii_lowercase().as_str()) {
        (Ok(_), "y" | "yes") => Ok(()),
        _ => Err(Refusal::StillCorrupt(format!(
            "{name}: not confirmed; nothing was changed"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(terminal: bool, input: &[u8]) -> (bool, String) {
        let mut prompt = Vec::new();
        let ok = ask(
            "f.aof",
            "Rebuild f.aof? [y/N] ",
            terminal,
            &mut &input[..],
            &mut prompt,
        )
        .is_ok();
        (ok, String::from_utf8(prompt).unwrap())
    }

    #[test]
    fn only_yes_on_a_terminal_confirms() {
        for yes in [&b"y\n"[..], b"YES\n", b"  yes  \n", b"y"] {
            let (ok, prompt) = answer(true, yes);
            assert!(ok, "{yes:?}");
            assert_eq!(prompt, "Rebuild f.aof? [y/N] ");
        }
        for no in [&b"\n"[..], b"n\n", b"yess\n", b"", b"sure\n", b"\xff\n"] {
            assert!(!answer(true, no).0, "{no:?}");
        }
    }

    #[test]
    fn without_a_terminal_nothing_is_asked_or_read() {
        let (ok, prompt) = answer(false, b"y\n");
        assert!(!ok);
        assert!(prompt.is_empty());
    }
}
