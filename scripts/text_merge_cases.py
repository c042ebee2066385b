#!/usr/bin/env python3
"""The three text-merge cases of scripts/bench-text-merge.sh and scripts/bench-peers.sh, each
written to DIR/CASE/{base,ours,theirs}:

  50-lines               the 50-line case of `trellis bench merge` (MergeWorkload.fiftyLines)
  2000-lines             2,000 lines, 30 edits a side in alternate 33-line stripes: a clean merge
  200-lines-overlapping  200 lines where both sides rewrote the same 20 lines: word pass, markers

  text_merge_cases.py DIR
"""
import os, random, sys

CASES = ["50-lines", "2000-lines", "200-lines-overlapping"]


def cases():
    """Yields (name, base, ours, theirs), each text as a list of lines."""
    base = [f"Line {n} of a fifty-line note, with some words in it.\n" for n in range(50)]
    ours = list(base); ours[8] = "Line 8 was rewritten on our side.\n"; ours.insert(21, "A line we inserted after line 20.\n")
    theirs = list(base); theirs[40] = "Line 40 was rewritten on their side.\n"; del theirs[45]
    yield "50-lines", base, ours, theirs

    rng = random.Random(16)
    base = [f"{n:04d} " + " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "node", "edge"]) for _ in range(6)) + "\n"
            for n in range(2000)]
    ours, theirs = list(base), list(base)
    for stripe in range(60):
        side = ours if stripe % 2 == 0 else theirs
        at = stripe * 33 + rng.randrange(0, 30)
        side[at] = f"{at:04d} changed on {'our' if side is ours else 'their'} side\n"
    yield "2000-lines", base, ours, theirs

    base = [f"Item {n}: status open, owner ann, points {n % 7}\n" for n in range(200)]
    ours, theirs = list(base), list(base)
    for n in range(0, 200, 10):
        ours[n] = f"Item {n}: status done, owner ann, points {n % 7}\n"
        theirs[n] = f"Item {n}: status open, owner bob, points {n % 7 + 1}\n" if n % 20 else f"Item {n} was dropped\n"
    yield "200-lines-overlapping", base, ours, theirs


def write(directory):
    for name, *texts in cases():
        os.makedirs(f"{directory}/{name}", exist_ok=True)
        for side, lines in zip(("base", "ours", "theirs"), texts):
            with open(f"{directory}/{name}/{side}", "w") as f:
                f.write("".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: text_merge_cases.py DIR")
    write(sys.argv[1])
