"""The framing the conformance runner and the model checker speak with a port over a pipe
(FORMAT.md section 9.4, docs/DRIVER.md): a little-endian u32 length, then that many bytes of
one UTF-8 JSON object, both ways; one answer per request, in order, until stdin ends."""

import json
import struct
import sys


def _read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(answer, bad_request, name, internal=None):
    """Answers each request on stdin with `answer(request)` (a dict), and a request that is
    not a JSON object with `bad_request(detail)`. With `internal`, an exception `answer`
    raises (a bug of this program, not of the request) is answered `internal(detail)`;
    without, it ends the program. Returns the exit code: 0 when stdin ends between frames,
    1 inside one."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = _read_exact(stdin, 4)
        if head is None:
            return 0
        (length,) = struct.unpack("<I", head)
        body = _read_exact(stdin, length)
        if body is None:
            print("%s: input ended inside a frame" % name, file=sys.stderr)
            return 1
        try:
            request = json.loads(body)
        except ValueError as e:
            request, reply = None, bad_request("not JSON: %s" % e)
        if isinstance(request, dict):
            try:
                reply = answer(request)
            except Exception as e:  # noqa: BLE001 - a bug of this program: said, not hidden
                if internal is None:
                    raise
                reply = internal("%s: %s" % (type(e).__name__, e))
        elif request is not None:
            reply = bad_request("not an object")
        data = json.dumps(reply).encode("utf-8")
        stdout.write(struct.pack("<I", len(data)) + data)
        stdout.flush()
