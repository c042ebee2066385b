#!/usr/bin/env python3
"""Independent check of Trellis commits, written from docs/format.md alone.

For each commit id given, it runs `trellis cat ID --raw` and `trellis cat ID --json`, then:
  1. decodes the raw bytes by the spec and checks they match the JSON fields;
  2. re-encodes the JSON document by the spec and checks it equals the raw document bytes;
  3. recomputes the id as BLAKE2b-256 of the raw bytes (hashlib);
  4. verifies the Ed25519 signature over the 32-byte id (PyNaCl); a commit shown without one
     must be covered by a later signed commit of its author among the ids given
     (docs/format.md §Covered signatures).
Usage: verify_commits.py TRELLIS_BINARY STORE_DIR ID [ID ...]   (exit 0 when all hold)
"""
import base64, datetime, hashlib, json, struct, subprocess, sys

import nacl.exceptions
import nacl.signing

from read_logs import check_coverage


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def varint(self):
        result = shift = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def string(self):
        return self.take(self.varint()).decode("utf-8")


def decode_value(r):
    tag = r.take(1)[0]
    if tag == 0x00: return None
    if tag == 0x01: return False
    if tag == 0x02: return True
    if tag == 0x03: return r.zigzag()
    if tag == 0x04: return struct.unpack(">d", r.take(8))[0]
    if tag == 0x05: return r.string()
    if tag == 0x06: return {"$date": format_date(r.zigzag())}
    if tag == 0x07: return {"$bytes": base64.b64encode(r.take(r.varint())).decode()}
    if tag == 0x08: return {"$text": r.string()}
    if tag == 0x09: return {"$set": [decode_value(r) for _ in range(r.varint())]}
    if tag == 0x0A: return {"$counter": r.zigzag()}
    if tag == 0x0B:
        out = {}
        for _ in range(r.varint()):
            name = r.string()
            out[name] = decode_value(r)
        return out
    if tag == 0x0C: return [decode_value(r) for _ in range(r.varint())]
    raise ValueError("unknown tag %d" % tag)


def format_date(ms):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_date(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (t - datetime.datetime(1970, 1, 1)) // datetime.timedelta(milliseconds=1)


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    return varint(((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF)


def string(s):
    b = s.encode("utf-8")
    return varint(len(b)) + b


def encode_value(v):
    """The canonical encoding of a value given in the JSON form."""
    if v is None: return b"\x00"
    if v is False: return b"\x01"
    if v is True: return b"\x02"
    if isinstance(v, int): return b"\x03" + zigzag(v)
    if isinstance(v, float): return b"\x04" + struct.pack(">d", 0.0 if v == 0 else v)
    if isinstance(v, str): return b"\x05" + string(v)
    if isinstance(v, list): return b"\x0c" + varint(len(v)) + b"".join(encode_value(x) for x in v)
    if len(v) == 1:
        (name, inner), = v.items()
        if name == "$date": return b"\x06" + zigzag(parse_date(inner))
        if name == "$bytes":
            raw = base64.b64decode(inner)
            return b"\x07" + varint(len(raw)) + raw
        if name == "$text": return b"\x08" + string(inner)
        if name == "$set":
            items = sorted(set(encode_value(x) for x in inner))
            return b"\x09" + varint(len(items)) + b"".join(items)
        if name == "$counter": return b"\x0a" + zigzag(inner)
    fields = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
    return b"\x0b" + varint(len(fields)) + b"".join(string(k) + encode_value(x) for k, x in fields)


def check(binary, store, commit_id):
    raw = subprocess.run([binary, "cat", commit_id, "--raw", "--store", store], check=True, capture_output=True).stdout
    fields = json.loads(subprocess.run([binary, "cat", commit_id, "--json", "--store", store],
                                       check=True, capture_output=True).stdout)
    # 1. decode by the spec
    r = Reader(raw)
    assert r.take(4) == b"TRLC", "magic"
    assert r.take(1) == b"\x01", "version"
    kind = {0: "put", 1: "delete", 2: "merge", 3: "merge-delete"}[r.take(1)[0]]
    repo, key = r.string(), r.string()
    parents = [r.take(32).hex() for _ in range(r.varint())]
    wall, logical = struct.unpack(">QI", r.take(12))
    author = r.take(32).hex() if r.take(1) == b"\x01" else None
    doc_start = r.pos
    document = decode_value(r) if kind not in ("delete", "merge-delete") else None
    assert r.pos == len(raw), "trailing bytes"
    assert parents == sorted(parents), "parents unsorted"
    expected = {"repo": repo, "key": key, "kind": kind, "parents": parents, "author": author,
                "timestamp": {"wall_ms": wall, "logical": logical}, "document": document}
    for name, value in expected.items():
        assert fields[name] == value, "field %s: raw says %r, json says %r" % (name, value, fields[name])
    # 2. re-encode the JSON document independently
    if document is not None:
        assert encode_value(fields["document"]) == raw[doc_start:], "document re-encoding differs"
    # 3. the id
    digest = hashlib.blake2b(raw, digest_size=32).digest()
    assert digest.hex() == fields["id"] and fields["id"].startswith(commit_id), "id mismatch"
    # 4. the signature over the id bytes; merges have no author and no signature
    if author is None:
        assert kind in ("merge", "merge-delete") and fields["signature"] == "", "author-less commit that is not a merge"
    elif fields["signature"]:
        nacl.signing.VerifyKey(bytes.fromhex(author)).verify(digest, bytes.fromhex(fields["signature"]))
    return raw, bytes.fromhex(fields["signature"])


def main():
    binary, store, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures, checked = 0, []
    for commit_id in ids:
        try:
            checked.append(check(binary, store, commit_id))
        except (AssertionError, ValueError, KeyError, nacl.exceptions.BadSignatureError, subprocess.CalledProcessError) as e:
            failures += 1
            print("FAIL %s: %s" % (commit_id, e), file=sys.stderr)
    try:
        check_coverage(checked)
    except ValueError as e:
        failures += 1
        print("FAIL %s" % e, file=sys.stderr)
    print("%d passed, %d failed" % (len(ids) - failures, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
