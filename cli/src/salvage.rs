//! The plan `repair --force` follows for a corrupt file: keep every intact record, drop only
//! the bytes no intact record covers.
//!
//! Why this loses least: cutting at the first damage would drop every intact record after
//! it, and the damaged bytes themselves cannot be trusted (their lengths may be wrong too).
//! So the plan reads records as a reader does; at damage, it looks for the next byte where an
//! intact record starts (`frame::find_intact`, the same test the verdict uses) and goes on
//! reading from there. What is dropped is exactly the byte ranges between damage and the next
//! intact record (or the end of the file).
//!
//! Guarantees: the kept ranges are whole intact frames in file order, copied byte for byte
//! (sealed records are not re-encrypted, so no key or nonce is needed to write them); the
//! dropped ranges and the kept ranges together cover every byte after the header exactly
//! once; the result, a header followed by the kept ranges, reads clean with exactly
//! [`Salvage::records`] records (the caller verifies this before writing). A header whose
//! version byte is damaged (`Damage::VersionMismatch`) is rewritten to the version the
//! records read as, and the records are then planned under it.

use std::fmt;
use std::ops::Range;

use eaof::encryption::EncryptionKey;
use eaof::format::{self, HEADER_LEN};
use eaof::frame::{damage_of, find_intact, Damage, Framer, Step, Verdict};

use crate::describe::{self, Located};

/// A run of intact records, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub range: Range<u64>,
    pub records: u64,
}

/// Bytes no intact record covers, dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub range: Range<u64>,
    /// What is wrong at the range's first byte.
    pub located: Located,
    /// The damage class (`checksum_mismatch`, `truncated`...).
    pub class: &'static str,
}

/// What `repair --force` would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    /// The version of the header written.
    pub version: u8,
    /// The damaged version byte it replaces, when it does.
    pub header_from: Option<u8>,
    pub kept: Vec<Kept>,
    pub dropped: Vec<Dropped>,
}

/// No plan can be made without a key: the damaged header hides a sealed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsKey {
    pub body: u8,
}

impl fmt::Display for NeedsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the records look like version {} (encrypted) records: pass --key-file to check \
             them and plan a repair",
            self.body
        )
    }
}

impl Salvage {
    /// Plans the rebuild of `bytes`, a file of `version` judged `verdict`.
    pub fn plan(
        bytes: &[u8],
        version: u8,
        key: Option<&EncryptionKey>,
        verdict: &Verdict,
    ) -> Result<Salvage, NeedsKey> {
        if let Verdict::Corrupt {
            cause: Damage::VersionMismatch { body },
            ..
        } = verdict
        {
            let mut fixed = bytes.to_vec();
            fixed[4] = *body;
            let mut plan = Self::plan_body(&fixed, *body, key).ok_or(NeedsKey { body: *body })?;
            plan.header_from = Some(version);
            return Ok(plan);
        }
        Self::plan_body(bytes, version, key).ok_or(NeedsKey { body: version })
    }

    /// `None` when the records of `version` cannot be read without a key.
    fn plan_body(bytes: &[u8], version: u8, key: Option<&EncryptionKey>) -> Option<Salvage> {
        let mut framer = Framer::new(version, key).ok()?;
        let mut plan = Salvage {
            version,
            header_from: None,
            kept: Vec::new(),
            dropped: Vec::new(),
        };
        let mut pos = HEADER_LEN;
        let mut run = Kept {
            range: pos as u64..pos as u64,
            records: 0,
        };
        loop {
            let cause = match framer.step(bytes, pos) {
                Step::Record { len, .. } => {
                    pos += len;
                    run.range.end = pos as u64;
                    run.records += 1;
                    continue;
                }
                Step::End => None,
                other => damage_of(&other),
            };
            if run.records > 0 {
                plan.kept.push(run.clone());
            }
            let Some(cause) = cause else { break };
            let next = find_intact(framer.sealer.as_ref(), bytes, pos + 1);
            let end = next.unwrap_or(bytes.len());
            let cause = match &cause {
                c if !c.is_failed_record() && bytes[pos..end].iter().all(|&b| b == 0) => {
                    Damage::Zeros {
                        len: (end - pos) as u64,
                    }
                }
                _ => cause,
            };
            plan.dropped.push(Dropped {
                range: pos as u64..end as u64,
                located: describe::locate(bytes, version, key, pos as u64, &cause),
                class: cause.class(),
            });
            match next {
                None => break,
                Some(next) => {
                    pos = next;
                    run = Kept {
                        range: pos as u64..pos as u64,
                        records: 0,
                    };
                }
            }
        }
        Some(plan)
    }

