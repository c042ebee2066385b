#!/usr/bin/env python3
"""The peer benchmark suite's driver (scripts/bench-peers.sh builds and installs, then runs
this). Every row pits Trellis against a peer in the same run, each figure the median of ROUNDS
rounds that alternate between the tools, and the ratio is of those medians. Writes the tables
into docs/benchmarks.md (between the bench-peers markers) and PNG plots into docs/img/.

Sections: text merges (libgit2 in process, `git merge-file` per process); record merges per
second (Loro, pycrdt); the storage workload and the growing-notes task workload loaded into
Trellis, Loro, pycrdt and git (ingest, bytes per revision, open); sync bytes and round trips
against the ideal.
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storage_workload, text_merge_cases  # noqa: E402

BEGIN, END = "<!-- bench-peers:begin -->", "<!-- bench-peers:end -->"


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def timed(*args):
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


def median(xs):
    return statistics.median(xs)


def ratio(x):
    """A ratio with two significant figures at least: 0.049x, 0.80x, 19.6x."""
    return f"{x:.3f}×" if x < 0.1 else f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


class Bench:
    def __init__(self, a):
        self.a, self.work, self.T = a, a.work, a.trellis
        self.sections = []  # (title, intro, header, rows, plot name, plot rows)

    # -- text merges -------------------------------------------------------------------------
    def text(self):
        a, rows, plot = self.a, [], []
        text_merge_cases.write(f"{self.work}/text")
        for case in text_merge_cases.CASES:
            d = f"{self.work}/text/{case}"
            files = [f"{d}/ours", f"{d}/base", f"{d}/theirs"]
            mine, theirs = [], []
            for _ in range(a.rounds):
                out = run(self.T, "bench", "text-merge", *files, "--runs", "1", "--seconds", str(a.seconds), "--json")
                mine.append(json.loads(out)["merges_per_second"])
                theirs.append(float(run(a.libgit2, *files, str(a.seconds), "1")))
            same = self.same_merge(files, d)
            m, g = median(mine), median(theirs)
            rows.append([f"{case}, in process", f"{m:,.0f}/s", f"{g:,.0f}/s", f"**{ratio(m / g)}**", same])
            plot.append((f"{case}\nvs libgit2", m / g))
        n = a.processes
        files = [f"{self.work}/text/50-lines/{s}" for s in ("ours", "base", "theirs")]
        per = {"git": [], "trellis-merge-file": [], "trellis merge-file": []}
        for _ in range(a.rounds):
            per["git"].append(self.per_process(n, ["git", "merge-file", "-p", *files]))
            per["trellis-merge-file"].append(self.per_process(n, [a.merge_file, *files]))
            per["trellis merge-file"].append(self.per_process(n, [self.T, "merge-file", *files]))
        g = median(per["git"])
        for tool in ("trellis-merge-file", "trellis merge-file"):
            m = median(per[tool])
            rows.append([f"50-lines, `{tool}` per process", f"{m:,.0f}/s", f"{g:,.0f}/s (`git merge-file -p`)", ratio(m / g), ""])
            plot.append((f"`{tool}`\nvs git merge-file", m / g))
        self.sections.append(("Text merges", f"Merges per second. In process: `trellis bench text-merge` against "
                              f"libgit2's `git_merge_file` in a loop (scripts/libgit2_merge_file.c), {a.seconds:g} s a run. "
                              f"Per process: {n} processes a round, the 50-line case.",
                              ["case", "Trellis", "peer", "Trellis / peer (higher is better)", "output"], rows, "peers-text", plot))

    def same_merge(self, files, d):
        merged = subprocess.run([self.T, "merge-file", *files], capture_output=True)
        if merged.returncode != 0:
            return "conflicts (not compared)"
        env = dict(os.environ, MERGED=f"{d}/git.out")
        subprocess.run([self.a.libgit2, *files, "0.001", "1"], check=True, capture_output=True, env=env)
        with open(f"{d}/git.out", "rb") as f:
            return "identical" if f.read() == merged.stdout else "**DIFFERENT**"

    @staticmethod
    def per_process(n, argv):
        start = time.perf_counter()
        for _ in range(n):
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)
        return n / (time.perf_counter() - start)

    # -- record merges -----------------------------------------------------------------------
    def record_merges(self):
        a = self.a
        rates = {"trellis": [], "loro": [], "pycrdt": []}
        for _ in range(a.rounds):
            out = run(self.T, "bench", "merge", "--workload", "records", "--runs", "1", "--seconds", str(a.seconds), "--json")
            rates["trellis"].append(json.loads(out)[0]["merges_per_second"])
            for engine in ("loro", "pycrdt"):
                out = run(sys.executable, f"{a.scripts}/loro_compare.py", "merges", str(a.seconds), "1", engine)
                rates[engine].append(json.loads(out)["merges_per_second"])
        t = median(rates["trellis"])
        rows, plot = [], []
        for engine, name in (("loro", "Loro"), ("pycrdt", "pycrdt")):
            p = median(rates[engine])
            rows.append([f"10-field record, disjoint edits, vs {name}", f"{t:,.0f}/s", f"{p:,.0f}/s", f"**{ratio(t / p)}**"])
            plot.append((f"record merge\nvs {name}", t / p))
        self.sections.append(("Record merges", "Merges per second of the `records` workload of `trellis bench merge` "
                              "(a 10-field record, fields 0-2 edited on one side and 6-8 on the other). Trellis: the "
                              "merge-base search, the field merge and the merge commit with its BLAKE2b id, in process. "
                              "Loro: `fork` our side and import their side's update since the base; pycrdt (no fork): apply "
                              "our side's update to a new document, then theirs. The peers run from Python, whose call "
                              "overhead is in their figures.",
                              ["workload", "Trellis", "peer", "Trellis / peer (higher is better)"], rows, "peers-records", plot))

    # -- storage: ingest, bytes, open --------------------------------------------------------
    def storage(self, mode, count, revisions, key, title):
        a, results = self.a, []
        for r in range(a.rounds):
            d = f"{self.work}/{mode}-{r}"
            os.makedirs(d)
            jsonl = f"{d}/revisions.jsonl"
            peers = {}
            for engine in ("loro", "pycrdt"):
                out = run(sys.executable, f"{a.scripts}/loro_compare.py", mode, str(count), str(revisions), jsonl, engine)
                peers[engine] = json.loads(out)
            run(self.T, "init", f"{d}/t")
            t_import = timed(self.T, "import", "--store", f"{d}/t", "bench", jsonl)
            run(self.T, "repack", "--store", f"{d}/t")
            stats = json.loads(run(self.T, "stats", "--store", f"{d}/t", "--json"))[0]
            opens = [self.process_open([self.T, "get", "--store", f"{d}/t", "bench", key]) for _ in range(5)]
            inside = json.loads(run(self.T, "bench", "open", "--store", f"{d}/t", "bench", key, "--runs", "5", "--json"))
            n = peers["loro"]["revisions"]
            git = self.git(d, jsonl, n, key)
            results.append({"loro": peers["loro"], "pycrdt": peers["pycrdt"], "git": git, "trellis": {
                "import_s": t_import, "bytes_per_revision": stats["bytes_on_disk"] / n, "open_s": median(o[0] for o in opens),
                "open_in_process_s": inside["open_seconds"], "get_us": inside["get_microseconds"], "same_get_us": inside["same_get_microseconds"],
                "open_mib": median(o[1] for o in opens) / 1024, "pack": stats["pack_bytes"] / n, "index": stats["index_bytes"] / n,
                "checkpoint": stats["checkpoint_bytes"] / n, "signatures": stats["signatures"], "commits": stats["commits"]},
                "store": f"{d}/t", "stats": stats})
        m = lambda tool, k: median(x[tool][k] for x in results)
        n = results[0]["loro"]["revisions"]
        rows, plot = [], []
        for peer, name in (("loro", "Loro"), ("pycrdt", "pycrdt"), ("git", "git")):
            tb, pb = m("trellis", "bytes_per_revision"), m(peer, "bytes_per_revision")
            rows.append([f"bytes per revision, vs {name}", f"{tb:.1f} B", f"{pb:.1f} B", f"**{ratio(tb / pb)}**"])
            plot.append((f"bytes vs {name}", pb / tb))
        for peer, name in (("loro", "Loro"), ("pycrdt", "pycrdt"), ("git", "git fast-import")):
            ti, pi = m("trellis", "import_s"), m(peer, "load_s")
            rows.append([f"ingest, vs {name}", f"{ti:.2f} s ({n / ti:,.0f}/s)", f"{pi:.2f} s ({n / pi:,.0f}/s)", f"**{ratio(ti / pi)}**"])
            plot.append((f"ingest vs {name}", pi / ti))
        for peer, name in (("loro", "Loro"), ("pycrdt", "pycrdt"), ("git", "git")):
            to, po = m("trellis", "open_s"), m(peer, "open_s")
            rows.append([f"open, vs {name}", f"{to * 1000:.1f} ms", f"{po * 1000:.2f} ms", ratio(to / po)])
            plot.append((f"open vs {name}", po / to))
        to, lo = m("trellis", "open_in_process_s"), m("loro", "open_s")
        rows.append(["open in process (`trellis bench open`), vs Loro", f"{to * 1000:.1f} ms", f"{lo * 1000:.2f} ms", ratio(to / lo)])
        plot.append(("open in process vs Loro", lo / to))
        rows.append(["one get on the open store: keys spread over the repository / the same record again",
                     f"{m('trellis', 'get_us'):.1f} µs / {m('trellis', 'same_get_us'):.2f} µs", "", ""])
        if mode == "storage":
            self.sync_store = results[-1]
        tr = results[0]["trellis"]
        intro = (f"{title}: {count:,} records × {revisions} revisions = {n:,} revisions. Trellis: `trellis import` (every "
                 f"revision a signed commit, batches fsynced), then `trellis repack`; bytes are every file of the repository. "
                 f"Loro and pycrdt: one commit or transaction per revision from Python, only the changed fields set, "
                 f"bytes of the snapshot (`export(Snapshot)`, `get_update()`), open = loading it in process. git: one file per "
                 f"record (`ab/cd/KEY.json`), one commit per {self.a.per_commit} revisions, `git fast-import` then "
                 f"`git gc --aggressive`; bytes of `objects/`; open = a `git cat-file` process reading one record. Trellis open "
                 f"= a whole `trellis get` process ({m('trellis', 'open_mib'):.0f} MiB peak), or in process: `trellis bench open` "
                 f"opens the store and reads one record (median of 5). Trellis bytes per revision: pack "
                 f"{m('trellis', 'pack'):.1f}, index {m('trellis', 'index'):.1f}, checkpoint {m('trellis', 'checkpoint'):.1f}; "
                 f"{tr['signatures']:,} signatures over {tr['commits']:,} commits. Ratios are Trellis / peer: lower is better.")
        self.sections.append((title, intro, ["measure", "Trellis", "peer", "Trellis / peer"], rows, f"peers-{mode}", plot))

    def git(self, d, jsonl, revisions, key):
        """Loads the JSON lines (`revisions` of them) into git as one file per record; returns
        ingest, bytes, open."""
        stream = f"{d}/fast-import.stream"
        with open(jsonl) as src, open(stream, "wb") as out:
            docs = ((row["key"], {k: (v["$text"] if isinstance(v, dict) and "$text" in v else v) for k, v in row["doc"].items()})
                    for row in map(json.loads, src))
            storage_workload.fast_import(docs, self.a.per_commit, out)
        run("git", "init", "-q", "--bare", f"{d}/g")
        with open(stream, "rb") as s:
            start = time.perf_counter()
            subprocess.run(["git", "-C", f"{d}/g", "fast-import", "--quiet"], stdin=s, check=True)
            load_s = time.perf_counter() - start
        run("git", "-C", f"{d}/g", "gc", "-q", "--aggressive")
        size = sum(os.path.getsize(os.path.join(root, f)) for root, _, fs in os.walk(f"{d}/g/objects") for f in fs)
        path = storage_workload.git_path(key)
        opens = [self.process_open(["git", "-C", f"{d}/g", "cat-file", "-p", f"main:{path}"])[0] for _ in range(5)]
        os.unlink(stream)
        return {"load_s": load_s, "bytes_per_revision": size / revisions, "open_s": median(opens)}

    @staticmethod
    def process_open(argv):
        """(wall seconds, peak KiB) of one whole process."""
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        if (code := os.waitstatus_to_exitcode(status)) != 0:
            raise RuntimeError(f"{argv[0]} exited with {code}")
        return seconds, usage.ru_maxrss

    # -- sync --------------------------------------------------------------------------------
    def sync(self):
        source = self.sync_store["store"]
        d = f"{self.work}/sync"
        os.makedirs(d)
        rows = []

        def raw(store):
            s = json.loads(run(self.T, "stats", "--store", store, "--json"))
            return sum(x["raw_bytes"] for x in s), sum(x["commits"] for x in s)

        def sync(a, b):
            before = raw(a)[0] + raw(b)[0]
            report = json.loads(run(self.T, "sync", "--store", a, b, "--json"))
            ideal = raw(a)[0] + raw(b)[0] - before  # what each side lacked: encodings and signatures
            wire = report["bytes_sent"] + report["bytes_received"]
            return report["rounds"], wire, ideal, report["commits_sent"] + report["commits_received"]

        results = {"first": [], "incremental": [], "noop": []}
        for r in range(self.a.rounds):
            b = f"{d}/b{r}"
            run(self.T, "init", b)
            results["first"].append(sync(b, source))
            for store, keys in ((source, range(0, 100)), (b, range(100, 200))):
                path = f"{d}/edits-{r}.jsonl"
                with open(path, "w") as f:
                    for i in keys:
                        f.write(json.dumps({"key": f"rec-{i:06d}", "doc": {"round": r, "side": store == b, "n": i}}) + "\n")
                run(self.T, "import", "--store", store, "bench", path)
            results["incremental"].append(sync(b, source))
            results["noop"].append(sync(b, source))
        names = {"first": "first contact", "incremental": "100 new commits on each side", "noop": "nothing new"}
        plot = []
        for case, samples in results.items():
            rounds = median(s[0] for s in samples)
            wire, ideal = median(s[1] for s in samples), median(s[2] for s in samples)
            versus = f"**{wire / ideal:.3f}×**" if ideal else "(ideal 0)"
            commits = median(s[3] for s in samples)
            rows.append([f"{names[case]} ({commits:,.0f} commits)", f"{rounds:g}", "1", f"{wire:,.0f} B", f"{ideal:,.0f} B", versus])
            if ideal:
                plot.append((f"sync bytes,\n{case}", ideal / wire))
        self.sections.append(("Sync against the ideal", "`trellis sync` between two stores on disk (directory transport, "
                              "fsync on), the storage workload's repacked store as the source. Ideal bytes: the canonical "
                              "encodings and signatures of the commits each side lacked (from `trellis stats` raw bytes before "
                              "and after), which any protocol that lets the receiver verify them must carry unless it "
                              "compresses; ideal round trips: one. Wire bytes are both directions.",
                              ["case", "round trips", "ideal", "bytes on the wire", "ideal bytes", "wire / ideal"],
                              rows, "peers-sync", plot))

    # -- output ------------------------------------------------------------------------------
    def plots(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        os.makedirs(self.a.plots, exist_ok=True)
        for title, _, _, _, name, points in self.sections:
            if not points:
                continue
            fig, ax = plt.subplots(figsize=(7, 0.55 * len(points) + 1.2))
            labels, values = [p[0].replace("`", "") for p in points], [p[1] for p in points]
            ax.barh(labels, values, color=["#2a7" if v >= 1 else "#c54" for v in values])
            ax.axvline(1, color="black", linewidth=0.8)
            ax.set_xscale("log")
            ax.invert_yaxis()
            for y, v in enumerate(values):
                ax.text(v, y, f" {v:.2f}×", va="center")
            ax.set_xlabel("Trellis advantage (×, log scale; right of 1 = Trellis better)")
            ax.set_title(f"{title} ({self.date}, {os.cpu_count()} cores)")
            fig.tight_layout()
            fig.savefig(f"{self.a.plots}/{name}.png", dpi=110)
            plt.close(fig)

    def markdown(self):
        cpu = "unknown CPU"
        try:
            cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
        except (OSError, AttributeError):
            pass
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        git = run("git", "--version").strip()
        lines = [BEGIN, "",
                 f"- Machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}; "
                 f"{git}; Loro {self.version('loro')}, pycrdt {self.version('pycrdt')}, libgit2 {self.a.libgit2_version}. "
                 f"Date: {self.date}.",
                 f"- Command: `{self.a.command}`. Each figure is the median of {self.a.rounds} rounds, the tools "
                 f"alternating within a round; each ratio is of the medians, measured in the same run.", ""]
        plots = os.path.relpath(self.a.plots, os.path.dirname(os.path.abspath(self.a.markdown)))
        for title, intro, header, rows, name, points in self.sections:
            lines += [f"### {title}", "", intro, "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
            if points:
                lines += ["", f"![{title}]({plots}/{name}.png)"]
            lines.append("")
        lines.append(END)
        block = "\n".join(lines)
        text = open(self.a.markdown).read() if os.path.exists(self.a.markdown) else "# Benchmarks\n"
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n## Against peers (issue 16, `scripts/bench-peers.sh`)\n\n" + block + "\n"
        with open(self.a.markdown, "w") as f:
            f.write(text)
        print(block)

    @staticmethod
    def version(module):
        try:
            from importlib.metadata import version
            return version(module)
        except Exception:
            return "?"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trellis", required=True)
    p.add_argument("--merge-file", required=True, help="the trellis-merge-file executable")
    p.add_argument("--libgit2", required=True, help="the compiled scripts/libgit2_merge_file.c")
    p.add_argument("--libgit2-version", default="?")
    p.add_argument("--work", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1)
    p.add_argument("--processes", type=int, default=200)
    p.add_argument("--records", type=int, default=20000)
    p.add_argument("--revisions", type=int, default=10)
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--task-revisions", type=int, default=20)
    p.add_argument("--per-commit", type=int, default=1000)
    p.add_argument("--markdown", default="docs/benchmarks.md")
    p.add_argument("--plots", default="docs/img")
    p.add_argument("--command", default="scripts/bench-peers.sh")
    a = p.parse_args()
    a.scripts = os.path.dirname(os.path.abspath(__file__))
    b = Bench(a)
    b.date = time.strftime("%Y-%m-%d", time.gmtime())
    steps = [("text merges", b.text), ("record merges", b.record_merges),
             ("storage workload", lambda: b.storage("storage", a.records, a.revisions, "rec-000001", "Storage workload")),
             ("growing notes", lambda: b.storage("tasks", a.tasks, a.task_revisions, "task-00001", "Tasks with growing notes")),
             ("sync", b.sync)]
    for name, step in steps:
        start = time.perf_counter()
        print(f"bench-peers: {name}...", file=sys.stderr, flush=True)
        step()
        print(f"bench-peers: {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    b.plots()
    b.markdown()


if __name__ == "__main__":
    main()
