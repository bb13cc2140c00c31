#!/usr/bin/env python3
"""Conformance responder for the Python port: speaks the protocol of FORMAT.md section 9.4.

Run by the reference's runner, from the repository root:

    cargo run --release --bin eaof -- conform --only v1,v2 -- python3 ports/python/eaof_conform.py

Each request on stdin is a little-endian u32 length and a JSON object; each answer goes to
stdout the same way. Requests this port cannot serve (anything needing AES-256-GCM) are
answered {"unsupported": ...}; requests it cannot parse, {"error": {"class": "bad_request"}};
a failure of this program itself, {"error": {"class": "internal"}} (never a correct answer).
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import eaof  # noqa: E402  (after the path set-up above)


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


def _read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = _read_exact(stdin, 4)
        if head is None:
            return 0
        (length,) = struct.unpack("<I", head)
        body = _read_exact(stdin, length)
        if body is None:
            print("eaof_conform.py: input ended inside a frame", file=sys.stderr)
            return 1
        try:
            request = json.loads(body)
        except ValueError as e:
            request = None
            reply = {"error": {"class": "bad_request", "detail": f"not JSON: {e}"}}
        if isinstance(request, dict):
            try:
                reply = answer(request)
            except Exception as e:  # a bug of this port, not of the request: say so
                reply = {"error": {"class": "internal", "detail": f"{type(e).__name__}: {e}"}}
        elif request is not None:
            reply = {"error": {"class": "bad_request", "detail": "not an object"}}
        data = json.dumps(reply).encode("utf-8")
        stdout.write(struct.pack("<I", len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
