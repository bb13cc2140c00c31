use eaof_trace::*;
use std::io::Read;
use std::time::Duration;

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = Spawn::new(env!("CARGO_BIN_EXE_trace-fixture"), ["run", "open a wc", "write a hello", "fsync a", "rename a b", "fsyncdir ."]).cwd(dir.path());
    let (rec, mut pipes) = Recorder::spawn(spawn, Config::new(dir.path())).unwrap();
    let mut out = String::new();
    pipes.stdout.read_to_string(&mut out).unwrap();
    println!("{out}");
    println!("{:?}", rec.wait(Duration::from_secs(5)));
    let (events, _) = rec.drain();
    for e in &events { println!("{e:?}"); }
    println!("{:?}", rec.crash_states(&dir.path().join("b")));
}
