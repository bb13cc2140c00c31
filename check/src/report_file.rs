//! A campaign's report as a JSON file (`eaof explore --report FILE.json`), for machines: CI
//! jobs that keep it as an artefact, and `eaof explore merge`, which combines the reports of
//! a campaign's shards (see `crate::merge`).
//!
//! Guarantees:
//! - the file says which campaign it is of ([`ConfigRecord`]: target, versions, depth,
//!   seed, engines, budget, shard, the explorer's alphabet and the tool's version), so that
//!   reports of different campaigns are never merged;
//! - every count, tally and failure of every engine's run is in it, failures with their
//!   kind, detail, unit (their place in the engine's order) and case in words;
//! - reading one back gives what was written ([`CampaignFile::parse`] of
//!   [`CampaignFile::to_json`]), and refuses anything else with an error naming the file
//!   and the field; a file is read up to [`REPORT_LEN_MAX`] bytes, never more;
//! - [`write_atomically`] never leaves a partial file under the final name: it writes a new
//!   temporary file beside it (created, never opened through a link), syncs it, renames it.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::campaign::{CampaignConfig, Engine, EngineRun, Outcome};
use crate::report::{Counts, FailureKind, Report, Units};
use crate::shard::Shard;
use crate::target::Version;

/// What the file says it is.
pub const FORMAT: &str = "eaof-explore-report";
/// The layout's version; a reader refuses any other.
pub const FORMAT_VERSION: u64 = 1;
/// The longest report read (a depth-6 campaign's is a few kilobytes: failures are kept
/// first of each kind).
pub const REPORT_LEN_MAX: u64 = 16 << 20;
/// The most runs (engine and version) and failures a report may list.
pub const RUNS_MAX: usize = 64;

/// Which campaign a report is of: what must agree for reports to be merged.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRecord {
    /// The implementation (`eaof`, `ember`).
    pub target: String,
    pub versions: Vec<Version>,
    pub depth: u64,
    pub seed: u64,
    pub engines: Vec<Engine>,
    /// The time budget, in seconds.
    pub seconds: f64,
    pub shard: Shard,
    /// The explorer's letters, as a hash: shards of different alphabets own different
    /// sequences under the same unit numbers.
    pub alphabet: String,
    /// The version of eaof-check that ran it.
    pub tool: String,
}

impl ConfigRecord {
    /// The record of `config`.
    pub fn of(config: &CampaignConfig) -> Self {
        ConfigRecord {
            target: config.target.to_string(),
            versions: config.versions.clone(),
            depth: config.depth as u64,
            seed: config.seed,
            engines: Engine::ALL
                .into_iter()
                .filter(|e| config.engines.contains(e))
                .collect(),
            seconds: config.seconds,
            shard: config.shard,
            alphabet: alphabet_hash(),
            tool: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Whether `other` is a shard of the same campaign (everything but the shard's index
    /// agrees).
    pub fn same_campaign(&self, other: &ConfigRecord) -> bool {
        let mut other = other.clone();
        other.shard = self.shard;
        *self == other
    }
}

/// The hash of the explorer's default alphabet (its commands, and whether the lifecycle
/// letters the target can do are in it), in hex.
pub fn alphabet_hash() -> String {
    let config = crate::explore::ExploreConfig::default();
    format!(
        "{:016x}",
        crate::crash::Fnv::of(format!("{:?} {}", config.commands, config.lifecycle).as_bytes())
    )
}

/// One failure as a report file keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    pub kind: FailureKind,
    pub detail: String,
    /// Its place in the engine's order (see `crate::jobs`).
    pub unit: u64,
    /// The case that shows it, in words.
    pub case: String,
}

/// One engine's run for one version.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub version: Version,
    pub engine: Engine,
    /// The target's name (`eaof v2 (simulated disk)`).
    pub target: String,
    /// The engine's seed.
    pub seed: u64,
    pub elapsed: Duration,
    /// Whether it ran its whole configuration.
    pub complete: bool,
    pub units: Units,
    pub skipped: Option<String>,
    pub counts: Counts,
    pub found: BTreeMap<FailureKind, u64>,
    pub failures: Vec<FailureRecord>,
}

impl RunRecord {
    /// The record of an engine's report.
    pub fn of(version: Version, engine: Engine, report: &Report) -> Self {
        RunRecord {
            version,
            engine,
            target: report.target.clone(),
            seed: report.seed,
            elapsed: report.elapsed,
            complete: report.complete,
            units: report.units,
            skipped: report.skipped.clone(),
            counts: report.counts,
            found: report.found.clone(),
            failures: report
                .failures
                .iter()
                .map(|f| FailureRecord {
                    kind: f.kind,
                    detail: f.detail.clone(),
                    unit: f.unit,
                    case: f.case.to_string(),
                })
                .collect(),
        }
    }
}

/// A campaign's report.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFile {
    pub config: ConfigRecord,
    /// Jobs it ran with (not part of the configuration: findings do not depend on it).
    pub jobs: u64,
    /// Whether an interrupt stopped it.
    pub interrupted: bool,
    pub elapsed: Duration,
    pub runs: Vec<RunRecord>,
}

