#!/usr/bin/env python3
"""Conformance responder for the Python port: speaks the protocol of FORMAT.md section 9.4.

Run by the reference's runner, from the repository root:

    cargo run --release --bin eaof -- conform --only v1,v2 -- python3 ports/python/eaof_conform.py

Each request on stdin is a little-endian u32 length and a JSON object; each answer goes to
stdout the same way. Requests this port cannot serve (anything needing AES-256-GCM) are
answered {"unsupported": ...}; requests it cannot parse, {"error": {"class": "bad_request"}};
a failure of this program itself, {"error": {"class": "internal"}} (never a correct answer).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import eaof  # noqa: E402  (after the path set-up above)
import framing  # noqa: E402


def _bytes(request, name):
    value = request.get(name)
    if not isinstance(value, str):
        raise eaof.Malformed(f"`{name}` is not a string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise eaof.Malformed(f"`{name}` is not hex") from None


def _key(request):
    if request.get("key") is None:
        return None
    key = _bytes(request, "key")
    if len(key) != 32:
        raise eaof.Malformed("a key is 32 bytes")
    return key


def answer(request):
    op = request.get("op")
    try:
        if op == "decode_record":
            try:
                return {"record": eaof.decode_record(_bytes(request, "hex"))}
            except eaof.DecodeError as e:
                return {"error": {"class": e.cls, "field": e.field}}
        if op == "encode_record":
            return {"hex": eaof.encode_record(request.get("record")).hex()}
        if op == "read_file":
            return eaof.read_file(_bytes(request, "hex"), _key(request)).to_json()
        if op == "write_file":
            records, version = request.get("records"), request.get("version")
            if not isinstance(records, list):
                raise eaof.Malformed("`records` is not an array")
            if type(version) is not int or version not in (2, 3):
                raise eaof.Malformed("`version` is not 2 or 3")
            return {"hex": eaof.write_file(records, version).hex()}
        raise eaof.Malformed(f"unknown op {op!r}")
    except eaof.Refused as e:
        return {"error": {"class": "out_of_domain", "detail": str(e)}}
    except eaof.Unsupported as e:
        return {"unsupported": str(e)}
    except eaof.Malformed as e:
        return {"error": {"class": "bad_request", "detail": str(e)}}


def main():
    return framing.serve(
        answer,
        lambda detail: {"error": {"class": "bad_request", "detail": detail}},
        "eaof_conform.py",
        internal=lambda detail: {"error": {"class": "internal", "detail": detail}})


if __name__ == "__main__":
    sys.exit(main())
