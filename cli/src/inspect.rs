//! `eaof inspect`: every intact record of a file, one line (or one JSON object) each, in
//! file order with its byte offset and length, then the verdict. In a corrupt file, the
//! intact records after the damage are listed too, as `repair --force` sees them: each
//! damaged range on a line of its own, and each record after the first damage marked.
//!
//! Guarantees: the file is mapped and read once (twice past the first damage of a corrupt
//! file); records are written as they are read, through one buffer, nothing per record
//! held (see [`crate::fields`]); the text output is safe on a terminal (see
//! [`crate::show`]); the JSON output is lossless: each record object, without its
//! `offset`, `len` and `after_damage`, is exactly `eaof_conformance::json`'s JSON of the
//! record (see [`crate::json_line`]). The last line is always the verdict (an `unreadable`
//! one included), and the exit code is `check`'s.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use eaof::format::{self, HEADER_LEN};
use eaof::{Damage, RecordKind, Verdict};

use crate::check::{salvage_of, unreadable};
use crate::describe::{self, verdict_line, Located};
use crate::exit::{codes_help, Exit};
use crate::load::{Loaded, Target};
use crate::out;
use crate::records::Intact;
use crate::salvage::{self, Piece};
use crate::show::TextFields;
use crate::verdict_json;

/// List every record of a file, then its verdict
///
/// One line per intact record, in file order: its byte offset, its length in bytes (framing
/// included: CRC32, or nonce, length and GCM tag), its kind, and its fields. Printable text
/// shows quoted and escaped; other bytes show as hex (0x...); values over 64 characters (32
/// bytes as hex) and lists over 8 items are cut, with their full length given. The last line
/// is the verdict, the same line `eaof check` prints.
///
/// In a corrupt file (an intact record lies beyond the damage), the listing goes on past
/// the damage the way `eaof repair --force` reads the file: each damaged range is a line
/// whose kind column says `damaged` (its bytes, and what is wrong at its first byte), and
/// each record after the first damage has `(after damage)` before its fields.
///
/// With --json: JSON Lines, one object per record, then one verdict object. A record object
/// is {"offset": N, "len": N, "kind": "SET", <fields>}: without "offset" and "len" it is the
/// lossless record JSON of eaof_conformance::json and of the test vectors (bytes as
/// {"hex": ..., "text": ...}, floats as {"value": ..., "bits": "0x..."}, so -0.0, infinities
/// and NaN payloads are exact; 64-bit integers are exact, so parse them as such). In a
/// corrupt file, a record after the first damage has "after_damage": true, and a damaged
/// range is {"offset": N, "len": N, "damage": {"class", "byte", "what", "field",
/// "message"}}. The last object is the verdict, exactly what `eaof check --json` prints.
#[derive(Debug, clap::Args)]
#[command(after_long_help = INSPECT_AFTER)]
pub struct Args {
    #[command(flatten)]
    target: Target,

    /// Print JSON Lines (one object per record, then the verdict) instead of text.
    #[arg(long)]
    json: bool,
}

const INSPECT_AFTER: &str = concat!(
    codes_help!(),
    "\n\nThe exit code is `eaof check`'s for the same file.",
    "\n\nExamples:\n  eaof inspect shard-0.aof\n  ",
    "eaof inspect --key-file shard.key shard-0.aof\n  ",
    "eaof inspect --json shard-0.aof | jq -c 'select(.kind == \"SET\") | .key'"
);

pub fn run(args: &Args) -> ExitCode {
    let mut out = out::stdout();
    let result = inspect(args, &mut out);
    out::finish("inspect", out, result)
}

