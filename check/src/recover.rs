//! Recovering crash images and damaged files through a target, and judging what it read.
//!
//! For each image the [`Recoverer`] loads it into the target (a crash), reads it back with
//! the implementation's reader, reopens its writer (recovery), appends a marker record,
//! syncs and reads back again; and it asks the format's reference reader (eaof's
//! `Scanner`, see [`crate::reference`]) for the verdict the format gives the same bytes. The findings:
//! - what was read is a prefix of what was written, holds every acknowledged record, and
//!   replays to a state the model had ([`History::judge`]);
//! - a crash image ends where the format says (every record wholly before the damage read,
//!   a torn tail at the first damaged byte): checked on the reference against the record
//!   spans the harness computed itself, and on the target against the reference;
//! - a reader errs exactly where the format requires an error;
//! - the writer reopens whatever the format says it must cut and append to, and records
//!   appended after recovery read back.
//!
//! **Linear cuts.** Reading every cut of a file from its start costs the square of its
//! length. Records are framed one by one (a CRC or a GCM tag each, nothing chained), so what
//! a reader makes of a cut depends only on the bytes after the last record wholly before
//! it: the recoverer reads the *tail image* `header + that record + the rest`, and the
//! records before it are known from the clean read of the whole file. The one intact record
//! kept in front preserves what a reader may infer from "no intact record so far" (a v3 file
//! whose first record fails is read as a wrong key). Tail outcomes are cached by the tail's
//! bytes, and images already recovered (the same prefix hash and tail) are merged: each
//! distinct image costs one tail read, however many runs leave it. `linear: false` reads
//! every image whole, to check the shortcut against the definition.

use std::collections::HashMap;
use std::rc::Rc;

use eaof::format::HEADER_LEN;
use eaof::{AofRecord, Verdict};

use crate::crash::{CrashImage, Fnv};
use crate::history::History;
pub use crate::reference::{shape, shift_verdict, Reference};
use crate::report::{Counts, FailureKind, Finding};
use crate::show;
use crate::target::{FileState, ReadBack, ReadEnd, Target, TargetError, Version};
use eaof_model::gen::record_lists_bit_equal;

/// The record a recovered writer appends, to show that appending after recovery works.
pub fn marker() -> AofRecord {
    AofRecord::Set {
        key: "eaof-check:marker".into(),
        value: bytes::Bytes::from_static(b"appended after recovery"),
        expire_ms: -1,
    }
}

/// What the target did with one image (a tail image, when reading linearly).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What its reader returned.
    pub read: ReadBack,
    /// The format's verdict on the same bytes.
    pub reference: Reference,
    /// Reopening: `Ok`, or the refusal.
    pub reopen: Result<(), TargetError>,
    /// What its reader returned after the reopened writer appended the marker and synced.
    pub after: Option<ReadBack>,
}

/// Whether the engine goes on after a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Check the next image.
    Continue,
    /// Stop checking this state.
    Stop,
}

/// Reads images through a target, with the caches that make it linear.
pub struct Recoverer<'t> {
    /// The implementation.
    pub target: &'t mut dyn Target,
    version: Version,
    linear: bool,
    tails: HashMap<u64, Rc<Outcome>>,
    seen: HashMap<u64, usize>,
    /// What was done.
    pub counts: Counts,
}

/// Caches grow with the distinct images met; past these sizes they restart (merging fewer
/// images, never judging differently).
const TAILS_MAX: usize = 1 << 18;
const SEEN_MAX: usize = 1 << 22;

/// A harness failure while recovering (a temporary file could not be written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the harness failed: {0}")]
pub struct HarnessError(pub TargetError);

impl<'t> Recoverer<'t> {
    /// A recoverer over `target`; `linear` reads tails from record boundaries.
    pub fn new(target: &'t mut dyn Target, linear: bool) -> Self {
        let version = target.version();
        Recoverer {
            target,
            version,
            linear,
            tails: HashMap::new(),
            seen: HashMap::new(),
            counts: Counts::default(),
        }
    }

    /// The target's version.
    pub fn version(&self) -> Version {
        self.version
    }

    fn harness(e: TargetError) -> HarnessError {
        HarnessError(e)
    }

    /// Loads `image`, reads it, reopens, appends the marker and reads again.
    pub fn recover(&mut self, image: &[u8]) -> Result<Outcome, HarnessError> {
        let recovered = self
            .target
            .recover_image(image, &marker())
            .map_err(Self::harness)?;
        self.counts.reads += 1 + u64::from(recovered.after.is_some());
        self.counts.bytes_read += image.len() as u64;
        self.counts.reopens += 1;
        Ok(Outcome {
            read: recovered.read,
            reference: Reference::keyed(image, self.target.keying()),
            reopen: recovered.reopen,
            after: recovered.after,
        })
    }

