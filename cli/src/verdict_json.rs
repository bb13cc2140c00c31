//! The verdict as one JSON object: what `check --json` prints, and the last line of
//! `inspect --json`. Its fields are documented in `check --help` and the README; scripts
//! read it, so a field once there keeps its name and meaning.
//!
//! Guarantees: the object names the data file, says the verdict in one word, and always has
//! `records`, `ok_up_to` and `next_intact` (null where they do not apply), so that a script
//! can read them without looking at the verdict first.

use serde_json::{json, Map, Value};

use eaof::format;
use eaof::Verdict;

use crate::describe;
use crate::load::{Loaded, Unreadable};
use crate::salvage::{NeedsKey, Salvage};

/// What each field means, for `check --help` (a macro, so that `concat!` can join it).
macro_rules! fields_help {
    () => {
        "JSON (--json): one object on one line:
  verdict      \"clean\", \"torn_tail\", \"corrupt\" or \"unreadable\"
  file         the file, as given
  version      the header's version (null when the header is incomplete or unreadable)
  file_len     the file's length in bytes
  records      intact records read before the end or the first damage
  ok_up_to     the file is valid up to this byte offset: the end of the last intact record
               before the end or the damage (redis-check-aof's ok_up_to); 0 when the
               header is torn
  next_intact  corrupt: the offset of the next intact record after the damage; else null
  end          clean: the offset where the records end (the file's length)
  offset, len  torn tail and corrupt: where the damage starts; torn tail: its length
  cause        torn tail and corrupt: {\"class\", \"byte\", \"what\", \"field\", \"message\"}:
               what is wrong at the first damaged byte
  salvage      corrupt: what `repair --force` would write: {\"version\", \"records\" kept,
               \"bytes\" of the result, \"dropped_bytes\", \"dropped_ranges\"}; null when it
               needs a key
  repair       what `eaof repair` would do, in words
  reason, message  unreadable: a short name of why (not_eaof, unsupported_version,
               key_required, wrong_key, key_file, not_regular, io) and the message
  key_file     unreadable because of the key file: the key file"
    };
}
pub(crate) use fields_help;

/// The verdict object of `loaded` judged `verdict`; `salvage` is the plan for a corrupt file.
pub fn verdict(
    loaded: &Loaded,
    verdict: &Verdict,
    salvage: Option<&Result<Salvage, NeedsKey>>,
) -> Value {
    let bytes = loaded.bytes();
    let version = loaded.version();
    let cause = |offset: u64, cause: &eaof::Damage| {
        let located = describe::locate(
            bytes,
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
    let mut object = Map::new();
    let mut put = |name: &str, value: Value| {
        object.insert(name.to_owned(), value);
    };
    put(
        "verdict",
        match verdict {
            Verdict::Clean { .. } => "clean",
            Verdict::TornTail { .. } => "torn_tail",
            Verdict::Corrupt { .. } => "corrupt",
        }
        .into(),
    );
    put("file", loaded.name().into());
    put("version", version.into());
    put("file_len", loaded.len().into());
    put("records", verdict.records().into());
    put("ok_up_to", verdict.intact_end().into());
    let next_intact = match verdict {
        Verdict::Corrupt { next_intact, .. } => Value::from(*next_intact),
        _ => Value::Null,
    };
    put("next_intact", next_intact);
    match verdict {
        Verdict::Clean { end, .. } => {
            put("end", (*end).into());
            put("repair", "nothing to repair".into());
        }
        Verdict::TornTail {
            offset,
            len,
            cause: c,
            ..
        } => {
            put("offset", (*offset).into());
            put("len", (*len).into());
            put("cause", cause(*offset, c));
            let repair = if *offset == 0 {
                "write a new header".to_owned()
            } else if describe::sealed_looking_tail(bytes, verdict) {
                format!("refused without --force: {}", describe::SEALED_LOOKING)
            } else {
                format!("cut the file to {offset} bytes")
            };
            put("repair", repair.into());
        }
        Verdict::Corrupt {
            offset, cause: c, ..
        } => {
            put("offset", (*offset).into());
            put("cause", cause(*offset, c));
            let plan = match salvage {
                Some(Ok(plan)) => json!({
                    "version": plan.version,
                    "records": plan.records(),
                    "bytes": plan.output_len(),
                    "dropped_bytes": plan.dropped_bytes(),
                    "dropped_ranges": plan.dropped_ranges,
                }),
                _ => Value::Null,
            };
            put("salvage", plan);
            let repair = match salvage {
                Some(Ok(plan)) => format!("refused; with --force: {}", plan.summary()),
                Some(Err(needs)) => format!("refused; {needs}"),
                None => "refused".to_owned(),
            };
            put("repair", repair.into());
        }
    }
    Value::Object(object)
}

/// The object of a file that cannot be read.
pub fn unreadable(e: &Unreadable) -> Value {
    let mut object = json!({
        "verdict": "unreadable",
        "file": e.path().display().to_string(),
        "records": null,
        "ok_up_to": null,
        "next_intact": null,
        "reason": e.class(),
        "message": e.to_string(),
    });
    if let Unreadable::KeyFile { key_path, .. } = e {
        object["key_file"] = key_path.display().to_string().into();
    }
    object
}
