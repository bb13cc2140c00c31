//! A run: client commands, flushes, syncs, truncates, clean restarts (with the file's own
//! configuration or another) and crashes, played on the model and a target at once, with
//! every crash recovered and judged.
//!
//! The [`Player`] keeps the model [`Store`] and the [`History`] of the log in step with the
//! target. A [`Step::Crash`] checks the file as it stands (the clean read of what is on disk,
//! then every cut of the unsynced bytes, read linearly, then every other file a crash may
//! leave at the log's path: [`FileState::alternatives`]), picks one crash image of the file,
//! recovers it through the target (read back, reopen), and goes on from the state
//! recovered: later commands are appended by the reopened writer, so a writer that appends
//! where its reader cannot follow loses them, and the next check says so.
//!
//! A [`Step::Truncate`] that returns `Ok` starts a new history whose records replay onto the
//! model's state at that point (the snapshot). A crash right after it (the next step, or the
//! check that ends an explored sequence) is also a crash *inside* it: the old file as it was
//! before the call is then checked against the old history, and the new one against the new
//! history. A [`Step::Close`] shuts the writer down cleanly; the next step that needs a
//! writer restarts it: the file is read back whole (every record in it, no crash touched
//! it), and a writer opened again. [`Step::Reopen`] restarts with a configuration
//! ([`Keying`]): the implementation may refuse one that is not the file's (the file's own is
//! then restored, as an operator would); one it accepts is what every later recovery reads
//! with, so a writer that mixes keys or versions in one file loses records, and the checks
//! say so.
//!
//! With faults armed ([`Player::expect_faults`]), the first failed call is expected; every
//! later call must then be refused as poisoned, and the model stops executing commands
//! (their records can no longer reach the log).

use std::fmt;

use crate::crash::{self, CrashImage, CrashMode};
use crate::history::History;
use crate::recover::{Flow, HarnessError, Recoverer};
use crate::report::{FailureKind, Finding};
use crate::target::{ErrorKind, FileState, Keying, TargetError};
use eaof::format::HEADER_LEN;
use eaof_model::command::Command;
use eaof_model::Store;

/// One step of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Execute a command on the model and write the records it logs (unflushed).
    Command(Command),
    /// Hand buffered records to the operating system.
    Flush,
    /// Make everything written durable (acknowledging it).
    Sync,
    /// Crash now, into the crash image number `pick` (modulo their count) of the prefix
    /// images, or of all images when `harsh`; recover and go on.
    Crash {
        /// Whether images of files grown before their data landed are candidates.
        harsh: bool,
        /// Which image.
        pick: u32,
    },
    /// Replace the log with an empty one (the seed's `truncate`).
    Truncate,
    /// Shut the writer down cleanly (no crash); the next step that needs it restarts it.
    Close,
    /// Shut down cleanly and restart with this configuration.
    Reopen(Keying),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Command(c) => write!(f, "{}", crate::show::command(c)),
            Step::Flush => f.write_str("flush"),
            Step::Sync => f.write_str("sync"),
            Step::Crash { harsh, pick } => write!(
                f,
                "crash into image {pick} of the {} images",
                if *harsh { "harsh" } else { "prefix" }
            ),
            Step::Truncate => f.write_str("truncate"),
            Step::Close => f.write_str("close (a clean shutdown)"),
            Step::Reopen(keying) => write!(f, "close, then reopen with {keying}"),
        }
    }
}

/// A finding, where in the run it was made, and the crash image it concerns.
#[derive(Debug, Clone)]
pub struct Found {
    /// The finding.
    pub finding: Finding,
    /// The index of the step (the steps' length for the final check).
    pub step: usize,
    /// The crash image recovered, if any.
    pub image: Option<CrashImage>,
}

/// Plays steps on the model and a target.
pub struct Player<'r, 't> {
    rec: &'r mut Recoverer<'t>,
    store: Store,
    history: History,
    garbage_seed: u64,
    ignore: Vec<FailureKind>,
    faults: bool,
    exhaustive: bool,
    failed: Option<TargetError>,
    open: bool,
    /// The writer was closed cleanly and not yet opened again.
    closed: bool,
    /// Right after a truncate: the old file as it was before the call, and its history (a
    /// crash now may also be a crash inside the call).
    inside: Option<(FileState, History)>,
    /// Every finding, in order (ignored ones included).
    pub found: Vec<Found>,
    /// Commands executed on the model.
    pub commands: u64,
    /// Records handed to the target.
    pub records: u64,
    /// The crash images recovered to go on with, by crash step.
    pub picked: Vec<(usize, CrashImage)>,
}

