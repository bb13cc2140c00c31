#!/usr/bin/env python3
"""Driver for the Python port: the protocol of docs/DRIVER.md over stdin and stdout, so that
the reference's model checker can crash-check this port's writer and recovery.

Run by the checker, from the repository root:

    cargo run --release --bin eaof -- explore --target cmd -- python3 ports/python/eaof_driver.py

Each request on stdin is a little-endian u32 length and a JSON object; each answer goes to
stdout the same way. The writer (eaof.Writer) does its I/O through a storage object; this
driver gives it one that records every call (the "trace" each answer carries, from which the
checker computes what a crash can leave) and fails one when asked ("inject"), with the
meaning of docs/DRIVER.md: a failed fsync loses what was not yet durable, an append over the
byte budget writes what fits and fails with ENOSPC. Version 3 needs AES-256-GCM, which the
standard library does not have: the greeting says `keys: false` and `versions: [2]`.
"""

import errno
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import eaof  # noqa: E402  (after the path set-up above)
import framing  # noqa: E402

PROTOCOL_VERSION = 1
BATCH_LEN_MAX = 64


class Storage:
    """The operating system's files, with a trace of every call that changes what a crash
    leaves, a count of calls, and faults on demand."""

    def __init__(self):
        self.os = eaof.OsFiles()
        self.trace = []
        self.ops = 0
        self.next_fd = 0
        self.fail_op_at = None
        self.write_budget = None

    def begin(self):
        """Counts a call; raises the injected EIO when it is the one armed."""
        index = self.ops
        self.ops += 1
        if self.fail_op_at == index:
            self.fail_op_at = None
            raise OSError(errno.EIO, "injected EIO")

    def read(self, path):
        self.begin()
        return self.os.read(path)

    def _handle(self, op, path, opened):
        self.next_fd += 1
        self.trace.append({"op": op, "path": path, "fd": self.next_fd})
        return File(self, opened, self.next_fd, self.os.read(path))

    def open(self, path):
        self.begin()
        return self._handle("open", path, self.os.open(path))

    def create(self, path):
        self.begin()
        return self._handle("create", path, self.os.create(path))

    def rename(self, src, dst):
        self.begin()
        self.os.rename(src, dst)
        self.trace.append({"op": "rename", "from": src, "to": dst})

    def sync_dir(self, path):
        self.begin()
        self.os.sync_dir(path)
        self.trace.append({"op": "fsync_dir", "path": path})