    /// A crash that left no file, then the recovery ([`Target::recover_absent`]).
    pub fn recover_absent(&mut self) -> Result<Outcome, HarnessError> {
        let recovered = self
            .target
            .recover_absent(&marker())
            .map_err(Self::harness)?;
        self.counts.reads += 1 + u64::from(recovered.after.is_some());
        self.counts.reopens += 1;
        Ok(Outcome {
            read: recovered.read,
            reference: Reference::keyed(&[], self.target.keying()),
            reopen: recovered.reopen,
            after: recovered.after,
        })
    }

    /// The hash of `bytes` as read with the target's configuration (the same bytes read
    /// with another key are another outcome).
    fn keyed_hash(&self, bytes: &[u8]) -> u64 {
        Fnv::mix(Fnv::of(bytes), self.target.keying() as u64, bytes.len())
    }

    fn tail_outcome(&mut self, tail: &[u8]) -> Result<Rc<Outcome>, HarnessError> {
        let key = self.keyed_hash(tail);
        if let Some(hit) = self.tails.get(&key) {
            return Ok(Rc::clone(hit));
        }
        let outcome = Rc::new(self.recover(tail)?);
        if self.tails.len() >= TAILS_MAX {
            self.tails.clear();
        }
        self.tails.insert(key, Rc::clone(&outcome));
        Ok(outcome)
    }

    /// Reads the whole file `bytes` (no crash, no damage): every record wholly in it must
    /// read back, and nothing else. Returns the finding, if any.
    pub fn check_clean(
        &mut self,
        bytes: &[u8],
        history: &mut History,
    ) -> Result<Option<Finding>, HarnessError> {
        let read = self.target.read_image(bytes).map_err(Self::harness)?;
        self.counts.reads += 1;
        self.counts.bytes_read += bytes.len() as u64;
        let m = history.whole_before(bytes.len());
        if read.end == ReadEnd::Clean
            && record_lists_bit_equal(&read.records, &history.records()[..m])
        {
            return Ok(None);
        }
        if let Err(finding) = history.judge(&read.records) {
            if finding.kind == FailureKind::PhantomState {
                return Ok(Some(finding));
            }
        }
        let k = read.records.len();
        let opened = history.opened_at();
        let acked_lost = history.acked().saturating_sub(k);
        let kind = if history.headerless() {
            FailureKind::TornHeaderNotRecreated
        } else if k == opened && history.reopened() && m > opened {
            // Records appended after a recovery do not read back: acknowledged ones, if a
            // sync covered them, are what a server loses.
            if acked_lost > 0 {
                FailureKind::AckedLost
            } else {
                FailureKind::AppendLost
            }
        } else if read.end.is_error() && Reference::keyed(bytes, self.target.keying()).reads_ok() {
            // The leftovers of a crash the writer did not repair when it reopened.
            match Reference::keyed(bytes, self.target.keying()).verdict {
                Ok(Verdict::TornTail {
                    cause: eaof::Damage::PartialHeader { .. },
                    ..
                }) => FailureKind::TornHeaderReadAsError,
                Ok(Verdict::TornTail { .. }) => FailureKind::TornTailReadAsError,
                _ => FailureKind::CleanReadFailed,
            }
        } else {
            FailureKind::CleanReadFailed
        };
        Ok(Some(Finding::new(
            kind,
            format!(
                "the file holds {m} whole records ({} acknowledged); the reader returned {k} \
                 ({acked_lost} acknowledged records lost) and ended with {}{}",
                history.acked(),
                read.end,
                match history.records()[..m].get(k) {
                    Some(next) => format!(" (first missing: {})", show::record(next)),
                    None => String::new(),
                },
            ),
        )))
    }

