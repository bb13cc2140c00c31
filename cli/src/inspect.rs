//! `eaof inspect`: every intact record of a file, one line (or one JSON object) each, in
//! file order with its byte offset and length, then the verdict.
//!
//! Guarantees: the file is read once and records are borrowed from its bytes (the zero-copy
//! scanner); the text output is safe on a terminal (see [`crate::show`]); the JSON output is
//! lossless: each record object, without its `offset` and `len`, is exactly
//! `eaof_conformance::json`'s JSON of the record, and reads back to the same record bit for bit.
//! The last line is always the verdict (an `unreadable` one included), and the exit code is
//! `check`'s.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use serde_json::{json, Map, Value};

use eaof::codec::record_len;
use eaof::format::{self, HEADER_LEN};
use eaof::{RecordKind, RecordRef, Verdict};
use eaof_conformance::{json as record_json, walk};

use crate::describe::{self, verdict_line};
use crate::exit::{codes_help, Exit};
use crate::load::{Loaded, Target, Unreadable};
use crate::salvage::Salvage;

/// List every record of a file, then its verdict
///
/// One line per intact record, in file order: its byte offset, its length in bytes (framing
/// included: CRC32, or nonce, length and GCM tag), its kind, and its fields. Printable text
/// shows quoted and escaped; other bytes show as hex (0x...); values over 64 characters (32
/// bytes as hex) and lists over 8 items are cut, with their full length given. The last line
/// is the verdict, the same line `eaof check` prints.
///
/// With --json: JSON Lines, one object per record, then one verdict object. A record object
/// is {"offset": N, "len": N, "kind": "SET", <fields>}: without "offset" and "len" it is the
/// lossless record JSON of eaof_conformance::json and of the test vectors (bytes as
/// {"hex": ..., "text": ...}, floats as {"value": ..., "bits": "0x..."}, so -0.0, infinities
/// and NaN payloads are exact; 64-bit integers are exact, so parse them as such). The verdict
/// object has "verdict": "clean", "torn_tail", "corrupt" or "unreadable", with its offsets,
/// "cause" and "repair".
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
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let exit = match inspect(args, &mut out).and_then(|exit| out.flush().map(|()| exit)) {
        Ok(exit) => exit,
        // A reader that stopped early (`| head`) is not a failure of the file.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eaof inspect: cannot write the output: {e}");
            Exit::Unreadable
        }
    };
    exit.into()
}

fn inspect(args: &Args, out: &mut impl Write) -> io::Result<Exit> {
    let loaded = match Loaded::read(&args.target) {
        Ok(loaded) => loaded,
        Err(e) => return unreadable(&e, args.json, out),
    };
    let mut scanner = match loaded.scanner() {
        Ok(scanner) => scanner,
        Err(e) => return unreadable(&e, args.json, out),
    };
    let sealed = scanner.version().is_some_and(format::is_sealed);
    let columns = Columns::for_file(loaded.bytes.len());
    if !args.json {
        let version = match scanner.version() {
            Some(v) if format::is_sealed(v) => format!("version {v} (encrypted)"),
            Some(v) => format!("version {v} (plaintext)"),
            None => "no complete header".to_owned(),
        };
        writeln!(
            out,
            "{}: {}, {version}",
            loaded.name(),
            describe::bytes_n(loaded.bytes.len() as u64)
        )?;
        columns.heading(out)?;
    }
    let mut plain = Vec::new();
    while let Some((offset, record)) = scanner.next_record() {
        let bytes = plaintext(&loaded.bytes, sealed, offset, &record, &mut plain);
        let kind = record.kind();
        // The record's borrow ends here; the scanner's position then gives its length.
        if args.json {
            let object = record_json::bytes_to_json(bytes)
                .unwrap_or_else(|e| json!({"kind": kind.name(), "error": e.to_string()}));
            let len = scanner.position() - offset;
            let mut line = Map::new();
            line.insert("offset".into(), offset.into());
            line.insert("len".into(), len.into());
            if let Value::Object(fields) = object {
                line.extend(fields);
            }
            writeln!(out, "{}", Value::Object(line))?;
        } else {
            let fields = match walk::walk(bytes) {
                Ok(walked) => crate::show::fields(&walked),
                // Unreachable for a record the scanner called intact; said rather than hidden.
                Err(e) => format!("(does not walk: {e})"),
            };
            let len = scanner.position() - offset;
            columns.record(out, offset, len, kind, &fields)?;
        }
    }
    let verdict = scanner.finish();
    if let Some(note) = loaded.unused_key_note(&verdict) {
        eprintln!("{note}");
    }
    if let Some(e) = loaded.unreadable(&verdict) {
        return unreadable(&e, args.json, out);
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
    if args.json {
        let object = verdict_json(&loaded, &verdict, salvage.as_ref());
        writeln!(out, "{object}")?;
    } else {
        let line = verdict_line(
            &loaded.name(),
            &loaded.bytes,
            loaded.key.as_ref(),
            &verdict,
            salvage.as_ref(),
        );
        writeln!(out, "{line}")?;
    }
    Ok(Exit::of(&verdict))
}

/// The record's tag and payload: borrowed from the file for plaintext records; for sealed
/// ones (whose plaintext lives in the scanner) encoded again into `buf`.
fn plaintext<'b>(
    file: &'b [u8],
    sealed: bool,
    offset: u64,
    record: &RecordRef<'_>,
    buf: &'b mut Vec<u8>,
) -> &'b [u8] {
    let rest = file.get(offset as usize..).unwrap_or_default();
    if !sealed {
        if let Ok(len) = record_len(rest) {
            return &rest[..len];
        }
    }
    buf.clear();
    // A record read from a file always encodes (the reader accepts nothing the writer
    // refuses); on failure the empty buffer shows as an error, not a panic.
    let _ = record.to_record().encode_into(buf);
    buf
}

