//! `eaof keygen`: a new random key file for encrypted (version 3) files.
//!
//! Guarantees: the key comes from the operating system's random generator; the file holds
//! exactly 64 lowercase hex characters and a newline, has mode 0600 from the moment it
//! exists, and is fsynced with its directory entry before success is reported; it gets its
//! name only once complete (written to a temporary beside it, then linked: a stopped run
//! never leaves a partial key under the name); an existing file is never overwritten (a key
//! overwritten makes every file sealed with it unreadable). The key itself is never
//! printed.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use eaof::encryption::EncryptionKey;

use crate::durable;
use crate::exit::Exit;

/// Write a new random key file for encrypted (version 3) files
///
/// Writes 256 random bits from the operating system as 64 hex characters and a newline, to
/// a new file of mode 0600 (readable and writable by its owner only). Refuses to overwrite
/// an existing file: the files encrypted with a key cannot be read without it. The key is
/// not printed.
///
/// Give the file to the writer (ember's encryption key file, or `--key-file` of the eaof
/// commands). Keep a copy somewhere safe, apart from the data it protects.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Exit codes:
  0  the key file was written
  2  usage error (bad arguments)
  4  the file exists, or an I/O error; nothing was written

Example:
  eaof keygen shard.key && eaof inspect --key-file shard.key shard-0.aof")]
pub struct Args {
    /// The key file to create (must not exist).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    let mut out = crate::out::stdout();
    let result = keygen(args, &mut out);
    crate::out::finish("keygen", out, result)
}

fn keygen(args: &Args, out: &mut impl std::io::Write) -> io::Result<Exit> {
    let key = EncryptionKey::generate();
    // Built in one zeroized buffer of its final size, so no copy of the key is left behind
    // by a reallocation.
    let mut text = zeroize::Zeroizing::new(String::with_capacity(65));
    text.push_str(&key.to_hex());
    text.push('\n');
    match durable::create_new(&args.file, text.as_bytes(), 0o600) {
        Ok(()) => {
            writeln!(
                out,
                "{}: wrote a new random 256-bit key (64 hex characters, mode 0600); keep it \
                 secret and backed up: files encrypted with it cannot be read without it",
                args.file.display()
            )?;
            Ok(Exit::Clean)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            crate::note!(
                "{}: exists: refusing to overwrite a key file (files encrypted with it could \
                 no longer be read); choose another name",
                args.file.display()
            );
            Ok(Exit::Unreadable)
        }
        Err(e) => {
            crate::note!("{}: cannot write the key file: {e}", args.file.display());
            Ok(Exit::Unreadable)
        }
    }
}
