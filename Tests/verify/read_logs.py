#!/usr/bin/env python3
"""Independent reader of a Trellis store's logs, written from docs/format.md alone.

It walks STORE/repos/*/log, checks the file magic and every frame (magic, lengths, CRC-32 with
zlib, LZ4 block decompression with the lz4 package), decodes each entry, re-hashes the commit
with hashlib's BLAKE2b-256 and verifies its Ed25519 signature with PyNaCl; a commit stored
without one must be covered by a later signed commit of its author (docs/format.md §Covered
signatures).
Prints a JSON object {"repo": [ids in log order], ...}; exits 1 on the first violation.
Usage: read_logs.py STORE_DIR
"""
import hashlib, json, os, struct, sys, zlib

import lz4.block
import nacl.signing


def varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def commit_author(raw):
    """The author key of a canonical commit (docs/format.md §Commits), or None."""
    pos = 6  # magic, version, kind
    for _ in range(2):  # repository, key
        n, pos = varint(raw, pos)
        pos += n
    count, pos = varint(raw, pos)
    pos += 32 * count + 12  # parents, timestamp
    return raw[pos + 1:pos + 33] if raw[pos] == 1 else None


def commit_parents(raw):
    pos = 6
    for _ in range(2):
        n, pos = varint(raw, pos)
        pos += n
    count, pos = varint(raw, pos)
    return [raw[pos + 32 * i:pos + 32 * (i + 1)] for i in range(count)]


def verify_commit(raw, signature):
    """The commit's id; raises unless the signature it carries verifies (merges carry none).
    An authored commit without one must pass check_coverage with the rest of its set."""
    digest = hashlib.blake2b(raw, digest_size=32).digest()
    author = commit_author(raw)
    if author is None:
        if signature:
            raise ValueError("author-less commit with a signature")
    elif signature:
        nacl.signing.VerifyKey(author).verify(digest, signature)
    return digest


def check_coverage(commits):
    """commits: (raw, signature) pairs, signatures already verified. Every authored commit
    without a signature needs a descendant in the set by the same author that has one."""
    by_id = {}
    for raw, signature in commits:
        digest = hashlib.blake2b(raw, digest_size=32).digest()
        if digest not in by_id or signature:
            by_id[digest] = (raw, signature)
    children = {}
    for digest, (raw, _) in by_id.items():
        for parent in commit_parents(raw):
            children.setdefault(parent, []).append(digest)
    for digest, (raw, signature) in by_id.items():
        author = commit_author(raw)
        if author is None or signature:
            continue
        stack, seen, found = list(children.get(digest, [])), set(), False
        while stack and not found:
            d = stack.pop()
            if d in seen:
                continue
            seen.add(d)
            craw, csig = by_id[d]
            found = bool(csig) and commit_author(craw) == author
            stack += children.get(d, [])
        if not found:
            raise ValueError("commit %s has no signature and no later commit by its author covers it" % digest.hex())


def read_log(path):
    data = open(path, "rb").read()
    if data[:8] != b"TRLLOG01":
        raise ValueError("%s: bad file magic" % path)
    pos, ids, commits = 8, [], []
    while pos < len(data):
        if data[pos:pos + 4] != b"TRF1":
            raise ValueError("%s: bad frame magic at %d" % (path, pos))
        payload_len, raw_len, crc = struct.unpack(">III", data[pos + 4:pos + 16])
        payload = data[pos + 16:pos + 16 + payload_len]
        if len(payload) != payload_len:
            raise ValueError("%s: truncated frame at %d" % (path, pos))
        if zlib.crc32(data[pos + 4:pos + 12] + payload) != crc:
            raise ValueError("%s: checksum mismatch at %d" % (path, pos))
        body = lz4.block.decompress(payload, uncompressed_size=raw_len)
        count, p = varint(body, 0)
        for _ in range(count):
            n, p = varint(body, p)
            raw = body[p:p + n]
            p += n
            n, p = varint(body, p)
            signature = body[p:p + n]
            p += n
            ids.append(verify_commit(raw, signature).hex())
            commits.append((raw, signature))
        if p != len(body):
            raise ValueError("%s: trailing bytes in frame at %d" % (path, pos))
        pos += 16 + payload_len
    return ids, commits


def main():
    repos = os.path.join(sys.argv[1], "repos")
    try:
        result = {}
        for name in sorted(os.listdir(repos)):
            ids, commits = read_log(os.path.join(repos, name, "log"))
            check_coverage(commits)
            result[name] = ids
    except Exception as e:  # any violation of the format is a failure
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
