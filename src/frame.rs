//! Finding one record at an offset of a file's bytes, and judging damage.
//!
//! A version 1/2 record is `[tag][payload][crc32 of tag+payload]`; its extent comes from its
//! tag and length fields. A version 3 record is `[nonce 12][u32 len][len bytes: AES-GCM
//! ciphertext of tag+payload, then the 16-byte tag]`.
//!
//! The rules, which the reader, the scanner and the writer's reopen all share:
//! - a record is *intact* when it is complete, its check holds (CRC, or GCM authentication),
//!   and its fields decode;
//! - a complete record that fails its check is always reported, never passed over;
//! - damage is confined to the tail, and can be cut without losing anything, exactly when no
//!   intact record starts at any byte after the damage's first byte; otherwise the file is
//!   corrupt at the damage, and the offset of the next intact record is reported.

use std::fmt;

use crate::codec::{record_len, DecodeError, FrameCheck, Problem, RecordRef};
use crate::crc::{self, Crc};
use crate::encryption::{EncryptionKey, Sealer, NONCE_SIZE, TAG_SIZE};
use crate::format::{self, FormatError};
use crate::limits::{RECORD_LEN_MAX, SEALED_LEN_MAX};

/// Bytes of a version 1/2 record after its tag and payload.
pub const CRC_LEN: usize = 4;

/// Bytes of a version 3 record before its ciphertext.
pub const SEALED_HEADER_LEN: usize = NONCE_SIZE + 4;

/// What is wrong at the first damaged byte of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The file is shorter than its 5-byte header (a crash while creating it).
    PartialHeader { len: u64 },
    /// The record's lengths run past the end of the file.
    Truncated,
    /// Every byte from here to the end of the file is zero (a file grown before its data
    /// landed).
    Zeros { len: u64 },
    /// The record's extent cannot be known: an unknown tag, or a length over its limit.
    Unframeable(DecodeError),
    /// A complete record whose stored CRC32 differs from the computed one.
    ChecksumMismatch { stored: u32, computed: u32 },
    /// A complete sealed record that does not authenticate (wrong key, or damaged bytes).
    Unauthenticated,
    /// A complete record whose check holds but whose fields are out of their domain.
    Invalid(DecodeError),
    /// No record of the header's version is intact, but the body reads as version `body`:
    /// the header's version byte is damaged.
    VersionMismatch { body: u8 },
}

impl Damage {
    /// Whether this is a complete record failing its check: such a record is reported as
    /// an error by `read_record` wherever it stands.
    pub fn is_failed_record(&self) -> bool {
        matches!(
            self,
            Damage::ChecksumMismatch { .. } | Damage::Unauthenticated | Damage::Invalid(_)
        )
    }

    /// A short stable name of the class of damage, for tools and test vectors.
    pub fn class(&self) -> &'static str {
        match self {
            Damage::PartialHeader { .. } => "partial_header",
            Damage::Truncated => "truncated",
            Damage::Zeros { .. } => "zeros",
            Damage::Unframeable(e) => e.problem.class(),
            Damage::ChecksumMismatch { .. } => "checksum_mismatch",
            Damage::Unauthenticated => "unauthenticated",
            Damage::Invalid(e) => e.problem.class(),
            Damage::VersionMismatch { .. } => "version_mismatch",
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::PartialHeader { len } => {
                write!(
                    f,
                    "header torn by a crash while creating the file ({len} bytes)"
                )
            }
            Damage::Truncated => f.write_str("record runs past the end of the file"),
            Damage::Zeros { len } => write!(f, "{len} zero bytes"),
            Damage::Unframeable(e) => write!(f, "unreadable record framing: {e}"),
            Damage::ChecksumMismatch { stored, computed } => write!(
                f,
                "crc32 mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Damage::Unauthenticated => f.write_str("record does not authenticate"),
            Damage::Invalid(e) => write!(f, "invalid record: {e}"),
            Damage::VersionMismatch { body } => write!(
                f,
                "no record of the header's version is intact, but the records read as version \
                 {body}: the header's version byte is damaged"
            ),
        }
    }
}

