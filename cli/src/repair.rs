//! `eaof repair`: make a damaged file read clean, never losing an intact record silently.
//!
//! Guarantees:
//! - a torn tail is cut at the last intact record's end (`set_len`, fsync): it loses no
//!   intact record by definition, so it needs no confirmation; a header torn while the file
//!   was created is written anew (temp file, fsync, rename, fsync of the directory);
//! - a corrupt file is changed only with `--force`, and then only after its plan is printed
//!   (every byte range kept and dropped, with what is wrong at each dropped one), confirmed
//!   (on a terminal, or by `--yes`); the rebuilt file is written to a new temporary file
//!   beside FILE with FILE's owner, group and mode, and verified to read clean with exactly
//!   the planned records; then the original is kept as `FILE.bak` (a hard link: the
//!   original inode, never a partial copy; an existing `FILE.bak` that is another file is
//!   refused) and the new file renamed over FILE (see [`crate::durable`]);
//! - FILE must be a regular file, not a symbolic link, and not locked by another repair
//!   (see [`crate::source`]); a leftover `FILE.repair.tmp` of a stopped repair is removed
//!   and named, never used;
//! - an unreadable file (wrong key included) is never changed;
//! - a file that changed length since it was read (a writer appending) is not changed;
//! - the report is written to stdout before anything is changed, and a failure to write it
//!   stops the repair first.
//!
//! The exit code says what state the file is in afterwards: 0 it reads clean (repaired, or
//! it already was), 3 it is still corrupt (refused or not confirmed: nothing changed), 4
//! unreadable, refused or an I/O error (the message says whether anything was changed).

use std::fmt;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use eaof::format::{self, FORMAT_VERSION, FORMAT_VERSION_ENCRYPTED};
use eaof::{Damage, Verdict};

use crate::describe::{self, verdict_line};
use crate::durable::{self, Backup, Failed, Tmp};
use crate::exit::Exit;
use crate::load::{Loaded, Target, Unreadable};
use crate::map::Mapped;
use crate::out;
use crate::records::Reader;
use crate::salvage::{self, Piece, Salvage};
use crate::source::Access;

/// Bytes buffered before a write to the new file.
const WRITE_BUFFER_LEN: usize = 1 << 20;

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
/// instead), writes the new file beside FILE (FILE.repair.tmp, created new, with FILE's
/// owner, group and mode) and checks it, keeps the original as FILE.bak (a hard link to it;
/// refusing if another FILE.bak exists), and renames the new file over FILE. A kill or a
/// full disk at any moment leaves FILE as it was or as rebuilt, never a partial file under
/// FILE or FILE.bak; run the repair again to finish it. A version byte damaged in the header
/// is rewritten to the version the records read as, losing nothing.
///
/// FILE must be a regular file: a FIFO or a device is refused (exit 4), and so is a symbolic
/// link (repair its target, which the message names).
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
  4  unreadable (not an EAOF file, unsupported version, key needed, wrong key, key file
     refused), refused (not a regular file, a symbolic link, locked by another repair, the
     owner or mode cannot be kept) or an I/O error (a full disk included); the message says
     whether anything was changed (only if the report could not be written after it was)
141  stdout was closed (a broken pipe) before the plan was shown: nothing was changed
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

/// Why repair stopped.
#[derive(Debug)]
enum Refusal {
    Unreadable(Unreadable),
    /// The file is corrupt and stays as it was.
    StillCorrupt(String),
    /// An I/O error while changing the file (the crash-safe steps leave the old file or the
    /// new one, and say which).
    Io(Failed),
    /// The rebuilt file did not verify: a bug, or the file changed; reported, not written.
    Unverified(String),
    /// The report could not be written to stdout; `done` says what had been changed.
    Output {
        error: io::Error,
        done: Option<String>,
    },
}

impl Refusal {
    fn exit(&self) -> Exit {
        match self {
            Refusal::StillCorrupt(_) => Exit::Corrupt,
            // A reader that went away after the repair was done: the file reads clean.
            Refusal::Output {
                error,
                done: Some(_),
            } if error.kind() == io::ErrorKind::BrokenPipe => Exit::Clean,
            Refusal::Output { error, .. } if error.kind() == io::ErrorKind::BrokenPipe => {
                Exit::BrokenPipe
            }
            Refusal::Unreadable(_)
            | Refusal::Io(_)
            | Refusal::Unverified(_)
            | Refusal::Output { .. } => Exit::Unreadable,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unreadable(e) => write!(f, "{e}; nothing was changed"),
            Refusal::StillCorrupt(why) => f.write_str(why),
            Refusal::Io(Failed { path, doing, error }) => {
                write!(f, "{}: {doing}: {error}", path.display())
            }
            Refusal::Unverified(why) => f.write_str(why),
            Refusal::Output { error, done } => {
                write!(f, "eaof repair: stdout: cannot write the report: {error}; ")?;
                match done {
                    None => f.write_str("stopped before changing anything"),
                    Some(done) => write!(f, "the repair was done: {done}"),
                }
            }
        }
    }
}

