#!/usr/bin/env python3
"""The smallest driver (docs/DRIVER.md): the Python port's writer and reader behind the
required requests, no trace, no faults. eaof_driver.py is the full one."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eaof  # noqa: E402

writer = None


def handle(request):
    global writer
    op = request.get("op")
    try:
        if op == "hello":
            return {"ok": True, "name": "eaof Python port (minimal driver)", "protocol": 1,
                    "versions": [2], "truncate": True, "keys": False}
        if op == "batch":
            return {"ok": True, "answers": [handle(r) for r in request["requests"]]}
        if op in ("open", "read") and request.get("key") is not None:
            return {"unsupported": "no keys"}
        if op == "read":
            result = eaof.read_file(open(request["path"], "rb").read())
            end = "clean" if result.read_error is None else {"error": str(result.read_error)}
            return {"ok": True, "records": result.records, "end": end}
        if op in ("close", "crash"):
            if writer is not None:
                writer.close()
            writer = None
            return {"ok": True}
        if op == "open":
            if writer is not None:
                writer.close()
            writer = None
            writer = eaof.Writer.open(request["path"])
            return {"ok": True}
        if writer is None:
            return {"error": "no writer is open"}
        call = {"write": lambda: writer.write_record(request["record"]), "flush": writer.flush,
                "sync": writer.sync, "truncate": writer.truncate}.get(op)
        if call is None:
            return {"error": "unknown op %r" % (op,)}
        call()
        return {"ok": True}
    except eaof.Poisoned as e:
        return {"error": str(e), "poisoned": True}
    except Exception as e:  # any failure of the implementation is an answer, not a crash
        return {"error": "%s: %s" % (type(e).__name__, e)}


def main():
    while True:
        head = sys.stdin.buffer.read(4)
        if len(head) < 4:
            return
        body = sys.stdin.buffer.read(struct.unpack("<I", head)[0])
        reply = json.dumps(handle(json.loads(body))).encode()
        sys.stdout.buffer.write(struct.pack("<I", len(reply)) + reply)
        sys.stdout.buffer.flush()


main()