fn inspect(args: &Args, out: &mut impl Write) -> io::Result<Exit> {
    let loaded = match Loaded::read(&args.target) {
        Ok(loaded) => loaded,
        Err(e) => return unreadable(&e, args.json, out),
    };
    crate::leftovers::note(&loaded.path);
    let bytes = loaded.bytes();
    let mut listing = Listing {
        json: args.json,
        columns: Columns::for_file(bytes.len()),
        after_damage: false,
    };
    if !args.json {
        let version = match loaded.version() {
            Some(v) if format::is_sealed(v) => format!("version {v} (encrypted)"),
            Some(v) => format!("version {v} (plaintext)"),
            None => "no complete header".to_owned(),
        };
        writeln!(
            out,
            "{}: {}, {version}",
            loaded.name(),
            describe::bytes_n(bytes.len() as u64)
        )?;
        listing.columns.heading(out)?;
    }
    let judged = loaded.judge_with(|record| flow(listing.record(out, &record)));
    let verdict = match judged {
        Err(e) => return unreadable(&e, args.json, out),
        Ok(ControlFlow::Break(e)) => return Err(e),
        Ok(ControlFlow::Continue(verdict)) => verdict,
    };
    if let Some(note) = loaded.unused_key_note(&verdict) {
        crate::note!("{note}");
    }
    if let (
        Verdict::Corrupt {
            offset,
            cause: cause @ Damage::VersionMismatch { .. },
            ..
        },
        Some(version),
    ) = (&verdict, loaded.version())
    {
        let located = describe::locate(bytes, version, loaded.key.as_ref(), *offset, cause);
        listing.damage(out, 4, 1, cause.class(), &located)?;
    }
    let salvage = match (&verdict, loaded.version()) {
        (Verdict::Corrupt { .. }, Some(version)) => {
            let walked = salvage::walk(
                bytes,
                version,
                loaded.key.as_ref(),
                &verdict,
                &|at| loaded.release_before(at),
                |piece| match piece {
                    Piece::Record(record) => flow(listing.record(out, &record)),
                    Piece::Kept(_) => ControlFlow::Continue(()),
                    Piece::Dropped(d) => flow(listing.damage(
                        out,
                        d.range.start,
                        d.range.end - d.range.start,
                        d.class,
                        &d.located,
                    )),
                },
            );
            Some(match walked {
                Ok(ControlFlow::Break(e)) => return Err(e),
                Ok(ControlFlow::Continue(plan)) => Ok(plan),
                Err(needs) => Err(needs),
            })
        }
        _ => salvage_of(&loaded, &verdict),
    };
    if args.json {
        let object = verdict_json::verdict(&loaded, &verdict, salvage.as_ref());
        writeln!(out, "{object}")?;
    } else {
        let line = verdict_line(
            &loaded.name(),
            bytes,
            loaded.key.as_ref(),
            &verdict,
            salvage.as_ref(),
        );
        writeln!(out, "{line}")?;
    }
    Ok(Exit::of(&verdict))
}

fn flow(result: io::Result<()>) -> ControlFlow<io::Error> {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    }
}

/// Writes the listing's lines.
struct Listing {
    json: bool,
    columns: Columns,
    /// A damaged range has been listed: the records from here on are after damage.
    after_damage: bool,
}

impl Listing {
    fn record(&mut self, out: &mut impl Write, record: &Intact<'_>) -> io::Result<()> {
        if self.json {
            return crate::json_line::write_record(
                out,
                record.offset,
                record.len,
                self.after_damage,
                record.plain,
            );
        }
        self.columns
            .start(out, record.offset, record.len, record.record.kind().name())?;
        if self.after_damage {
            out.write_all(b"(after damage) ")?;
        }
        crate::fields::walk(record.plain, &mut TextFields(out))?;
        out.write_all(b"\n")
    }

    fn damage(
        &mut self,
        out: &mut impl Write,
        offset: u64,
        len: u64,
        class: &str,
        located: &Located,
    ) -> io::Result<()> {
        self.after_damage = true;
        if self.json {
            let object = serde_json::json!({
                "offset": offset,
                "len": len,
                "damage": {
                    "class": class,
                    "byte": located.byte,
                    "what": located.what,
                    "field": located.field,
                    "message": located.to_string(),
                },
            });
            return writeln!(out, "{object}");
        }
        self.columns.start(out, offset, len, "damaged")?;
        writeln!(out, "{located}")
    }
}

/// Column widths of the text output.
struct Columns {
    offset: usize,
    kind: usize,
}

impl Columns {
    fn for_file(len: usize) -> Columns {
        Columns {
            offset: len.max(HEADER_LEN).to_string().len().max("offset".len()),
            kind: RecordKind::ALL
                .iter()
                .map(|k| k.name().len())
                .max()
                .unwrap_or(4),
        }
    }

    fn heading(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{:>o$}  {:>o$}  {:<k$}  fields",
            "offset",
            "len",
            "kind",
            o = self.offset,
            k = self.kind
        )
    }

    /// Writes `{offset:>o$}  {len:>o$}  {kind:<k$}  ` (what `write!` would, without it).
    fn start(&self, out: &mut impl Write, offset: u64, len: u64, kind: &str) -> io::Result<()> {
        let mut num = itoa::Buffer::new();
        for n in [offset, len] {
            let digits = num.format(n);
            pad(out, self.offset.saturating_sub(digits.len()))?;
            out.write_all(digits.as_bytes())?;
            out.write_all(b"  ")?;
        }
        out.write_all(kind.as_bytes())?;
        pad(out, self.kind.saturating_sub(kind.len()))?;
        out.write_all(b"  ")
    }
}

fn pad(out: &mut impl Write, n: usize) -> io::Result<()> {
    const SPACES: &[u8; 32] = b"                                ";
    let mut left = n;
    while left > 0 {
        let now = left.min(SPACES.len());
        out.write_all(&SPACES[..now])?;
        left -= now;
    }
    Ok(())
}