    /// Records kept.
    pub fn records(&self) -> u64 {
        self.kept.iter().map(|k| k.records).sum()
    }

    /// Bytes dropped.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
            .iter()
            .map(|d| d.range.end - d.range.start)
            .sum()
    }

    /// The file the plan writes: the header, then the kept ranges of `bytes`.
    pub fn output(&self, bytes: &[u8]) -> Vec<u8> {
        let len = HEADER_LEN
            + self
                .kept
                .iter()
                .map(|k| k.range.end - k.range.start)
                .sum::<u64>() as usize;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&format::header(self.version));
        for kept in &self.kept {
            out.extend_from_slice(&bytes[kept.range.start as usize..kept.range.end as usize]);
        }
        out
    }

    /// One clause: what the plan does.
    pub fn summary(&self) -> String {
        let header = match self.header_from {
            Some(from) => format!(
                "rewrite byte 4 (the version) from {from} to {}, ",
                self.version
            ),
            None => String::new(),
        };
        let ranges = self.dropped.len();
        let dropped = if ranges == 0 {
            "dropping nothing".to_owned()
        } else {
            format!(
                "dropping {} in {} ({})",
                describe::bytes_n(self.dropped_bytes()),
                if ranges == 1 {
                    "1 range".to_owned()
                } else {
                    format!("{ranges} ranges")
                },
                self.dropped
                    .iter()
                    .map(|d| format!("{}..{}", d.range.start, d.range.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!(
            "{header}keep all {} intact records found, {dropped}",
            self.records()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eaof::scanner::Scanner;
    use eaof::AofRecord;

    fn v2_file() -> Vec<u8> {
        let mut bytes = format::header(2).to_vec();
        for i in 0..8u8 {
            let record = AofRecord::Set {
                key: format!("key{i}"),
                value: vec![i; usize::from(i) * 3].into(),
                expire_ms: -1,
            };
            let start = bytes.len();
            record.encode_into(&mut bytes).unwrap();
            let crc = format::crc32(&bytes[start..]);
            bytes.extend_from_slice(&crc.to_le_bytes());
        }
        bytes
    }

    /// For every single-bit flip that makes the file corrupt: the kept and dropped ranges
    /// cover every byte after the header exactly once, in order; the output reads clean with
    /// exactly the planned records, which include every record before the damage and at
    /// least the intact one the verdict found after it.
    #[test]
    fn every_byte_is_kept_or_dropped_once_and_the_result_reads_clean() {
        let clean = v2_file();
        let mut corrupt_cases = 0;
        for at in HEADER_LEN..clean.len() {
            for bit in 0..8 {
                let mut bytes = clean.clone();
                bytes[at] ^= 1 << bit;
                let verdict = Scanner::new(&bytes, None).unwrap().finish();
                let Verdict::Corrupt { records, .. } = verdict else {
                    continue;
                };
                corrupt_cases += 1;
                let plan = Salvage::plan(&bytes, 2, None, &verdict).unwrap();
                let mut ranges: Vec<Range<u64>> = plan
                    .kept
                    .iter()
                    .map(|k| k.range.clone())
                    .chain(plan.dropped.iter().map(|d| d.range.clone()))
                    .collect();
                ranges.sort_by_key(|r| r.start);
                let mut next = HEADER_LEN as u64;
                for range in &ranges {
                    assert_eq!(range.start, next, "flip at {at}.{bit}: {plan:?}");
                    assert!(range.end > range.start, "flip at {at}.{bit}: {plan:?}");
                    next = range.end;
                }
                assert_eq!(next, bytes.len() as u64, "flip at {at}.{bit}");
                let out = plan.output(&bytes);
                assert_eq!(
                    Scanner::new(&out, None).unwrap().finish(),
                    Verdict::Clean {
                        records: plan.records(),
                        end: out.len() as u64
                    }
                );
                assert!(plan.records() > records, "flip at {at}.{bit}: {plan:?}");
            }
        }
        assert!(corrupt_cases > 100, "only {corrupt_cases} corrupt cases");
    }
}