impl From<Unreadable> for Refusal {
    fn from(e: Unreadable) -> Self {
        Refusal::Unreadable(e)
    }
}

impl From<Failed> for Refusal {
    fn from(e: Failed) -> Self {
        Refusal::Io(e)
    }
}

/// A write of the report before anything was changed failed.
fn unsaid(error: io::Error) -> Refusal {
    Refusal::Output { error, done: None }
}

pub fn run(args: &Args) -> ExitCode {
    let mut out = out::stdout();
    let result = repair(args, &mut out).and_then(|exit| {
        out.flush().map(|()| exit).map_err(|error| Refusal::Output {
            error,
            done: Some(format!("{} is repaired", args.target.file.display())),
        })
    });
    match result {
        Ok(exit) => exit.into(),
        Err(refusal) => {
            // What was said before the refusal comes first; a failure to say it is the
            // refusal's business only if nothing else went wrong.
            let _ = out.flush();
            let (_, _) = out.into_parts();
            let quiet = matches!(&refusal, Refusal::Output { error, .. }
                if error.kind() == io::ErrorKind::BrokenPipe);
            if !quiet {
                crate::note!("{refusal}");
            }
            refusal.exit().into()
        }
    }
}

fn repair(args: &Args, out: &mut impl Write) -> Result<Exit, Refusal> {
    let loaded = Loaded::open(&args.target, Access::Change)?;
    let name = loaded.name();
    // The lock is held: a repair running on this file would hold it, so what is there is
    // the leftover of one that was stopped.
    if let Some(what) = durable::remove_leftover_tmp(&loaded.path)? {
        crate::note!(
            "note: {}: removed {what} left by an `eaof repair` that was stopped before it \
             finished (never used: {name} was not replaced by it)",
            durable::tmp_path(&loaded.path).display()
        );
    }
    let verdict = loaded.judge()?;
    if let Some(note) = loaded.unused_key_note(&verdict) {
        crate::note!("{note}");
    }
    let file_len = loaded.len();
    let said = |out: &mut dyn Write, done: String| {
        writeln!(out, "{done}").map_err(|error| Refusal::Output {
            error,
            done: Some(done),
        })
    };
    match &verdict {
        Verdict::Clean { records, .. } => {
            writeln!(
                out,
                "{name}: clean: {}; nothing to repair",
                describe::records(*records)
            )
            .map_err(unsaid)?;
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
            let tmp = Tmp::create(&loaded.path, &loaded.meta)?;
            if let Err(e) = (&tmp.file).write_all(&format::header(version)) {
                let failure = Failed {
                    path: tmp.path.clone(),
                    doing: "writing the new header; nothing was changed".into(),
                    error: e,
                };
                return Err(tmp.fail(failure).into());
            }
            tmp.replace(&loaded.path, &loaded.file, file_len)?;
            let what = if format::is_sealed(version) {
                "encrypted"
            } else {
                "plaintext"
            };
            let replaced = match len {
                0 => "into the empty file a crash left".to_owned(),
                n => format!("in place of the {} a crash left", describe::bytes_n(*n)),
            };
            said(
                out,
                format!(
                    "{name}: wrote a new header, version {version} ({what}), {replaced}; the \
                     file holds no record and is ready for a writer"
                ),
            )?;
            if version == FORMAT_VERSION && !chosen {
                crate::note!(
                    "note: a writer opened with a key keeps appending plaintext records to a \
                     version 2 file; for an encrypted file, repair with --key-file K or \
                     --header-version 3 instead"
                );
            }
            Ok(Exit::Clean)
        }
        Verdict::TornTail { .. }
            if !args.force && describe::sealed_looking_tail(loaded.bytes(), &verdict) =>
        {
            Err(Refusal::StillCorrupt(format!(
                "{}\nrefusing: {}; `eaof repair --force {name}` cuts it; nothing was changed",
                verdict_line(&name, loaded.bytes(), loaded.key.as_ref(), &verdict, None),
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
                describe::locate(loaded.bytes(), version, loaded.key.as_ref(), *offset, cause);
            durable::cut(&loaded.file, file_len, *offset).map_err(|error| Failed {
                path: loaded.path.clone(),
                doing: "cutting the torn tail".into(),
                error,
            })?;
            said(
                out,
                format!(
                    "{name}: cut {} at byte {offset} ({located}); kept all {}; the file now \
                     ends at byte {offset}",
                    describe::bytes_n(*len),
                    describe::intact(*records)
                ),
            )?;
            Ok(Exit::Clean)
        }
        Verdict::Corrupt { .. } => rebuild(args, &loaded, &verdict, out),
    }
}

fn rebuild(
    args: &Args,
    loaded: &Loaded,
    verdict: &Verdict,
    out: &mut impl Write,
) -> Result<Exit, Refusal> {
    let name = loaded.name();
    let version = loaded.version().unwrap_or(FORMAT_VERSION);
    let key = loaded.key.as_ref();
    let bytes = loaded.bytes();
    let release = |at| loaded.release_before(at);
    if !args.force {
        let planned = salvage::plan(bytes, version, key, verdict, &release);
        let line = verdict_line(&name, bytes, key, verdict, Some(&planned));
        let why = match planned {
            Ok(_) => format!(
                "{line}\nrefusing: cutting at the damage would lose the intact records after \
                 it. `eaof repair --force {name}` rebuilds the file from every intact record \
                 (the original is kept as {name}.bak); nothing was changed"
            ),
            Err(_) => format!("{line}\nnothing was changed"),
        };
        return Err(Refusal::StillCorrupt(why));
    }
    let plan = print_plan(&name, loaded, version, verdict, out)?;
    let bak = durable::bak_path(&loaded.path);
    let leftover_bak = match std::fs::symlink_metadata(&bak) {
        Ok(meta) if crate::source::same_file(&meta, &loaded.meta) => true,
        Ok(_) => {
            return Err(Refusal::StillCorrupt(format!(
                "{}: exists (an earlier backup?): move it away first; nothing was changed",
                bak.display()
            )))
        }
        Err(_) => false,
    };
    if leftover_bak {
        crate::note!(
            "note: {}: is {name} itself (a hard link left by a repair stopped before it \
             replaced {name}): kept as the backup",
            bak.display()
        );
    }
    out.flush().map_err(unsaid)?;
    if !args.yes {
        confirm(&name, &bak, &plan)?;
    }
    let tmp = Tmp::create(&loaded.path, &loaded.meta)?;
    if let Err(refusal) = write_and_verify(&tmp, loaded, version, verdict, &plan) {
        tmp.discard();
        return Err(refusal);
    }
    match durable::keep_original(&loaded.path, &loaded.meta) {
        Ok(Backup::Made | Backup::Leftover) => {}
        Err(e) => {
            let refusal = if e.kind() == io::ErrorKind::AlreadyExists {
                Refusal::StillCorrupt(format!(
                    "{}: exists: move it away first; nothing was changed",
                    bak.display()
                ))
            } else {
                Refusal::Io(Failed {
                    path: bak.clone(),
                    doing: "keeping the original as a hard link to it (nothing was changed)".into(),
                    error: e,
                })
            };
            tmp.discard();
            return Err(refusal);
        }
    }
    tmp.replace(&loaded.path, &loaded.file, loaded.len())
        .map_err(|mut failure| {
            failure
                .doing
                .push_str(&format!("; the original is also in {}", bak.display()));
            Refusal::Io(failure)
        })?;
    let done = format!(
        "{name}: rebuilt: {}, {}; dropped {}; the original is in {}",
        describe::records(plan.records()),
        describe::bytes_n(plan.output_len()),
        describe::bytes_n(plan.dropped_bytes()),
        bak.display()
    );
    writeln!(out, "{done}").map_err(|error| Refusal::Output {
        error,
        done: Some(done),
    })?;
    Ok(Exit::Clean)
}

/// Prints every kept and dropped range, in file order, as the plan is walked; returns the
/// plan.
fn print_plan(
    name: &str,
    loaded: &Loaded,
    version: u8,
    verdict: &Verdict,
    out: &mut impl Write,
) -> Result<Salvage, Refusal> {
    let bytes = loaded.bytes();
    let key = loaded.key.as_ref();
    let line = |out: &mut dyn Write, piece: &Piece<'_>| -> io::Result<()> {
        match piece {
            Piece::Record(_) => Ok(()),
            Piece::Kept(k) => {
                let range = format!("{}..{}", k.range.start, k.range.end);
                writeln!(
                    out,
                    "  keep  bytes {range:<14}  {}",
                    describe::records(k.records)
                )
            }
            Piece::Dropped(d) => {
                let range = format!("{}..{}", d.range.start, d.range.end);
                writeln!(
                    out,
                    "  drop  bytes {range:<14}  {}: {}",
                    describe::bytes_n(d.range.end - d.range.start),
                    d.located
                )
            }
        }
    };
    let body = match verdict {
        Verdict::Corrupt {
            cause: Damage::VersionMismatch { body },
            ..
        } => Some(*body),
        _ => None,
    };
    if eaof::frame::Framer::new(body.unwrap_or(version), key).is_err() {
        let planned = salvage::plan(bytes, version, key, verdict, &|_| {});
        let line = verdict_line(name, bytes, key, verdict, Some(&planned));
        return Err(Refusal::StillCorrupt(format!(
            "{line}\nnothing was changed"
        )));
    }
    writeln!(
        out,
        "{name}: corrupt; rebuilding it from every intact record:"
    )
    .map_err(unsaid)?;
    if let Some(body) = body {
        writeln!(
            out,
            "  fix   byte 4              header `version` {version} -> {body} (the records read \
             as version {body})"
        )
        .map_err(unsaid)?;
    }
    let walked = salvage::walk(
        bytes,
        version,
        key,
        verdict,
        &|at| loaded.release_before(at),
        |piece| match line(out, &piece) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        },
    );
    let plan = match walked {
        Err(needs) => {
            return Err(Refusal::StillCorrupt(format!(
                "{needs}; nothing was changed"
            )))
        }
        Ok(ControlFlow::Break(e)) => return Err(unsaid(e)),
        Ok(ControlFlow::Continue(plan)) => plan,
    };
    writeln!(
        out,
        "result: {} kept (every intact record found), {} dropped",
        describe::records(plan.records()),
        describe::bytes_n(plan.dropped_bytes())
    )
    .map_err(unsaid)?;
    if plan.dropped_ranges > 0 {
        writeln!(
            out,
            "the dropped bytes may have held records no reader can recover: replaying the \
             result does not redo what they did (a lost DEL brings its key back)"
        )
        .map_err(unsaid)?;
    }
    Ok(plan)
}

/// Writes the header and the kept ranges to `tmp` (walking the plan again: it must come out
/// the same), and checks that what was written reads clean with exactly the planned
/// records.
fn write_and_verify(
    tmp: &Tmp,
    loaded: &Loaded,
    version: u8,
    verdict: &Verdict,
    plan: &Salvage,
) -> Result<(), Refusal> {
    let bytes = loaded.bytes();
    let io_failed = |doing: &str| {
        let path = tmp.path.clone();
        let doing = format!("{doing}; nothing was changed");
        move |error| Refusal::Io(Failed { path, doing, error })
    };
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER_LEN, &tmp.file);
    writer
        .write_all(&format::header(plan.version))
        .map_err(io_failed("writing the new file"))?;
    let walked = salvage::walk(
        bytes,
        version,
        loaded.key.as_ref(),
        verdict,
        &|at| loaded.release_before(at),
        |piece| match piece {
            Piece::Kept(k) => {
                match writer.write_all(&bytes[k.range.start as usize..k.range.end as usize]) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => ControlFlow::Break(e),
                }
            }
            _ => ControlFlow::Continue(()),
        },
    );
    let again = match walked {
        Ok(ControlFlow::Continue(again)) => again,
        Ok(ControlFlow::Break(e)) => return Err(io_failed("writing the new file")(e)),
        Err(needs) => return Err(Refusal::Unverified(format!("{needs}"))),
    };
    writer.flush().map_err(io_failed("writing the new file"))?;
    drop(writer);
    if &again != plan {
        return Err(Refusal::Unverified(format!(
            "{}: the plan came out different the second time ({plan:?}, then {again:?}): \
             the file changed while it was being repaired; nothing was changed",
            loaded.name()
        )));
    }
    let written =
        Mapped::new(&tmp.file, &tmp.path).map_err(io_failed("reading the new file back"))?;
    let expected = Verdict::Clean {
        records: plan.records(),
        end: plan.output_len(),
    };
    let got = Reader::new(written.bytes(), plan.version, loaded.key.as_ref()).map(|mut reader| {
        let stop = reader.run(&|at| written.release_before(at), |_| {
            ControlFlow::<()>::Continue(())
        });
        match stop {
            ControlFlow::Continue(stop) => reader.verdict(stop),
            ControlFlow::Break(()) => unreachable!("the visitor never breaks"),
        }
    });
    match got {
        Ok(verdict) if verdict == expected && written.bytes().len() as u64 == plan.output_len() => {
            Ok(())
        }
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
