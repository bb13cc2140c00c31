//! Reader and writer throughput, side by side with ember-persistence 0.4.9 (the seed) on the
//! same records and the same files, in the same run.
//!
//! Workload: a mix of 64-byte SETs, single-field HSETs, two-value RPUSHes and INCRs, about
//! 60 MB as a version 2 file (`EAOF_BENCH_MB` changes the size). Owned records are read two
//! ways: dropped at once (`read_owned`), and all kept (`read_kept`, what recovery does).
//! Ratios are printed by `benches/report.py` from criterion's estimates.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eaof::scanner::Scanner;
use eaof::AofRecord;
use ember_persistence::aof as seed;

/// The mixed workload, deterministic (a fixed linear congruential sequence).
fn workload(target_bytes: usize) -> Vec<AofRecord> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let mut records = Vec::new();
    let mut bytes = 0;
    while bytes < target_bytes {
        let key = format!("key:{:08}", next() % 1_000_000);
        let record = match next() % 4 {
            0 => AofRecord::Set {
                key,
                value: Bytes::from(vec![b'v'; 64]),
                expire_ms: -1,
            },
            1 => AofRecord::HSet {
                key,
                fields: vec![(
                    format!("field:{}", next() % 100),
                    Bytes::from_static(b"value-0123456789"),
                )],
            },
            2 => AofRecord::RPush {
                key,
                values: vec![
                    Bytes::from_static(b"element-one"),
                    Bytes::from_static(b"element-two"),
                ],
            },
            _ => AofRecord::Incr { key },
        };
        bytes += record.to_bytes().map(|b| b.len() + 4).unwrap_or(0);
        records.push(record);
    }
    records
}

fn to_seed(record: &AofRecord) -> seed::AofRecord {
    match record.clone() {
        AofRecord::Set {
            key,
            value,
            expire_ms,
        } => seed::AofRecord::Set {
            key,
            value,
            expire_ms,
        },
        AofRecord::HSet { key, fields } => seed::AofRecord::HSet { key, fields },
        AofRecord::RPush { key, values } => seed::AofRecord::RPush { key, values },
        AofRecord::Incr { key } => seed::AofRecord::Incr { key },
        other => unreachable!("not in the workload: {other:?}"),
    }
}

/// `/dev/null` through the storage seam: appends are real `write` calls that the kernel
/// discards, and `sync` does nothing (`fsync` of a character device fails). The seed writes
/// to `/dev/null` through its own `BufWriter<File>`, so both writers are measured doing the
/// same system calls without the page cache's cost, which is the same for both and, on this
/// machine, larger than either writer's own work.
#[derive(Clone, Copy)]
struct DevNull;

struct DevNullFile(std::fs::File);

impl eaof::storage::Storage for DevNull {
    type File = DevNullFile;
    fn open(&self, _: &Path) -> std::io::Result<DevNullFile> {
        std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/null")
            .map(DevNullFile)
    }
    fn open_read(&self, path: &Path) -> std::io::Result<DevNullFile> {
        self.open(path)
    }
    fn create(&self, path: &Path) -> std::io::Result<DevNullFile> {
        self.open(path)
    }
    fn rename(&self, _: &Path, _: &Path) -> std::io::Result<()> {
        Ok(())
    }
    fn sync_dir(&self, _: &Path) -> std::io::Result<()> {
        Ok(())
    }
}

impl eaof::storage::StorageFile for DevNullFile {
    fn len(&self) -> std::io::Result<u64> {
        Ok(0)
    }
    fn read_at(&self, _: u64, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
    fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, data)
    }
    fn set_len(&mut self, _: u64) -> std::io::Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_eaof(path: &Path, records: &[AofRecord]) {
    let _ = std::fs::remove_file(path);
    let mut w = eaof::AofWriter::open(path).expect("open");
    append_eaof(&mut w, records);
}

fn append_eaof<S: eaof::storage::Storage>(w: &mut eaof::AofWriter<S>, records: &[AofRecord]) {
    for r in records {
        w.write_record(r).expect("write");
    }
    w.flush().expect("flush");
}

fn append_seed(w: &mut seed::AofWriter, records: &[seed::AofRecord]) {
    for r in records {
        w.write_record(r).expect("write");
    }
    w.flush().expect("flush");
}

/// Hands every record `next` reads to `each`, and checks that there were `expected`.
fn read_all<R>(mut next: impl FnMut() -> Option<R>, expected: usize, mut each: impl FnMut(R)) {
    let mut n = 0;
    while let Some(record) = next() {
        black_box(&record);
        each(record);
        n += 1;
    }
    assert_eq!(n, expected);
}

/// Times reading every record of a file opened by `open` into a `Vec`, which is dropped
/// outside the timing.
fn keep_all<R, N: FnMut() -> Option<R>>(
    b: &mut criterion::Bencher,
    expected: usize,
    open: impl Fn() -> N,
) {
    b.iter_batched(
        Vec::new,
        |mut all| {
            read_all(open(), expected, |record| all.push(record));
            all
        },
        BatchSize::PerIteration,
    )
}

