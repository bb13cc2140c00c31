#!/usr/bin/env python3
"""Prints the read/write benchmark's figures as ratios to the seed, from criterion's estimates.

Run after `cargo bench --bench read_write` (same run: the seed and eaof are measured side by
side on the same records and files). Uses only the standard library.

    python3 benches/report.py [target/criterion] [--bytes N]

Throughput is computed from the workload size criterion recorded (`benchmark.json`'s
throughput), so MB/s and ratios come from the same medians.
"""
import json
import sys
from pathlib import Path

GROUPS = [
    ("read_owned", "seed-compatible read_record, each record dropped at once", "seed"),
    ("read_kept", "read_record, every record kept in a Vec (what recovery does)", "seed"),
    ("read_zero_copy", "zero-copy Scanner (borrowed records)", None),
    ("write", "writer to /dev/null, no fsync", "seed"),
    ("write_file", "writer to an ext4 file, no fsync", "seed"),
]
SEED_READ = ("read_owned", "seed")


def load(root: Path, group: str, name: str):
    base = root / group / name
    estimates = base / "new" / "estimates.json"
    bench = base / "new" / "benchmark.json"
    if not estimates.exists():
        return None
    median = json.loads(estimates.read_text())["median"]["point_estimate"] / 1e6
    throughput = json.loads(bench.read_text()).get("throughput") or {}
    return median, throughput.get("Bytes")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = Path(args[0] if args else "target/criterion")
    if not root.exists():
        sys.exit(f"{root}: no criterion results; run `cargo bench --bench read_write` first")
    seed_read = load(root, *SEED_READ)
    print(f"{'benchmark':52} {'median':>10} {'MB/s':>8} {'vs seed':>8}")
    for group, title, baseline in GROUPS:
        names = sorted(p.name for p in (root / group).iterdir() if p.is_dir() and p.name != "report")
        base = load(root, group, baseline) if baseline else seed_read
        for name in names:
            got = load(root, group, name)
            if got is None:
                continue
            ms, nbytes = got
            mbs = f"{nbytes / ms / 1e3:8.0f}" if nbytes else f"{'':>8}"
            ratio = f"{base[0] / ms:7.2f}x" if base else f"{'':>8}"
            label = f"{group}/{name}"
            print(f"{label:52} {ms:8.1f}ms {mbs} {ratio}")
        print(f"  ({title}; ratios against {'the seed in the same group' if baseline else 'the seed read_record'})")


if __name__ == "__main__":
    main()