/// How reading a file ended. Offsets are bytes from the start of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every byte after the header belongs to an intact record.
    Clean { records: u64, end: u64 },
    /// The bytes from `offset` to the end (`len` of them) are damage no intact record
    /// follows: cutting the file at `offset` loses nothing intact.
    TornTail {
        records: u64,
        offset: u64,
        len: u64,
        cause: Damage,
    },
    /// The file is damaged at `offset`, and an intact record starts at `next_intact`.
    Corrupt {
        records: u64,
        offset: u64,
        next_intact: u64,
        cause: Damage,
    },
}

impl Verdict {
    /// The verdict on a file whose header was torn while it was being created (`len` bytes).
    pub fn torn_header(len: usize) -> Self {
        Verdict::TornTail {
            records: 0,
            offset: 0,
            len: len as u64,
            cause: Damage::PartialHeader { len: len as u64 },
        }
    }

    /// What a file's header says before any record is read: its version, or the verdict on
    /// a torn header.
    pub fn from_header(header: format::HeaderState) -> (Option<u8>, Option<Verdict>) {
        match header {
            format::HeaderState::Complete { version } => (Some(version), None),
            format::HeaderState::Partial { len } => (None, Some(Verdict::torn_header(len))),
        }
    }

    /// Intact records before the end or the damage.
    pub fn records(&self) -> u64 {
        match self {
            Verdict::Clean { records, .. }
            | Verdict::TornTail { records, .. }
            | Verdict::Corrupt { records, .. } => *records,
        }
    }

    /// Where the intact records end (the cut point of a torn tail).
    pub fn intact_end(&self) -> u64 {
        match self {
            Verdict::Clean { end, .. } => *end,
            Verdict::TornTail { offset, .. } | Verdict::Corrupt { offset, .. } => *offset,
        }
    }

    /// A sealed file none of whose records authenticates: most likely the wrong key, and
    /// never to be cut as a torn tail.
    pub fn is_wrong_key(&self) -> bool {
        matches!(
            self,
            Verdict::TornTail {
                records: 0,
                cause: Damage::Unauthenticated,
                ..
            }
        )
    }

    /// What `read_record` returns once reading has reached this verdict: a clean end for a
    /// clean file or a tail that holds no complete record; otherwise an error.
    pub fn to_read_result(&self) -> Result<(), FormatError> {
        let (offset, cause) = match self {
            Verdict::Clean { .. } => return Ok(()),
            Verdict::TornTail { offset, cause, .. } if !cause.is_failed_record() => {
                let _ = offset;
                return Ok(());
            }
            Verdict::TornTail { offset, cause, .. } => (*offset, cause),
            Verdict::Corrupt {
                offset,
                next_intact,
                cause,
                ..
            } if !cause.is_failed_record() => {
                return Err(FormatError::Corrupt {
                    offset: *offset,
                    next_intact: *next_intact,
                    cause: cause.clone(),
                })
            }
            Verdict::Corrupt { offset, cause, .. } => (*offset, cause),
        };
        Err(match cause {
            Damage::ChecksumMismatch { stored, computed } => FormatError::ChecksumMismatch {
                expected: *stored,
                actual: *computed,
                offset,
            },
            Damage::Invalid(error) => FormatError::Decode {
                offset,
                error: *error,
            },
            _ => FormatError::DecryptionFailed,
        })
    }
}

/// What is at one offset of a file's bytes.
#[derive(Debug)]
pub enum Step<'a> {
    /// An intact record of `len` bytes (framing included).
    Record { record: RecordRef<'a>, len: usize },
    /// No bytes left.
    End,
    /// The record runs past the end of the bytes.
    Incomplete,
    /// The record's extent cannot be known.
    Unframeable(DecodeError),
    /// A complete record that fails its check.
    Failed(Damage),
}

/// Frames records of one file version: holds the key schedule and the plaintext scratch
/// buffer of sealed records, so that reading allocates nothing per record.
#[derive(Debug, Clone)]
pub struct Framer {
    /// The key schedule records are opened with: `Some` exactly when the file is sealed.
    pub sealer: Option<Sealer>,
    /// The key the caller gave, sealed file or not (to recognise a body of the other
    /// framing under a damaged version byte).
    pub key: Option<Sealer>,
    /// Plaintext of the last sealed record stepped over.
    pub plain: Vec<u8>,
}

