//! The hot path (`frame::intact_plain`, which decodes without error detail and builds the
//! record only after its checksum holds) agrees with the detailed path (`frame::step`) on
//! every input: it returns exactly the records and lengths `step` calls intact, and nothing
//! else. Checked on every record of the mixed golden fixture (every kind), every cut of it,
//! and every single-bit flip of it. The scanner's `try_for_each`, whose loop has the
//! checksum kernel inlined into it (`crc::with_inlined_kernel`), hands out no record of
//! those inputs but the ones `step` calls intact, byte for byte.

use std::ops::ControlFlow;

use eaof::frame::{self, Step};
use eaof::scanner::Scanner;

/// Every record of the mixed fixture, each with the file bytes that follow it.
fn fixture_records() -> Vec<Vec<u8>> {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/v2/00-mixed.aof"
    ))
    .expect("fixture");
    let mut records = Vec::new();
    let mut pos = eaof::format::HEADER_LEN;
    let mut plain = Vec::new();
    while let Step::Record { len, .. } = frame::step(None, &mut plain, &file, pos) {
        records.push(file[pos..pos + len].to_vec());
        pos += len;
    }
    assert_eq!(pos, file.len(), "the fixture reads to its end");
    records
}

fn assert_agrees(bytes: &[u8], what: &str) {
    let mut plain = Vec::new();
    let detailed = match frame::step(None, &mut plain, bytes, 0) {
        Step::Record { record, len } => Some((record, len)),
        _ => None,
    };
    assert_eq!(frame::intact_plain(bytes), detailed, "{what}: {bytes:02x?}");

    let mut file = eaof::format::header(2).to_vec();
    file.extend_from_slice(bytes);
    let mut scanner = Scanner::new(&file, None).expect("a header");
    let mut visited = None;
    let _ = scanner.try_for_each(|offset, record| {
        visited = Some((offset, record.to_record().to_bytes().expect("re-encodes")));
        ControlFlow::<()>::Break(())
    });
    let want = detailed.map(|(_, len)| (5, bytes[..len - 4].to_vec()));
    assert_eq!(visited, want, "{what}: try_for_each");
}

#[test]
fn hot_path_agrees_with_the_detailed_path_on_every_kind_cut_and_flip() {
    let records = fixture_records();
    let kinds: std::collections::BTreeSet<_> = records
        .iter()
        .map(|r| eaof::RecordRef::decode_prefix(r).expect("decodes").0.kind())
        .collect();
    assert_eq!(
        kinds.len(),
        eaof::RecordKind::ALL.len(),
        "every kind is covered"
    );
    let mut flips = 0;
    for (i, record) in records.iter().enumerate() {
        assert!(
            frame::intact_plain(record).is_some(),
            "record {i} is intact"
        );
        for cut in 0..record.len() {
            assert_agrees(&record[..cut], &format!("record {i} cut at {cut}"));
        }
        for bit in 0..record.len() * 8 {
            let mut damaged = record.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_agrees(&damaged, &format!("record {i} bit {bit}"));
            flips += 1;
        }
    }
    assert!(flips > 10_000, "{flips} flips");
}
