"""The Python port against the golden fixtures (standard library unittest).

Run from anywhere: python3 ports/python/test_eaof.py
"""

import errno
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
FIXTURES = os.path.join(HERE, "..", "..", "fixtures")

import eaof  # noqa: E402


def listing(version):
    folder = os.path.join(FIXTURES, "v%d" % version)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".records.json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                records = json.load(f)
            with open(os.path.join(folder, records["file"]), "rb") as f:
                yield records, f.read()


def encoded(records):
    return [eaof.encode_record(r) for r in records]


class GoldenFixtures(unittest.TestCase):
    def test_every_version_2_fixture_reads_clean_as_its_record_list(self):
        seen = 0
        for listed, data in listing(2):
            result = eaof.read_file(data)
            self.assertEqual(result.verdict, {"verdict": "clean"}, listed["file"])
            self.assertIsNone(result.read_error)
            self.assertEqual(encoded(result.records), encoded(listed["records"]), listed["file"])
            seen += 1
        self.assertEqual(seen, 36)

    def test_the_writer_writes_every_version_2_fixture_byte_for_byte(self):
        for listed, data in listing(2):
            self.assertEqual(eaof.write_file(listed["records"]), data, listed["file"])

    def test_version_3_fixtures_need_a_key_and_are_declined_with_one(self):
        for listed, data in listing(3):
            self.assertEqual(eaof.read_file(data).verdict["cause"], "encryption_required")
            with self.assertRaises(eaof.Unsupported):
                eaof.read_file(data, bytes.fromhex(listed["key_hex"]))

    def test_every_cut_of_a_file_reads_the_records_before_it(self):
        listed, data = next(iter(listing(2)))
        whole = eaof.read_file(data).records
        for cut in range(5, len(data)):
            result = eaof.read_file(data[:cut])
            self.assertIsNone(result.read_error, cut)
            self.assertIn(result.verdict["verdict"], ("clean", "torn_tail"), cut)
            self.assertEqual(result.records, whole[:len(result.records)], cut)


class FailingFiles(eaof.OsFiles):
    """The operating system's files, whose next fsync fails."""

    def __init__(self):
        self.fail_sync = False

    def open(self, path):
        handle = super().open(path)
        real_sync = handle.sync

        def sync():
            if self.fail_sync:
                raise OSError(errno.EIO, "injected EIO")
            real_sync()
        handle.sync = sync
        return handle


class Writer(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "shard-0.aof")

    def tearDown(self):
        self.dir.cleanup()

    def read(self):
        with open(self.path, "rb") as f:
            return f.read()

    def write(self, data):
        with open(self.path, "wb") as f:
            f.write(data)

    def test_the_writer_writes_every_version_2_fixture_byte_for_byte(self):
        for listed, data in listing(2):
            if os.path.exists(self.path):
                os.remove(self.path)
            writer = eaof.Writer.open(self.path)
            for record in listed["records"]:
                writer.write_record(record)
            writer.sync()
            writer.close()
            self.assertEqual(self.read(), data, listed["file"])

    def test_reopening_cuts_a_torn_tail_then_appends(self):
        listed, data = next(iter(listing(2)))
        records = eaof.read_file(data).records
        self.write(data + b"\x01\x01\x00")  # a record torn by a crash
        writer = eaof.Writer.open(self.path)
        self.assertEqual(self.read(), data, "cut before anything is appended")
        writer.write_record({"kind": "DEL", "key": "k"})
        writer.sync()
        result = eaof.read_file(self.read())
        self.assertEqual(result.verdict, {"verdict": "clean"})
        self.assertEqual(encoded(result.records), encoded(records + [{"kind": "DEL", "key": "k"}]))

    def test_a_partial_header_is_written_again(self):
        for partial in (b"", b"E", b"EAOF", b"EA\0\0\0"):
            self.write(partial)
            writer = eaof.Writer.open(self.path)
            writer.write_record({"kind": "DEL", "key": "k"})
            writer.sync()
            writer.close()
            self.assertEqual(eaof.read_file(self.read()).records, [{"kind": "DEL", "key": "k"}])

    def test_a_corrupt_or_foreign_file_is_refused_unchanged(self):
        two = eaof.write_file([{"kind": "DEL", "key": "a"}, {"kind": "DEL", "key": "b"}])
        corrupt = two[:5] + b"\0" + two[6:]
        for data in (corrupt, b"NOPE\x02", b"EAOF\x03" + b"\0" * 40):
            self.write(data)
            with self.assertRaises(eaof.Refused):
                eaof.Writer.open(self.path)
            self.assertEqual(self.read(), data)

    def test_a_failed_fsync_poisons_the_writer(self):
        files = FailingFiles()
        writer = eaof.Writer.open(self.path, files)
        writer.write_record({"kind": "DEL", "key": "k"})
        files.fail_sync = True
        with self.assertRaises(OSError):
            writer.sync()
        files.fail_sync = False
        for call in (lambda: writer.write_record({"kind": "DEL", "key": "k"}), writer.flush,
                     writer.sync, writer.truncate):
            with self.assertRaises(eaof.Poisoned):
                call()

    def test_a_refused_record_leaves_the_writer_usable(self):
        writer = eaof.Writer.open(self.path)
        with self.assertRaises(eaof.Refused):
            writer.write_record({"kind": "EXPIRE", "key": "k", "seconds": -1})
        writer.write_record({"kind": "DEL", "key": "k"})
        writer.sync()
        self.assertEqual(len(eaof.read_file(self.read()).records), 1)

    def test_truncate_leaves_the_header_and_appends_after_it(self):
        writer = eaof.Writer.open(self.path)
        writer.write_record({"kind": "DEL", "key": "a"})
        writer.sync()
        writer.truncate()
        self.assertEqual(self.read(), b"EAOF\x02")
        self.assertFalse(os.path.exists(self.path + ".tmp"))
        writer.write_record({"kind": "DEL", "key": "b"})
        writer.sync()
        self.assertEqual(eaof.read_file(self.read()).records, [{"kind": "DEL", "key": "b"}])


if __name__ == "__main__":
    unittest.main()
