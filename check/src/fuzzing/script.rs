//! Fuzz target `script`: coverage-guided search of the state machine. The input, decoded
//! with `arbitrary` ([`Script`]), is a run of commands, flushes, syncs, crashes (which crash
//! image), reopens and faults, played on eaof on the simulated disk and judged by the same
//! oracle as the engines ([`crate::script::Player`]): after every crash, what is recovered is
//! a state the model had holding every acknowledged command, damage is never hidden, and
//! what is appended after recovery reads back; at the end, every image a crash could leave is
//! checked.
//!
//! Guarantees: any input decodes to a script (the bytes that run out read as zeros), of at
//! most [`STEPS_MAX`] steps, so a run costs bounded time; [`script`] panics exactly when the
//! oracle finds something (that is how a fuzzer learns of it), with the script in words.
//! [`encode`] writes the bytes a script decodes from, so the seed corpus
//! (`fuzz/seeds/script/`) is made from the explorer's alphabet (see `tests/fuzz_seeds.rs`).

use std::fmt;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;

use crate::alphabet::{explorer_commands, T0_MS};
use crate::crash::CrashMode;
use crate::eaof::EaofSim;
use crate::recover::{HarnessError, Recoverer};
use crate::script::{Found, Player, Step};
use crate::show;
use crate::target::{Fault, Target, Version};
use eaof_model::command::{BitOp, Command, Expiry};
use eaof_model::value::VectorConfig;
use eaof_model::Store;

/// The most steps a script plays; the rest of a longer input is ignored.
pub const STEPS_MAX: usize = 48;

/// The seed of the garbage a harsh crash image ends in.
pub const GARBAGE_SEED: u64 = 0x005c_2197;

/// A script: the version of the file, and the steps.
#[derive(Debug, Clone, PartialEq, Arbitrary)]
pub struct Script {
    pub version: FuzzVersion,
    pub steps: Vec<FuzzStep>,
}

/// The file's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum FuzzVersion {
    V2,
    V3,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Arbitrary)]
pub enum FuzzStep {
    /// A command, written (not flushed).
    Command(FuzzCommand),
    Flush,
    Sync,
    /// The machine crashes into image `pick` (modulo their count) of the prefix images, or
    /// of every image when `harsh`; recovery, and the run goes on.
    Crash {
        harsh: bool,
        pick: u16,
    },
    /// The process dies and restarts: what was flushed survives, the buffer is lost.
    Reopen,
    /// A fault, armed now (the first only): the run ends once it fired.
    Fault(FuzzFault),
}

/// A fault of the simulated disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum FuzzFault {
    /// The storage operation `after` operations from now fails.
    FailOp { after: u8 },
    /// The disk is full after `bytes` more bytes.
    DiskFull { bytes: u16 },
}

/// A key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Key {
    A,
    B,
    C,
}

/// A value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Val {
    X,
    One,
    Yz,
    Empty,
    Binary,
    Max,
}

/// A field, member or element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Name {
    F,
    G,
}

/// A command: a letter of the explorer's alphabet, or any command of the vocabulary over the
/// same small keys and values as the random engines'.
#[derive(Debug, Clone, PartialEq, Arbitrary)]
pub enum FuzzCommand {
    /// Letter `n` (modulo their count) of [`explorer_commands`].
    Letter(u8),
    Set(Key, Val, Option<Ttl>),
    Del(Key),
    Expire(Key, u8),
    PexpireAt(Key, i16),
    Persist(Key),
    IncrBy(Key, i8),
    Append(Key, Val),
    SetRange(Key, u8, Val),
    SetBit(Key, u8, bool),
    BitOp(u8, Key, Key, Key),
    Rename(Key, Key),
    Copy(Key, Key, bool),
    Push(bool, Key, Val, Option<Val>),
    Pop(bool, Key),
    LSet(Key, i8, Val),
    LTrim(Key, i8, i8),
    LInsert(Key, bool, Val, Val),
    LRem(Key, i8, Val),
    ZAdd(Key, i8, Name),
    ZRem(Key, Name),
    HSet(Key, Name, Val),
    HDel(Key, Name),
    HIncrBy(Key, Name, i8),
    SAdd(Key, Name),
    SRem(Key, Name),
    VAdd(Key, Name, i8, u8),
    VRem(Key, Name),
    ProtoSet(Key, Name, Val, Option<Ttl>),
    ProtoRegister(Name, Val),
}

