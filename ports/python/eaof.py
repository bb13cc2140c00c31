"""EAOF, ember's append-only file format: a reader and a writer in the Python standard library.

Written from docs/FORMAT.md alone (not from the Rust reference), to show that the
specification is enough. Covers versions 1 and 2 (plaintext) completely: records, the CRC,
headers and partial headers, every verdict (clean, torn tail, corrupt, unreadable), including
a damaged version byte over plaintext records. Version 3 needs AES-256-GCM, which the standard
library does not have: a sealed file is refused with `Unsupported` (after the checks that need
no key material: the header, and "a key is needed"), and so is a plaintext file read with a key
whose body could hold a sealed record that authenticates (a damaged version byte, section 6).

Records are the JSON of FORMAT.md section 9.1 (dicts, as `json.loads` gives them).
"""

import os
import re
import struct
import zlib

MAGIC = b"EAOF"
HEADER_LEN = 5
VERSIONS = (1, 2, 3)

# Limits (FORMAT.md sections 2, 4 and 5).
FIELD_LEN_MAX = 536_870_912
COUNT_MAX = 100_000_000
RECORD_LEN_MAX = 1 << 30
NONCE_LEN = 12
GCM_TAG_LEN = 16
SEALED_HEADER_LEN = NONCE_LEN + 4
SEALED_LEN_MAX = 536_870_912
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

# The record table, copied from FORMAT.md section 3 ("fields after the tag, in order").
TABLE = {
    1: ("SET", "`key`: text, `value`: bytes, `expire_ms`: i64"),
    2: ("DEL", "`key`: text"),
    3: ("EXPIRE", "`key`: text, `seconds`: i64 ≥ 0"),
    4: ("LPUSH", "`key`: text, `values`: list of bytes"),
    5: ("RPUSH", "`key`: text, `values`: list of bytes"),
    6: ("LPOP", "`key`: text"),
    7: ("RPOP", "`key`: text"),
    8: ("ZADD", "`key`: text, `members`: list of (f64, text)"),
    9: ("ZREM", "`key`: text, `members`: list of text"),
    10: ("PERSIST", "`key`: text"),
    11: ("PEXPIRE", "`key`: text, `milliseconds`: i64 ≥ 0"),
    12: ("INCR", "`key`: text"),
    13: ("DECR", "`key`: text"),
    14: ("HSET", "`key`: text, `fields`: list of (text, bytes)"),
    15: ("HDEL", "`key`: text, `fields`: list of text"),
    16: ("HINCRBY", "`key`: text, `field`: text, `delta`: i64"),
    17: ("SADD", "`key`: text, `members`: list of text"),
    18: ("SREM", "`key`: text, `members`: list of text"),
    19: ("INCRBY", "`key`: text, `delta`: i64"),
    20: ("DECRBY", "`key`: text, `delta`: i64"),
    21: ("APPEND", "`key`: text, `value`: bytes"),
    22: ("RENAME", "`key`: text, `newkey`: text"),
    23: ("PROTO.SET", "`key`: text, `type_name`: text, `data`: bytes, `expire_ms`: i64"),
    24: ("PROTO.REGISTER", "`name`: text, `descriptor`: bytes"),
    25: ("VADD", "`key`: text, `element`: text, `vector`: list ≤ 65536 of f32, `metric`: u8, "
                 "`quantization`: u8, `connectivity`: u32, `expansion_add`: u32"),
    26: ("VREM", "`key`: text, `element`: text"),
    27: ("COPY", "`source`: text, `destination`: text, `replace`: bool"),
    28: ("LSET", "`key`: text, `index`: i64, `value`: bytes"),
    29: ("LTRIM", "`key`: text, `start`: i64, `stop`: i64"),
    30: ("LINSERT", "`key`: text, `before`: bool, `pivot`: bytes, `value`: bytes"),
    31: ("LREM", "`key`: text, `count`: i64, `value`: bytes"),
    32: ("SETRANGE", "`key`: text, `offset`: i64 ≥ 0, `value`: bytes"),
    33: ("SETBIT", "`key`: text, `offset`: i64 ≥ 0, `value`: u8"),
    34: ("BITOP", "`op`: bitop, `dest`: text, `keys`: list of text"),
    35: ("PEXPIREAT", "`key`: text, `timestamp_ms`: i64 ≥ 0"),
}

