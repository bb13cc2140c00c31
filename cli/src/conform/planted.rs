//! Deliberately wrong responders: the reference's answers rewritten to what a port that got
//! one of the spec's finer rules wrong would say (`eaof conform --self --plant MISTAKE`, a
//! hidden option). `cli/tests/conform.rs` runs every mistake and requires the vectors to
//! fail it: the proof that a port guessing that rule wrong cannot pass.
//!
//! Each mistake changes only the answers its rule decides and leaves every other answer as
//! the reference gave it, so a failure can only come from the rule.

use serde_json::{json, Value};

use eaof::encryption::{EncryptionKey, Sealer, NONCE_SIZE, TAG_SIZE};
use eaof::frame::{self, Damage, Step, SEALED_HEADER_LEN};
use eaof::limits::SEALED_LEN_MAX;
use eaof_conformance::json::{self, BAD_REQUEST, OUT_OF_DOMAIN};

use super::responder;

/// A rule of docs/FORMAT.md got wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mistake {
    /// §6, the version byte, with a key: never looks for a sealed record under a version 1
    /// or 2 header (reads such a file as if no key were given).
    NoSealedEvidence,
    /// §6, the version byte, with a key: takes any sealed record that authenticates as
    /// evidence, even when its plaintext is no valid record.
    DecodableIsEvidence,
    /// §6, the version byte, without a key: still applies the withdrawn rule that a version
    /// 1 or 2 body reading as a chain of sealed frames is `version_mismatch`.
    ChainRule,
    /// §6: applies the wrong-key rule before the version byte rule.
    WrongKeyFirst,
    /// §9.1: answers `out_of_domain` for JSON that is no record (`bad_request`).
    ShapeAsDomain,
}

/// The answer a port with `mistake` gives to `request`, where the reference answered
/// `answer`.
pub fn plant(mistake: Mistake, request: &Value, answer: Value) -> Value {
    let file = || {
        (request["op"] == "read_file")
            .then(|| request["hex"].as_str().and_then(json::unhex))
            .flatten()
    };
    let key = || {
        request["key"]
            .as_str()
            .and_then(json::unhex)
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(|k| Sealer::new(&EncryptionKey::from_bytes(k)))
    };
    let plaintext_header = |bytes: &[u8]| matches!(bytes.get(4), Some(1 | 2));
    let nothing_before_damage_at_5 = |answer: &Value| {
        answer["verdict"]["verdict"] == "torn_tail"
            && answer["verdict"]["offset"] == 5
            && answer["records"].as_array().is_some_and(Vec::is_empty)
    };
    match mistake {
        Mistake::NoSealedEvidence => match file() {
            Some(bytes) if plaintext_header(&bytes) && !request["key"].is_null() => {
                let mut keyless = request.clone();
                keyless["key"] = Value::Null;
                responder::answer(&keyless)
            }
            _ => answer,
        },
        Mistake::DecodableIsEvidence => match (file(), key()) {
            (Some(bytes), Some(key))
                if plaintext_header(&bytes)
                    && (nothing_before_damage_at_5(&answer)
                        || answer["verdict"]["cause"] == "version_mismatch") =>
            {
                match (5..bytes.len()).find(|&at| authenticates(&key, &bytes[at..])) {
                    Some(at) => version_mismatch(at),
                    None => answer,
                }
            }
            _ => answer,
        },
        Mistake::ChainRule => match file() {
            Some(bytes)
                if plaintext_header(&bytes)
                    && nothing_before_damage_at_5(&answer)
                    && frame::looks_sealed(&bytes[5..]) =>
            {
                // The withdrawn rule named offset 5 as the next intact record.
                version_mismatch(5)
            }
            _ => answer,
        },
        Mistake::WrongKeyFirst => match (file(), key()) {
            (Some(bytes), Some(key))
                if bytes.get(4) == Some(&3) && answer["verdict"]["cause"] == "version_mismatch" =>
            {
                let mut plain = Vec::new();
                match frame::step(Some(&key), &mut plain, &bytes, 5) {
                    Step::Failed(Damage::Unauthenticated) => json!({
                        "records": [],
                        "verdict": {"verdict": "unreadable", "cause": "wrong_key"},
                        "readError": {"class": "unauthenticated", "offset": 5},
                    }),
                    _ => answer,
                }
            }
            _ => answer,
        },
        Mistake::ShapeAsDomain if answer["error"]["class"] == BAD_REQUEST => {
            json!({"error": {"class": OUT_OF_DOMAIN}})
        }
        Mistake::ShapeAsDomain => answer,
    }
}

/// Whether a whole sealed frame at the start of `rest` authenticates under `key`, whatever
/// its plaintext.
fn authenticates(key: &Sealer, rest: &[u8]) -> bool {
    let Some(head) = rest.get(..SEALED_HEADER_LEN) else {
        return false;
    };
    let mut nonce = [0u8; NONCE_SIZE];
    nonce.copy_from_slice(&head[..NONCE_SIZE]);
    let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
    if !(TAG_SIZE as u32..=SEALED_LEN_MAX).contains(&len) {
        return false;
    }
    rest.get(SEALED_HEADER_LEN..SEALED_HEADER_LEN + len as usize)
        .is_some_and(|sealed| key.open_into(&nonce, sealed, &mut Vec::new()))
}

/// The answer of a damaged version byte shown by the record at `next_intact`.
fn version_mismatch(next_intact: usize) -> Value {
    json!({
        "records": [],
        "verdict": {"verdict": "corrupt", "offset": 5, "nextIntact": next_intact, "cause": "version_mismatch"},
        "readError": {"class": "corrupt", "offset": 5},
    })
}
