//! `eaof conform`: runs the test vectors against another implementation of the format, in
//! the manner of protobuf's conformance runner. The implementation runs as a child process;
//! each vector becomes one or more requests, sent over the child's stdin with
//! length-prefixed framing, and each answer read from its stdout is compared with the
//! vector (docs/FORMAT.md, section 9, defines the protocol).
//!
//! Exit codes: 0 when every selected case passed; 1 when any failed or was answered
//! `unsupported`, or nothing was selected; 2 for a usage error; 4 when the vectors cannot be
//! read or the implementation cannot be started.
//!
//! `--blind` leaves the expected answer and the vector's comment out of every failure, so
//! that a port is fixed from the spec rather than by copying the reference's answers.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;

use eaof_conformance::{cases, child, vectors};

mod planted;
mod responder;

use cases::{Outcome, Selection, Selector};
use child::Responder;
use planted::Mistake;

/// Run the test vectors against another implementation, over a pipe
///
/// Starts CMD ARGS... as a child process and sends it each selected vector as a request: a
/// little-endian u32 length, then a JSON object, on its stdin; it answers each request the
/// same way on its stdout. Prints PASS or FAIL per case, then "N passed, M failed, K
/// unsupported". An implementation may answer {"unsupported": "why"} to a request it does
/// not handle (a port without AES-GCM, for version 3): that is not a pass; leave those
/// vectors out with --only.
///
/// A failure shows the answer given and what the vector expected. With --blind it shows
/// only the answer and which part of it is wrong: neither the expected answer nor the
/// vector's comment (which often names it), so that each rule is found in the spec rather
/// than copied from the reference.
///
/// The protocol is in docs/FORMAT.md, section 9 ("Test vectors and the conformance
/// runner"). The vectors are fixtures/vectors.json; the runner has the same set built in.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples, from the repository root:\n  \
    cargo run --release --bin eaof -- conform --self\n  \
    cargo run --release --bin eaof -- conform --only v2 -- python3 ports/python/eaof_conform.py\n  \
    cargo run --release --bin eaof -- conform --tc 40113 -- ./my-port --conform\n  \
    cargo run --release --bin eaof -- conform --blind --quiet -- ./my-port --conform")]
pub struct Args {
    /// Run against eaof's own built-in responder (a check of the runner and the reference)
    #[arg(long = "self", conflicts_with = "command")]
    against_self: bool,

    /// Be the built-in responder: answer requests on stdin (what --self starts)
    #[arg(long, hide = true, conflicts_with_all = ["command", "against_self"])]
    respond: bool,

    /// Run only these groups: records, invalid, refusals, files; and file groups of these
    /// versions: v1, v2, v3 (comma-separated; types and versions combine)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SEL")]
    only: Vec<Selector>,

    /// Run only the vectors with these tcIds (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    tc: Vec<u64>,

    /// Read the vectors from FILE instead of the built-in set
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,

    /// Seconds to wait for each answer before the case fails and the child is restarted
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    timeout: f64,

    /// Print only failures and the summary
    #[arg(long, short)]
    quiet: bool,

    /// On a failure, print neither the expected answer nor the vector's comment: only the
    /// part of the answer that is wrong
    #[arg(long)]
    blind: bool,

    /// Answer as a port with this mistake would (with --self or --respond): shows that the
    /// vectors catch it
    #[arg(
        long,
        value_enum,
        hide = true,
        value_name = "MISTAKE",
        conflicts_with = "command"
    )]
    plant: Option<Mistake>,

    /// The implementation to test, and its arguments
    #[arg(last = true, value_name = "CMD", required_unless_present_any = ["against_self", "respond"])]
    command: Vec<OsString>,
}