/// A TTL in a SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Ttl {
    Ex(u8),
    Px(u16),
}

impl Key {
    fn get(self) -> String {
        match self {
            Key::A => "a",
            Key::B => "b",
            Key::C => "c",
        }
        .to_owned()
    }
}

impl Val {
    fn get(self) -> Bytes {
        Bytes::from_static(match self {
            Val::X => b"x",
            Val::One => b"1",
            Val::Yz => b"yz",
            Val::Empty => b"",
            Val::Binary => b"\xff\x00",
            Val::Max => b"9223372036854775807",
        })
    }
}

impl Name {
    fn get(self) -> String {
        match self {
            Name::F => "f",
            Name::G => "g",
        }
        .to_owned()
    }
}

fn expiry(ttl: Option<Ttl>) -> Option<Expiry> {
    ttl.map(|t| match t {
        Ttl::Ex(s) => Expiry::Ex(u64::from(s) + 1),
        Ttl::Px(ms) => Expiry::Px(u64::from(ms) + 1),
    })
}

impl FuzzCommand {
    /// The client command.
    pub fn command(&self) -> Command {
        use FuzzCommand as F;
        let letters = explorer_commands();
        match *self {
            F::Letter(n) => letters[usize::from(n) % letters.len()].clone(),
            F::Set(k, v, ttl) => Command::Set {
                key: k.get(),
                value: v.get(),
                expiry: expiry(ttl),
            },
            F::Del(k) => Command::Del { key: k.get() },
            F::Expire(k, s) => Command::Expire {
                key: k.get(),
                seconds: u64::from(s),
            },
            F::PexpireAt(k, d) => Command::PexpireAt {
                key: k.get(),
                timestamp_ms: T0_MS.saturating_add_signed(i64::from(d) * 10),
            },
            F::Persist(k) => Command::Persist { key: k.get() },
            F::IncrBy(k, d) => Command::IncrBy {
                key: k.get(),
                delta: i64::from(d),
            },
            F::Append(k, v) => Command::Append {
                key: k.get(),
                value: v.get(),
            },
            F::SetRange(k, o, v) => Command::SetRange {
                key: k.get(),
                offset: usize::from(o % 8),
                value: v.get(),
            },
            F::SetBit(k, o, b) => Command::SetBit {
                key: k.get(),
                offset: u64::from(o % 32),
                bit: u8::from(b),
            },
            F::BitOp(op, dest, a, b) => {
                let op = [BitOp::And, BitOp::Or, BitOp::Xor, BitOp::Not][usize::from(op % 4)];
                let keys = match op {
                    BitOp::Not => vec![a.get()],
                    _ => vec![a.get(), b.get()],
                };
                Command::BitOp {
                    op,
                    dest: dest.get(),
                    keys,
                }
            }
            F::Rename(k, n) => Command::Rename {
                key: k.get(),
                newkey: n.get(),
            },
            F::Copy(s, d, replace) => Command::Copy {
                source: s.get(),
                destination: d.get(),
                replace,
            },
            F::Push(left, k, v, w) => {
                let values = std::iter::once(v).chain(w).map(Val::get).collect();
                match left {
                    true => Command::LPush {
                        key: k.get(),
                        values,
                    },
                    false => Command::RPush {
                        key: k.get(),
                        values,
                    },
                }
            }
            F::Pop(left, k) => match left {
                true => Command::LPop { key: k.get() },
                false => Command::RPop { key: k.get() },
            },
            F::LSet(k, i, v) => Command::LSet {
                key: k.get(),
                index: i64::from(i % 4),
                value: v.get(),
            },
            F::LTrim(k, a, b) => Command::LTrim {
                key: k.get(),
                start: i64::from(a % 4),
                stop: i64::from(b % 4),
            },
            F::LInsert(k, before, pivot, v) => Command::LInsert {
                key: k.get(),
                before,
                pivot: pivot.get(),
                value: v.get(),
            },
            F::LRem(k, c, v) => Command::LRem {
                key: k.get(),
                count: i64::from(c % 3),
                value: v.get(),
            },
            F::ZAdd(k, score, m) => Command::ZAdd {
                key: k.get(),
                members: vec![(f64::from(score) / 2.0, m.get())],
            },
            F::ZRem(k, m) => Command::ZRem {
                key: k.get(),
                members: vec![m.get()],
            },
            F::HSet(k, f, v) => Command::HSet {
                key: k.get(),
                fields: vec![(f.get(), v.get())],
            },
            F::HDel(k, f) => Command::HDel {
                key: k.get(),
                fields: vec![f.get()],
            },
            F::HIncrBy(k, f, d) => Command::HIncrBy {
                key: k.get(),
                field: f.get(),
                delta: i64::from(d),
            },
            F::SAdd(k, m) => Command::SAdd {
                key: k.get(),
                members: vec![m.get()],
            },
            F::SRem(k, m) => Command::SRem {
                key: k.get(),
                members: vec![m.get()],
            },
            F::VAdd(k, e, x, config) => Command::VAdd {
                key: k.get(),
                element: e.get(),
                vector: vec![f32::from(x) / 4.0],
                config: VectorConfig {
                    metric: config % 3,
                    quantization: (config / 3) % 2,
                    connectivity: 16,
                    expansion_add: 64,
                },
            },
            F::VRem(k, e) => Command::VRem {
                key: k.get(),
                element: e.get(),
            },
            F::ProtoSet(k, t, v, ttl) => Command::ProtoSet {
                key: k.get(),
                type_name: t.get(),
                data: v.get(),
                expiry: expiry(ttl),
            },
            F::ProtoRegister(n, v) => Command::ProtoRegister {
                name: n.get(),
                descriptor: v.get(),
            },
        }
    }
}