impl Framer {
    /// A framer for files of `version`. A sealed version needs a key.
    pub fn new(version: u8, key: Option<&EncryptionKey>) -> Result<Self, FormatError> {
        let key = key.map(Sealer::new);
        let sealer = match (format::is_sealed(version), &key) {
            (false, _) => None,
            (true, Some(key)) => Some(key.clone()),
            (true, None) => return Err(FormatError::EncryptionRequired),
        };
        Ok(Self {
            sealer,
            key,
            plain: Vec::new(),
        })
    }

    /// Whether records are sealed.
    pub fn is_sealed(&self) -> bool {
        self.sealer.is_some()
    }

    /// What is at `bytes[pos..]`, where `bytes` ends at the end of the file (or of what has
    /// been read of it, in which case `Incomplete` may mean "read more").
    #[inline]
    pub fn step<'s>(&'s mut self, bytes: &'s [u8], pos: usize) -> Step<'s> {
        step(self.sealer.as_ref(), &mut self.plain, bytes, pos)
    }

    /// Judges the damage at `pos`; see [`judge`].
    pub fn judge(&self, bytes: &[u8], pos: usize, records: u64, cause: Damage) -> Verdict {
        judge(
            self.sealer.as_ref(),
            self.key.as_ref(),
            bytes,
            pos,
            records,
            cause,
        )
    }
}

/// What is at `bytes[pos..]`; [`Framer::step`] with the framer's parts borrowed separately
/// (so a caller can keep the returned record while judging with the sealer).
#[inline]
pub fn step<'s>(
    sealer: Option<&Sealer>,
    plain: &'s mut Vec<u8>,
    bytes: &'s [u8],
    pos: usize,
) -> Step<'s> {
    let rest = bytes.get(pos..).unwrap_or_default();
    if rest.is_empty() {
        return Step::End;
    }
    match sealer {
        None => plain_step(rest),
        Some(sealer) => sealed_step(sealer, plain, rest),
    }
}

/// The first offset in `from..bytes.len()` where an intact record starts.
pub fn find_intact(sealer: Option<&Sealer>, bytes: &[u8], from: usize) -> Option<usize> {
    let mut plain = Vec::new();
    (from..bytes.len()).find(|&q| matches!(step(sealer, &mut plain, bytes, q), Step::Record { .. }))
}

/// Judges the damage `cause` found at `pos`, where `bytes` holds the whole file up to its
/// end and `records` intact records came before: corrupt if an intact record starts at any
/// later byte, a torn tail otherwise. `sealer` opens the file's records when it is sealed;
/// `key` is the key the caller gave, if any.
///
/// One more case is corrupt: no record is intact anywhere, yet the body holds an intact
/// record of the other framing (plaintext under a version 3 header, or, with a key, a sealed
/// record that authenticates under a version 1/2 header). The header's version byte has no
/// checksum; a bit flip there must not make the whole file look like a torn tail to be cut.
/// The evidence must be something a crash cannot leave behind a file of the header's
/// version, so it is always a record whose check holds (see [`other_framing`]).
pub fn judge(
    sealer: Option<&Sealer>,
    key: Option<&Sealer>,
    bytes: &[u8],
    pos: usize,
    records: u64,
    cause: Damage,
) -> Verdict {
    let verdict = judge_tail(sealer, bytes, pos, records, cause);
    if matches!(verdict, Verdict::TornTail { records: 0, .. }) {
        if let Some((body, at)) = other_framing(sealer.is_some(), key, &bytes[pos..]) {
            return Verdict::Corrupt {
                records,
                offset: pos as u64,
                next_intact: (pos + at) as u64,
                cause: Damage::VersionMismatch { body },
            };
        }
    }
    verdict
}

fn judge_tail(
    sealer: Option<&Sealer>,
    bytes: &[u8],
    pos: usize,
    records: u64,
    cause: Damage,
) -> Verdict {
    {
        let tail = &bytes[pos..];
        let cause = if !cause.is_failed_record() && tail.iter().all(|&b| b == 0) {
            Damage::Zeros {
                len: tail.len() as u64,
            }
        } else {
            cause
        };
        match find_intact(sealer, bytes, pos + 1) {
            Some(next) => Verdict::Corrupt {
                records,
                offset: pos as u64,
                next_intact: next as u64,
                cause,
            },
            None => Verdict::TornTail {
                records,
                offset: pos as u64,
                len: tail.len() as u64,
                cause,
            },
        }
    }
}

