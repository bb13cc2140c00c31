//! `eaof vectors`: regenerates the golden fixtures, and says what it wrote.
//!
//! Exit codes: 0 when every file was written, 4 on an I/O or format error (the file is
//! named), the same code `check` uses for an unreadable file.

use std::path::PathBuf;
use std::process::ExitCode;

use eaof_conformance::fixtures;

/// Regenerate the golden fixtures (golden files, their record lists, the test vectors)
///
/// For format versions 2 and 3: one file per record kind and one with every kind mixed,
/// each beside the list of records it encodes (`X.aof` and `X.records.json`), a README, and
/// `vectors.json`, the test vectors for ports (run them with `eaof conform`).
///
/// The files are written with eaof's own writer; version 3 files use the published key
/// 000102...1f and deterministic nonces, so the output is the same on every run and machine.
/// The committed `fixtures/` must equal what this writes: `cargo test --test golden` checks it.
/// Files of the set in DIR are replaced; other files there are left alone and listed as stale.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example, from the repository root:\n  \
    cargo run --release --bin eaof -- vectors\n  \
    git diff --stat fixtures/")]
pub struct Args {
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR", default_value = "fixtures")]
    out: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    let written = match fixtures::generate(&args.out) {
        Ok(written) => written,
        Err(e) => {
            eprintln!("eaof vectors: {e}");
            return ExitCode::from(4);
        }
    };
    let mut total = 0;
    for file in &written {
        println!("{:>8}  {}", file.len, args.out.join(&file.path).display());
        total += file.len;
    }
    println!(
        "wrote {} files ({} bytes) into {}",
        written.len(),
        total,
        args.out.display()
    );
    match fixtures::stale_files(&args.out, &written) {
        Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
        Ok(stale) => {
            for path in &stale {
                eprintln!(
                    "eaof vectors: warning: {} is not part of the fixture set (stale?)",
                    args.out.join(path).display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eaof vectors: {e}");
            ExitCode::from(4)
        }
    }
}
