"""The Python port against the golden fixtures (standard library unittest).

Run from anywhere: python3 ports/python/test_eaof.py
"""

import json
import os
import sys
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


if __name__ == "__main__":
    unittest.main()