class File:
    def __init__(self, storage, opened, fd, durable):
        self.storage = storage
        self.opened = opened
        self.fd = fd
        self.durable = durable

    def _write(self, data, failed):
        self.opened.append(data)
        op = {"op": "append", "fd": self.fd, "hex": data.hex()}
        if failed:
            op["failed"] = True
        self.storage.trace.append(op)

    def append(self, data):
        self.storage.begin()
        budget = self.storage.write_budget
        if budget is not None and len(data) > budget:
            self.storage.write_budget = None
            self._write(data[:budget], True)
            raise OSError(errno.ENOSPC, "injected ENOSPC (no space left on device)")
        if budget is not None:
            self.storage.write_budget = budget - len(data)
        self._write(data, False)

    def set_len(self, n):
        self.storage.begin()
        self.opened.set_len(n)
        self.storage.trace.append({"op": "set_len", "fd": self.fd, "len": n})

    def _contents(self):
        os.lseek(self.opened.fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(self.opened.fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def sync(self):
        try:
            self.storage.begin()
        except OSError:
            # Linux drops the dirty pages of a failed writeback: back to what was durable.
            self.opened.set_len(0)
            os.lseek(self.opened.fd, 0, os.SEEK_SET)
            self.opened.append(self.durable)
            self.storage.trace.append({"op": "fsync", "fd": self.fd, "failed": True})
            raise
        self.opened.sync()
        self.durable = self._contents()
        self.storage.trace.append({"op": "fsync", "fd": self.fd})

    def close(self):
        self.opened.close()


class Driver:
    def __init__(self):
        self.storage = Storage()
        self.writer = None

    def hello(self, _request):
        return {"ok": True, "name": "eaof Python port (ports/python)", "protocol": PROTOCOL_VERSION,
                "versions": [2], "truncate": True, "keys": False, "inject": True, "traces": True,
                "deterministic": True}

    def _drop(self):
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

    def _with(self, call):
        if self.writer is None:
            return {"error": "no writer is open"}
        try:
            call(self.writer)
        except eaof.Poisoned as e:
            return {"error": str(e), "poisoned": True}
        except (OSError, eaof.Refused, eaof.Malformed) as e:
            return {"error": "%s: %s" % (type(e).__name__, e)}
        return {"ok": True}

    def open(self, request):
        self._drop()
        if request.get("key") is not None:
            return {"unsupported": "keys need AES-256-GCM"}
        try:
            self.writer = eaof.Writer.open(request["path"], self.storage)
        except (OSError, eaof.Refused, eaof.Unsupported) as e:
            return {"error": "%s: %s" % (type(e).__name__, e)}
        return {"ok": True}

    def write(self, request):
        return self._with(lambda w: w.write_record(request.get("record")))

    def flush(self, _request):
        return self._with(lambda w: w.flush())

    def sync(self, _request):
        return self._with(lambda w: w.sync())

    def truncate(self, _request):
        return self._with(lambda w: w.truncate())

    def close(self, _request):
        self._drop()
        return {"ok": True}

    def crash(self, _request):
        # Closing the handle writes nothing: what was not flushed is lost, as in a kill.
        self._drop()
        return {"ok": True}

    def read(self, request):
        if request.get("key") is not None:
            return {"unsupported": "keys need AES-256-GCM"}
        try:
            data = self.storage.os.read(request["path"])
            result = eaof.read_file(data)
        except (OSError, eaof.Unsupported) as e:
            return {"ok": True, "records": [], "end": {"error": "%s: %s" % (type(e).__name__, e)}}
        end = "clean" if result.read_error is None else {"error": json.dumps(result.read_error)}
        return {"ok": True, "records": result.records, "end": end}

    def inject(self, request):
        fault = request.get("fault") or {}
        if isinstance(fault.get("fail_op_at"), int):
            self.storage.fail_op_at = self.storage.ops + fault["fail_op_at"]
        elif isinstance(fault.get("fail_write_after"), int):
            self.storage.write_budget = fault["fail_write_after"]
        else:
            return {"error": "bad request: unknown fault"}
        return {"ok": True}

    def answer(self, request, batch_allowed=True):
        op = request.get("op") if isinstance(request, dict) else None
        if op == "batch" and batch_allowed:
            requests = request.get("requests")
            if not isinstance(requests, list) or len(requests) > BATCH_LEN_MAX:
                return {"error": "bad request: `requests`"}
            return {"ok": True, "answers": [self.answer(r, False) for r in requests]}
        handler = {"hello": self.hello, "open": self.open, "write": self.write,
                   "flush": self.flush, "sync": self.sync, "truncate": self.truncate,
                   "close": self.close, "crash": self.crash, "read": self.read,
                   "inject": self.inject}.get(op)
        if handler is None:
            reply = {"error": "bad request: unknown op %r" % (op,)}
        else:
            reply = handler(request)
        return self.decorate(reply)

    def decorate(self, reply):
        """Adds the trace of the calls made since the last answer, and the count of calls."""
        reply["trace"], self.storage.trace = self.storage.trace, []
        reply["ops"] = self.storage.ops
        return reply


def main():
    driver = Driver()

    def bad_request(detail):
        return driver.decorate({"error": "bad request: " + detail})
    return framing.serve(driver.answer, bad_request, "eaof_driver.py")


if __name__ == "__main__":
    sys.exit(main())
