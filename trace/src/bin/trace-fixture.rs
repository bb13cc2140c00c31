//! A small program for the recorder's tests: it makes the file-system calls a script names,
//! one step at a time, and prints each step's result, so a test knows exactly which calls
//! to expect and what the program saw.
//!
//! `trace-fixture run STEP...` runs each STEP (one argument: words separated by spaces);
//! `trace-fixture serve` runs one step per line of standard input, answering one line each
//! (how a driver speaks); `trace-fixture hang [FILE]` creates FILE then sleeps until killed;
//! `trace-fixture record DIR` starts `trace-fixture hang ready` in DIR under a recorder
//! watching DIR, prints its pid, and hangs (to show that killing the harness kills the child).
//!
//! Steps (files are named relative to the working directory and kept open by name):
//! `open NAME FLAGS` (letters: r w a c t x s for read, write, append, create, truncate,
//! exclusive, O_SYNC), `write NAME TEXT`, `pwrite NAME OFFSET TEXT`, `writev NAME TEXT...`,
//! `fsync NAME`, `fdatasync NAME`, `fsyncdir DIR`, `ftruncate NAME LEN`,
//! `fallocate NAME OFFSET LEN`, `close NAME`, `dup NAME NEW`, `rename FROM TO`, `unlink NAME`,
//! `mkdir NAME`, `threads NAME...` (one thread per name: open it created, write the name,
//! fsync), `child STEP` (runs `trace-fixture run STEP` as a child process and waits),
//! `spawn-hang` (starts `trace-fixture hang` and answers its pid), `read NAME` (prints `= `
//! and the file, zero bytes as dots, on a line of its own before the answer), `mmap NAME` (maps it
//! shared and writable), `loop NAME N` (N writes of 16 bytes), `loopsync NAME N` (each
//! followed by an fsync).
//! Each step prints `ok N` (the call's return, or 0) or `err ERRNO` (the raw number).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, IoSlice, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::time::Duration;

fn open(name: &str, flags: &str) -> io::Result<File> {
    let mut options = OpenOptions::new();
    let mut custom = 0;
    for letter in flags.chars() {
        match letter {
            'r' => options.read(true),
            'w' => options.write(true),
            'a' => options.append(true),
            'c' => options.create(true),
            't' => options.truncate(true),
            'x' => options.create_new(true),
            's' => {
                custom |= libc::O_SYNC;
                &mut options
            }
            _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
    }
    options.custom_flags(custom).open(name)
}

struct Fixture {
    // Ordered: the files left open are closed in name order at the end.
    files: BTreeMap<String, File>,
}

fn arg<'a>(words: &[&'a str], i: usize) -> io::Result<&'a str> {
    words
        .get(i)
        .copied()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

