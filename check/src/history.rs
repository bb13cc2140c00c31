//! What was written to a log, and which model states recovering it may give.
//!
//! A [`History`] follows one log file through a run: every record handed to the writer, in
//! file order, with where its frame lies in the file; the model state after each command
//! since the file was last (re)opened; and how many records a successful sync acknowledged.
//! A log starts from a *base* state: empty for a new file, and after a `truncate` the state
//! the model had then (the snapshot a server writes before it truncates its log, which
//! recovery loads before replaying the log).
//!
//! [`History::judge`] is the property every engine checks on what a recovery read: the
//! records are exactly the first records written (bit for bit: nothing invented, nothing
//! reordered), at least every acknowledged one, and replaying them into a fresh store at the
//! model's clock gives a state the model had after some prefix of the commands.
//!
//! Time: the model's clock never moves during a run. ember logs relative TTLs and recovery
//! re-anchors them at replay time, so a replay at the clock the commands ran at gives back
//! the same deadlines; with a moving clock it would need to replay in step (see the model
//! report in docs/ember-0.4.9.md).

use std::collections::HashMap;

use eaof::format::HEADER_LEN;
use eaof::AofRecord;

use crate::report::{FailureKind, Finding};
use crate::show;
use crate::target::Version;
use eaof_model::gen::records_bit_equal;
use eaof_model::Store;

/// The byte range a record's frame takes (or would take) in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// One log file's history.
#[derive(Debug, Clone)]
pub struct History {
    version: Version,
    /// The state the log's records replay onto.
    base: Store,
    records: Vec<AofRecord>,
    spans: Vec<Span>,
    /// Where the next record's frame starts.
    next: usize,
    /// (records in the file, model state) after each command since the last (re)opening;
    /// the first entry is the state at the opening.
    states: Vec<(usize, Store)>,
    acked: usize,
    opened_at: usize,
    reopened: bool,
    /// Whether a record was ever written where the header belongs (a writer that reopened
    /// a torn header without rewriting it).
    headerless: bool,
    /// Replay verdicts by number of records (the records are checked to be a prefix first).
    judged: HashMap<usize, Result<(), Finding>>,
    /// A truncate failed: the log may be the old file or the new, empty one (a truncate is
    /// atomic, not known to be done), so an empty log is accepted too.
    maybe_truncated: bool,
    /// The writer accepted to reopen the file with another configuration than the one it
    /// was written with.
    reconfigured: bool,
    /// The writer reopened the file without cutting what followed the records it
    /// recovered (a torn tail: ember's H4): bytes of earlier sessions, intact records among
    /// them maybe, lie between the recovered records and the next one.
    uncut: bool,
    /// Where the first record's frame starts.
    header_len: usize,
}

impl History {
    /// A new file (header only, at `header_len`) and the model state it starts from.
    pub fn new(version: Version, start: Store, header_len: usize) -> Self {
        History {
            version,
            base: start.clone(),
            records: Vec::new(),
            spans: Vec::new(),
            next: header_len,
            states: vec![(0, start)],
            acked: 0,
            opened_at: 0,
            reopened: false,
            headerless: false,
            judged: HashMap::new(),
            maybe_truncated: false,
            reconfigured: false,
            uncut: false,
            header_len,
        }
    }

    /// Every record handed to the writer, in file order.
    pub fn records(&self) -> &[AofRecord] {
        &self.records
    }

    /// Where each record's frame lies.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Records acknowledged by a successful sync.
    pub fn acked(&self) -> usize {
        self.acked
    }

    /// Whether a recovery that read `k` records lost acknowledged ones (an empty log after a
    /// failed truncate loses none: see [`History::judge`]).
    pub fn loses_acked(&self, k: usize) -> bool {
        k < self.acked && !(self.maybe_truncated && k == 0)
    }

    /// Records in the file when the writer was last (re)opened.
    pub fn opened_at(&self) -> usize {
        self.opened_at
    }

    /// Whether the file was reopened after a crash (rather than created).
    pub fn reopened(&self) -> bool {
        self.reopened
    }

    /// Whether a record was ever written where the header belongs.
    pub fn headerless(&self) -> bool {
        self.headerless
            || self
                .spans
                .iter()
                .any(|s| s.start < eaof::format::HEADER_LEN)
    }

    /// The model state after the last command.
    pub fn state(&self) -> &Store {
        &self.states[self.states.len() - 1].1
    }

    /// A record was handed to the writer.
    pub fn wrote(&mut self, record: AofRecord) {
        let len = self.version.frame_len(&record).unwrap_or(0);
        self.spans.push(Span {
            start: self.next,
            end: self.next + len,
        });
        self.next += len;
        self.records.push(record);
    }

    /// A command finished, leaving the model in `state`.
    pub fn ran(&mut self, state: &Store) {
        self.states.push((self.records.len(), state.clone()));
    }

    /// A sync returned `Ok`: every record written so far is acknowledged.
    pub fn synced(&mut self) {
        self.acked = self.records.len();
    }

    /// Forgets every acknowledgement: for files damaged on purpose, where losing
    /// acknowledged records is the damage, not a defect.
    pub fn forget_acks(&mut self) {
        self.acked = 0;
        self.judged.clear();
    }