impl From<FuzzFault> for Fault {
    fn from(fault: FuzzFault) -> Fault {
        match fault {
            FuzzFault::FailOp { after } => Fault::FailOpAt {
                after: u64::from(after),
            },
            FuzzFault::DiskFull { bytes } => Fault::FailWriteAfter {
                bytes: u64::from(bytes),
            },
        }
    }
}

impl FuzzVersion {
    /// The file version.
    pub fn version(self) -> Version {
        match self {
            FuzzVersion::V2 => Version::V2,
            FuzzVersion::V3 => Version::V3,
        }
    }
}

impl Script {
    /// The script `data` decodes to (every input decodes; at most [`STEPS_MAX`] steps).
    pub fn decode(data: &[u8]) -> Script {
        let mut u = Unstructured::new(data);
        let mut script = Script::arbitrary(&mut u).unwrap_or(Script {
            version: FuzzVersion::V2,
            steps: Vec::new(),
        });
        script.steps.truncate(STEPS_MAX);
        script
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "a {} file, {} steps:",
            self.version.version(),
            self.steps.len()
        )?;
        for (i, step) in self.steps.iter().enumerate() {
            write!(f, "  {i:>3}. ")?;
            match step {
                FuzzStep::Command(c) => writeln!(f, "{}", show::command(&c.command()))?,
                FuzzStep::Flush => writeln!(f, "flush")?,
                FuzzStep::Sync => writeln!(f, "sync")?,
                FuzzStep::Crash { harsh, pick } => writeln!(
                    f,
                    "crash into image {pick} of the {} images",
                    if *harsh { "harsh" } else { "prefix" }
                )?,
                FuzzStep::Reopen => writeln!(f, "the process restarts (flushed bytes survive)")?,
                FuzzStep::Fault(fault) => writeln!(f, "fault: {}", Fault::from(*fault))?,
            }
        }
        Ok(())
    }
}

