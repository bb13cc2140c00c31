//! The exit codes the file subcommands share (`inspect`, `check`, `repair`, `keygen`), and
//! which verdict each stands for. 2 is clap's usage error and is never returned from here.

use std::process::ExitCode;

use eaof::Verdict;

/// What a subcommand found or did, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// The file is clean (for `repair`: it is clean now).
    Clean = 0,
    /// Damage confined to the tail: cutting it loses no intact record.
    TornTail = 1,
    /// Corruption: an intact record lies beyond the damage (for `repair`: refused, nothing
    /// changed).
    Corrupt = 3,
    /// Unreadable: not an EAOF file, an unsupported version, a key needed or not matching,
    /// not a regular file, or an I/O error (writing the report included).
    Unreadable = 4,
    /// Standard output was closed before the report ended (`| head`): stopped quietly, with
    /// the status a shell shows for a command killed by SIGPIPE (128 + 13).
    BrokenPipe = 141,
}

impl Exit {
    /// The exit code of a verdict. A sealed file none of whose records authenticates is
    /// unreadable (most likely the wrong key), not a torn tail.
    pub fn of(verdict: &Verdict) -> Exit {
        match verdict {
            _ if verdict.is_wrong_key() => Exit::Unreadable,
            Verdict::Clean { .. } => Exit::Clean,
            Verdict::TornTail { .. } => Exit::TornTail,
            Verdict::Corrupt { .. } => Exit::Corrupt,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// The exit codes, for the long help of the file subcommands (a macro, so that `concat!`
/// can join it with each subcommand's examples).
macro_rules! codes_help {
    () => {
        "Exit codes:
  0  clean: every byte after the header belongs to an intact record
  1  torn tail: damage confined to the end of the file (a torn or failed last record,
     zeros or garbage, a header torn while the file was created); cutting it loses no
     intact record (eaof's writer cuts it on reopening; ember 0.4.9 does not: repair it)
  2  usage error (bad arguments)
  3  corrupt: an intact record lies beyond the damage; cutting there would lose it
  4  unreadable: not an EAOF file, an unsupported version, a key is needed, no record
     authenticates with the key given (the wrong key), the key file is refused (readable
     by others, writable by its group, or not a key), FILE is not a regular file (a FIFO,
     a device, a directory), or an I/O error (writing the output included)
141  the output was closed early (a broken pipe, as in `| head`): stopped without a
     message, as a command killed by SIGPIPE"
    };
}
pub(crate) use codes_help;
