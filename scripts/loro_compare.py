#!/usr/bin/env python3
"""Loads a workload into Loro (PyPI `loro`) the way an app would, one commit per revision and
only the changed fields set, and reports its bytes, load time and open time as JSON. Also
writes the same revisions as JSON lines for `trellis import` (scripts/bench-loro.sh runs both).

  loro_compare.py storage RECORDS REVISIONS JSONL_OUT   the storage workload (storage_workload.py)
  loro_compare.py tasks TASKS REVISIONS JSONL_OUT       task records whose notes grow each revision
"""
import json, random, statistics, sys, time

from loro import ExportMode, LoroDoc, LoroMap, LoroText

from storage_workload import documents

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
    for key, d in documents(records, revisions):
        yield key, d, []


def load(revisions_iter, jsonl_path):
    """Returns (doc, seconds to load, revisions): the Trellis JSON lines are written meanwhile
    but not timed."""
    doc = LoroDoc()
    root = doc.get_map("records")
    previous, containers, texts = {}, {}, {}
    elapsed, n = 0.0, 0
    with open(jsonl_path, "w") as out:
        for key, d, text_fields in revisions_iter:
            trellis_doc = {k: ({"$text": v} if k in text_fields else v) for k, v in d.items()}
            out.write(json.dumps({"key": key, "doc": trellis_doc}, separators=(",", ":")) + "\n")
            start = time.perf_counter()
            if key not in containers:
                containers[key] = root.insert_container(key, LoroMap())
            m, old = containers[key], previous.get(key, {})
            for field, value in d.items():
                if old.get(field) == value:
                    continue
                if field in text_fields:
                    t = texts.get((key, field))
                    if t is None:
                        t = texts[(key, field)] = m.insert_container(field, LoroText())
                    before = old.get(field, "")
                    # Appends only, in these workloads: insert what was added at the end.
                    t.insert(len(before), value[len(before):]) if value.startswith(before) else t.update(value)
                else:
                    m.insert(field, value)
            doc.commit()
            elapsed += time.perf_counter() - start
            previous[key] = {k: (v[:] if isinstance(v, list) else v) for k, v in d.items()}
            n += 1
    return doc, elapsed, n


def main():
    mode, count, revisions, jsonl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    source = storage(count, revisions) if mode == "storage" else tasks(count, revisions)
    doc, load_s, n = load(source, jsonl)
    snapshot = doc.export(ExportMode.Snapshot())
    opens = []
    for _ in range(5):
        start = time.perf_counter()
        LoroDoc().import_(snapshot)
        opens.append(time.perf_counter() - start)
    print(json.dumps({"revisions": n, "load_s": load_s, "snapshot_bytes": len(snapshot),
                      "bytes_per_revision": len(snapshot) / n, "open_s": statistics.median(opens)}))


if __name__ == "__main__":
    main()
