#!/usr/bin/env python3
"""Independent reader of a Trellis store's packs, pack indexes and checkpoints, written from
docs/format.md alone (with read_logs.py for the log).

For each repository it reads every packs/pack-*.pack: trailer (BLAKE2b-256), blocks (CRC-32 with
zlib, LZ4 with the pack's dictionary via the lz4 package), entries and deltas; re-hashes every
commit and verifies its Ed25519 signature (PyNaCl). It checks that the .idx has the right
checksum, fanout, sorted ids, entry numbers and block table, and looks up every id through the
index the way a reader would. It checks that a checkpoint naming exactly these packs lists
exactly their heads. Prints {"repo": [sorted ids of packs and log]}; exits 1 on any violation.
Usage: read_packs.py STORE_DIR
"""
import hashlib, json, os, struct, sys, zlib

import lz4.block

from read_logs import check_coverage, commit_parents, read_log, varint, verify_commit


def blake(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def apply_delta(delta, base, base_id):
    target_len, p = varint(delta, 0)
    out = bytearray()
    while p < len(delta):
        op = delta[p]
        p += 1
        if op == 0:
            out += base_id
        elif op < 0x80:
            out += delta[p:p + op]
            p += op
        elif op == 0x80:
            off, p = varint(delta, p)
            n, p = varint(delta, p)
            if n < 1 or off + n > len(base):
                raise ValueError("delta copy outside its base")
            out += base[off:off + n]
        else:
            raise ValueError("invalid delta op %d" % op)
    if len(out) != target_len:
        raise ValueError("delta result has the wrong length")
    return bytes(out)


def commit_key(raw):
    pos = 6
    n, pos = varint(raw, pos)
    pos += n
    n, pos = varint(raw, pos)
    return raw[pos:pos + n].decode()


def read_pack(path):
    data = open(path, "rb").read()
    if data[:8] != b"TRLPACK2":
        raise ValueError("%s: bad magic" % path)
    if blake(data[:-32]) != data[-32:]:
        raise ValueError("%s: trailer mismatch" % path)
    count, dict_len, seq_end = struct.unpack(">IIQ", data[8:24])
    dictionary = data[24:24 + dict_len]
    pos, end = 24 + dict_len, len(data) - 32
    seqs = set()
    entries, blocks = [], []  # entries: (id, generation, encoding, signature)
    while pos < end:
        if data[pos:pos + 4] != b"TRB1":
            raise ValueError("%s: bad block magic at %d" % (path, pos))
        n, payload_len, raw_len, crc = struct.unpack(">IIII", data[pos + 4:pos + 20])
        payload = data[pos + 20:pos + 20 + payload_len]
        if zlib.crc32(data[pos + 4:pos + 16] + payload) != crc:
            raise ValueError("%s: block checksum mismatch at %d" % (path, pos))
        blocks.append((pos, len(entries), crc))
        raw = lz4.block.decompress(payload, uncompressed_size=raw_len, dict=dictionary)
        p = 0
        for _ in range(n):
            generation, p = varint(raw, p)
            seq, p = varint(raw, p)
            if seq >= seq_end or seq in seqs:
                raise ValueError("%s: arrival number %d repeated or not below %d" % (path, seq, seq_end))
            seqs.add(seq)
            form = raw[p]
            p += 1
            distance = 0
            if form == 1:
                distance, p = varint(raw, p)
            elif form != 0:
                raise ValueError("unknown entry form")
            length, p = varint(raw, p)
            body = raw[p:p + length]
            p += length
            length, p = varint(raw, p)
            signature = raw[p:p + length]
            p += length
            if distance:
                base_id, _, base, _ = entries[len(entries) - distance]
                body = apply_delta(body, base, base_id)
            digest = verify_commit(body, signature)
            entries.append((digest, generation, body, signature))
        if p != len(raw):
            raise ValueError("%s: trailing bytes in block" % path)
        pos += 20 + payload_len
    if len(entries) != count or (entries and max(seqs) + 1 != seq_end):
        raise ValueError("%s: entry count mismatch" % path)
    check_index(path[:-5] + ".idx", data[-32:], entries, blocks)
    return data[-32:], entries


def check_index(path, checksum, entries, blocks):
    idx = open(path, "rb").read()
    width = {b"TRLIDX01": 32, b"TRLIDX02": 8}.get(idx[:8])
    if width is None or idx[8:40] != checksum or blake(idx[:-32]) != idx[-32:]:
        raise ValueError("%s: bad header or checksum" % path)
    n = len(entries)
    fanout = struct.unpack(">256I", idx[40:1064])
    keys = [idx[1064 + width * i:1064 + width * (i + 1)] for i in range(n)]
    base = 1064 + width * n
    numbers = struct.unpack(">%dI" % n, idx[base:base + 4 * n])
    ordered = sorted(e[0] for e in entries)
    if keys != [i[:width] for i in ordered] or [entries[k][0] for k in numbers] != ordered:
        raise ValueError("%s: ids not the pack's, sorted" % path)
    for b in range(256):
        if fanout[b] != sum(1 for i in keys if i[0] <= b):
            raise ValueError("%s: fanout wrong at %d" % (path, b))
    pos = base + 4 * n
    (block_count,) = struct.unpack(">I", idx[pos:pos + 4])
    table = [struct.unpack(">QII", idx[pos + 4 + 16 * i:pos + 20 + 16 * i]) for i in range(block_count)]
    if table != blocks or pos + 4 + 16 * block_count + 32 != len(idx):
        raise ValueError("%s: block table wrong" % path)
    # Look every id up as a reader would: fanout range, binary search for its first `width`
    # bytes, then the entries of equal keys until one rebuilds to the id.
    def lookup(digest):
        lo = fanout[digest[0] - 1] if digest[0] else 0
        hi = fanout[digest[0]]
        while lo < hi:
            mid = (lo + hi) // 2
            if keys[mid] < digest[:width]:
                lo = mid + 1
            else:
                hi = mid
        while lo < n and keys[lo] == digest[:width]:
            if entries[numbers[lo]][0] == digest:
                return numbers[lo]
            lo += 1
        return None
    held = set(ordered)
    for number, (digest, *_) in enumerate(entries):
        if lookup(digest) != number:
            raise ValueError("%s: lookup of %s fails" % (path, digest.hex()))
        other = digest[:-1] + bytes([digest[-1] ^ 1])  # the same prefix, another id
        if other not in held and lookup(other) is not None:
            raise ValueError("%s: lookup of %s finds another commit" % (path, other.hex()))


def check_checkpoint(path, checksums, entries_by_pack):
    data = open(path, "rb").read()
    version = {b"TRLCKP01": 1, b"TRLCKP02": 2}.get(data[:8])
    if version is None or blake(data[:-32]) != data[-32:]:
        raise ValueError("%s: bad magic or trailer" % path)
    (raw_len,) = struct.unpack(">Q", data[8:16])
    body = lz4.block.decompress(data[16:-32], uncompressed_size=raw_len)
    count, p = varint(body, 0)
    packs = [body[p + 32 * i:p + 32 * (i + 1)] for i in range(count)]
    p += 32 * count
    if packs != sorted(checksums):
        return  # a stale checkpoint: the store computes heads from the packs instead
    entries = [e for c in packs for e in entries_by_pack[c]]
    by_id = {e[0]: e for e in entries}
    parented = {parent for e in entries for parent in commit_parents(e[2])}
    expected = {i for i in by_id if i not in parented}
    keys, p = varint(body, p)
    listed = set()
    for _ in range(keys):
        n, p = varint(body, p)
        key = body[p:p + n].decode()
        p += n
        heads, p = varint(body, p)
        for _ in range(heads):
            head_id = body[p:p + 32]
            generation, p = varint(body, p + 32)
            if version == 1:
                n, p = varint(body, p)
                encoding = body[p:p + n]
                p += n
            else:
                kind = body[p]
                pack, p = varint(body, p + 1)
                number, p = varint(body, p)
                if pack >= len(packs) or number >= len(entries_by_pack[packs[pack]]):
                    raise ValueError("%s: head %s names no entry" % (path, head_id.hex()))
                entry = entries_by_pack[packs[pack]][number]
                encoding = entry[2]
                if entry[0] != head_id or encoding[5] != kind:
                    raise ValueError("%s: head %s is not its entry" % (path, head_id.hex()))
            if head_id not in by_id or by_id[head_id][2] != encoding or by_id[head_id][1] != generation \
                    or commit_key(encoding) != key:
                raise ValueError("%s: head %s does not match the packs" % (path, head_id.hex()))
            listed.add(head_id)
    if listed != expected or p != len(body):
        raise ValueError("%s: heads are not exactly the packs' heads" % path)


def main():
    root = os.path.join(sys.argv[1], "repos")
    result = {}
    try:
        for name in sorted(os.listdir(root)):
            repo = os.path.join(root, name)
            packs_dir = os.path.join(repo, "packs")
            checksums, entries, by_pack = [], [], {}
            for f in sorted(os.listdir(packs_dir)) if os.path.isdir(packs_dir) else []:
                if f.endswith(".pack"):
                    checksum, found = read_pack(os.path.join(packs_dir, f))
                    if f != "pack-%s.pack" % checksum[:16].hex():
                        raise ValueError("%s: name does not match its checksum" % f)
                    checksums.append(checksum)
                    by_pack[checksum] = found
                    entries += found
            if os.path.exists(os.path.join(repo, "checkpoint")):
                check_checkpoint(os.path.join(repo, "checkpoint"), checksums, by_pack)
            log_ids, log_commits = read_log(os.path.join(repo, "log"))
            check_coverage([(e[2], e[3]) for e in entries] + log_commits)
            ids = {e[0].hex() for e in entries} | set(log_ids)
            result[name] = sorted(ids)
    except Exception as e:  # any violation of the format is a failure
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