/// Plays `script` on `target` and returns every finding of the oracle.
pub fn play(target: &mut dyn Target, script: &Script) -> Result<Vec<Found>, HarnessError> {
    let mut rec = Recoverer::new(target, true);
    let mut player = Player::new(&mut rec, Store::new(T0_MS), GARBAGE_SEED, &[])?;
    let faulty = script.steps.iter().any(|s| matches!(s, FuzzStep::Fault(_)));
    if faulty {
        player.expect_faults();
    }
    let mut armed = false;
    let mut go = true;
    let mut at = 0;
    for (i, step) in script.steps.iter().enumerate() {
        at = i + 1;
        if !player.is_open() || player.failed().is_some() {
            break;
        }
        let step = match step {
            FuzzStep::Command(c) => Step::Command(c.command()),
            FuzzStep::Flush => Step::Flush,
            FuzzStep::Sync => Step::Sync,
            FuzzStep::Crash { harsh, pick } => Step::Crash {
                harsh: *harsh,
                pick: u32::from(*pick),
            },
            FuzzStep::Reopen => {
                // Every flushed byte survives a process's death: the last prefix image.
                let state = player.recoverer().target.file().map_err(HarnessError)?;
                let images = state.bytes.len() - state.durable_len.min(state.bytes.len()) + 1;
                Step::Crash {
                    harsh: false,
                    pick: u32::try_from(images - 1).unwrap_or(u32::MAX),
                }
            }
            FuzzStep::Fault(fault) => {
                if !armed {
                    armed = true;
                    player
                        .recoverer()
                        .target
                        .inject(Fault::from(*fault))
                        .map_err(HarnessError)?;
                }
                continue;
            }
        };
        let failed_before = player.failed().is_some();
        go = player.step(i, &step)?;
        if !armed && !failed_before && player.failed().is_some() {
            // A call failed before any fault was armed: faults were expected only because
            // one comes later in the script.
            let error = player.failed().map(ToString::to_string).unwrap_or_default();
            player.found.push(Found {
                finding: crate::report::Finding::new(
                    crate::report::FailureKind::WriterFailed,
                    error,
                ),
                step: i,
                image: None,
            });
            break;
        }
        if !go {
            break;
        }
    }
    if go && player.is_open() && !player.failing() {
        player.check_crash(at, CrashMode::Harsh { seed: GARBAGE_SEED })?;
    }
    Ok(std::mem::take(&mut player.found))
}

/// The property of fuzz target `script`: the oracle finds nothing when `data`'s script is
/// played on eaof on the simulated disk.
pub fn script(data: &[u8]) {
    let script = Script::decode(data);
    let mut target = EaofSim::new(script.version.version());
    judge(&mut target, &script);
}

/// Plays `script` on `target` and panics with the first finding, the script in words.
pub fn judge(target: &mut dyn Target, script: &Script) {
    match play(target, script) {
        Ok(found) => {
            if let Some(f) = found.first() {
                panic!(
                    "{} ({}) at step {}: {}\n{script}",
                    f.finding.kind,
                    f.finding.kind.property(),
                    f.step,
                    f.finding.detail
                );
            }
        }
        // Not a verdict on the implementation: the simulated disk never fails the harness.
        Err(e) => panic!("the harness failed: {e}\n{script}"),
    }
}

/// The bytes [`Script::decode`] reads `script` from, for scripts whose commands are letters
/// of the explorer's alphabet (the seed corpus). `None` for another command.
pub fn encode(script: &Script) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    variant(&mut out, script.version as u32, 2);
    for step in &script.steps {
        out.push(1); // another element
        match step {
            FuzzStep::Command(FuzzCommand::Letter(n)) => {
                variant(&mut out, 0, STEP_VARIANTS);
                variant(&mut out, 0, COMMAND_VARIANTS);
                out.push(*n);
            }
            FuzzStep::Command(_) => return None,
            FuzzStep::Flush => variant(&mut out, 1, STEP_VARIANTS),
            FuzzStep::Sync => variant(&mut out, 2, STEP_VARIANTS),
            FuzzStep::Crash { harsh, pick } => {
                variant(&mut out, 3, STEP_VARIANTS);
                out.push(u8::from(*harsh));
                out.extend_from_slice(&pick.to_le_bytes());
            }
            FuzzStep::Reopen => variant(&mut out, 4, STEP_VARIANTS),
            FuzzStep::Fault(fault) => {
                variant(&mut out, 5, STEP_VARIANTS);
                match fault {
                    FuzzFault::FailOp { after } => {
                        variant(&mut out, 0, 2);
                        out.push(*after);
                    }
                    FuzzFault::DiskFull { bytes } => {
                        variant(&mut out, 1, 2);
                        out.extend_from_slice(&bytes.to_le_bytes());
                    }
                }
            }
        }
    }
    out.push(0); // no more elements
    Some(out)
}

/// Variants of [`FuzzStep`] and [`FuzzCommand`], for [`encode`].
const STEP_VARIANTS: u32 = 6;
const COMMAND_VARIANTS: u32 = 30;

/// An enum's variant as `arbitrary` derives read it: a `u32` (little-endian) scaled onto the
/// variants, `(x * count) >> 32`.
fn variant(out: &mut Vec<u8>, index: u32, count: u32) {
    let x = ((u64::from(index) << 32).div_ceil(u64::from(count))) as u32;
    out.extend_from_slice(&x.to_le_bytes());
}
