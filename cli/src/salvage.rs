//! The plan `repair --force` follows for a corrupt file: keep every intact record, drop only
//! the bytes no intact record covers.
//!
//! Why this loses least: cutting at the first damage would drop every intact record after
//! it, and the damaged bytes themselves cannot be trusted (their lengths may be wrong too).
//! So the plan reads records as a reader does; at damage, it looks for the next byte where an
//! intact record starts (the test `frame::find_intact` and the verdict use) and goes on
//! reading from there. What is dropped is exactly the byte ranges between damage and the next
//! intact record (or the end of the file).
//!
//! The plan is walked, not stored: [`walk`] hands each piece (a record after the first
//! damage, a run of records kept, a range dropped) to its caller in file order, and returns
//! a [`Salvage`] of bounded size (totals, and the first [`DROPPED_LISTED_MAX`] ranges), so
//! that a plan over a file of any size, with any number of damaged ranges, takes the same
//! memory. `repair` walks it twice (to show it, then to write it) and checks the two agree.
//!
//! Guarantees: the kept ranges are whole intact frames in file order, copied byte for byte
//! (sealed records are not re-encrypted, so no key or nonce is needed to write them); the
//! dropped ranges and the kept ranges together cover every byte after the header exactly
//! once; the result, a header followed by the kept ranges, reads clean with exactly
//! [`Salvage::records`] records (the caller verifies this before replacing anything). A
//! header whose version byte is damaged (`Damage::VersionMismatch`) is rewritten to the
//! version the records read as, and the records are then planned under it.

use std::fmt;
use std::ops::{ControlFlow, Range};

use eaof::encryption::{EncryptionKey, Sealer};
use eaof::format::HEADER_LEN;
use eaof::frame::{self, Damage, Step, Verdict};

use crate::describe::{self, Located};
use crate::map::RELEASE_STEP;
use crate::records::{Intact, Reader};

/// Dropped ranges listed by name in a plan's one-line summary; the others are counted.
pub const DROPPED_LISTED_MAX: usize = 8;

/// A run of intact records, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub range: Range<u64>,
    pub records: u64,
}

/// Bytes no intact record covers, dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub range: Range<u64>,
    /// What is wrong at the range's first byte.
    pub located: Located,
    /// The damage class (`checksum_mismatch`, `truncated`...).
    pub class: &'static str,
}

/// One piece of a plan, in file order.
pub enum Piece<'a> {
    /// An intact record after the first damage (the records before it are the first
    /// [`Piece::Kept`], which the caller has read already).
    Record(Intact<'a>),
    /// A run of intact records ended (at damage, or at the end of the file).
    Kept(Kept),
    Dropped(Dropped),
}

/// What `repair --force` would write, in totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    /// The version of the header written.
    pub version: u8,
    /// The damaged version byte it replaces, when it does.
    pub header_from: Option<u8>,
    /// Records kept.
    pub records: u64,
    /// Bytes of the records kept.
    pub kept_bytes: u64,
    /// Bytes dropped, in how many ranges.
    pub dropped_bytes: u64,
    pub dropped_ranges: u64,
    /// The first [`DROPPED_LISTED_MAX`] dropped ranges.
    pub listed: Vec<Range<u64>>,
}

/// No plan can be made without a key: the damaged header hides a sealed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsKey {
    pub body: u8,
}

impl fmt::Display for NeedsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the records look like version {} (encrypted) records: pass --key-file to check \
             them and plan a repair",
            self.body
        )
    }
}