SCALARS = ("text", "bytes", "i64", "i64 ≥ 0", "u32", "u8", "bool", "bitop", "f64", "f32")
FIXED = {"i64": ("<q", 8), "i64 ≥ 0": ("<q", 8), "u32": ("<I", 4), "u8": ("<B", 1),
         "bool": ("<B", 1), "bitop": ("<B", 1), "f64": ("<Q", 8), "f32": ("<I", 4)}


def _layout(text):
    """A layout from the table's notation: a scalar name, or ("list", max, [item layouts])."""
    text = text.strip()
    if text in SCALARS:
        return text
    m = re.fullmatch(r"list(?: ≤ (\d+))? of (.+)", text)
    if not m:
        raise ValueError("not a layout: " + text)
    limit = int(m.group(1)) if m.group(1) else COUNT_MAX
    item = m.group(2)
    if item.startswith("("):
        parts = [_layout(p) for p in item.strip("()").split(",")]
    else:
        parts = [_layout(item)]
    return ("list", limit, parts)


def _fields(text):
    return [(name, _layout(layout)) for name, layout in re.findall(r"`(\w+)`: (.*?)(?=, `|$)", text)]


KINDS = {tag: (name, _fields(fields)) for tag, (name, fields) in TABLE.items()}
BY_NAME = {name: (tag, fields) for tag, (name, fields) in KINDS.items()}


class DecodeError(Exception):
    """A bare record that does not decode: its class (FORMAT.md 9.2) and field."""

    def __init__(self, cls, field):
        super().__init__(f"{cls} in field {field}")
        self.cls = cls
        self.field = field


class Refused(Exception):
    """A record a writer must refuse: a value outside its field's domain (out_of_domain)."""


class Malformed(Exception):
    """JSON that is not a record at all (a wrong type, a missing or unknown field)."""


class Unsupported(Exception):
    """Something this port does not do (version 3: AES-256-GCM is not in the stdlib)."""


def crc32(data):
    """CRC-32/ISO-HDLC (FORMAT.md section 4); zlib's is this one."""
    return zlib.crc32(data) & 0xFFFFFFFF


assert crc32(b"123456789") == 0xCBF43926


# ---------------------------------------------------------------------------------------
# Decoding.

class _Cursor:
    def __init__(self, data, pos=0, end=None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n, field):
        if self.end - self.pos < n:
            raise DecodeError("truncated", field)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def length(self, field, limit):
        (n,) = struct.unpack("<I", self.take(4, field))
        if n > limit:
            raise DecodeError("too_long", field)
        return n


def _shortest(bits, width):
    """A decimal reading back to the float with these bits (a reading aid)."""
    fmt, ifmt = ("<d", "<Q") if width == 64 else ("<f", "<I")
    value = struct.unpack(fmt, struct.pack(ifmt, bits))[0]
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if width == 64:
        return repr(value)
    for digits in range(1, 10):
        text = "%.*g" % (digits, value)
        try:
            if struct.unpack("<I", struct.pack("<f", float(text)))[0] == bits:
                return text
        except OverflowError:
            pass
    return repr(value)


