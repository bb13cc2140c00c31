//! `eaof explore`: the model checker as a campaign, for people and for CI.
//!
//! Guarantees: every chosen engine of `eaof_check` runs against the chosen implementation
//! for the chosen versions within the time budget, on `--jobs` threads and on the units of
//! `--shard`; progress goes to stderr (a bar on a terminal); the summary table and every
//! failure go to stdout, each failure with a replay command that can be pasted back as is;
//! the exit code is 0 only when nothing was found. Ctrl-C stops the campaign within a case:
//! the summary of what ran and the seed are printed, the report written, and the exit code
//! is 130 (a second Ctrl-C exits at once). `eaof explore merge` combines the `--report`
//! files of a campaign's shards into one summary; `eaof explore bench` is the checker's own
//! benchmark (`crate::bench`). Nothing printed is a Rust Debug form.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eaof_check::campaign::{self, CampaignConfig, CampaignProgress, Engine, TargetKind};
use eaof_check::merge::{self, Merged};
use eaof_check::process::ProcessSpec;
use eaof_check::report_file::{CampaignFile, ConfigRecord, RunRecord};
use eaof_check::shard::Shard;
use eaof_check::Version;
use indicatif::{ProgressBar, ProgressStyle};

/// Model-check an implementation of the format: crashes, torn writes, cuts, flips, faults
///
/// Runs every checker engine against eaof (on a simulated disk), ember-persistence 0.4.9
/// (on real files), or any implementation run as a child process that speaks the driver
/// protocol (--target cmd -- PROGRAM ARGS..., docs/DRIVER.md), for versions 2 and 3 (those
/// the driver writes), within a time budget:
///
///   explore    every command sequence up to --depth over a small alphabet, every crash
///              point, every surviving prefix of the unsynced bytes (and zero or garbage
///              endings), identical disk states merged;
///   sequences  random command sequences with syncs and crashes, shrunk to a minimal case;
///   damage     every truncation point and every single-bit flip of generated files, and
///              random multi-byte damage;
///   faults     a failed write or fsync at every operation of short runs (eaof, and drivers
///              that inject faults: ember does its own I/O).
///
/// The alphabet includes truncates, clean restarts and restarts with another key where the
/// implementation can do them.
///
/// Each recovery is replayed into the model store: it must give a state the model had, with
/// every record acknowledged by a successful sync, and damage must never be hidden. The
/// summary table counts what was checked; each failure prints its minimal case and a command
/// that replays it.
///
/// Every engine runs on --jobs threads; the same seed finds the same failures for any number
/// of jobs (for engines that run to their end: a time budget stops them where the machine's
/// speed allows). --shard I/N runs one machine's part of a campaign cut across N machines;
/// --report writes a JSON report that `eaof explore merge` combines with the other shards'.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = "Exit codes:
  0  nothing found
  1  a property failed (the failures are printed with their minimal case and replay command)
  2  usage error (bad arguments)
  4  the harness could not run (a temporary file could not be made), or the report could
     not be written
  130  interrupted (Ctrl-C): the summary of what ran was printed

Examples:
  eaof explore                                  # about a minute, against eaof, every core
  eaof explore --seconds 3600 --depth 5         # a longer campaign
  eaof explore --target ember                   # find ember 0.4.9's defects
  eaof explore --target cmd -- eaof driver ember    # the same, through its driver
  eaof explore --target cmd -- python3 ports/python/eaof_driver.py
  eaof explore --seed 42                        # replay a campaign
  eaof explore --engines explore --depth 5 --seconds 86400 --shard 0/8 --report s0.json
  eaof explore merge s*.json                    # one summary of the shards' reports
  eaof explore bench                            # how soon each engine finds each known bug"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    Merge(MergeArgs),
    Bench(crate::bench::BenchArgs),
}

/// Combine the --report files of a campaign's shards into one summary
///
/// Refuses reports of different campaigns (target, versions, depth, seed, engines, budget,
/// number of shards) and a shard given twice; says which shards are missing or were
/// interrupted. The first failure of each kind is the one the campaign meets first,
/// whichever shard found it.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Exit codes:
  0  nothing found, and every shard is present and ran to its end
  1  a property failed in some shard
  3  nothing found, but coverage is not whole (a shard missing, interrupted, or stopped by
     its time budget before the end of the exhaustive exploration)
  4  a report could not be read, or the reports are of different campaigns")]
