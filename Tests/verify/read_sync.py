#!/usr/bin/env python3
"""Independent reader of Trellis sync messages and bundles, written from docs/sync.md alone.

  read_sync.py bundle FILE         checks the trailer, decodes every message, re-hashes and
                                   verifies every commit (hashlib, PyNaCl), checks that commits come
                                   parents first and that the HELLO digest is the digest of the
                                   bundle's heads. Prints {"repositories", "ids", "digest"}.
  read_sync.py trace DIR [IDS]     decodes every NNN-sent.bin / NNN-received.bin message of a
                                   `trellis sync --trace DIR`; for each filter, counts how many of
                                   the hex ids in file IDS it contains. Prints one JSON object per
                                   message.
Exits 1 on any violation.
"""
import hashlib, json, os, struct, sys

from read_logs import check_coverage, varint, verify_commit
from read_packs import commit_parents

MAX_MESSAGE = 48 << 20


def blake(data, size=32, key=b""):
    return hashlib.blake2b(data, digest_size=size, key=key).digest()


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated at byte %d" % self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def varint(self):
        value, self.pos = varint(self.data, self.pos)
        return value

    def string(self):
        return self.take(self.varint()).decode("utf-8")


def read_filter(r):
    n = r.varint()
    if n == 0:
        return {"n": 0}
    salt, k, m = r.take(16), r.u8(), r.varint()
    if not (1 <= k <= 32) or not (8 <= m <= 1 << 27) or m > 64 * n + 1024 or n > 1 << 24:
        raise ValueError("filter parameters out of range")
    return {"n": n, "salt": salt, "k": k, "m": m, "bits": r.take((m + 7) // 8)}


def filter_contains(f, ident):
    if f["n"] == 0:
        return False
    h = blake(ident, 16, f["salt"])
    h1, h2 = struct.unpack(">QQ", h)
    h2 |= 1
    for i in range(f["k"]):
        j = ((h1 + i * h2) % (1 << 64)) % f["m"]
        if not f["bits"][j >> 3] & (1 << (j & 7)):
            return False
    return True


def read_body(r):
    flags = r.u8()
    if flags not in (0, 1, 2):
        raise ValueError("bad flags")
    body = {"more": flags == 1, "done": flags == 2, "digest": r.take(32)}
    has_filter = r.u8()
    if has_filter not in (0, 1):
        raise ValueError("bad has_filter")
    body["filter"] = read_filter(r) if has_filter else None
    body["need"] = [r.take(32) for _ in range(r.varint())]
    body["commits"] = read_commits(r)
    return body


def read_commits(r):
    """A commit list: varint count, then (varint length, encoding, varint 0 or 64, signature)."""
    commits = []
    for _ in range(r.varint()):
        encoded = r.take(r.varint())
        sig_len = r.varint()
        if sig_len not in (0, 64):
            raise ValueError("bad signature length")
        commits.append((encoded, r.take(sig_len)))
    return commits


def read_message(data):
    if len(data) > MAX_MESSAGE:
        raise ValueError("message too large")
    r = Reader(data)
    if r.u8() != 1:
        raise ValueError("unknown version")
    kind = r.u8()
    if kind == 1:
        m = {"type": "HELLO", "peer": r.take(32), "token": r.take(32)}
        m["selection"] = [r.string() for _ in range(r.varint())]
        if m["selection"] != sorted(set(m["selection"]), key=lambda s: s.encode()):
            raise ValueError("selection not strictly increasing")
        m["digest"] = r.take(32)
        m["filter"] = read_filter(r)
    elif kind == 2:
        m = {"type": "WELCOME", "peer": r.take(32), "accepted": r.u8()}
        if m["accepted"] not in (0, 1):
            raise ValueError("bad accepted")
        m.update(read_body(r))
    elif kind == 3:
        m = {"type": "SYNC"}
        m.update(read_body(r))
    elif kind == 4:
        m = {"type": "ERROR", "text": r.string()}
    else:
        raise ValueError("unknown type %d" % kind)
    if r.pos != len(data):
        raise ValueError("bytes left over")
    return m


def read_bundle(path):
    data = open(path, "rb").read()
    if data[:8] != b"TRLBNDL1" or blake(data[:-32]) != data[-32:]:
        raise ValueError("bad magic or trailer")
    r = Reader(data[:-32])
    r.pos = 8
    messages = []
    while r.pos < len(r.data):
        (length,) = struct.unpack(">I", r.take(4))
        messages.append(read_message(r.take(length)))
    if not messages or messages[0]["type"] != "HELLO" or any(m["type"] != "SYNC" for m in messages[1:]):
        raise ValueError("a bundle is a HELLO and then SYNC messages")
    if messages[-1]["more"] or any(not m["more"] for m in messages[1:-1]):
        raise ValueError("only the last SYNC clears more")
    seen, parented, ids = set(), set(), []
    for m in messages[1:]:
        for encoded, signature in m["commits"]:
            ident = verify_commit(encoded, signature)
            parents = commit_parents(encoded)
            if any(p not in seen for p in parents):
                raise ValueError("a commit comes before its parent")
            seen.add(ident)
            parented.update(parents)
            ids.append(ident)
    check_coverage([c for m in messages[1:] for c in m["commits"]])
    heads = sorted(i for i in seen if i not in parented)
    if blake(b"".join(heads)) != messages[0]["digest"]:
        raise ValueError("HELLO digest is not the digest of the bundled heads")
    return {"repositories": messages[0]["selection"], "ids": sorted(i.hex() for i in ids),
            "digest": messages[0]["digest"].hex()}


def read_trace(directory, ids_file=None):
    ids = [bytes.fromhex(l.strip()) for l in open(ids_file)] if ids_file else []
    out, commits = [], []
    for name in sorted(os.listdir(directory)):
        m = read_message(open(os.path.join(directory, name), "rb").read())
        summary = {"file": name, "type": m["type"]}
        if m.get("filter") is not None:
            f = m["filter"]
            summary["filter_n"] = f["n"]
            summary["filter_contains"] = sum(1 for i in ids if filter_contains(f, i))
        for encoded, signature in m.get("commits", []):
            verify_commit(encoded, signature)
            commits.append((encoded, signature))
        summary["commits"] = [blake(e).hex() for e, _ in m.get("commits", [])]
        summary["need"] = [n.hex() for n in m.get("need", [])]
        if "digest" in m:
            summary["digest"] = m["digest"].hex()
        out.append(summary)
    check_coverage(commits)
    return out


if __name__ == "__main__":
    try:
        if sys.argv[1] == "bundle":
            print(json.dumps(read_bundle(sys.argv[2])))
        else:
            print(json.dumps(read_trace(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)))
    except Exception as e:  # any violation is a failure of the format
        print("read_sync: %s" % e, file=sys.stderr)
        sys.exit(1)
