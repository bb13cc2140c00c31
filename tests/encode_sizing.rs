//! Large records and refused records through the encoder: records of several MiB (a value,
//! many list items, a long key with a full vector) encode to the seed's bytes and read back,
//! and a record refused for a field over its limit names the field and leaves the output
//! buffer as it was, whether the record is small or large.

use bytes::Bytes;
use eaof::codec::EncodeProblem;
use eaof::limits::VECTOR_DIMS_MAX;
use eaof::AofRecord;
use eaof_model::check::ember::to_ember as to_seed;

fn vadd(key_len: usize, dims: usize) -> AofRecord {
    AofRecord::VAdd {
        key: "k".repeat(key_len),
        element: "e".into(),
        vector: vec![0.5; dims],
        metric: 1,
        quantization: 0,
        connectivity: 16,
        expansion_add: 64,
    }
}

#[test]
fn records_over_a_mebibyte_encode_to_the_seeds_bytes_and_read_back() {
    for record in [
        AofRecord::Set {
            key: "big".into(),
            value: Bytes::from(vec![0xA5; 3 << 20]),
            expire_ms: -1,
        },
        AofRecord::RPush {
            key: "list".into(),
            values: (0..300).map(|i| Bytes::from(vec![i as u8; 4096])).collect(),
        },
        vadd(2 << 20, VECTOR_DIMS_MAX as usize),
    ] {
        let ours = record.to_bytes().expect("encodes");
        let seed = to_seed(&record).to_bytes().expect("the seed encodes");
        assert_eq!(ours, seed, "{:?}", record.kind());
        assert_eq!(AofRecord::from_bytes(&ours).expect("decodes"), record);
    }
}

#[test]
fn a_refused_record_names_its_field_and_leaves_the_output_as_it_was() {
    for key_len in [10, 2 << 20] {
        let record = vadd(key_len, VECTOR_DIMS_MAX as usize + 1);
        let mut out = b"earlier records".to_vec();
        let error = record.encode_into(&mut out).expect_err("over the limit");
        assert_eq!(error.field, "vector", "key of {key_len} bytes");
        assert!(matches!(error.problem, EncodeProblem::TooLong { .. }));
        assert_eq!(out, b"earlier records", "key of {key_len} bytes");
    }
}