pub struct MergeArgs {
    /// The reports (`eaof explore --report FILE.json` of each shard).
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the merged report here too.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Time budget of the whole campaign, in seconds.
    #[arg(long, default_value_t = 50, value_name = "N")]
    seconds: u64,
    /// Longest command sequence the exhaustive explorer tries.
    #[arg(long, default_value_t = 4, value_name = "L", value_parser = clap::value_parser!(u8).range(1..=8))]
    depth: u8,
    /// Seed of every engine, decimal or 0x-hexadecimal (default: a new one, printed so the
    /// campaign can be replayed).
    #[arg(long, value_name = "S", value_parser = parse_seed)]
    seed: Option<u64>,
    /// The implementation to check.
    #[arg(long, value_enum, default_value_t = TargetArg::Eaof)]
    target: TargetArg,
    /// Check only this format version (default: 2 and 3, or those the driver writes).
    #[arg(long = "format-version", value_name = "V", value_parser = clap::value_parser!(u8).range(2..=3))]
    format_version: Option<u8>,
    /// The engines to run, comma-separated (default: all, in the order explore, sequences,
    /// damage, faults).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_engine)]
    engines: Vec<Engine>,
    /// Threads, each with its own target (default: the machine's cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Run only part I of a campaign cut into N parts (I from 0): one machine's share.
    #[arg(long, value_name = "I/N", default_value = "0/1", value_parser = parse_shard)]
    shard: Shard,
    /// Write a machine-readable report (JSON) here, for CI and `eaof explore merge`.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Seconds to wait for each answer of a driver before it is killed (--target cmd).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    timeout: f64,
    /// Run the driver as a plain child, not under the system-call recorder (--target cmd):
    /// durability is then the trace the driver reports itself, or the harness's own
    /// account; faults only if the driver injects them itself.
    #[arg(long)]
    no_record: bool,
    /// The directory the driver's test files are made in (--target cmd; default:
    /// EAOF_CHECK_TMPDIR, else /dev/shm, else the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The driver and its arguments (--target cmd).
    #[arg(last = true, value_name = "PROGRAM")]
    driver: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    /// eaof, on the simulated disk
    Eaof,
    /// ember-persistence 0.4.9, on real files
    Ember,
    /// the driver given after `--` (docs/DRIVER.md)
    Cmd,
}

/// The implementation `args` name; a usage error's exit code.
fn target_kind(args: &RunArgs) -> Result<TargetKind, ExitCode> {
    let usage = |message: &str| {
        eprintln!("eaof explore: {message}");
        Err(ExitCode::from(2))
    };
    match (args.target, args.driver.is_empty()) {
        (TargetArg::Cmd, true) => usage("--target cmd needs the driver after `--`"),
        (TargetArg::Cmd, false) => {
            if !(args.timeout.is_finite() && args.timeout > 0.0) {
                return usage("--timeout must be a positive number of seconds");
            }
            let mut spec = ProcessSpec::new(args.driver.clone());
            spec.timeout = Duration::from_secs_f64(args.timeout);
            spec.record &= !args.no_record;
            spec.dir.clone_from(&args.dir);
            Ok(TargetKind::Process(spec))
        }
        (_, false) => usage("a driver after `--` is for --target cmd"),
        (_, true) if args.no_record || args.dir.is_some() => {
            usage("--no-record and --dir are for --target cmd")
        }
        (TargetArg::Eaof, true) => Ok(TargetKind::Eaof),
        (TargetArg::Ember, true) => Ok(TargetKind::Ember),
    }
}

/// A seed as `--seed` takes it: decimal, or hexadecimal after `0x`.
pub(crate) fn parse_seed(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => s.replace('_', "").parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a seed: a number, decimal or 0x-hexadecimal"))
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
        .map_err(|e: eaof_check::shard::ShardError| e.to_string())
}

pub fn run(args: &Args) -> ExitCode {
    match &args.command {
        Some(Sub::Merge(merge)) => run_merge(merge),
        Some(Sub::Bench(bench)) => crate::bench::run(bench),
        None => run_campaign(&args.run),
    }
}

/// Installs the Ctrl-C handler: the first sets the flag the campaign's budget watches, a
/// second exits at once with 130.
fn interrupt_flag() -> Option<&'static AtomicBool> {
    let flag: &'static Arc<AtomicBool> = Box::leak(Box::new(Arc::new(AtomicBool::new(false))));
    use signal_hook::consts::SIGINT;
    // Registered first, so that it sees the flag before the second handler sets it.
    let second = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(flag));
    let first = signal_hook::flag::register(SIGINT, Arc::clone(flag));
    match (second, first) {
        (Ok(_), Ok(_)) => Some(flag),
        _ => {
            eprintln!("eaof explore: Ctrl-C cannot be caught here; it will end the campaign without its summary");
            None
        }
    }
}