pub fn run(args: &Args) -> ExitCode {
    if args.respond {
        let (stdin, stdout) = (io::stdin(), io::stdout());
        return match responder::serve(&mut stdin.lock(), &mut stdout.lock(), args.plant) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("eaof conform --respond: {e}");
                ExitCode::from(4)
            }
        };
    }
    let command = if args.against_self {
        match std::env::current_exe() {
            Ok(exe) => {
                let mut command: Vec<OsString> =
                    vec![exe.into(), "conform".into(), "--respond".into()];
                if let Some(mistake) = args.plant {
                    let name = clap::ValueEnum::to_possible_value(&mistake)
                        .map(|v| v.get_name().to_owned())
                        .unwrap_or_default();
                    command.extend(["--plant".into(), name.into()]);
                }
                command
            }
            Err(e) => {
                eprintln!("eaof conform: cannot find this program to run it: {e}");
                return ExitCode::from(4);
            }
        }
    } else {
        args.command.clone()
    };
    let loaded = match &args.vectors {
        None => vectors::vectors().map_err(|e| format!("built-in vectors: {e}")),
        Some(path) => std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", path.display())),
    };
    let set = match loaded {
        Ok(set) => set,
        Err(e) => {
            eprintln!("eaof conform: {e}");
            return ExitCode::from(4);
        }
    };
    let selection = Selection {
        only: args.only.clone(),
        tc_ids: args.tc.clone(),
    };
    let cases = match cases::cases(&set, &selection) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("eaof conform: vectors: {e}");
            return ExitCode::from(4);
        }
    };
    if cases.is_empty() {
        eprintln!("eaof conform: no vector matches the selection");
        return ExitCode::from(1);
    }
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(10));
    let mut responder = Responder::new(command.clone(), timeout);
    if let Err(e) = responder.start() {
        eprintln!("eaof conform: {}: {e}", shown_command(&command));
        return ExitCode::from(4);
    }
    let started = Instant::now();
    let tally = run_cases(&cases, &mut responder, args);
    responder.stop();
    let elapsed = started.elapsed();
    let vectors: std::collections::BTreeSet<u64> = cases.iter().map(|c| c.tc_id).collect();
    let mut out = io::stdout().lock();
    if !tally.failed_groups.is_empty() {
        let _ = writeln!(out, "not passed, by group:");
        for (group, n) in &tally.failed_groups {
            let _ = writeln!(out, "  {group}: {n}");
        }
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} unsupported ({} cases from {} vectors, {:.2} s, {} start{} of {})",
        tally.passed,
        tally.failed,
        tally.unsupported,
        cases.len(),
        vectors.len(),
        elapsed.as_secs_f64(),
        responder.starts,
        if responder.starts == 1 { "" } else { "s" },
        shown_command(&command),
    );
    if tally.failed == 0 && tally.unsupported == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
    unsupported: u64,
    failed_groups: Vec<(String, u64)>,
}

fn run_cases(cases: &[cases::Case], responder: &mut Responder, args: &Args) -> Tally {
    let mut tally = Tally::default();
    let mut out = io::stdout().lock();
    for case in cases {
        let outcome = match responder.ask(&case.request) {
            Ok(answer) => cases::judge(case, &answer),
            Err(e) => Outcome::Fail(cases::Failure::of_answer(format!("no answer: {e}"))),
        };
        let (status, detail) = match &outcome {
            Outcome::Pass => {
                tally.passed += 1;
                ("PASS", None)
            }
            Outcome::Fail(failure) => {
                tally.failed += 1;
                ("FAIL", Some(failure.describe(args.blind)))
            }
            Outcome::Unsupported(why) => {
                tally.unsupported += 1;
                ("UNSUPPORTED", Some(why.clone()))
            }
        };
        if outcome != Outcome::Pass {
            match tally
                .failed_groups
                .iter_mut()
                .find(|(g, _)| *g == case.group)
            {
                Some((_, n)) => *n += 1,
                None => tally.failed_groups.push((case.group.clone(), 1)),
            }
        }
        if args.quiet && outcome == Outcome::Pass {
            continue;
        }
        // The comment of a vector often names what it expects; blind runs leave it out of
        // failures.
        let comment = match outcome {
            Outcome::Fail(_) if args.blind => String::new(),
            _ => format!(": {}", case.comment),
        };
        let _ = writeln!(
            out,
            "{status:<4} {:>5} {:<13} {}{comment}",
            case.tc_id, case.op, case.group
        );
        if let Some(detail) = detail {
            let _ = writeln!(out, "       {detail}");
        }
    }
    tally
}

fn shown_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