/// Whether a run goes on.
type Go = Result<bool, HarnessError>;

impl<'r, 't> Player<'r, 't> {
    /// A player starting from `start` (whose clock never moves), on a target it creates.
    pub fn new(
        rec: &'r mut Recoverer<'t>,
        start: Store,
        garbage_seed: u64,
        ignore: &[FailureKind],
    ) -> Result<Self, HarnessError> {
        let version = rec.version();
        let mut player = Player {
            rec,
            store: start.clone(),
            history: History::new(version, start, HEADER_LEN),
            garbage_seed,
            ignore: ignore.to_vec(),
            faults: false,
            exhaustive: false,
            failed: None,
            open: true,
            closed: false,
            inside: None,
            found: Vec::new(),
            commands: 0,
            records: 0,
            picked: Vec::new(),
        };
        if let Err(e) = player.rec.target.create() {
            if e.kind == ErrorKind::Harness {
                return Err(HarnessError(e));
            }
            player.open = false;
            player.note(
                0,
                None,
                Finding::new(FailureKind::WriterFailed, e.to_string()),
            );
        }
        Ok(player)
    }

    /// Expect injected faults: the first failed call is not a finding.
    pub fn expect_faults(&mut self) {
        self.faults = true;
    }

    /// Check every image of a crash even after a finding (for counts of every kind).
    pub fn exhaustive(&mut self) {
        self.exhaustive = true;
    }

    /// The first failed call, once faults were expected.
    pub fn failed(&self) -> Option<&TargetError> {
        self.failed.as_ref()
    }