fn benches(c: &mut Criterion) {
    let mb: usize = std::env::var("EAOF_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let records = workload(mb << 20);
    let seed_records: Vec<_> = records.iter().map(to_seed).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.aof");
    write_eaof(&path, &records);
    let file_len = std::fs::metadata(&path).expect("metadata").len();
    let bytes = std::fs::read(&path).expect("read");
    eprintln!("workload: {} records, {} bytes", records.len(), file_len);

    // Owned records, read through the seed-compatible API two ways: each record dropped as
    // soon as it is read (the allocator hands the same blocks back record after record), and
    // every record kept in a `Vec`, which is what recovery does (it builds the keyspace), so
    // every record's allocations are fresh. The `Vec` is dropped outside the timing.
    let mut read = c.benchmark_group("read_owned");
    read.sample_size(10)
        .measurement_time(Duration::from_secs(8));
    read.throughput(Throughput::Bytes(file_len));
    // Opens the file with each reader, for `read_all`.
    let seed_reader = || {
        let mut r = seed::AofReader::open(&path).expect("open");
        move || r.read_record().expect("read")
    };
    let eaof_reader = || {
        let mut r = eaof::AofReader::open(&path).expect("open");
        move || r.read_record().expect("read")
    };
    read.bench_function("seed", |b| {
        b.iter(|| read_all(seed_reader(), records.len(), drop))
    });
    read.bench_function("eaof", |b| {
        b.iter(|| read_all(eaof_reader(), records.len(), drop))
    });
    read.finish();

    let mut kept = c.benchmark_group("read_kept");
    kept.sample_size(10)
        .measurement_time(Duration::from_secs(8));
    kept.throughput(Throughput::Bytes(file_len));
    kept.bench_function("seed", |b| keep_all(b, records.len(), seed_reader));
    kept.bench_function("eaof", |b| keep_all(b, records.len(), eaof_reader));
    kept.finish();

    let mut scan = c.benchmark_group("read_zero_copy");
    scan.sample_size(20)
        .measurement_time(Duration::from_secs(5));
    scan.throughput(Throughput::Bytes(file_len));
    // `try_for_each` is what `Scanner::finish` (so `eaof check`, `repair` and the model
    // checker's reference verdict) runs on; `next_record` is the pull API `inspect` uses.
    scan.bench_function("eaof", |b| {
        b.iter(|| {
            let mut s = Scanner::new(&bytes, None).expect("scanner");
            let mut n = 0u64;
            let _ = s.try_for_each(|_, rec| {
                black_box(&rec);
                n += 1;
                ControlFlow::<()>::Continue(())
            });
            assert_eq!(n as usize, records.len());
        })
    });
    scan.bench_function("eaof next_record", |b| {
        b.iter(|| {
            let mut s = Scanner::new(&bytes, None).expect("scanner");
            let mut n = 0u64;
            while let Some((_, rec)) = s.next_record() {
                black_box(&rec);
                n += 1;
            }
            assert_eq!(n as usize, records.len());
        })
    });
    scan.finish();

    let mut write = c.benchmark_group("write");
    write
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    write.throughput(Throughput::Bytes(file_len));
    let null = Path::new("/dev/null");
    write.bench_function("seed", |b| {
        b.iter_batched(
            || seed::AofWriter::open(null).expect("open /dev/null"),
            |mut w| append_seed(&mut w, &seed_records),
            BatchSize::PerIteration,
        )
    });
    write.bench_function("eaof", |b| {
        b.iter_batched(
            || {
                eaof::AofWriter::open_in(DevNull, null, eaof::aof::WriterOptions::default())
                    .expect("open /dev/null")
            },
            |mut w| append_eaof(&mut w, &records),
            BatchSize::PerIteration,
        )
    });
    write.finish();

    let mut write = c.benchmark_group("write_file");
    write
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    write.throughput(Throughput::Bytes(file_len));
    // Opening (creating the file, and for eaof syncing its header and directory) is set-up,
    // outside the timing: what is measured is encoding, checksumming and handing the bytes
    // to the operating system, without fsync.
    let out = dir.path().join("out.aof");
    let fresh = || {
        let _ = std::fs::remove_file(&out);
    };
    write.bench_function("seed", |b| {
        b.iter_batched(
            || {
                fresh();
                seed::AofWriter::open(&out).expect("open")
            },
            |mut w| append_seed(&mut w, &seed_records),
            BatchSize::PerIteration,
        )
    });
    write.bench_function("eaof", |b| {
        b.iter_batched(
            || {
                fresh();
                eaof::AofWriter::open(&out).expect("open")
            },
            |mut w| append_eaof(&mut w, &records),
            BatchSize::PerIteration,
        )
    });
    write.finish();
}

criterion_group!(bench_group, benches);
criterion_main!(bench_group);