    /// Recovers every image in `images` of the file `bytes` (crash states or cuts, whose
    /// expected verdict follows from the record spans), calling `found` with each finding.
    /// The file must have passed [`Recoverer::check_clean`].
    pub fn check_images(
        &mut self,
        bytes: &[u8],
        history: &mut History,
        images: &[CrashImage],
        found: &mut dyn FnMut(&CrashImage, Finding) -> Flow,
    ) -> Result<(), HarnessError> {
        let in_file = history.whole_before(bytes.len());
        // FNV state of the file's bytes before each record in it.
        let mut prefix = Vec::with_capacity(in_file);
        let mut fnv = Fnv::default();
        let mut at = 0;
        for span in &history.spans()[..in_file] {
            // Spans only move forward in a file a writer appends to; a writer that wrote
            // elsewhere is judged by what is read, not by this hash.
            if let Some(chunk) = bytes.get(at..span.start) {
                fnv.feed(chunk);
                at = span.start;
            }
            prefix.push(fnv.0);
        }
        for image in images {
            for finding in self.check_image(bytes, history, image, &prefix)? {
                if found(image, finding) == Flow::Stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Recovers every image in `images` of `other`, a file a crash may leave at the log's
    /// path instead of the one written (see [`FileState::alternatives`]), each read whole,
    /// and judges what was read against `history`: a file that brings back records the log
    /// no longer holds, or lacks acknowledged ones, is a finding.
    pub fn check_other_file(
        &mut self,
        other: &FileState,
        history: &mut History,
        images: &[CrashImage],
        found: &mut dyn FnMut(&CrashImage, Finding) -> Flow,
    ) -> Result<(), HarnessError> {
        for image in images {
            let whole = image.build(&other.bytes);
            // Judged against this history every time; the target reads each image once.
            self.counts.crash_states += 1;
            let outcome = match other.absent {
                // No file at all: recovered from a missing file, never cached with the
                // empty image.
                true => Rc::new(self.recover_absent()?),
                false => self.tail_outcome(&whole)?,
            };
            if let Err(mut finding) = history.judge(&outcome.read.records) {
                finding.detail = match other.absent {
                    true => format!(
                        "a crash may leave no file at the log's path (its name not yet \
                         durable: a creation or a rename whose directory was not synced); \
                         recovered from no file: {}",
                        finding.detail
                    ),
                    false => format!(
                        "a crash may leave another file at the log's path (the file a \
                         rename replaced before the rename was durable, or contents an \
                         unsynced cut would bring back), holding {} bytes; recovered from \
                         {image}: {}",
                        other.bytes.len(),
                        finding.detail
                    ),
                };
                if found(image, finding) == Flow::Stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The image to read for `image` of the file `bytes`: linearly, the header, the last
    /// record wholly before the first byte that did not land, and the rest; returned with
    /// how many records of the file precede it and how far its offsets are shifted.
    fn tail_of(
        &self,
        bytes: &[u8],
        history: &History,
        image: &CrashImage,
    ) -> (Vec<u8>, usize, usize) {
        let landed = image.landed.min(bytes.len());
        let w = history.whole_before(landed);
        let from = w.checked_sub(1).map(|i| history.spans()[i].start);
        // (A record that starts inside the header was appended by a writer that did not
        // rewrite a torn header: such a file is read whole.)
        if let Some(from) = from.filter(|&f| self.linear && f >= HEADER_LEN) {
            let mut tail = Vec::with_capacity(HEADER_LEN + image.end - from);
            tail.extend_from_slice(&bytes[..HEADER_LEN]);
            tail.extend_from_slice(&bytes[from..landed]);
            image.push_fill(&mut tail);
            (tail, w - 1, from - HEADER_LEN)
        } else {
            (image.build(bytes), 0, 0)
        }
    }

    /// What reading `image` gives by the linear route: records read and whether the reader
    /// ended with an error (for comparison with a read from the start).
    pub fn linear_summary(
        &mut self,
        bytes: &[u8],
        history: &History,
        image: &CrashImage,
    ) -> Result<(usize, bool), HarnessError> {
        let (tail, skip, _) = self.tail_of(bytes, history, image);
        let outcome = self.tail_outcome(&tail)?;
        Ok((
            skip + outcome.read.records.len(),
            outcome.read.end.is_error(),
        ))
    }

    fn check_image(
        &mut self,
        bytes: &[u8],
        history: &mut History,
        image: &CrashImage,
        prefix: &[u64],
    ) -> Result<Vec<Finding>, HarnessError> {
        let landed = image.landed.min(bytes.len());
        let w = history.whole_before(landed);
        let (tail, skip, shift) = self.tail_of(bytes, history, image);
        let identity = if self.linear && w > 0 && history.spans()[w - 1].start >= HEADER_LEN {
            Fnv::mix(prefix[w - 1], self.keyed_hash(&tail), image.end)
        } else {
            self.keyed_hash(&tail)
        };
        let mut findings = Vec::new();
        if let Some(&k) = self.seen.get(&identity) {
            self.counts.merged += 1;
            if history.loses_acked(k) {
                findings.push(Finding::new(
                    FailureKind::AckedLost,
                    format!("{k} records recovered, {} acknowledged", history.acked()),
                ));
            }
            return Ok(findings);
        }
        self.counts.crash_states += 1;
        let outcome = self.tail_outcome(&tail)?;
        let (skip64, shift64) = (skip as u64, shift as u64);
        let mut read = history.records()[..skip].to_vec();
        read.extend(outcome.read.records.iter().cloned());
        let k = read.len();
        if self.seen.len() >= SEEN_MAX {
            self.seen.clear();
        }
        self.seen.insert(identity, k);

        if let Err(finding) = history.judge(&read) {
            findings.push(finding);
        }

        // The format's rule, from the spans alone: every record wholly before the first
        // byte that did not land is intact, and the damage (if any) starts where the last
        // of them ends.
        let spans = history.spans();
        let end_w = if w == 0 { HEADER_LEN } else { spans[w - 1].end };
        // The rule holds for records laid back to back from the header, with nothing after
        // them but what this session wrote. A writer that reopened without cutting a torn
        // tail (ember's H4) leaves bytes of an earlier session after the records it
        // recovered, intact records among them maybe: the file is then not the spans' to
        // judge (that writer is reported for it already: its appends are lost).
        let back_to_back = !history.uncut()
            && spans[..w]
                .iter()
                .try_fold(HEADER_LEN, |end, span| {
                    (span.start == end).then_some(span.end)
                })
                .is_some();
        let expected = if !back_to_back {
            None
        } else if landed < HEADER_LEN {
            image.fill.is_none().then_some(("torn tail", 0, 0))
        } else if image.fill.is_none() && landed == end_w {
            Some(("clean", w as u64, end_w as u64))
        } else {
            Some(("torn tail", w as u64, end_w as u64))
        };
        let reference = outcome
            .reference
            .verdict
            .as_ref()
            .map(|v| shift_verdict(v, skip64, shift64));
        match (&reference, expected) {
            (Ok(v), Some(want)) if shape(v) != want => findings.push(Finding::new(
                FailureKind::WrongVerdict,
                format!(
                    "the reference reader says {}; the format's rule says {}",
                    show::verdict(v),
                    show::shape(want)
                ),
            )),
            (Err(e), Some(want)) => findings.push(Finding::new(
                FailureKind::WrongVerdict,
                format!(
                    "the reference reader refuses the file ({e}); the format's rule says {}",
                    show::shape(want)
                ),
            )),
            _ => {}
        }
        if let (Some(mine), Ok(reference)) = (&outcome.read.verdict, &reference) {
            let mine = shift_verdict(mine, skip64, shift64);
            if mine != *reference {
                findings.push(Finding::new(
                    FailureKind::WrongVerdict,
                    format!(
                        "the reader's verdict is {}, the scanner's {}",
                        show::verdict(&mine),
                        show::verdict(reference)
                    ),
                ));
            }
        }

        let reference_records = outcome.reference.records() + skip;
        let torn_header = landed < HEADER_LEN;
        match (&outcome.read.end, outcome.reference.reads_ok()) {
            (ReadEnd::Error(e), true) => findings.push(Finding::new(
                if torn_header {
                    FailureKind::TornHeaderReadAsError
                } else {
                    FailureKind::TornTailReadAsError
                },
                format!(
                    "read {k} records, then the error {e}; the format says a torn tail after \
                     {reference_records} records ({})",
                    show::reference(&reference)
                ),
            )),
            (ReadEnd::Clean, false) => findings.push(Finding::new(
                FailureKind::SilentDamage,
                format!(
                    "read {k} records and a clean end; the format requires an error ({})",
                    show::reference(&reference)
                ),
            )),
            (ReadEnd::Clean, true) if k < reference_records => findings.push(Finding::new(
                FailureKind::IntactRecordsDropped,
                format!("read {k} records and a clean end; {reference_records} records are intact"),
            )),
            _ => {}
        }
        for mut finding in self.judge_reopen(&outcome, skip) {
            if torn_header && finding.kind == FailureKind::AppendLost {
                finding.kind = FailureKind::TornHeaderNotRecreated;
            }
            findings.push(finding);
        }
        Ok(findings)
    }

    /// The reopen and append findings of an outcome whose first `skip` records are not in
    /// its image.
    fn judge_reopen(&self, outcome: &Outcome, skip: usize) -> Vec<Finding> {
        let mut findings = Vec::new();
        match (&outcome.reopen, &outcome.after) {
            (Err(e), _) if !outcome.reference.must_refuse() => findings.push(Finding::new(
                FailureKind::ReopenFailed,
                format!(
                    "the writer refused to reopen ({e}); the format says cut the torn tail \
                     after {} records and append",
                    outcome.reference.records() + skip
                ),
            )),
            (Ok(()), Some(after)) => {
                let mut want = outcome.read.records.clone();
                want.push(marker());
                if after.end != ReadEnd::Clean || !record_lists_bit_equal(&after.records, &want) {
                    findings.push(Finding::new(
                        FailureKind::AppendLost,
                        format!(
                            "after reopening, appending a record and syncing, the reader \
                             returned {} records (want {}: the {} recovered and the new one) \
                             and ended with {}; the format's verdict on the file reopened: \
                             {}",
                            after.records.len() + skip,
                            want.len() + skip,
                            want.len() - 1 + skip,
                            after.end,
                            show::reference(
                                &outcome
                                    .reference
                                    .verdict
                                    .as_ref()
                                    .map(|v| { shift_verdict(v, skip as u64, 0) })
                            ),
                        ),
                    ));
                }
            }
            _ => {}
        }
        findings
    }

    /// Recovers a damaged file `image` (whole, not linear) and judges it: `changed` tells,
    /// for each record of `history` in the file, whether the damage changed any of its
    /// bytes, and `header_changed` whether it changed the header.
    pub fn check_damaged(
        &mut self,
        image: &[u8],
        history: &mut History,
        changed: &[bool],
        header_changed: bool,
    ) -> Result<Vec<Finding>, HarnessError> {
        self.counts.crash_states += 1;
        let outcome = self.recover(image)?;
        let mut findings = Vec::new();
        let read = &outcome.read;
        let k = read.records.len();
        if let Err(finding) = history.judge(&read.records) {
            findings.push(finding);
        }
        let n = changed.len();
        let first = if header_changed {
            Some(0)
        } else {
            changed.iter().position(|&c| c)
        };
        let Some(first) = first else {
            return Ok(findings);
        };
        let intact_after = (first + 1..n).find(|&i| !changed[i]);
        let reference = &outcome.reference;
        if read.end == ReadEnd::Clean && k < n {
            if let Some(i) = intact_after {
                findings.push(Finding::new(
                    FailureKind::SilentDamage,
                    format!(
                        "damage in record {first} read as a clean end after {k} records, \
                         though record {i} after it is intact ({})",
                        show::reference(&reference.verdict)
                    ),
                ));
            } else if !reference.reads_ok() {
                findings.push(Finding::new(
                    FailureKind::SilentDamage,
                    format!(
                        "damage in the last records read as a clean end after {k} records; the \
                         format requires an error ({})",
                        show::reference(&reference.verdict)
                    ),
                ));
            } else if k < reference.records() {
                findings.push(Finding::new(
                    FailureKind::IntactRecordsDropped,
                    format!("read {k} records, {} are intact", reference.records()),
                ));
            }
        }
        if let Ok(v) = &reference.verdict {
            if !header_changed {
                let start = history.spans()[first].start as u64;
                let (class, records, offset) = shape(v);
                let class_ok = match intact_after {
                    Some(_) => class == "corrupt" || v.to_read_result().is_err(),
                    None => class != "clean",
                };
                if records != first as u64 || offset != start || !class_ok {
                    findings.push(Finding::new(
                        FailureKind::WrongVerdict,
                        format!(
                            "damage first changes record {first} (offset {start}){}; the \
                             reference reader says {}",
                            if intact_after.is_some() {
                                ", an intact record follows"
                            } else {
                                ""
                            },
                            show::verdict(v)
                        ),
                    ));
                }
            }
            if let Some(mine) = &read.verdict {
                if mine != v {
                    findings.push(Finding::new(
                        FailureKind::WrongVerdict,
                        format!(
                            "the reader's verdict is {}, the scanner's {}",
                            show::verdict(mine),
                            show::verdict(v)
                        ),
                    ));
                }
            }
        } else if read.end == ReadEnd::Clean && k < n {
            // Unreadable by the format's rule (header damage), yet read without error.
            findings.push(Finding::new(
                FailureKind::SilentDamage,
                format!(
                    "a damaged header read as a clean end after {k} records; the format \
                     refuses the file ({})",
                    show::reference(&reference.verdict)
                ),
            ));
        }
        findings.extend(self.judge_reopen(&outcome, 0));
        Ok(findings)
    }
}