def _read(c, layout, field, validate):
    """Reads one value; with validate=False only the extent is found (no domain checks)."""
    if layout in ("text", "bytes"):
        raw = c.take(c.length(field, FIELD_LEN_MAX), field)
        if layout == "bytes":
            value = {"hex": raw.hex()}
            try:
                value["text"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            return value
        if not validate:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("invalid_utf8", field) from None
    if isinstance(layout, tuple):
        _, limit, parts = layout
        count = c.length(field, limit)
        items = []
        for _ in range(count):
            values = [_read(c, part, field, validate) for part in parts]
            items.append(values[0] if len(parts) == 1 else values)
        return items
    fmt, size = FIXED[layout]
    (value,) = struct.unpack(fmt, c.take(size, field))
    if validate:
        if layout == "i64 ≥ 0" and value < 0:
            raise DecodeError("negative", field)
        if layout == "bool" and value not in (0, 1):
            raise DecodeError("not_a_bool", field)
        if layout == "bitop" and value > 3:
            raise DecodeError("unknown_bitop", field)
    if layout == "bool":
        return value == 1
    if layout == "f64":
        return {"bits": "0x%016x" % value, "value": _shortest(value, 64)}
    if layout == "f32":
        return {"bits": "0x%08x" % value, "value": _shortest(value, 32)}
    return value


def _fields_of(c):
    (tag,) = c.take(1, "tag")
    if tag not in KINDS:
        raise DecodeError("unknown_tag", "tag")
    return KINDS[tag]


def decode_record(data):
    """The record (JSON dict) of a bare record: tag and payload, exactly (FORMAT.md 9.2)."""
    c = _Cursor(data)
    name, fields = _fields_of(c)
    record = {"kind": name}
    for field, layout in fields:
        record[field] = _read(c, layout, field, True)
    if c.pos != c.end:
        raise DecodeError("trailing_bytes", "record")
    return record


def record_end(data, pos):
    """Where the record at `pos` ends (tag and payload), found from its tag, lengths and counts
    only; raises DecodeError (unknown_tag, too_long, truncated) when that cannot be known."""
    c = _Cursor(data, pos)
    _, fields = _fields_of(c)
    for field, layout in fields:
        _read(c, layout, field, False)
    return c.pos


# ---------------------------------------------------------------------------------------
# Encoding.

def _int(value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("expected an integer")
    if not low <= value <= high:
        raise Refused(f"{value} is outside {low}..{high}")
    return value


def _hex(text, what):
    if not isinstance(text, str) or not re.fullmatch(r"(?:[0-9a-f]{2})*", text):
        raise Malformed(what + " is not lowercase hex")
    return bytes.fromhex(text)


def _float_bits(value, width):
    if not isinstance(value, dict) or set(value) - {"bits", "value"} or "bits" not in value:
        raise Malformed("a float is {\"bits\": \"0x...\"}")
    digits = width // 4
    bits = value["bits"]
    if not isinstance(bits, str) or not re.fullmatch(r"0x[0-9a-f]{%d}" % digits, bits):
        raise Malformed("bad float bits")
    bits = int(bits, 16)
    if "value" in value:
        fmt, ifmt = ("<d", "<Q") if width == 64 else ("<f", "<I")
        real = struct.unpack(fmt, struct.pack(ifmt, bits))[0]
        if not isinstance(value["value"], str):
            raise Malformed("a float's value is a string")
        try:
            shown = float(value["value"])
            if width == 32:
                shown = struct.unpack("<f", struct.pack("<f", shown))[0]
        except (TypeError, ValueError, OverflowError):
            raise Malformed("a float's value is not a number") from None
        agrees = (shown != shown and real != real) or (
            shown == real and struct.pack(fmt, shown) == struct.pack(fmt, real))
        if not agrees:
            raise Malformed("a float's value disagrees with its bits")
    return bits


def _text_bytes(value):
    """A text field's UTF-8: from a string, or from the hex form requests may use (FORMAT.md
    9.1); text that is not UTF-8 (bad bytes, a lone surrogate) is refused."""
    if isinstance(value, dict):
        raw = _bytes_value(value)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("text that is not UTF-8") from None
        return raw
    if not isinstance(value, str):
        raise Malformed("expected a string")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("text holding a lone surrogate") from None


def _bytes_value(value):
    if not isinstance(value, dict) or set(value) - {"hex", "text"} or "hex" not in value:
        raise Malformed("bytes are {\"hex\": ...}")
    raw = _hex(value["hex"], "bytes")
    if "text" in value and (not isinstance(value["text"], str)
                            or value["text"].encode("utf-8", "surrogatepass") != raw):
        raise Malformed("text disagrees with hex")
    return raw


def _write(value, layout, out):
    if layout == "text":
        raw = _text_bytes(value)
        if len(raw) > FIELD_LEN_MAX:
            raise Refused("text over its limit")
        out += struct.pack("<I", len(raw)) + raw
    elif layout == "bytes":
        raw = _bytes_value(value)
        if len(raw) > FIELD_LEN_MAX:
            raise Refused("bytes over their limit")
        out += struct.pack("<I", len(raw)) + raw
    elif isinstance(layout, tuple):
        _, limit, parts = layout
        if not isinstance(value, list):
            raise Malformed("expected an array")
        if len(value) > limit:
            raise Refused("a list over its limit")
        out += struct.pack("<I", len(value))
        for item in value:
            if len(parts) == 1:
                _write(item, parts[0], out)
            else:
                if not isinstance(item, list) or len(item) != len(parts):
                    raise Malformed("a pair is a two-element array")
                for part_value, part in zip(item, parts):
                    _write(part_value, part, out)
    elif layout == "bool":
        if not isinstance(value, bool):
            raise Malformed("expected true or false")
        out.append(1 if value else 0)
    elif layout in ("f64", "f32"):
        width = 64 if layout == "f64" else 32
        out += struct.pack("<Q" if width == 64 else "<I", _float_bits(value, width))
    else:
        low, high = {"i64": (I64_MIN, I64_MAX), "i64 ≥ 0": (0, I64_MAX), "u32": (0, 0xFFFFFFFF),
                     "u8": (0, 255), "bitop": (0, 3)}[layout]
        out += struct.pack(FIXED[layout][0], _int(value, low, high))


def encode_record(record):
    """The bare record (tag and payload) of a record's JSON; Refused for a value out of its
    domain, Malformed for JSON that is no record."""
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
        raise Malformed("a record is an object with a kind")
    if record["kind"] not in BY_NAME:
        raise Malformed("no kind is named " + record["kind"])
    tag, fields = BY_NAME[record["kind"]]
    names = {name for name, _ in fields}
    extra = set(record) - names - {"kind"}
    if extra:
        raise Malformed("unknown fields " + ", ".join(sorted(extra)))
    out = bytearray([tag])
    for name, layout in fields:
        if name not in record:
            raise Malformed("missing field " + name)
        _write(record[name], layout, out)
    return bytes(out)


def write_file(records, version=2):
    """The bytes of a new file holding these records (FORMAT.md section 7)."""
    if version != 2:
        raise Unsupported("this port writes version 2 only (version 3 needs AES-256-GCM)")
    out = bytearray(MAGIC + bytes([version]))
    for record in records:
        body = encode_record(record)
        out += body + struct.pack("<I", crc32(body))
    return bytes(out)


# ---------------------------------------------------------------------------------------
# Reading files: intact records and verdicts (FORMAT.md section 6).

class Result:
    """How reading a file went: the records before the end or the damage, the verdict, and
    the error record-by-record reading reports (None: it ends without error)."""

    def __init__(self, records, verdict, read_error):
        self.records = records
        self.verdict = verdict
        self.read_error = read_error

    def to_json(self):
        return {"records": self.records, "verdict": self.verdict, "readError": self.read_error}


def _unreadable(cause):
    return Result([], {"verdict": "unreadable", "cause": cause}, {"class": cause, "offset": None})


def _partial_header(data):
    """FORMAT.md section 1: a crash while the file was being created."""
    n = len(data)
    if n < HEADER_LEN and data == MAGIC[:n]:
        return True
    landed = len(data.rstrip(b"\0"))
    return n <= HEADER_LEN and landed < n and data[:landed] == MAGIC[:landed]


def _plain_step(data, pos):
    """What is at `pos` of a plaintext file: ("record", record, length) or ("damage", class,
    failed), following "Classifying the record at an offset"."""
    try:
        end = record_end(data, pos)
    except DecodeError as e:
        return ("damage", e.cls, False)
    if end - pos > RECORD_LEN_MAX:
        return ("damage", "checksum_mismatch", True)
    if end + 4 > len(data):
        return ("damage", "truncated", False)
    (stored,) = struct.unpack("<I", data[end:end + 4])
    if crc32(data[pos:end]) != stored:
        return ("damage", "checksum_mismatch", True)
    try:
        record = decode_record(data[pos:end])
    except DecodeError as e:
        return ("damage", e.cls, True)
    return ("record", record, end + 4 - pos)


def _could_hold_sealed_record(data, pos):
    """Whether a complete sealed frame (section 4: nonce, a length from 16, that many bytes)
    starts at some offset from `pos`: only then can a key show a damaged version byte, by a
    record that authenticates (section 6), which needs AES-256-GCM."""
    for q in range(pos, len(data) - SEALED_HEADER_LEN + 1):
        (length,) = struct.unpack("<I", data[q + NONCE_LEN:q + SEALED_HEADER_LEN])
        if GCM_TAG_LEN <= length <= SEALED_LEN_MAX and q + SEALED_HEADER_LEN + length <= len(data):
            return True
    return False


def read_file(data, key=None):
    """Reads a whole file (bytes); `key` is 32 bytes or None. Returns a Result; raises
    Unsupported where AES-256-GCM would be needed."""
    if _partial_header(data):
        return Result([], {"verdict": "torn_tail", "offset": 0, "cause": "partial_header"}, None)
    if data[:len(MAGIC)] != MAGIC[:min(len(data), len(MAGIC))]:
        return _unreadable("invalid_magic")
    version = data[4]
    if version not in VERSIONS:
        return _unreadable("unsupported_version")
    if version == 3:
        if key is None:
            return _unreadable("encryption_required")
        raise Unsupported("version 3 needs AES-256-GCM, which the standard library lacks")
    records, pos = [], HEADER_LEN
    while pos < len(data):
        step = _plain_step(data, pos)
        if step[0] == "record":
            records.append(step[1])
            pos += step[2]
            continue
        return _judge(data, pos, step[1], step[2], records, key)
    return Result(records, {"verdict": "clean"}, None)


def _judge(data, pos, cls, failed, records, key):
    if not failed and not any(data[pos:]):
        cls = "zeros"
    error = {"class": cls, "offset": pos} if failed else None
    for q in range(pos + 1, len(data)):
        if _plain_step(data, q)[0] == "record":
            verdict = {"verdict": "corrupt", "offset": pos, "nextIntact": q, "cause": cls}
            return Result(records, verdict, error or {"class": "corrupt", "offset": pos})
    if pos == HEADER_LEN and not records and key is not None and _could_hold_sealed_record(data, pos):
        # No plaintext record is intact anywhere: only a sealed record that authenticates
        # under the key would show a damaged version byte (section 6); without a key, no
        # bytes are evidence of one.
        raise Unsupported("telling sealed records under a plaintext header needs AES-256-GCM")
    return Result(records, {"verdict": "torn_tail", "offset": pos, "cause": cls}, error)


# ---------------------------------------------------------------------------------------
# Writing a log: opening with recovery, appending, syncing, truncating (FORMAT.md section 7).

class OsFiles:
    """The storage the writer uses: the operating system's files. The writer does all its
    I/O through these few calls (as the reference does through its storage seam), so a
    driver can trace them or make them fail."""

    def read(self, path):
        """The whole file (b"" when there is none)."""
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def open(self, path):
        """A handle appending to `path`, created empty (mode 0600) when missing."""
        return _OsFile(os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600))

    def create(self, path):
        """A handle on `path` made empty (mode 0600), replacing any file there."""
        return _OsFile(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600))

    def rename(self, src, dst):
        os.replace(src, dst)

    def sync_dir(self, path):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _OsFile:
    def __init__(self, fd):
        self.fd = fd

    def append(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def set_len(self, n):
        os.ftruncate(self.fd, n)

    def sync(self):
        os.fsync(self.fd)

    def close(self):
        os.close(self.fd)


class Poisoned(Exception):
    """The writer refuses work: an earlier write or fsync failed (what it had buffered, or
    the kernel's unsynced pages, may be lost; reopen the file to go on)."""


class Writer:
    """An appending writer of version 1 and 2 files, with the recovery FORMAT.md section 7
    asks of a writer that opens an existing file:

    - a missing or empty file, or one holding a partial header (a crash while it was being
      created), gets a version 2 header, synced with its directory entry;
    - a torn tail is cut back to the last intact record, and the cut synced, before anything
      is appended;
    - a corrupt file (an intact record after damage), one that is not EAOF, of another
      version, or sealed (version 3: this port has no AES-256-GCM), is refused unchanged;
    - after any failed write or fsync the writer is poisoned: every later call raises
      Poisoned, so a partial record is never followed by more and a failed fsync is never
      taken back;
    - a record outside its fields' domains is refused (Refused) before any byte is buffered,
      and the writer stays usable;
    - truncate() replaces the file with an empty one crash-safely: a temporary file with the
      header, synced, renamed over the log, then the directory synced.

    Records are buffered until flush() or sync(); close() drops what was not flushed (it was
    never acknowledged), as the reference does.
    """

    def __init__(self, path, files, handle, version):
        self.path = path
        self.files = files
        self.handle = handle
        self.version = version
        self.buffer = bytearray()
        self.poisoned = None

    @classmethod
    def open(cls, path, files=None, key=None):
        files = files or OsFiles()
        if key is not None:
            raise Unsupported("keys need AES-256-GCM, which the standard library lacks")
        data = files.read(path)
        result = read_file(data)
        verdict = result.verdict
        if verdict["verdict"] == "unreadable":
            raise Refused("the file cannot be appended to: " + verdict["cause"])
        if verdict["verdict"] == "corrupt":
            raise Refused("the file is corrupt at offset %d (an intact record at %d follows): "
                          "cutting would lose it" % (verdict["offset"], verdict["nextIntact"]))
        handle = files.open(path)
        try:
            if verdict["verdict"] == "torn_tail" and verdict["offset"] == 0:
                # Nothing but (a part of) a header: the file is created again.
                if data:
                    handle.set_len(0)
                handle.append(MAGIC + bytes([2]))
                handle.sync()
                files.sync_dir(os.path.dirname(os.path.abspath(path)))
                return cls(path, files, handle, 2)
            if verdict["verdict"] == "torn_tail":
                handle.set_len(verdict["offset"])
                handle.sync()
        except BaseException:
            handle.close()
            raise
        return cls(path, files, handle, data[4])

    def _check(self):
        if self.poisoned is not None:
            raise Poisoned(self.poisoned)

    def _guard(self, what, step):
        self._check()
        try:
            step()
        except OSError as e:
            self.poisoned = "%s failed: %s" % (what, e)
            raise

    def write_record(self, record):
        """Buffers one record (a JSON dict, FORMAT.md 9.1)."""
        self._check()
        body = encode_record(record)
        self.buffer += body + struct.pack("<I", crc32(body))

    def flush(self):
        """Hands the buffered records to the operating system."""
        def step():
            if self.buffer:
                data, self.buffer = bytes(self.buffer), bytearray()
                self.handle.append(data)
        self._guard("write", step)

    def sync(self):
        """Flushes and fsyncs: every record written so far is durable when this returns."""
        self.flush()
        self._guard("fsync", self.handle.sync)

    def truncate(self):
        """Replaces the log with an empty one (records buffered are dropped with it)."""
        self._check()
        self.buffer = bytearray()
        tmp = self.path + ".tmp"

        def step():
            fresh = self.files.create(tmp)
            try:
                fresh.append(MAGIC + bytes([self.version]))
                fresh.sync()
            finally:
                fresh.close()
            self.files.rename(tmp, self.path)
            self.files.sync_dir(os.path.dirname(os.path.abspath(self.path)))
            self.handle.close()
            self.handle = self.files.open(self.path)
        self._guard("truncate", step)

    def close(self):
        """Closes the file; records not flushed are dropped (never acknowledged)."""
        self.buffer = bytearray()
        if self.handle is not None:
            handle, self.handle = self.handle, None
            handle.close()
