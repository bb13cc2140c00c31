//! Runs a program under the recorder and prints a summary of what it recorded:
//! `cargo run --release -p eaof-trace --example record -- DIR PROGRAM [ARGS...]`
//! (the program runs in DIR, which is the watched directory). With `EAOF_TRACE_PRINT=1`
//! every event is printed. Used to measure the recorder's overhead (docs/RECORDER.md).

use std::io::Read;
use std::time::{Duration, Instant};

use eaof_trace::{Config, Recorder, Spawn, What};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(program)) = (args.first(), args.get(1)) else {
        eprintln!("usage: record DIR PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let spawn = Spawn::new(program, &args[2..]).cwd(dir);
    let started = Instant::now();
    let (recorder, mut pipes) = match Recorder::spawn(spawn, Config::new(dir)) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("record: {e}");
            std::process::exit(2);
        }
    };
    drop(pipes.stdin);
    let mut out = Vec::new();
    let _ = pipes.stdout.read_to_end(&mut out);
    let exit = recorder.wait(Duration::from_secs(600));
    let elapsed = started.elapsed();
    let (events, dropped) = recorder.drain();
    let print = std::env::var_os("EAOF_TRACE_PRINT").is_some();
    let calls = events
        .iter()
        .filter(|e| {
            if print {
                println!("{e:?}");
            }
            matches!(e.what, What::Call(_))
        })
        .count();
    eprintln!(
        "{exit:?} in {:.3} s: {calls} calls recorded ({:.0} a second), {} events, {dropped} dropped",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        events.len()
    );
}