fn unreadable(e: &Unreadable, json: bool, out: &mut impl Write) -> io::Result<Exit> {
    if json {
        let object = json!({
            "verdict": "unreadable",
            "file": e.path().display().to_string(),
            "reason": e.class(),
            "message": e.to_string(),
        });
        writeln!(out, "{object}")?;
    } else {
        writeln!(out, "{e}")?;
    }
    Ok(Exit::Unreadable)
}

fn verdict_json(
    loaded: &Loaded,
    verdict: &Verdict,
    salvage: Option<&Result<Salvage, crate::salvage::NeedsKey>>,
) -> Value {
    let version = loaded.version();
    let cause_json = |offset: u64, cause: &eaof::Damage| {
        let located = describe::locate(
            &loaded.bytes,
            version.unwrap_or(format::FORMAT_VERSION),
            loaded.key.as_ref(),
            offset,
            cause,
        );
        json!({
            "class": cause.class(),
            "byte": located.byte,
            "what": located.what,
            "field": located.field,
            "message": located.to_string(),
        })
    };
    let object = match verdict {
        Verdict::Clean { records, end } => json!({
            "verdict": "clean",
            "records": records,
            "end": end,
            "repair": "nothing to repair",
        }),
        Verdict::TornTail {
            records,
            offset,
            len,
            cause,
        } => json!({
            "verdict": "torn_tail",
            "records": records,
            "offset": offset,
            "len": len,
            "cause": cause_json(*offset, cause),
            "repair": if *offset == 0 {
                "write a new header".to_owned()
            } else {
                format!("cut the file to {offset} bytes")
            },
        }),
        Verdict::Corrupt {
            records,
            offset,
            next_intact,
            cause,
        } => json!({
            "verdict": "corrupt",
            "records": records,
            "offset": offset,
            "next_intact": next_intact,
            "cause": cause_json(*offset, cause),
            "repair": match salvage {
                Some(Ok(plan)) => format!("refused; with --force: {}", plan.summary()),
                Some(Err(needs)) => format!("refused; {needs}"),
                None => "refused".to_owned(),
            },
        }),
    };
    // The verdict first, then the file, then the verdict's own fields in order.
    let mut head = Map::new();
    if let Value::Object(map) = object {
        let mut fields = map.into_iter();
        if let Some((name, verdict)) = fields.next() {
            head.insert(name, verdict);
        }
        head.insert("file".into(), loaded.name().into());
        head.insert("version".into(), version.into());
        head.insert("file_len".into(), (loaded.bytes.len() as u64).into());
        head.extend(fields);
    }
    Value::Object(head)
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

    fn record(
        &self,
        out: &mut impl Write,
        offset: u64,
        len: u64,
        kind: RecordKind,
        fields: &str,
    ) -> io::Result<()> {
        writeln!(
            out,
            "{offset:>o$}  {len:>o$}  {:<k$}  {fields}",
            kind.name(),
            o = self.offset,
            k = self.kind
        )
    }
}