fn number(words: &[&str], i: usize) -> io::Result<u64> {
    arg(words, i)?
        .parse()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Fixture {
    fn file(&mut self, name: &str) -> io::Result<&mut File> {
        self.files
            .get_mut(name)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))
    }

    fn step(&mut self, line: &str) -> io::Result<u64> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = arg(&words, 1).unwrap_or_default();
        match arg(&words, 0)? {
            "open" => {
                let file = open(name, arg(&words, 2)?)?;
                self.files.insert(name.to_owned(), file);
                Ok(0)
            }
            "write" => Ok(self.file(name)?.write(arg(&words, 2)?.as_bytes())? as u64),
            "pwrite" => {
                let offset = number(&words, 2)?;
                let text = arg(&words, 3)?.as_bytes();
                Ok(self.file(name)?.write_at(text, offset)? as u64)
            }
            "writev" => {
                let slices: Vec<IoSlice<'_>> = words[2..]
                    .iter()
                    .map(|w| IoSlice::new(w.as_bytes()))
                    .collect();
                Ok(self.file(name)?.write_vectored(&slices)? as u64)
            }
            "fsync" => self.file(name)?.sync_all().map(|()| 0),
            "fdatasync" => self.file(name)?.sync_data().map(|()| 0),
            "fsyncdir" => File::open(name)?.sync_all().map(|()| 0),
            "ftruncate" => {
                let len = number(&words, 2)?;
                self.file(name)?.set_len(len).map(|()| 0)
            }
            "fallocate" => {
                let (offset, len) = (number(&words, 2)?, number(&words, 3)?);
                let file = self.file(name)?;
                let flags = nix::fcntl::FallocateFlags::empty();
                nix::fcntl::fallocate(&*file, flags, offset as i64, len as i64)?;
                Ok(0)
            }
            "close" => {
                self.files.remove(name);
                Ok(0)
            }
            "dup" => {
                let copy = self.file(name)?.try_clone()?;
                self.files.insert(arg(&words, 2)?.to_owned(), copy);
                Ok(0)
            }
            "rename" => fs::rename(name, arg(&words, 2)?).map(|()| 0),
            "unlink" => fs::remove_file(name).map(|()| 0),
            "mkdir" => fs::create_dir(name).map(|()| 0),
            "threads" => {
                let handles: Vec<_> = words[1..]
                    .iter()
                    .map(|n| {
                        let n = n.to_string();
                        std::thread::spawn(move || -> io::Result<()> {
                            let mut f = open(&n, "wc")?;
                            f.write_all(n.as_bytes())?;
                            f.sync_all()
                        })
                    })
                    .collect();
                for h in handles {
                    h.join()
                        .map_err(|_| io::Error::from_raw_os_error(libc::EFAULT))??;
                }
                Ok(0)
            }
            "child" => {
                let rest = line.split_once(' ').map(|(_, r)| r).unwrap_or_default();
                let status = std::process::Command::new(std::env::current_exe()?)
                    .args(["run", rest])
                    .status()?;
                Ok(status.code().unwrap_or(-1) as u64)
            }
            "loop" | "loopsync" => {
                // `loop NAME N`: N writes of 16 bytes; `loopsync NAME N`: each followed by
                // an fsync (for measuring the recorder's overhead).
                let count = number(&words, 2)?;
                let sync = words[0] == "loopsync";
                let file = self.file(name)?;
                for _ in 0..count {
                    file.write_all(b"0123456789abcdef")?;
                    if sync {
                        file.sync_all()?;
                    }
                }
                Ok(count)
            }
            "spawn-hang" => {
                let child = std::process::Command::new(std::env::current_exe()?)
                    .arg("hang")
                    .spawn()?;
                Ok(u64::from(child.id()))
            }
            "read" => {
                let bytes = fs::read(name)?;
                let text = String::from_utf8_lossy(&bytes).replace('\0', ".");
                println!("= {text}");
                Ok(bytes.len() as u64)
            }
            "mmap" => {
                let file = self.file(name)?;
                let len = file.metadata()?.len().max(1) as usize;
                let prot =
                    nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE;
                let flags = nix::sys::mman::MapFlags::MAP_SHARED;
                let len = std::num::NonZeroUsize::new(len)
                    .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
                // Mapping and leaving it mapped is enough for the recorder to see it.
                mmap_shared(len, prot, flags, file)?;
                Ok(0)
            }
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

#[allow(unsafe_code)]
fn mmap_shared(
    len: std::num::NonZeroUsize,
    prot: nix::sys::mman::ProtFlags,
    flags: nix::sys::mman::MapFlags,
    file: &File,
) -> io::Result<()> {
    // SAFETY: a fresh mapping at an address the kernel chooses; never dereferenced, never
    // unmapped (the process ends soon after).
    unsafe { nix::sys::mman::mmap(None, len, prot, flags, file, 0) }?;
    Ok(())
}

fn answer(result: io::Result<u64>) -> String {
    match result {
        Ok(n) => format!("ok {n}"),
        Err(e) => format!("err {}", e.raw_os_error().unwrap_or(-1)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut fixture = Fixture {
        files: BTreeMap::new(),
    };
    let stdout = io::stdout();
    match args.first().map(String::as_str) {
        Some("run") => {
            let mut out = stdout.lock();
            for step in &args[1..] {
                let _ = writeln!(out, "{}", answer(fixture.step(step)));
            }
        }
        Some("serve") => {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", answer(fixture.step(&line)));
                let _ = out.flush();
            }
        }
        Some("hang") => {
            // `hang FILE`: creates FILE first, so a test knows the program is running.
            if let Some(ready) = args.get(1) {
                let _ = File::create(ready);
            }
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        Some("record") => {
            let dir = args.get(1).cloned().unwrap_or_else(|| ".".into());
            let me = std::env::current_exe().expect("own path");
            let spawn = eaof_trace::Spawn::new(me, ["hang", "ready"]).cwd(&dir);
            let (recorder, _pipes) =
                eaof_trace::Recorder::spawn(spawn, eaof_trace::Config::new(dir)).expect("spawn");
            println!("{}", recorder.pid());
            let _ = io::stdout().flush();
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        _ => {
            eprintln!("usage: trace-fixture run STEP... | serve | hang | record DIR");
            std::process::exit(2);
        }
    }
}