/// A count of [`Counts`], to read or set.
type CountField = fn(&mut Counts) -> &mut u64;

/// The counts, by name: one table for writing and reading them.
const COUNT_FIELDS: [(&str, CountField); 13] = [
    ("cases", |c| &mut c.cases),
    ("shrinks", |c| &mut c.shrinks),
    ("commands", |c| &mut c.commands),
    ("records", |c| &mut c.records),
    ("crash_states", |c| &mut c.crash_states),
    ("merged", |c| &mut c.merged),
    ("truncations", |c| &mut c.truncations),
    ("flips", |c| &mut c.flips),
    ("damages", |c| &mut c.damages),
    ("faults", |c| &mut c.faults),
    ("reopens", |c| &mut c.reopens),
    ("reads", |c| &mut c.reads),
    ("bytes_read", |c| &mut c.bytes_read),
];

/// A report file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportFileError {
    /// It could not be read or written.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// It is longer than [`REPORT_LEN_MAX`].
    #[error("{path}: longer than {REPORT_LEN_MAX} bytes: not a report of eaof explore")]
    TooLong { path: PathBuf },
    /// It is not JSON.
    #[error("{path}: not JSON ({message})")]
    NotJson { path: PathBuf, message: String },
    /// A field is missing or has the wrong type or value.
    #[error("{path}: field `{field}`: {problem}")]
    Field {
        path: PathBuf,
        field: String,
        problem: String,
    },
}