fn run_campaign(args: &RunArgs) -> ExitCode {
    let seed = args.seed.unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        now.as_nanos() as u64 % 1_000_000_007
    });
    let target = match target_kind(args) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let versions = match (args.format_version, &target) {
        (Some(2), _) => vec![Version::V2],
        (Some(_), _) => vec![Version::V3],
        (None, TargetKind::Process(spec)) => match spec.greet() {
            Ok(hello) => {
                eprintln!(
                    "eaof explore: driver `{}` is {}, protocol {}, writes {}; durability: {}",
                    spec.display(),
                    hello.name,
                    hello.protocol,
                    list(&hello.versions),
                    spec.account(&hello)
                );
                hello.versions
            }
            Err(e) => {
                eprintln!("eaof explore: {e}");
                return ExitCode::from(4);
            }
        },
        (None, _) => Version::ALL.to_vec(),
    };
    let config = CampaignConfig {
        target,
        seconds: args.seconds as f64,
        depth: args.depth as usize,
        seed,
        versions,
        engines: if args.engines.is_empty() {
            Engine::ALL.to_vec()
        } else {
            args.engines.clone()
        },
        jobs: args
            .jobs
            .map_or_else(eaof_check::jobs::default_jobs, usize::from),
        shard: args.shard,
        cancel: interrupt_flag(),
    };
    let record = ConfigRecord::of(&config);
    eprintln!(
        "eaof explore: target {}, versions {}, engines {}, depth {}, {} s, {} jobs{}, seed {seed} (replay with: {})",
        config.target,
        list(&record.versions),
        list(&record.engines),
        config.depth,
        args.seconds,
        config.jobs,
        if config.shard == Shard::WHOLE {
            String::new()
        } else {
            format!(", shard {}", config.shard)
        },
        replay(&record, None),
    );
    let bar = ProgressBar::new(args.seconds.max(1) * 1000);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut on_progress = |p: CampaignProgress| {
        bar.set_position(p.elapsed.as_millis() as u64);
        let total = p.engine.total.map_or(String::new(), |t| format!("/{t}"));
        bar.set_message(format!(
            "{} {}: {}{} cases, {} crash states, {} failures",
            p.version,
            p.engine.engine,
            p.engine.done,
            total,
            p.engine.crash_states,
            p.engine.failures
        ));
    };
    let outcome = match campaign::run(&config, &mut on_progress) {
        Ok(outcome) => outcome,
        Err(e) => {
            bar.finish_and_clear();
            eprintln!("eaof explore: {e}");
            return ExitCode::from(4);
        }
    };
    bar.finish_and_clear();
    let file = CampaignFile::of(&config, &outcome);
    print!("{}", summary(&file.runs, file.elapsed));
    print_failures(&file);
    let mut code = if outcome.interrupted {
        println!(
            "\nINTERRUPTED after {:.1} s: the summary above is what ran; seed {seed} (replay with: {})",
            outcome.elapsed.as_secs_f64(),
            replay(&record, None)
        );
        ExitCode::from(130)
    } else if outcome.found_anything() {
        println!(
            "\nFOUND: see above; the whole campaign replays with: {}",
            replay(&record, None)
        );
        if matches!(config.target, TargetKind::Ember) || args.driver.iter().any(|a| a == "ember") {
            println!("(ember 0.4.9's defects are written up, with minimal reproducers, in docs/ember-0.4.9.md)");
        }
        ExitCode::from(1)
    } else {
        println!("\nnothing found (seed {seed})");
        ExitCode::SUCCESS
    };
    if let Some(path) = &args.report {
        if let Err(e) = file.write(path) {
            eprintln!("eaof explore: the report could not be written: {e}");
            code = ExitCode::from(4);
        }
    }
    code
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The command that replays a campaign (or, given a run, that run's engine and version
/// alone), as the parser takes it back.
fn replay(config: &ConfigRecord, run: Option<&RunRecord>) -> String {
    let (versions, engines) = match run {
        Some(run) => (vec![run.version], vec![run.engine]),
        None => (config.versions.clone(), config.engines.clone()),
    };
    // A driver's command comes last, after `--`.
    let (target, driver) = match config.target.split_once(" -- ") {
        Some((target, driver)) => (target, Some(driver)),
        None => (config.target.as_str(), None),
    };
    let mut command = format!(
        "eaof explore --target {target} --seed {} --depth {} --seconds {}",
        config.seed, config.depth, config.seconds
    );
    if versions.len() == 1 {
        command.push_str(&format!(" --format-version {}", versions[0].byte()));
    }
    if engines.len() < Engine::ALL.len() {
        command.push_str(&format!(" --engines {}", list(&engines)));
    }
    if config.shard != Shard::WHOLE {
        command.push_str(&format!(" --shard {}", config.shard));
    }
    if let Some(driver) = driver {
        command.push_str(&format!(" -- {driver}"));
    }
    command
}

/// Every failure, with its case and the command that replays it.
fn print_failures(file: &CampaignFile) {
    for run in &file.runs {
        for failure in &run.failures {
            println!(
                "\n{} on {}, unit {}:\n{} ({}): {}\n{}replay: {}",
                run.engine,
                run.target,
                failure.unit,
                failure.kind,
                failure.kind.property(),
                failure.detail,
                failure.case,
                replay(&file.config, Some(run))
            );
        }
    }
}

fn run_merge(args: &MergeArgs) -> ExitCode {
    let mut files = Vec::new();
    for path in &args.reports {
        match CampaignFile::read(path) {
            Ok(file) => files.push((path.clone(), file)),
            Err(e) => {
                eprintln!("eaof explore merge: {e}");
                return ExitCode::from(4);
            }
        }
    }
    let merged = match merge::merge(&files) {
        Ok(merged) => merged,
        Err(e) => {
            eprintln!("eaof explore merge: {e}");
            return ExitCode::from(4);
        }
    };
    let Merged {
        file,
        missing,
        interrupted,
    } = &merged;
    let config = &file.config;
    println!(
        "{} reports of a campaign cut into {} shards: target {}, versions {}, engines {}, depth {}, seed {}",
        files.len(),
        config.shard.count(),
        config.target,
        list(&config.versions),
        list(&config.engines),
        config.depth,
        config.seed
    );
    print!("{}", summary(&file.runs, file.elapsed));
    let mut whole_config = config.clone();
    whole_config.shard = Shard::WHOLE;
    let mut whole_file = file.clone();
    whole_file.config = whole_config.clone();
    print_failures(&whole_file);
    if !missing.is_empty() {
        println!("\nmissing shards: {}", list(missing));
    }
    if !interrupted.is_empty() {
        println!("interrupted shards: {}", list(interrupted));
    }
    let found = file
        .runs
        .iter()
        .any(|r| !r.failures.is_empty() || r.found.values().any(|&n| n > 0));
    let code = if found {
        println!(
            "\nFOUND: see above; the whole campaign replays with: {}",
            replay(&whole_config, None)
        );
        ExitCode::from(1)
    } else if merged.whole() {
        println!(
            "\nnothing found; coverage is whole: every shard ran to its end (seed {})",
            config.seed
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "\nnothing found, but coverage is not whole (seed {}): see the shards above and the \
             runs marked +",
            config.seed
        );
        ExitCode::from(3)
    };
    if let Some(path) = &args.report {
        if let Err(e) = file.write(path) {
            eprintln!("eaof explore merge: the merged report could not be written: {e}");
            return ExitCode::from(4);
        }
    }
    code
}

/// The summary table: one row per engine and version.
fn summary(runs: &[RunRecord], wall: Duration) -> String {
    let mut out = format!(
        "{:<4} {:<10} {:>9} {:>12} {:>12} {:>8} {:>9} {:>8} {:>7} {:>11} {:>8}  {}\n",
        "ver",
        "engine",
        "cases",
        "crash st.",
        "merged",
        "cuts",
        "flips",
        "damages",
        "faults",
        "states/s",
        "time",
        "found"
    );
    let mut total = eaof_check::Counts::default();
    for r in runs {
        let c = &r.counts;
        total.add(c);
        let per_second = c.crash_states as f64 / r.elapsed.as_secs_f64().max(1e-9);
        let mut found: Vec<String> = r
            .found
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(k, n)| format!("{k}×{n}"))
            .collect();
        // A trace the persistence model cannot follow is neither a pass nor a finding.
        if c.unmodellable > 0 {
            found.push(format!("unmodellable×{}", c.unmodellable));
        }
        out.push_str(&format!(
            "{:<4} {:<10} {:>9} {:>12} {:>12} {:>8} {:>9} {:>8} {:>7} {:>11.0} {:>7.1}s{} {}\n",
            r.version,
            r.engine,
            c.cases,
            c.crash_states,
            c.merged,
            c.truncations,
            c.flips,
            c.damages,
            c.faults,
            per_second,
            r.elapsed.as_secs_f64(),
            if r.complete { " " } else { "+" },
            match (&r.skipped, found.is_empty()) {
                (Some(why), _) => format!("n/a: {why}"),
                (None, true) => "-".to_string(),
                (None, false) => found.join(" "),
            }
        ));
    }
    out.push_str(&format!(
        "all  {:<10} {:>9} {:>12} {:>12} {:>8} {:>9} {:>8} {:>7} {:>11.0} {:>7.1}s\n",
        "",
        total.cases,
        total.crash_states,
        total.merged,
        total.truncations,
        total.flips,
        total.damages,
        total.faults,
        total.crash_states as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    ));
    out.push_str(
        "(+: stopped before its whole configuration: by the time budget, or a shard missing)\n",
    );
    if total.unmodellable > 0 {
        out.push_str(&format!(
            "unmodellable: {} moments whose crash states the recorded trace cannot give were \
             not checked\n",
            total.unmodellable
        ));
    }
    out
}