/// The version whose framing the body `rest` (which holds no intact record of the declared
/// framing) reads as, if it is the other one, and the offset in `rest` of the first record
/// that shows it: an intact record of the other framing, anywhere (the damage that changed
/// the version byte may have reached the first records too).
///
/// Only a record whose check holds is evidence. Behind a plaintext file a crash can leave
/// any bytes at all: the first record's bytes (user data, whose length fields look like a
/// sealed frame's) then stale blocks, which may even be the sealed frames of a deleted
/// version 3 file. No shape of frames is evidence of sealing, so without a key a version 1/2
/// body is never judged sealed; with a key, a record must authenticate under it (a GCM tag
/// forged by chance has odds of 2^-128). Plaintext under a version 3 header is recognised
/// by an intact record, whose CRC32 garbage matches with odds of 2^-32 a framed position.
fn other_framing(sealed: bool, key: Option<&Sealer>, rest: &[u8]) -> Option<(u8, usize)> {
    if sealed {
        return (0..rest.len())
            .find(|&q| matches!(plain_step(&rest[q..]), Step::Record { .. }))
            .map(|q| (format::FORMAT_VERSION, q));
    }
    let key = key?;
    let mut plain = Vec::new();
    (0..rest.len())
        .find(|&q| {
            matches!(
                sealed_step(key, &mut plain, &rest[q..]),
                Step::Record { .. }
            )
        })
        .map(|q| (format::FORMAT_VERSION_ENCRYPTED, q))
}

/// Whether `rest` reads as a chain of well-formed sealed frames reaching the end of the file:
/// one or more whole frames, each of a length from 16 to [`SEALED_LEN_MAX`] with a GCM tag
/// that is not all zero, followed by nothing, by fewer than 16 bytes, or by one frame
/// running past the end.
///
/// Not evidence of anything (a crash can leave such bytes behind a plaintext file, see
/// [`other_framing`]): a hint for tools that show a torn tail to a person, who may know the
/// file was encrypted and its version byte damaged, and should then not cut it.
pub fn looks_sealed(rest: &[u8]) -> bool {
    let mut at = 0;
    let mut frames = 0;
    while let Some(header) = rest.get(at..at + SEALED_HEADER_LEN) {
        let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
        if !(TAG_SIZE as u32..=SEALED_LEN_MAX).contains(&len) {
            return false;
        }
        let end = at + SEALED_HEADER_LEN + len as usize;
        let Some(frame) = rest.get(at..end) else {
            return frames > 0; // a torn last frame after whole ones
        };
        // A GCM tag of sixteen zero bytes has odds of 2^-128; zeros there are what a crash
        // leaves (a file grown before its data landed), not a sealed record.
        if frame[frame.len() - TAG_SIZE..].iter().all(|&b| b == 0) {
            return false;
        }
        frames += 1;
        at = end;
    }
    frames > 0
}

/// The damage a non-record step stands for, or `None` for a record or the end.
pub fn damage_of(step: &Step<'_>) -> Option<Damage> {
    match step {
        Step::Record { .. } | Step::End => None,
        Step::Incomplete => Some(Damage::Truncated),
        Step::Unframeable(e) => Some(Damage::Unframeable(*e)),
        Step::Failed(d) => Some(d.clone()),
    }
}

/// The record at the start of `rest` when it is an intact plaintext record, with its framed
/// length; `None` when anything is unusual (then [`step`] says what). The hot path of
/// reading.
#[inline(always)]
pub fn intact_plain(rest: &[u8]) -> Option<(RecordRef<'_>, usize)> {
    visit_intact_plain(rest, crc::Called, |record| record)
}

/// [`intact_plain`] handing the record to `visit` where it is decoded (see
/// `RecordRef::decode_prefix_visit` for why), checksummed by `crc`; returns what `visit`
/// returned and the framed length.
#[inline(always)]
pub(crate) fn visit_intact_plain<'a, R>(
    rest: &'a [u8],
    crc: impl Crc,
    visit: impl FnOnce(RecordRef<'a>) -> R,
) -> Option<(R, usize)> {
    RecordRef::decode_prefix_visit(rest, &ChecksumAfter(rest, crc), visit)
}

