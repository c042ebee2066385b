#!/usr/bin/env python3
"""Loads a workload into a CRDT library the way an app would, one commit (Loro) or transaction
(pycrdt) per revision and only the changed fields set, and reports its bytes, load time and
open time as JSON. Also writes the same revisions as JSON lines for `trellis import`
(scripts/bench-loro.sh and scripts/bench-peers.sh run both).

  loro_compare.py storage RECORDS REVISIONS JSONL_OUT [loro|pycrdt]   the storage workload
  loro_compare.py tasks TASKS REVISIONS JSONL_OUT [loro|pycrdt]       notes that grow each revision
  loro_compare.py merges SECONDS RUNS [loro|pycrdt]                   10-field record merges per second

The merge case is the `records` workload of `trellis bench merge`: a 10-field record that one
side edits in fields 0-2 and the other in fields 6-8. One merge starts from our side's state in
memory (Loro: `fork`; pycrdt, which has no fork: applying our side's update to a new document)
and applies their side's changes since the base.
"""
import json, random, statistics, sys, time

STATUSES = ["open", "doing", "review", "done"]
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def tasks(count, revisions, seed=7):
    """Revision r of every task before revision r+1 of any. Each revision moves the status or
    the priority and appends one line of about 40 bytes to the notes."""
    rng = random.Random(seed)
    docs = [{"title": f"Task {i}", "status": "open", "priority": rng.randint(1, 5),
             "tags": sorted(rng.sample(["ui", "db", "sync", "docs", "bug"], 2)), "notes": ""} for i in range(count)]
    for r in range(revisions):
        for i in range(count):
            d = docs[i]
            if r > 0:
                if rng.random() < 0.5:
                    d["status"] = rng.choice(STATUSES)
                else:
                    d["priority"] = rng.randint(1, 5)
            d["notes"] += f"{r}: " + " ".join(rng.choice(WORDS) for _ in range(6)) + "\n"
            yield f"task-{i:05d}", d, ["notes"]


def storage(records, revisions):
    from storage_workload import documents
    for key, d in documents(records, revisions):
        yield key, d, []


class Loro:
    def __init__(self):
        from loro import LoroDoc
        self.doc = LoroDoc()
        self.root = self.doc.get_map("records")

    def record(self, key):
        from loro import LoroMap
        return self.root.insert_container(key, LoroMap())

    def set(self, record, field, value):
        record.insert(field, value)

    def text(self, record, field):
        from loro import LoroText
        return record.insert_container(field, LoroText())

    def append(self, text, at, added):
        text.insert(at, added)

    def revision(self):
        return _Commit(self.doc.commit)

    def snapshot(self):
        from loro import ExportMode
        return self.doc.export(ExportMode.Snapshot())

    @staticmethod
    def open(snapshot):
        from loro import LoroDoc
        LoroDoc().import_(snapshot)


class PyCRDT:
    def __init__(self):
        from pycrdt import Doc, Map
        self.doc = Doc()
        self.root = self.doc.get("records", type=Map)

    def record(self, key):
        from pycrdt import Map
        self.root[key] = Map()
        return self.root[key]

    def set(self, record, field, value):
        record[field] = value

    def text(self, record, field):
        from pycrdt import Text
        record[field] = Text()
        return record[field]

    def append(self, text, at, added):
        text.insert(at, added)

    def revision(self):
        return self.doc.transaction()

    def snapshot(self):
        return self.doc.get_update()

    @staticmethod
    def open(snapshot):
        from pycrdt import Doc
        Doc().apply_update(snapshot)


class _Commit:
    """A context manager that commits on exit (Loro's commit has no context manager)."""
    def __init__(self, commit):
        self.commit = commit

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.commit()


ENGINES = {"loro": Loro, "pycrdt": PyCRDT}