    /// How many records lie wholly in the first `len` bytes of the file.
    pub fn whole_before(&self, len: usize) -> usize {
        // The leading records that end by `len` (a scan, not a binary search: after a
        // faulty reopen the spans need not be sorted, and the count must only grow with
        // `len`).
        self.spans.iter().take_while(|s| s.end <= len).count()
    }

    /// A truncate failed: from now on an empty log is accepted as the new file it may have
    /// left (see [`History::judge`]).
    pub fn truncate_failed(&mut self) {
        self.maybe_truncated = true;
        self.judged.clear();
    }

    /// Judges what a recovery read: see the module documentation. After a failed truncate,
    /// an empty log is the new file it may have left, and accepted.
    pub fn judge(&mut self, returned: &[AofRecord]) -> Result<(), Finding> {
        if self.maybe_truncated && returned.is_empty() {
            return Ok(());
        }
        if let Some(i) = (0..returned.len()).find(|&i| {
            self.records
                .get(i)
                .is_none_or(|w| !records_bit_equal(w, &returned[i]))
        }) {
            return Err(Finding::new(
                FailureKind::PhantomState,
                format!(
                    "record {i} read back as {}, written as {}",
                    show::record(&returned[i]),
                    self.records
                        .get(i)
                        .map_or("nothing".into(), |r| show::record(r).to_string())
                ),
            ));
        }
        let k = returned.len();
        if k < self.acked {
            return Err(Finding::new(
                FailureKind::AckedLost,
                format!(
                    "{k} records recovered, {} acknowledged by a sync (lost from {})",
                    self.acked,
                    show::record(&self.records[k])
                ),
            ));
        }
        if let Some(verdict) = self.judged.get(&k) {
            return verdict.clone();
        }
        let verdict = self.replay_matches(returned);
        self.judged.insert(k, verdict.clone());
        verdict
    }

    fn replay_matches(&self, returned: &[AofRecord]) -> Result<(), Finding> {
        let mut replayed = self.base.clone();
        if let Err((i, e)) = replayed.apply_all(returned) {
            return Err(Finding::new(
                FailureKind::PhantomState,
                format!("replay refused record {i}: {e}"),
            ));
        }
        let acked = self.acked;
        if self
            .states
            .iter()
            .any(|(count, state)| *count >= acked && *state == replayed)
        {
            return Ok(());
        }
        let kind = if self.states.iter().any(|(_, state)| *state == replayed) {
            FailureKind::AckedLost
        } else {
            FailureKind::PhantomState
        };
        Err(Finding::new(
            kind,
            format!(
                "replaying the {} records recovered gives {}, which the model never had after \
                 the {acked} acknowledged records",
                returned.len(),
                show::store(&replayed)
            ),
        ))
    }

    /// The history of the file after a crash and a reopen: the records recovered, all of
    /// them durable, the state they replay to, and the next record starting at `next`
    /// (the file's length after the reopen).
    pub fn recovered(&self, returned: &[AofRecord], next: usize) -> History {
        let mut state = self.base.clone();
        // Judged before: a prefix of what was written, which replays.
        let _ = state.apply_all(returned);
        let k = returned.len();
        let recovered_end = self.spans[..k.min(self.spans.len())]
            .last()
            .map_or(self.header_len, |span| span.end);
        History {
            version: self.version,
            base: self.base.clone(),
            records: returned.to_vec(),
            spans: self.spans[..k.min(self.spans.len())].to_vec(),
            next,
            states: vec![(k, state)],
            acked: k,
            opened_at: k,
            reopened: true,
            headerless: self.headerless(),
            judged: HashMap::new(),
            maybe_truncated: false,
            reconfigured: self.reconfigured,
            uncut: next > recovered_end,
            header_len: self.header_len,
        }
    }

    /// The writer accepted another configuration for this file: records lost from now on
    /// are [`FailureKind::KeyingMixed`].
    pub fn reconfigure(&mut self) {
        self.reconfigured = true;
    }

    /// Whether the writer accepted another configuration for this file.
    pub fn reconfigured(&self) -> bool {
        self.reconfigured
    }

    /// The history of the empty log a `truncate` that returned `Ok` left, whose records
    /// replay onto `snapshot` (the model's state when the log was truncated), framed as its
    /// header says (`header`: the new file's first bytes; a writer may rewrite a file in
    /// another version than it had, as ember's does with a key).
    pub fn truncated(&self, snapshot: &Store, header: &[u8]) -> History {
        let version = match header.get(HEADER_LEN - 1) {
            Some(&v) if v == Version::V3.byte() && header.len() >= HEADER_LEN => Version::V3,
            Some(_) if header.len() >= HEADER_LEN => Version::V2,
            _ => self.version,
        };
        History::new(version, snapshot.clone(), HEADER_LEN)
    }

    /// Whether bytes the writer did not cut at its last reopening lie after the records it
    /// recovered: then what the file holds is not the records' spans alone.
    pub fn uncut(&self) -> bool {
        self.uncut
    }

    /// The framing the records are taken to have.
    pub fn version(&self) -> Version {
        self.version
    }
}
