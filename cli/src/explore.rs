//! `eaof explore`: the model checker as a campaign, for people and for CI.
//!
//! Guarantees: every engine of `eaof_check` runs against the chosen implementation for
//! versions 2 and 3 within the time budget; progress goes to stderr (a bar on a terminal);
//! the summary table and every failure, with the seed that replays it, go to stdout; the exit
//! code is 0 only when nothing was found.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eaof_check::campaign::{self, CampaignConfig, CampaignProgress, TargetKind};
use eaof_check::process::ProcessSpec;
use eaof_check::{Report, Version};
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
/// summary table counts what was checked; each failure prints the seed and minimal command
/// sequence that replay it.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Exit codes:
  0  nothing found
  1  a property failed (the failures are printed with their seed and minimal case)
  2  usage error (bad arguments)
  4  the harness could not run (a temporary file could not be made)

Examples:
  eaof explore                              # about a minute, against eaof
  eaof explore --seconds 3600 --depth 5     # a longer campaign
  eaof explore --target ember               # find ember 0.4.9's defects
  eaof explore --target cmd -- eaof driver ember    # the same, through its driver
  eaof explore --target cmd -- python3 ports/python/eaof_driver.py
  eaof explore --seed 42                    # replay a campaign")]
pub struct Args {
    /// Time budget of the whole campaign, in seconds.
    #[arg(long, default_value_t = 50, value_name = "N")]
    seconds: u64,
    /// Longest command sequence the exhaustive explorer tries.
    #[arg(long, default_value_t = 4, value_name = "L", value_parser = clap::value_parser!(u8).range(1..=8))]
    depth: u8,
    /// Seed of every engine (default: a new one, printed so the campaign can be replayed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// The implementation to check.
    #[arg(long, value_enum, default_value_t = TargetArg::Eaof)]
    target: TargetArg,
    /// Check only this format version (default: 2 and 3, or those the driver writes).
    #[arg(long = "format-version", value_name = "V", value_parser = clap::value_parser!(u8).range(2..=3))]
    format_version: Option<u8>,
    /// Seconds to wait for each answer of a driver before it is killed (--target cmd).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    timeout: f64,
    /// The driver and its arguments (--target cmd).
    #[arg(last = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
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

/// The target as the words of `--target` that name it.
fn target_words(target: &TargetKind) -> String {
    match target {
        TargetKind::Eaof => "eaof".into(),
        TargetKind::Ember => "ember".into(),
        TargetKind::Process(spec) => format!("cmd -- {}", spec.display()),
    }
}

/// The implementation `args` name; a usage error's exit code.
fn target_kind(args: &Args) -> Result<TargetKind, ExitCode> {
    let usage = |message: &str| {
        eprintln!("eaof explore: {message}");
        Err(ExitCode::from(2))
    };
    match (args.target, args.command.is_empty()) {
        (TargetArg::Cmd, true) => usage("--target cmd needs the driver after `--`"),
        (TargetArg::Cmd, false) => {
            if !(args.timeout.is_finite() && args.timeout > 0.0) {
                return usage("--timeout must be a positive number of seconds");
            }
            let mut spec = ProcessSpec::new(args.command.clone());
            spec.timeout = Duration::from_secs_f64(args.timeout);
            Ok(TargetKind::Process(spec))
        }
        (_, false) => usage("a driver after `--` is for --target cmd"),
        (TargetArg::Eaof, true) => Ok(TargetKind::Eaof),
        (TargetArg::Ember, true) => Ok(TargetKind::Ember),
    }
}

pub fn run(args: &Args) -> ExitCode {
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
                    "eaof explore: driver `{}` is {}, protocol {}, writes {:?}",
                    spec.display(),
                    hello.name,
                    hello.protocol,
                    hello.versions
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
    };
    eprintln!(
        "eaof explore: target {}, versions {:?}, depth {}, {} s, seed {seed} (replay with --seed {seed})",
        target_words(&config.target), config.versions, config.depth, args.seconds
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
            "{:?} {}: {}{} cases, {} crash states, {} failures",
            p.version,
            p.engine.engine,
            p.engine.done,
            total,
            p.engine.crash_states,
            p.engine.failures
        ));
    };
    let reports = match campaign::run(&config, &mut on_progress) {
        Ok(reports) => reports,
        Err(e) => {
            bar.finish_and_clear();
            eprintln!("eaof explore: {e}");
            return ExitCode::from(4);
        }
    };
    bar.finish_and_clear();
    print!("{}", summary(&reports));
    let found = campaign::found_anything(&reports);
    for report in &reports {
        for failure in &report.failures {
            println!(
                "\n{} on {} (seed {}):\n{failure}",
                report.engine, report.target, report.seed
            );
        }
    }
    if found {
        println!(
            "\nFOUND: see above; replay with --seed {seed} --target {}",
            target_words(&config.target)
        );
        if matches!(config.target, TargetKind::Ember) || args.command.iter().any(|a| a == "ember") {
            println!("(ember 0.4.9's defects are written up, with minimal reproducers, in docs/ember-0.4.9.md)");
        }
        ExitCode::from(1)
    } else {
        println!("\nnothing found (seed {seed})");
        ExitCode::SUCCESS
    }
}

/// The summary table: one row per engine and version.
fn summary(reports: &[Report]) -> String {
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
    let mut elapsed = Duration::ZERO;
    for r in reports {
        let c = &r.counts;
        total.add(c);
        elapsed += r.elapsed;
        let per_second = c.crash_states as f64 / r.elapsed.as_secs_f64().max(1e-9);
        let found: Vec<String> = r
            .found
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(k, n)| format!("{k:?}×{n}"))
            .collect();
        // Target names read like "eaof v2 (simulated disk)".
        let version = r
            .target
            .split_whitespace()
            .find(|w| matches!(*w, "v2" | "v3"))
            .unwrap_or("");
        out.push_str(&format!(
            "{:<4} {:<10} {:>9} {:>12} {:>12} {:>8} {:>9} {:>8} {:>7} {:>11.0} {:>7.1}s{} {}\n",
            version,
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
        total.crash_states as f64 / elapsed.as_secs_f64().max(1e-9),
        elapsed.as_secs_f64()
    ));
    out.push_str("(+: stopped by the time budget before its whole configuration)\n");
    out
}
