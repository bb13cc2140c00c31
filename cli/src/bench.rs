//! `eaof explore bench`: the checker's own benchmark, for people (a table) and machines
//! (`--json`, `--report`).
//!
//! Guarantees: every (bug, method) cell chosen is run and printed, found or not
//! (`eaof_check::bench`); the driver rows start this very binary (`eaof driver eaof
//! --planted BUG`); progress goes to stderr, a line per cell; the table (or the JSON) goes
//! to stdout; the exit code is 0 when the bench ran, whatever it found.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use eaof_check::bench::{self, BenchConfig, Cap, Method, Row};
use eaof_check::report_file::write_atomically;

/// Time and states until each engine first finds each known bug (the checker's benchmark)
///
/// Each row is a known bug: one planted in eaof's writer on the simulated disk (`sim`), the
/// same planted through the eaof driver on real files (`driver`: this binary, run as
/// `eaof driver eaof --planted BUG`), or a defect of ember-persistence 0.4.9 (`ember H1` to
/// `H10`, docs/ember-0.4.9.md), each with the failure kinds it shows as. Each method looks
/// for it: the four engines of `eaof explore`, with a campaign's settings, and the
/// baseline: proptest's random command sequences alone (the same steps as the sequences
/// engine but no crash inside a sequence; one crash at its end, into the file as written or
/// cut at one random point of its unsynced bytes; no harsh images, no damage, no faults),
/// judged by the same oracle.
///
/// Each cell runs --seeds times on one thread, each run ignoring every other kind and
/// stopping at the first finding of the row's kinds (not shrunk), or at the cap (--cap-seconds
/// and --cap-cases a run). It prints how many runs found the bug and the medians of their time,
/// cases and crash states recovered, a run that missed counting as slower than any that found
/// it; a cell whose median run missed says "not found within cap" (or "whole configuration
/// run": the explorer's tree to --depth), one whose engine does not apply says so. No cell is
/// left out; once more than half of a cell's seeds missed, its other seeds are not run (the
/// median is decided), so "found 0/3" means three misses of five seeds.
///
/// To see whether a change made the checker slower to find a bug, run the same command
/// before and after it (the same --seed, on a quiet machine) and compare the tables: cases
/// and crash states do not depend on the machine, time does.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Exit codes:
  0  the bench ran (whatever it found)
  2  usage error (bad arguments)
  4  the report could not be written

Examples:
  eaof explore bench                            # every row and method, about 10 minutes
  eaof explore bench --rows sim --seeds 3       # the simulated-disk rows only
  eaof explore bench --rows 'ember H1' --methods explore,baseline
  eaof explore bench --json > bench.json        # for machines
  eaof explore bench --report after.json        # the table, and the JSON kept")]
pub struct BenchArgs {
    /// Runs a cell, each with its own seed.
    #[arg(long, default_value_t = 5, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=i64::from(bench::SEEDS_MAX)))]
    seeds: u32,
    /// The seed the runs' seeds derive from, decimal or 0x-hexadecimal.
    #[arg(long, value_name = "S", default_value = "0xbe0c4", value_parser = crate::explore::parse_seed)]
    seed: u64,
    /// Seconds of one run before it counts as not found.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    cap_seconds: f64,
    /// Cases of one run (sequences explored, sequences, files, fault scripts) before it
    /// counts as not found.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    cap_cases: u64,
    /// The explorer's longest sequence.
    #[arg(long, default_value_t = 4, value_name = "L", value_parser = clap::value_parser!(u8).range(1..=8))]
    depth: u8,
    /// Only the rows whose name contains one of these words, comma-separated (`sim`,
    /// `driver`, `ember`, `no-file-fsync`, `ember H1`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    rows: Vec<String>,
    /// The methods, comma-separated (default: explore,sequences,damage,faults,baseline).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_method)]
    methods: Vec<Method>,
    /// Print the outcome as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Write the outcome as JSON here too (atomically).
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
}

fn parse_method(s: &str) -> Result<Method, String> {
    Method::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        format!("no method {s:?}: the methods are {}", names.join(", "))
    })
}

pub fn run(args: &BenchArgs) -> ExitCode {
    let usage = |message: String| {
        eprintln!("eaof explore bench: {message}");
        ExitCode::from(2)
    };
    if !(args.cap_seconds.is_finite() && args.cap_seconds > 0.0) {
        return usage("--cap-seconds must be a positive number of seconds".into());
    }
    let rows: Vec<Row> = Row::all()
        .into_iter()
        .filter(|r| args.rows.is_empty() || args.rows.iter().any(|w| r.name.contains(w.trim())))
        .collect();
    if rows.is_empty() {
        let names: Vec<String> = Row::all().into_iter().map(|r| r.name).collect();
        return usage(format!(
            "no row matches {:?}; the rows are: {}",
            args.rows,
            names.join(", ")
        ));
    }
    let driver = std::env::current_exe()
        .ok()
        .map(|exe| vec![OsString::from(exe), OsString::from("driver")]);
    let config = BenchConfig {
        rows,
        methods: match args.methods.is_empty() {
            true => Method::ALL.to_vec(),
            false => args.methods.clone(),
        },
        seeds: args.seeds,
        seed: args.seed,
        cap: Cap {
            seconds: args.cap_seconds,
            cases: args.cap_cases,
        },
        depth: usize::from(args.depth),
        driver,
    };
    eprintln!(
        "eaof explore bench: {} rows × {} methods, {} seeds a cell, cap {} s and {} cases a run",
        config.rows.len(),
        config.methods.len(),
        config.seeds,
        config.cap.seconds,
        config.cap.cases
    );
    let outcome = bench::run(&config, &mut |cell| {
        let medians = cell.medians().map_or_else(
            || cell.verdict(),
            |m| format!("{:.1?}, {} cases", m.elapsed, m.cases),
        );
        eprintln!(
            "  {} / {}: {}/{} found; {medians}",
            cell.row.name,
            cell.method,
            cell.found(),
            cell.runs.len()
        );
    });
    let mut json = serde_json::to_string_pretty(&outcome.to_json()).unwrap_or_default();
    json.push('\n');
    match args.json {
        true => print!("{json}"),
        false => print!("{outcome}"),
    }
    if let Some(path) = &args.report {
        if let Err(e) = write_atomically(path, json.as_bytes()) {
            eprintln!(
                "eaof explore bench: the report could not be written to {}: {e}",
                path.display()
            );
            return ExitCode::from(4);
        }
    }
    ExitCode::SUCCESS
}