def load(revisions_iter, jsonl_path, engine):
    """Returns (engine, seconds to load, revisions): the Trellis JSON lines are written
    meanwhile but not timed."""
    db = ENGINES[engine]()
    previous, records, texts = {}, {}, {}
    elapsed, n = 0.0, 0
    with open(jsonl_path, "w") as out:
        for key, d, text_fields in revisions_iter:
            trellis_doc = {k: ({"$text": v} if k in text_fields else v) for k, v in d.items()}
            out.write(json.dumps({"key": key, "doc": trellis_doc}, separators=(",", ":")) + "\n")
            start = time.perf_counter()
            with db.revision():
                if key not in records:
                    records[key] = db.record(key)
                m, old = records[key], previous.get(key, {})
                for field, value in d.items():
                    if old.get(field) == value:
                        continue
                    if field in text_fields:
                        t = texts.get((key, field))
                        if t is None:
                            t = texts[(key, field)] = db.text(m, field)
                        before = old.get(field, "")
                        # Appends only, in these workloads: insert what was added at the end.
                        assert value.startswith(before)
                        db.append(t, len(before), value[len(before):])
                    else:
                        db.set(m, field, value)
            elapsed += time.perf_counter() - start
            previous[key] = {k: (v[:] if isinstance(v, list) else v) for k, v in d.items()}
            n += 1
    return db, elapsed, n


def ten_fields():
    base = {f"field{n}": (f"value {n} of the record" if n % 3 == 0 else n * 1000 if n % 3 == 1 else n % 2 == 0)
            for n in range(10)}
    ours = {f"field{n}": f"ours changed {n}" for n in (0, 1, 2)}
    theirs = {f"field{n}": f"theirs changed {n}" for n in (6, 7, 8)}
    return base, ours, theirs, {**base, **ours, **theirs}


def loro_merge():
    from loro import ExportMode, LoroDoc
    base, ours_edit, theirs_edit, expected = ten_fields()
    root = LoroDoc()
    for k, v in base.items():
        root.get_map("record").insert(k, v)
    root.commit()
    ours, theirs = root.fork(), root.fork()
    for side, edit in ((ours, ours_edit), (theirs, theirs_edit)):
        for k, v in edit.items():
            side.get_map("record").insert(k, v)
        side.commit()
    delta = theirs.export(ExportMode.Updates(root.oplog_vv))

    def once():
        d = ours.fork()
        d.import_(delta)
        return d
    assert once().get_map("record").get_deep_value() == expected
    return once


def pycrdt_merge():
    from pycrdt import Doc, Map
    base, ours_edit, theirs_edit, expected = ten_fields()
    root = Doc()
    root_map = root.get("record", type=Map)
    with root.transaction():
        for k, v in base.items():
            root_map[k] = v
    sides = []
    for edit in (ours_edit, theirs_edit):
        side = Doc()
        side.apply_update(root.get_update())
        m = side.get("record", type=Map)
        with side.transaction():
            for k, v in edit.items():
                m[k] = v
        sides.append(side)
    ours_update, delta = sides[0].get_update(), sides[1].get_update(root.get_state())

    def once():
        d = Doc()
        d.apply_update(ours_update)
        d.apply_update(delta)
        return d
    merged = once().get("record", type=Map).to_py()
    assert {k: (int(v) if isinstance(v, float) else v) for k, v in merged.items()} == expected
    return once


def merges_per_second(engine, seconds, runs):
    once = loro_merge() if engine == "loro" else pycrdt_merge()
    rates = []
    for _ in range(runs):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(100):
                once()
            n += 100
        rates.append(n / elapsed)
    return statistics.median(rates)


def main():
    mode = sys.argv[1]
    if mode == "merges":
        seconds, runs = float(sys.argv[2]), int(sys.argv[3])
        engine = sys.argv[4] if len(sys.argv) > 4 else "loro"
        print(json.dumps({"engine": engine, "merges_per_second": merges_per_second(engine, seconds, runs)}))
        return
    count, revisions, jsonl = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    engine = sys.argv[5] if len(sys.argv) > 5 else "loro"
    source = storage(count, revisions) if mode == "storage" else tasks(count, revisions)
    db, load_s, n = load(source, jsonl, engine)
    snapshot = db.snapshot()
    opens = []
    for _ in range(5):
        start = time.perf_counter()
        db.open(snapshot)
        opens.append(time.perf_counter() - start)
    print(json.dumps({"engine": engine, "revisions": n, "load_s": load_s, "snapshot_bytes": len(snapshot),
                      "bytes_per_revision": len(snapshot) / n, "open_s": statistics.median(opens)}))


if __name__ == "__main__":
    main()
