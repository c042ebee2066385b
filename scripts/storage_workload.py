#!/usr/bin/env python3
"""The storage benchmark's workload (docs/benchmarks.md §Storage v2): RECORDS records x REVISIONS
revisions of small JSON-like documents, deterministic for a given seed.

  storage_workload.py jsonl RECORDS REVISIONS > revisions.jsonl       (for `trellis import`)
  storage_workload.py fast-import RECORDS REVISIONS PER_COMMIT > s    (for `git fast-import`)

Revision r of every record comes before revision r+1 of any record. In the git form each record
is one file `ab/cd/KEY.json` (two-level fan-out on the BLAKE2b of the key) holding the same
document as compact JSON, and every PER_COMMIT revisions make one git commit.
"""
import hashlib, json, random, sys

CITIES = ["Lisbon", "Oslo", "Kyoto", "Lima", "Austin", "Nairobi", "Perth", "Tallinn", "Quito", "Hanoi"]
TAGS = ["admin", "beta", "vip", "new", "trial", "staff", "partner", "legacy"]
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def documents(records, revisions, seed=42):
    rng = random.Random(seed)
    docs = []
    for i in range(records):
        docs.append({
            "name": f"User {i}", "email": f"user{i}@example.com", "age": rng.randint(18, 90),
            "city": rng.choice(CITIES), "active": rng.random() < 0.8, "visits": rng.randint(0, 500),
            "score": rng.randint(0, 100000), "plan": rng.choice(["free", "pro", "team"]),
            "tags": sorted(rng.sample(TAGS, 2)), "note": " ".join(rng.choice(WORDS) for _ in range(6)),
        })
    for r in range(revisions):
        for i in range(records):
            d = docs[i]
            if r > 0:
                d["visits"] += rng.randint(1, 5)
                field = rng.choice(["score", "city", "active", "note", "plan", "age"])
                if field == "score": d["score"] = rng.randint(0, 100000)
                elif field == "city": d["city"] = rng.choice(CITIES)
                elif field == "active": d["active"] = not d["active"]
                elif field == "note": d["note"] = " ".join(rng.choice(WORDS) for _ in range(6))
                elif field == "plan": d["plan"] = rng.choice(["free", "pro", "team"])
                else: d["age"] += 1
            yield f"rec-{i:06d}", d


def git_path(key):
    """The file of a record in the git form: a two-level fan-out on the BLAKE2b of the key."""
    h = hashlib.blake2b(key.encode(), digest_size=2).hexdigest()
    return f"{h[:2]}/{h[2:]}/{key}.json"


def fast_import(revisions, per_commit, out):
    """Writes (key, document) revisions as a `git fast-import` stream, one commit per
    PER_COMMIT revisions, to the binary stream OUT."""
    pending, n, when = [], 0, 1_700_000_000

    def commit():
        nonlocal n, pending
        msg = f"revisions {n * per_commit}..{n * per_commit + len(pending) - 1}\n".encode()
        out.write(b"commit refs/heads/main\n")
        out.write(f"committer Bench <bench@example.com> {when + n} +0000\n".encode())
        out.write(b"data %d\n%s\n" % (len(msg), msg))
        for path, body in pending:
            out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(body), body))
        n += 1
        pending = []

    for key, d in revisions:
        pending.append((git_path(key), json.dumps(d, separators=(",", ":")).encode()))
        if len(pending) == per_commit:
            commit()
    if pending:
        commit()


def main():
    mode, records, revisions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = sys.stdout.buffer
    if mode == "jsonl":
        for key, d in documents(records, revisions):
            out.write(json.dumps({"key": key, "doc": d}, separators=(",", ":")).encode() + b"\n")
    elif mode == "fast-import":
        fast_import(documents(records, revisions), int(sys.argv[4]), out)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