/// The plaintext frame: the record at the start of these bytes is followed by the CRC32 of
/// its bytes.
struct ChecksumAfter<'a, C>(&'a [u8], C);

impl<C: Crc> FrameCheck for ChecksumAfter<'_, C> {
    #[inline(always)]
    fn framed_len(&self, len: usize) -> Option<usize> {
        matches!(checksum_by(self.0, len, self.1), Checksum::Holds).then_some(len + CRC_LEN)
    }
}

#[inline]
fn plain_step(rest: &[u8]) -> Step<'_> {
    match RecordRef::decode_prefix(rest) {
        Ok((record, len)) => match checksum(rest, len) {
            Checksum::Holds => Step::Record {
                record,
                len: len + CRC_LEN,
            },
            Checksum::Missing => Step::Incomplete,
            Checksum::Differs { stored, computed } => {
                Step::Failed(Damage::ChecksumMismatch { stored, computed })
            }
        },
        Err(e) if e.problem.is_structural() => structural_failure(e),
        // A field is out of its domain: find the record's extent without validating, so the
        // checksum can say whether the bytes are damaged or the record was written that way.
        Err(invalid) => match record_len(rest) {
            Ok(len) => match checksum(rest, len) {
                Checksum::Holds => Step::Failed(Damage::Invalid(invalid)),
                Checksum::Missing => Step::Incomplete,
                Checksum::Differs { stored, computed } => {
                    Step::Failed(Damage::ChecksumMismatch { stored, computed })
                }
            },
            Err(e) => structural_failure(e),
        },
    }
}

fn structural_failure<'a>(e: DecodeError) -> Step<'a> {
    match e.problem {
        Problem::Truncated { .. } => Step::Incomplete,
        _ => Step::Unframeable(e),
    }
}

enum Checksum {
    Holds,
    Missing,
    Differs { stored: u32, computed: u32 },
}

/// Whether the CRC32 after the record of `len` bytes at the start of `rest` holds: the one
/// check of the plaintext frame, on the hot path (inlined into every kind's arm) and the
/// detailed one alike.
#[inline(always)]
fn checksum(rest: &[u8], len: usize) -> Checksum {
    checksum_by(rest, len, crc::Called)
}

/// [`checksum`] by `crc`.
#[inline(always)]
fn checksum_by(rest: &[u8], len: usize, crc: impl Crc) -> Checksum {
    if len as u64 > RECORD_LEN_MAX {
        // Only reachable with lengths no writer produced; treat as the checksum failing
        // rather than hashing a gigabyte.
        return Checksum::Differs {
            stored: 0,
            computed: 0,
        };
    }
    let Some(stored) = rest.get(len..len + CRC_LEN) else {
        return Checksum::Missing;
    };
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crc.crc32(&rest[..len]);
    if stored == computed {
        Checksum::Holds
    } else {
        Checksum::Differs { stored, computed }
    }
}

fn sealed_step<'s>(sealer: &Sealer, plain: &'s mut Vec<u8>, rest: &'s [u8]) -> Step<'s> {
    let Some(header) = rest.get(..SEALED_HEADER_LEN) else {
        return Step::Incomplete;
    };
    let mut nonce = [0u8; NONCE_SIZE];
    nonce.copy_from_slice(&header[..NONCE_SIZE]);
    let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    let framing_error = |problem| DecodeError {
        field: "sealed_len",
        offset: NONCE_SIZE as u64,
        problem,
    };
    if len > SEALED_LEN_MAX {
        return Step::Unframeable(framing_error(Problem::TooLong {
            len: len.into(),
            max: SEALED_LEN_MAX.into(),
        }));
    }
    if (len as usize) < TAG_SIZE {
        return Step::Unframeable(framing_error(Problem::TooShort {
            len: len.into(),
            min: TAG_SIZE as u64,
        }));
    }
    let Some(sealed) = rest.get(SEALED_HEADER_LEN..SEALED_HEADER_LEN + len as usize) else {
        return Step::Incomplete;
    };
    if !sealer.open_into(&nonce, sealed, plain) {
        return Step::Failed(Damage::Unauthenticated);
    }
    match RecordRef::decode(plain) {
        Ok(record) => Step::Record {
            record,
            len: SEALED_HEADER_LEN + len as usize,
        },
        Err(e) => Step::Failed(Damage::Invalid(e)),
    }
}