    /// Whether a writer is open (false after a reopen the target refused: later steps have
    /// nothing to write to).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The recoverer (its counts).
    pub fn recoverer(&mut self) -> &mut Recoverer<'t> {
        self.rec
    }

    /// The history of the log.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Whether any finding that is not ignored was made.
    pub fn failing(&self) -> bool {
        self.found
            .iter()
            .any(|f| !self.ignore.contains(&f.finding.kind))
    }

    /// Records a finding; returns whether the run may go on. Records lost after the writer
    /// accepted another configuration are the configuration's fault.
    fn note(&mut self, step: usize, image: Option<CrashImage>, mut finding: Finding) -> bool {
        const LOSSES: [FailureKind; 3] = [
            FailureKind::CleanReadFailed,
            FailureKind::AckedLost,
            FailureKind::AppendLost,
        ];
        if self.history.reconfigured() && LOSSES.contains(&finding.kind) {
            finding.detail = format!(
                "{} after the writer accepted another configuration: {}",
                finding.kind, finding.detail
            );
            finding.kind = FailureKind::KeyingMixed;
        }
        let ignored = self.ignore.contains(&finding.kind);
        self.found.push(Found {
            finding,
            step,
            image,
        });
        ignored
    }

    /// Judges the result of a writer call.
    fn call(&mut self, step: usize, result: Result<(), TargetError>) -> Go {
        match (result, &self.failed) {
            (Err(e), _) if e.kind == ErrorKind::Harness => Err(HarnessError(e)),
            (Ok(()), None) => Ok(true),
            (Ok(()), Some(first)) => {
                let detail = format!("a call succeeded after the failure {first}");
                Ok(self.note(step, None, Finding::new(FailureKind::NotPoisoned, detail)))
            }
            (Err(e), None) if self.faults => {
                self.failed = Some(e);
                Ok(true)
            }
            (Err(e), None) => Ok(self.note(
                step,
                None,
                Finding::new(FailureKind::WriterFailed, e.to_string()),
            )),
            (Err(e), Some(_)) if e.kind == ErrorKind::Poisoned => Ok(true),
            (Err(e), Some(first)) => {
                let detail = format!("after the failure {first}, a call failed with {e} instead of being refused as poisoned");
                Ok(self.note(step, None, Finding::new(FailureKind::NotPoisoned, detail)))
            }
        }
    }

    /// Plays every step, then syncs and reads the whole file back. Stops at the first
    /// finding that is not ignored.
    pub fn play(&mut self, steps: &[Step]) -> Result<(), HarnessError> {
        if !self.play_steps(steps)? {
            return Ok(());
        }
        if !self.open {
            // A reopen the format allows to refuse (a v3 file whose only complete record
            // does not authenticate reads as a wrong key): judged with its image.
            return Ok(());
        }
        if self.closed && (!self.restart(steps.len(), self.rec.target.keying())? || !self.open) {
            return Ok(());
        }
        if self.failed.is_none() {
            let synced = self.rec.target.sync();
            if synced.is_ok() {
                self.history.synced();
            }
            if !self.call(steps.len(), synced)? {
                return Ok(());
            }
        }
        let state = self.rec.target.file().map_err(HarnessError)?;
        if let Some(finding) = self.rec.check_clean(&state.bytes, &mut self.history)? {
            self.note(steps.len(), None, finding);
        }
        Ok(())
    }

    /// Plays every step, up to the first finding that is not ignored; returns whether the
    /// run went through them all.
    pub fn play_steps(&mut self, steps: &[Step]) -> Go {
        for (i, step) in steps.iter().enumerate() {
            if !self.open || !self.step(i, step)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A crash at the end of a run as a test without a crash model takes it (the baseline
    /// of `crate::bench`): the file read back as it stands, then one image recovered and
    /// judged: the file exactly as written when `pick` is even, else the file cut at one
    /// point of its unsynced bytes (`pick / 2` modulo their count plus one). Nothing else:
    /// no other cut, no file grown before its data landed, no file a rename left behind.
    pub fn crash_once(&mut self, i: usize, pick: u32) -> Result<(), HarnessError> {
        let state = self.rec.target.file().map_err(HarnessError)?;
        if let Some(finding) = self.rec.check_clean(&state.bytes, &mut self.history)? {
            self.note(i, None, finding);
            return Ok(());
        }
        let image = match pick % 2 {
            0 => CrashImage::cut(state.bytes.len()),
            _ => {
                let cuts = crash::images(&state, CrashMode::Prefixes);
                cuts[(pick / 2) as usize % cuts.len()]
            }
        };
        self.picked.push((i, image));
        self.check_one(i, &state.bytes, image)?;
        Ok(())
    }

    /// Recovers and judges one image of the file `bytes` (which read back whole); returns
    /// whether the run may go on.
    fn check_one(&mut self, i: usize, bytes: &[u8], image: CrashImage) -> Go {
        let mut found = Vec::new();
        self.rec.check_images(
            bytes,
            &mut self.history,
            std::slice::from_ref(&image),
            &mut |_, finding| {
                found.push(finding);
                Flow::Continue
            },
        )?;
        let mut go = true;
        for finding in found {
            go &= self.note(i, Some(image), finding);
        }
        Ok(go)
    }

    /// Plays one step; returns whether the run goes on.
    pub fn step(&mut self, i: usize, step: &Step) -> Go {
        // A crash inside a truncate is a crash right after it; any other step ends it.
        let inside = self.inside.take();
        let needs_writer = matches!(
            step,
            Step::Command(_) | Step::Flush | Step::Sync | Step::Truncate
        );
        if needs_writer && self.closed {
            let go = self.restart(i, self.rec.target.keying())?;
            if !go || !self.open {
                return Ok(go);
            }
        }
        match step {
            Step::Command(command) => self.command(i, command),
            Step::Flush => {
                let result = self.rec.target.flush();
                self.call(i, result)
            }
            Step::Sync => {
                let result = self.rec.target.sync();
                if result.is_ok() && self.failed.is_none() {
                    self.history.synced();
                }
                self.call(i, result)
            }
            Step::Crash { harsh, pick } => {
                self.inside = inside;
                self.crash(i, *harsh, *pick)
            }
            Step::Truncate => self.truncate(i),
            Step::Close => {
                if self.closed {
                    return Ok(true);
                }
                let result = self.rec.target.close();
                self.closed = true;
                self.call(i, result)
            }
            Step::Reopen(keying) => self.restart(i, *keying),
        }
    }

    fn truncate(&mut self, i: usize) -> Go {
        let before = self.rec.target.file().map_err(HarnessError)?;
        let result = self.rec.target.truncate();
        match (&result, &self.failed) {
            (Ok(()), None) => {
                let after = self.rec.target.file().map_err(HarnessError)?;
                let new = self.history.truncated(&self.store, &after.bytes);
                let old = std::mem::replace(&mut self.history, new);
                self.inside = Some((before, old));
            }
            (Ok(()), Some(_)) => {}
            // Atomic, but not known to be done: the old log or the new one.
            (Err(_), _) => self.history.truncate_failed(),
        }
        self.call(i, result)
    }

    /// A clean restart with `keying`: see the module documentation.
    fn restart(&mut self, i: usize, keying: Keying) -> Go {
        if !self.closed {
            let result = self.rec.target.close();
            self.closed = true;
            if !self.call(i, result)? {
                return Ok(false);
            }
        }
        let state = self.rec.target.file().map_err(HarnessError)?;
        if let Some(finding) = self.rec.check_clean(&state.bytes, &mut self.history)? {
            // The records it did read are not known to be a prefix of those written: the
            // run cannot go on from them.
            self.open = false;
            return Ok(self.note(i, None, finding));
        }
        // Every record wholly in the file read back (and nothing else).
        let records =
            self.history.records()[..self.history.whole_before(state.bytes.len())].to_vec();
        let previous = self.rec.target.keying();
        let mut result = self.rec.target.reopen_with(keying);
        let accepted = result.is_ok() && keying != previous;
        if result.is_err() && keying != previous {
            // Another configuration may be refused; the file's own is restored.
            result = self.rec.target.reopen_with(previous);
        }
        match result {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::Harness => return Err(HarnessError(e)),
            Err(e) => {
                self.open = false;
                let detail = format!(
                    "the writer refused to reopen, with its own configuration ({previous}), a \
                     file it had closed cleanly: {e}"
                );
                return Ok(self.note(i, None, Finding::new(FailureKind::ReopenFailed, detail)));
            }
        }
        self.closed = false;
        let next = self.rec.target.file().map_err(HarnessError)?.bytes.len();
        self.history = self.history.recovered(&records, next);
        if accepted {
            self.history.reconfigure();
        }
        self.store = self.history.state().clone();
        Ok(true)
    }

    fn command(&mut self, i: usize, command: &Command) -> Go {
        if self.failed.is_some() {
            // The log refuses everything now: only check that it does.
            let probe = crate::recover::marker();
            let result = self.rec.target.write(&probe);
            return self.call(i, result);
        }
        self.commands += 1;
        let Ok(records) = self.store.execute(command) else {
            return Ok(true);
        };
        for record in records {
            let result = self.rec.target.write(&record);
            self.records += 1;
            if result.is_ok() || self.failed.is_none() {
                // A failed call's record counts as attempted: part of it may be on disk.
                self.history.wrote(record);
            }
            if !self.call(i, result)? {
                return Ok(false);
            }
        }
        if self.failed.is_none() {
            self.history.ran(&self.store);
        }
        Ok(true)
    }

    /// Checks the file as a crash now would leave it: the clean read of what is on disk,
    /// then every image of `mode`. Returns whether the run may go on. (Recovering images
    /// replaces the target's file: the run goes on only through [`Step::Crash`].)
    pub fn check_crash(&mut self, i: usize, mode: CrashMode) -> Go {
        // Taken first: recovering images replaces the target's file.
        let state = self.rec.target.file().map_err(HarnessError)?;
        if !self.check_inside(i, mode)? {
            return Ok(false);
        }
        Ok(self.check_state(i, &state, mode)?.0)
    }

    /// Right after a truncate, checks the old file against the old history (a crash inside
    /// the call, before the new file took its place). Returns whether the run may go on.
    fn check_inside(&mut self, i: usize, mode: CrashMode) -> Go {
        let Some((before, old)) = self.inside.take() else {
            return Ok(true);
        };
        let new = std::mem::replace(&mut self.history, old);
        let checked = self.check_state(i, &before, mode);
        self.history = new;
        Ok(checked?.0)
    }

    /// Like [`Player::check_crash`] on `state`; also returns whether the file read back
    /// whole (the condition for reading its cuts linearly).
    fn check_state(
        &mut self,
        i: usize,
        state: &FileState,
        mode: CrashMode,
    ) -> Result<(bool, bool), HarnessError> {
        if let Some(finding) = self.rec.check_clean(&state.bytes, &mut self.history)? {
            // Every image would show the same unreadable record: judge the file once.
            return Ok((self.note(i, None, finding), false));
        }
        if state.unmodellable.is_some() {
            // The account cannot say what a crash leaves: not checked, counted (see
            // `FileState::unmodellable`).
            self.rec.counts.unmodellable += 1;
            return Ok((true, true));
        }
        let images = crash::images(state, mode);
        let ignore = self.ignore.clone();
        let exhaustive = self.exhaustive;
        let mut found = Vec::new();
        let collect =
            |found: &mut Vec<(CrashImage, Finding)>, image: &CrashImage, finding: Finding| {
                let ignored = ignore.contains(&finding.kind);
                found.push((*image, finding));
                if ignored || exhaustive {
                    Flow::Continue
                } else {
                    Flow::Stop
                }
            };
        self.rec.check_images(
            &state.bytes,
            &mut self.history,
            &images,
            &mut |image, finding| collect(&mut found, image, finding),
        )?;
        if exhaustive || found.iter().all(|(_, f)| ignore.contains(&f.kind)) {
            for other in &state.alternatives {
                let images = crash::images(other, mode);
                self.rec.check_other_file(
                    other,
                    &mut self.history,
                    &images,
                    &mut |image, finding| collect(&mut found, image, finding),
                )?;
            }
        }
        let mut go = true;
        for (image, finding) in found {
            go &= self.note(i, Some(image), finding);
        }
        Ok((go, true))
    }

    fn crash(&mut self, i: usize, harsh: bool, pick: u32) -> Go {
        // Taken once, first: recovering images replaces the target's file.
        let mut state = self.rec.target.file().map_err(HarnessError)?;
        if !self.check_inside(i, CrashMode::Prefixes)? {
            return Ok(false);
        }
        let (go, readable) = self.check_state(i, &state, CrashMode::Prefixes)?;
        if !go {
            return Ok(false);
        }
        let mode = if harsh {
            CrashMode::Harsh {
                seed: self.garbage_seed,
            }
        } else {
            CrashMode::Prefixes
        };
        if state.unmodellable.is_some() {
            // Which crash images are possible is unknown: the run goes on from the one
            // that kept everything, which no account forbids.
            state = state.all_durable();
        }
        let images = crash::images(&state, mode);
        let image = images[pick as usize % images.len()];
        self.picked.push((i, image));
        if image.fill.is_some() && readable {
            // Not among the prefix images just checked.
            if !self.check_one(i, &state.bytes, image)? {
                return Ok(false);
            }
        }
        // The crash: the whole image, read from its start.
        let whole = image.build(&state.bytes);
        let linear = match readable {
            true => Some(
                self.rec
                    .linear_summary(&state.bytes, &self.history, &image)?,
            ),
            false => None,
        };
        let read = self.rec.target.read_image(&whole).map_err(HarnessError)?;
        let summary = (read.records.len(), read.end.is_error());
        if let Some(linear) = linear.filter(|&linear| linear != summary) {
            let detail = format!(
                "read from its start, the image gives {} records and {}; read from the last \
                 record boundary, {} records and {}",
                summary.0,
                read.end,
                linear.0,
                if linear.1 { "an error" } else { "a clean end" }
            );
            if !self.note(
                i,
                Some(image),
                Finding::new(FailureKind::InconsistentRead, detail),
            ) {
                return Ok(false);
            }
        }
        if let Err(finding) = self.history.judge(&read.records) {
            if !self.note(i, Some(image), finding) {
                return Ok(false);
            }
        }
        self.closed = false;
        match self.rec.target.reopen() {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::Harness => return Err(HarnessError(e)),
            Err(_) => {
                // Judged with the image (a refusal the format allows, or a finding): the
                // run cannot go on without a writer.
                self.open = false;
                return Ok(true);
            }
        }
        let next = self.rec.target.file().map_err(HarnessError)?.bytes.len();
        self.history = self.history.recovered(&read.records, next);
        self.store = self.history.state().clone();
        // Recovery goes on with the records read before any error, as ember's does.
        Ok(true)
    }
}