impl CampaignFile {
    /// The report of a campaign run with `config` that ended with `outcome`.
    pub fn of(config: &CampaignConfig, outcome: &Outcome) -> Self {
        CampaignFile {
            config: ConfigRecord::of(config),
            jobs: config.jobs as u64,
            interrupted: outcome.interrupted,
            elapsed: outcome.elapsed,
            runs: outcome
                .runs
                .iter()
                .map(
                    |EngineRun {
                         version,
                         engine,
                         report,
                     }| { RunRecord::of(*version, *engine, report) },
                )
                .collect(),
        }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let c = &self.config;
        json!({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": {
                "target": c.target,
                "versions": c.versions.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                "depth": c.depth,
                "seed": c.seed,
                "engines": c.engines.iter().map(|e| e.name()).collect::<Vec<_>>(),
                "seconds": c.seconds,
                "shard": { "index": c.shard.index(), "count": c.shard.count() },
                "alphabet": c.alphabet,
                "tool": c.tool,
            },
            "jobs": self.jobs,
            "interrupted": self.interrupted,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "runs": self.runs.iter().map(run_json).collect::<Vec<_>>(),
        })
    }

    /// Reads the report in `bytes`, from the file `path` (named in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, ReportFileError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ReportFileError::NotJson {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let at = Reader { path };
        let top = at.object(&value, "")?;
        let format = at.str(top, "", "format")?;
        if format != FORMAT {
            return Err(at.bad("format", format!("{format:?} is not {FORMAT:?}")));
        }
        let version = at.u64(top, "", "format_version")?;
        if version != FORMAT_VERSION {
            return Err(at.bad(
                "format_version",
                format!("{version} (this tool reads version {FORMAT_VERSION})"),
            ));
        }
        let config = at.object(at.field(top, "", "config")?, "config")?;
        let shard = at.object(at.field(config, "config", "shard")?, "config.shard")?;
        let shard = Shard::new(
            at.u32(shard, "config.shard", "index")?,
            at.u32(shard, "config.shard", "count")?,
        )
        .map_err(|e| at.bad("config.shard", e.to_string()))?;
        let versions = at
            .array(config, "config", "versions")?
            .iter()
            .map(|v| at.version(v, "config.versions"))
            .collect::<Result<Vec<_>, _>>()?;
        let engines = at
            .array(config, "config", "engines")?
            .iter()
            .map(|v| at.engine(v, "config.engines"))
            .collect::<Result<Vec<_>, _>>()?;
        let config = ConfigRecord {
            target: at.str(config, "config", "target")?.to_owned(),
            versions,
            depth: at.u64(config, "config", "depth")?,
            seed: at.u64(config, "config", "seed")?,
            engines,
            seconds: at.f64(config, "config", "seconds")?,
            shard,
            alphabet: at.str(config, "config", "alphabet")?.to_owned(),
            tool: at.str(config, "config", "tool")?.to_owned(),
        };
        let runs = at.array(top, "", "runs")?;
        if runs.len() > RUNS_MAX {
            return Err(at.bad("runs", format!("{} runs, more than {RUNS_MAX}", runs.len())));
        }
        Ok(CampaignFile {
            config,
            jobs: at.u64(top, "", "jobs")?,
            interrupted: at.bool(top, "", "interrupted")?,
            elapsed: at.seconds(top, "", "elapsed_s")?,
            runs: runs
                .iter()
                .enumerate()
                .map(|(i, run)| at.run(run, &format!("runs[{i}]")))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Reads the report file at `path` (at most [`REPORT_LEN_MAX`] bytes).
    pub fn read(path: &Path) -> Result<Self, ReportFileError> {
        let io = |e: io::Error| ReportFileError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let file = File::open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(ReportFileError::Io {
                path: path.to_owned(),
                message: "not a regular file".into(),
            });
        }
        let mut bytes = Vec::new();
        file.take(REPORT_LEN_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > REPORT_LEN_MAX {
            return Err(ReportFileError::TooLong {
                path: path.to_owned(),
            });
        }
        Self::parse(path, &bytes)
    }

    /// Writes the report to `path`, atomically (see [`write_atomically`]).
    pub fn write(&self, path: &Path) -> Result<(), ReportFileError> {
        let mut text = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        text.push('\n');
        write_atomically(path, text.as_bytes()).map_err(|e| ReportFileError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

fn run_json(run: &RunRecord) -> Value {
    let mut counts = Map::new();
    let mut c = run.counts;
    for (name, field) in COUNT_FIELDS {
        counts.insert(name.into(), json!(*field(&mut c)));
    }
    let found: Map<String, Value> = run
        .found
        .iter()
        .map(|(kind, n)| (kind.name().to_owned(), json!(n)))
        .collect();
    json!({
        "version": run.version.to_string(),
        "engine": run.engine.name(),
        "target": run.target,
        "seed": run.seed,
        "elapsed_s": run.elapsed.as_secs_f64(),
        "complete": run.complete,
        "units_done": run.units.done,
        "units_planned": run.units.planned,
        "skipped": run.skipped,
        "counts": counts,
        "found": found,
        "failures": run.failures.iter().map(|f| json!({
            "kind": f.kind.name(),
            "property": f.kind.property(),
            "detail": f.detail,
            "unit": f.unit,
            "case": f.case,
        })).collect::<Vec<_>>(),
    })
}

/// Field access with errors naming the file and the field.
struct Reader<'p> {
    path: &'p Path,
}

type Object = Map<String, Value>;

impl Reader<'_> {
    fn bad(&self, field: &str, problem: impl Into<String>) -> ReportFileError {
        ReportFileError::Field {
            path: self.path.to_owned(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    fn name(parent: &str, key: &str) -> String {
        if parent.is_empty() {
            key.to_owned()
        } else {
            format!("{parent}.{key}")
        }
    }

    fn object<'v>(&self, v: &'v Value, name: &str) -> Result<&'v Object, ReportFileError> {
        v.as_object().ok_or_else(|| self.bad(name, "not an object"))
    }

    fn field<'v>(
        &self,
        o: &'v Object,
        parent: &str,
        key: &str,
    ) -> Result<&'v Value, ReportFileError> {
        o.get(key)
            .ok_or_else(|| self.bad(&Self::name(parent, key), "missing"))
    }

    fn str<'v>(&self, o: &'v Object, parent: &str, key: &str) -> Result<&'v str, ReportFileError> {
        self.field(o, parent, key)?
            .as_str()
            .ok_or_else(|| self.bad(&Self::name(parent, key), "not a string"))
    }

    fn u64(&self, o: &Object, parent: &str, key: &str) -> Result<u64, ReportFileError> {
        self.field(o, parent, key)?
            .as_u64()
            .ok_or_else(|| self.bad(&Self::name(parent, key), "not a whole number"))
    }

    fn u32(&self, o: &Object, parent: &str, key: &str) -> Result<u32, ReportFileError> {
        u32::try_from(self.u64(o, parent, key)?)
            .map_err(|_| self.bad(&Self::name(parent, key), "too large"))
    }

    fn f64(&self, o: &Object, parent: &str, key: &str) -> Result<f64, ReportFileError> {
        self.field(o, parent, key)?
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| self.bad(&Self::name(parent, key), "not a number of seconds"))
    }

    fn seconds(&self, o: &Object, parent: &str, key: &str) -> Result<Duration, ReportFileError> {
        let s = self.f64(o, parent, key)?;
        Duration::try_from_secs_f64(s)
            .map_err(|e| self.bad(&Self::name(parent, key), e.to_string()))
    }

    fn bool(&self, o: &Object, parent: &str, key: &str) -> Result<bool, ReportFileError> {
        self.field(o, parent, key)?
            .as_bool()
            .ok_or_else(|| self.bad(&Self::name(parent, key), "not true or false"))
    }

    fn array<'v>(
        &self,
        o: &'v Object,
        parent: &str,
        key: &str,
    ) -> Result<&'v Vec<Value>, ReportFileError> {
        self.field(o, parent, key)?
            .as_array()
            .ok_or_else(|| self.bad(&Self::name(parent, key), "not a list"))
    }

    fn version(&self, v: &Value, name: &str) -> Result<Version, ReportFileError> {
        match v.as_str() {
            Some("v2") => Ok(Version::V2),
            Some("v3") => Ok(Version::V3),
            _ => Err(self.bad(name, format!("{v} is not v2 or v3"))),
        }
    }

    fn engine(&self, v: &Value, name: &str) -> Result<Engine, ReportFileError> {
        v.as_str()
            .and_then(Engine::from_name)
            .ok_or_else(|| self.bad(name, format!("{v} is not an engine")))
    }

    fn kind(&self, v: &str, name: &str) -> Result<FailureKind, ReportFileError> {
        FailureKind::from_name(v)
            .ok_or_else(|| self.bad(name, format!("{v:?} is not a kind of failure")))
    }

    fn run(&self, v: &Value, name: &str) -> Result<RunRecord, ReportFileError> {
        let o = self.object(v, name)?;
        let counts_at = Self::name(name, "counts");
        let counts_object = self.object(self.field(o, name, "counts")?, &counts_at)?;
        let mut counts = Counts::default();
        for (key, field) in COUNT_FIELDS {
            *field(&mut counts) = self.u64(counts_object, &counts_at, key)?;
        }
        let found_at = Self::name(name, "found");
        let mut found = BTreeMap::new();
        for (kind, n) in self.object(self.field(o, name, "found")?, &found_at)? {
            let n = n
                .as_u64()
                .ok_or_else(|| self.bad(&Self::name(&found_at, kind), "not a whole number"))?;
            found.insert(self.kind(kind, &found_at)?, n);
        }
        let failures_at = Self::name(name, "failures");
        let failures = self.array(o, name, "failures")?;
        if failures.len() > FailureKind::ALL.len() {
            return Err(self.bad(&failures_at, "more failures than there are kinds"));
        }
        let failures = failures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let at = format!("{failures_at}[{i}]");
                let f = self.object(f, &at)?;
                Ok(FailureRecord {
                    kind: self.kind(self.str(f, &at, "kind")?, &Self::name(&at, "kind"))?,
                    detail: self.str(f, &at, "detail")?.to_owned(),
                    unit: self.u64(f, &at, "unit")?,
                    case: self.str(f, &at, "case")?.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, ReportFileError>>()?;
        let skipped = match self.field(o, name, "skipped")? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(self.bad(&Self::name(name, "skipped"), "not a string or null")),
        };
        let planned = match self.field(o, name, "units_planned")? {
            Value::Null => None,
            v => Some(v.as_u64().ok_or_else(|| {
                self.bad(&Self::name(name, "units_planned"), "not a whole number")
            })?),
        };
        Ok(RunRecord {
            version: self.version(
                self.field(o, name, "version")?,
                &Self::name(name, "version"),
            )?,
            engine: self.engine(self.field(o, name, "engine")?, &Self::name(name, "engine"))?,
            target: self.str(o, name, "target")?.to_owned(),
            seed: self.u64(o, name, "seed")?,
            elapsed: self.seconds(o, name, "elapsed_s")?,
            complete: self.bool(o, name, "complete")?,
            units: Units {
                done: self.u64(o, name, "units_done")?,
                planned,
            },
            skipped,
            counts,
            found,
            failures,
        })
    }
}

/// Writes `contents` to `path` so that no partial file ever has that name: a new temporary
/// file beside it (`create_new`: an existing name, a link included, is refused, never
/// followed), written, synced, renamed over `path`, and the directory synced.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut name = path
        .file_name()
        .ok_or_else(|| io::Error::other("a report needs a file name"))?
        .to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(name);
    let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let written = (|| {
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // Ours (created new above): never someone else's file.
        let _ = fs::remove_file(&tmp);
        return written;
    }
    #[cfg(unix)]
    File::open(&dir)?.sync_all()?;
    Ok(())
}