/// Walks the plan for `bytes`, a file of `version` judged `verdict` (corrupt), handing each
/// piece to `visit`; `release(offset)` is called now and then with the walk's position.
pub fn walk<B>(
    bytes: &[u8],
    version: u8,
    key: Option<&EncryptionKey>,
    verdict: &Verdict,
    release: &dyn Fn(u64),
    mut visit: impl FnMut(Piece<'_>) -> ControlFlow<B>,
) -> Result<ControlFlow<B, Salvage>, NeedsKey> {
    let mut plan = Salvage {
        version,
        header_from: None,
        records: 0,
        kept_bytes: 0,
        dropped_bytes: 0,
        dropped_ranges: 0,
        listed: Vec::new(),
    };
    let body = match verdict {
        Verdict::Corrupt {
            cause: Damage::VersionMismatch { body },
            ..
        } => Some(*body),
        _ => None,
    };
    let planned_version = body.unwrap_or(version);
    let reader = Reader::new(bytes, planned_version, key).map_err(|_| NeedsKey {
        body: planned_version,
    })?;
    if let Some(body) = body {
        plan.version = body;
        plan.header_from = Some(version);
    }
    Ok(walk_records(
        bytes, key, verdict, reader, plan, release, &mut visit,
    ))
}

fn walk_records<B>(
    bytes: &[u8],
    key: Option<&EncryptionKey>,
    verdict: &Verdict,
    mut reader: Reader<'_>,
    mut plan: Salvage,
    release: &dyn Fn(u64),
    visit: &mut impl FnMut(Piece<'_>) -> ControlFlow<B>,
) -> ControlFlow<B, Salvage> {
    if let (
        None,
        Verdict::Corrupt {
            records,
            offset,
            next_intact,
            cause,
        },
    ) = (plan.header_from, verdict)
    {
        // The run before the first damage and the damage are the verdict's (read already).
        if *records > 0 {
            let kept = Kept {
                range: HEADER_LEN as u64..*offset,
                records: *records,
            };
            note_kept(&mut plan, &kept);
            visit(Piece::Kept(kept))?;
        }
        let dropped = dropped(
            bytes,
            plan.version,
            key,
            *offset,
            *next_intact,
            cause.clone(),
        );
        note_dropped(&mut plan, &dropped);
        visit(Piece::Dropped(dropped))?;
        reader.seek(*next_intact);
    }
    loop {
        let start = reader.position();
        let before = reader.records();
        let stop = reader.run(release, |record| visit(Piece::Record(record)))?;
        let run = Kept {
            range: start..reader.position(),
            records: reader.records() - before,
        };
        if run.records > 0 {
            note_kept(&mut plan, &run);
            visit(Piece::Kept(run))?;
        }
        let Some(cause) = stop else { break };
        let pos = reader.position() as usize;
        let next = find_intact(reader.sealer(), bytes, pos + 1, release);
        let end = next.unwrap_or(bytes.len());
        let dropped = dropped(bytes, plan.version, key, pos as u64, end as u64, cause);
        note_dropped(&mut plan, &dropped);
        visit(Piece::Dropped(dropped))?;
        match next {
            None => break,
            Some(next) => reader.seek(next as u64),
        }
    }
    ControlFlow::Continue(plan)
}

/// The plan alone.
pub fn plan(
    bytes: &[u8],
    version: u8,
    key: Option<&EncryptionKey>,
    verdict: &Verdict,
    release: &dyn Fn(u64),
) -> Result<Salvage, NeedsKey> {
    match walk(bytes, version, key, verdict, release, |_| {
        ControlFlow::<()>::Continue(())
    })? {
        ControlFlow::Continue(plan) => Ok(plan),
        ControlFlow::Break(()) => unreachable!("the visitor never breaks"),
    }
}

/// The range `start..end`, dropped for `cause` at `start`: zeros when every byte of it is
/// zero and the cause is not a complete record failing its check.
fn dropped(
    bytes: &[u8],
    version: u8,
    key: Option<&EncryptionKey>,
    start: u64,
    end: u64,
    cause: Damage,
) -> Dropped {
    let range = &bytes[start as usize..end as usize];
    let cause = match cause {
        c if !c.is_failed_record() && range.iter().all(|&b| b == 0) => {
            Damage::Zeros { len: end - start }
        }
        c => c,
    };
    Dropped {
        range: start..end,
        located: describe::locate(bytes, version, key, start, &cause),
        class: cause.class(),
    }
}

/// The first offset in `from..bytes.len()` where an intact record starts: exactly
/// `frame::find_intact`, in steps of [`RELEASE_STEP`] bytes with `release` between them.
pub fn find_intact(
    sealer: Option<&Sealer>,
    bytes: &[u8],
    from: usize,
    release: &dyn Fn(u64),
) -> Option<usize> {
    let mut plain = Vec::new();
    let mut at = from;
    while at < bytes.len() {
        let end = at.saturating_add(RELEASE_STEP).min(bytes.len());
        if let Some(q) = (at..end).find(|&q| {
            matches!(
                frame::step(sealer, &mut plain, bytes, q),
                Step::Record { .. }
            )
        }) {
            return Some(q);
        }
        release(end as u64);
        at = end;
    }
    None
}

fn note_kept(plan: &mut Salvage, kept: &Kept) {
    plan.records += kept.records;
    plan.kept_bytes += kept.range.end - kept.range.start;
}

fn note_dropped(plan: &mut Salvage, dropped: &Dropped) {
    plan.dropped_bytes += dropped.range.end - dropped.range.start;
    plan.dropped_ranges += 1;
    if plan.listed.len() < DROPPED_LISTED_MAX {
        plan.listed.push(dropped.range.clone());
    }
}

impl Salvage {
    /// Records kept.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes dropped.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Bytes of the file the plan writes.
    pub fn output_len(&self) -> u64 {
        HEADER_LEN as u64 + self.kept_bytes
    }

    /// One clause: what the plan does.
    pub fn summary(&self) -> String {
        let header = match self.header_from {
            Some(from) => format!(
                "rewrite byte 4 (the version) from {from} to {}, ",
                self.version
            ),
            None => String::new(),
        };
        let ranges = self.dropped_ranges;
        let dropped = if ranges == 0 {
            "dropping nothing".to_owned()
        } else {
            let mut listed = self
                .listed
                .iter()
                .map(|r| format!("{}..{}", r.start, r.end))
                .collect::<Vec<_>>()
                .join(", ");
            let unlisted = ranges - self.listed.len() as u64;
            if unlisted > 0 {
                listed.push_str(&format!(" and {unlisted} more"));
            }
            format!(
                "dropping {} in {} ({listed})",
                describe::bytes_n(self.dropped_bytes),
                if ranges == 1 {
                    "1 range".to_owned()
                } else {
                    format!("{ranges} ranges")
                },
            )
        };
        format!(
            "{header}keep all {} intact records found, {dropped}",
            self.records
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eaof::format;
    use eaof::scanner::Scanner;
    use eaof::AofRecord;

    fn v2_file() -> Vec<u8> {
        let mut bytes = format::header(2).to_vec();
        for i in 0..8u8 {
            let record = AofRecord::Set {
                key: format!("key{i}"),
                value: vec![i; usize::from(i) * 3].into(),
                expire_ms: -1,
            };
            let start = bytes.len();
            record.encode_into(&mut bytes).unwrap();
            let crc = format::crc32(&bytes[start..]);
            bytes.extend_from_slice(&crc.to_le_bytes());
        }
        bytes
    }

    /// The pieces of a plan: kept and dropped ranges, and the records after the damage.
    /// The plan's totals, its kept and dropped ranges, all its ranges in the order they
    /// came, and the records after the damage.
    #[allow(clippy::type_complexity)]
    fn pieces(
        bytes: &[u8],
        verdict: &Verdict,
    ) -> (Salvage, Vec<Kept>, Vec<Dropped>, Vec<Range<u64>>, Vec<u64>) {
        let (mut kept, mut dropped, mut order, mut records) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let walked = walk(bytes, 2, None, verdict, &|_| {}, |piece| {
            match piece {
                Piece::Record(r) => records.push(r.offset),
                Piece::Kept(k) => {
                    order.push(k.range.clone());
                    kept.push(k)
                }
                Piece::Dropped(d) => {
                    order.push(d.range.clone());
                    dropped.push(d)
                }
            }
            ControlFlow::<()>::Continue(())
        });
        let ControlFlow::Continue(plan) = walked.unwrap() else {
            unreachable!()
        };
        (plan, kept, dropped, order, records)
    }

    /// For every single-bit flip that makes the file corrupt: the kept and dropped ranges
    /// cover every byte after the header exactly once, in order; the header and the kept
    /// ranges read clean with exactly the planned records, which include every record
    /// before the damage and at least the intact one the verdict found after it; the
    /// records handed over are those of the kept ranges after the first damage; the
    /// totals are the pieces' sums.
    #[test]
    fn every_byte_is_kept_or_dropped_once_and_the_result_reads_clean() {
        let clean = v2_file();
        let mut corrupt_cases = 0;
        for at in HEADER_LEN..clean.len() {
            for bit in 0..8 {
                let mut bytes = clean.clone();
                bytes[at] ^= 1 << bit;
                let verdict = Scanner::new(&bytes, None).unwrap().finish();
                let Verdict::Corrupt {
                    records, offset, ..
                } = verdict
                else {
                    continue;
                };
                corrupt_cases += 1;
                let (plan, kept, dropped, in_order, after) = pieces(&bytes, &verdict);
                let mut ranges = in_order.clone();
                ranges.sort_by_key(|r| r.start);
                assert_eq!(ranges, in_order, "pieces come in file order");
                let mut next = HEADER_LEN as u64;
                for range in &ranges {
                    assert_eq!(range.start, next, "flip at {at}.{bit}: {plan:?}");
                    assert!(range.end > range.start, "flip at {at}.{bit}: {plan:?}");
                    next = range.end;
                }
                assert_eq!(next, bytes.len() as u64, "flip at {at}.{bit}");
                let mut out = format::header(plan.version).to_vec();
                for k in &kept {
                    out.extend_from_slice(&bytes[k.range.start as usize..k.range.end as usize]);
                }
                assert_eq!(out.len() as u64, plan.output_len());
                let (scanned, verdict_out) = {
                    let mut scanner = Scanner::new(&out, None).unwrap();
                    let mut n = 0;
                    while scanner.next_record().is_some() {
                        n += 1;
                    }
                    (n, scanner.finish())
                };
                assert_eq!(
                    verdict_out,
                    Verdict::Clean {
                        records: plan.records(),
                        end: out.len() as u64
                    }
                );
                assert_eq!(scanned, plan.records());
                assert!(plan.records() > records, "flip at {at}.{bit}: {plan:?}");
                assert_eq!(plan.records() - records, after.len() as u64);
                assert!(after.iter().all(|&o| o > offset));
                assert_eq!(plan.dropped_ranges, dropped.len() as u64);
                assert_eq!(
                    plan.dropped_bytes(),
                    dropped
                        .iter()
                        .map(|d| d.range.end - d.range.start)
                        .sum::<u64>()
                );
            }
        }
        assert!(corrupt_cases > 100, "only {corrupt_cases} corrupt cases");
    }

    /// The stepped search finds what the library's finds, from every start.
    #[test]
    fn find_intact_is_the_librarys() {
        let mut bytes = v2_file();
        bytes[20] ^= 0x40;
        for from in 0..=bytes.len() {
            assert_eq!(
                find_intact(None, &bytes, from, &|_| {}),
                frame::find_intact(None, &bytes, from),
                "from {from}"
            );
        }
    }

    /// A plan of more damaged ranges than are listed names the first ones and counts the
    /// rest.
    #[test]
    fn a_long_plan_lists_its_first_ranges_and_counts_the_others() {
        let plan = Salvage {
            version: 2,
            header_from: None,
            records: 3,
            kept_bytes: 90,
            dropped_bytes: 20,
            dropped_ranges: 10,
            listed: (0..DROPPED_LISTED_MAX as u64)
                .map(|i| i * 10..i * 10 + 2)
                .collect(),
        };
        assert!(
            plan.summary().ends_with("60..62, 70..72 and 2 more)"),
            "{}",
            plan.summary()
        );
    }
}
