#!/usr/bin/env python3
"""An independent implementation of the text merge of docs/merge.md §Text, written from that
page alone. Reads JSON lines {"base": s, "ours": s, "theirs": s} on stdin and writes, for each,
a JSON line: a list of pieces, ["text", s] or ["conflict", base, ours, theirs]."""
import json
import sys

SPACE = set(b"\t\n\x0b\x0c\r ")


def lines(b):
    out, start = [], 0
    for i, c in enumerate(b):
        if c == 0x0A:
            out.append(b[start:i + 1])
            start = i + 1
    if start < len(b):
        out.append(b[start:])
    return out


def words(b):
    out, start = [], 0
    for i in range(1, len(b)):
        if (b[i] in SPACE) != (b[i - 1] in SPACE):
            out.append(b[start:i])
            start = i
    if start < len(b):
        out.append(b[start:])
    return out


def script(A, B):
    n, m = len(A), len(B)
    p = 0
    while p < n and p < m and A[p] == B[p]:
        p += 1
    s = 0
    while s < n - p and s < m - p and A[n - 1 - s] == B[m - 1 - s]:
        s += 1
    a, b = A[p:n - s], B[p:m - s]
    N, M = len(a), len(b)
    steps = [("same", i, i) for i in range(p)]
    if N == 0:
        mid = [("added", p + j) for j in range(M)]
    elif M == 0:
        mid = [("removed", p + i) for i in range(N)]
    else:
        V, trace, done = {}, [], False
        D = 0
        while not done:
            trace.append(dict(V))
            for k in range(-D, D + 1, 2):
                if k == -D or (k != D and V.get(k - 1, 0) < V.get(k + 1, 0)):
                    x = V.get(k + 1, 0)
                else:
                    x = V.get(k - 1, 0) + 1
                y = x - k
                while x < N and y < M and a[x] == b[y]:
                    x, y = x + 1, y + 1
                V[k] = x
                if x >= N and y >= M:
                    done = True
                    break
            D += 1
        back = []
        x, y = N, M
        for D in range(len(trace) - 1, -1, -1):
            V = trace[D]
            k = x - y
            prev = k + 1 if (k == -D or (k != D and V.get(k - 1, 0) < V.get(k + 1, 0))) else k - 1
            x0 = 0 if D == 0 else V.get(prev, 0)
            y0 = 0 if D == 0 else x0 - prev
            while x > x0 and y > y0:
                back.append(("same", p + x - 1, p + y - 1))
                x, y = x - 1, y - 1
            if D > 0:
                if x == x0:
                    back.append(("added", p + y - 1))
                    y -= 1
                else:
                    back.append(("removed", p + x - 1))
                    x -= 1
        mid = back[::-1]
    steps += mid
    steps += [("same", n - s + t, m - s + t) for t in range(s)]
    return steps


def hunks(base, other, side):
    out, i, j, start = [], 0, 0, None
    for st in script(base, other):
        if st[0] == "same":
            if start is not None:
                out.append((start[0], i, start[1], j, side))
                start = None
            i, j = i + 1, j + 1
        else:
            if start is None:
                start = (i, j)
            if st[0] == "removed":
                i += 1
            else:
                j += 1
    if start is not None:
        out.append((start[0], i, start[1], j, side))
    return out


def overlaps(h, k):
    hi, hk = h[0] == h[1], k[0] == k[1]
    if hi and hk:
        return False
    if hi:
        return k[0] < h[0] < k[1]
    if hk:
        return h[0] < k[0] < h[1]
    return h[0] < k[1] and k[0] < h[1]


def merge(base, ours, theirs):
    sides = [ours, theirs]
    hs = hunks(base, ours, 0) + hunks(base, theirs, 1)
    hs.sort(key=lambda h: (h[0], 0 if h[0] == h[1] else 1, h[4]))
    out = []  # ("ok", [tokens]) or ("conflict", b, o, t)

    def emit(tokens):
        if out and out[-1][0] == "ok":
            out[-1][1].extend(tokens)
        else:
            out.append(("ok", list(tokens)))

    pos, n, prev_ins = 0, 0, None
    while n < len(hs):
        members = [hs[n]]
        last = {hs[n][4]: hs[n]}
        lo, hi = hs[n][0], hs[n][1]
        n += 1
        while n < len(hs) and (1 - hs[n][4]) in last and overlaps(hs[n], last[1 - hs[n][4]]):
            members.append(hs[n])
            last[hs[n][4]] = hs[n]
            hi = max(hi, hs[n][1])
            n += 1
        emit(base[pos:lo])
        pos = hi
        if len(members) == 1:
            h = members[0]
            toks = sides[h[4]][h[2]:h[3]]
            is_ins = h[0] == h[1]
            if is_ins and prev_ins is not None and prev_ins[0] == h[0] and prev_ins[4] != h[4] \
                    and sides[prev_ins[4]][prev_ins[2]:prev_ins[3]] == toks:
                prev_ins = None
                continue
            prev_ins = h if is_ins else None
            emit(toks)
            continue
        prev_ins = None
        inserts = [any(h[4] == s and h[3] > h[2] for h in members) for s in (0, 1)]
        if not (inserts[0] and inserts[1]):
            s = 0 if inserts[0] else 1
            deleted, ins = set(), {}
            for h in members:
                deleted.update(range(h[0], h[1]))
                if h[4] == s:
                    ins[h[0]] = sides[s][h[2]:h[3]]
            toks = []
            for q in range(lo, hi):
                toks += ins.get(q, [])
                if q not in deleted:
                    toks.append(base[q])
            emit(toks)
            continue
        versions = []
        for s in (0, 1):
            v, q = [], lo
            for h in members:
                if h[4] == s:
                    v += base[q:h[0]] + sides[s][h[2]:h[3]]
                    q = h[1]
            versions.append(v + base[q:hi])
        if versions[0] == versions[1]:
            emit(versions[0])
        else:
            out.append(("conflict", base[lo:hi], versions[0], versions[1]))
    emit(base[pos:])
    return out


def text_merge(base, ours, theirs):
    pieces = []
    pending = b""
    for chunk in merge(lines(base), lines(ours), lines(theirs)):
        if chunk[0] == "ok":
            pending += b"".join(chunk[1])
            continue
        b, o, t = (b"".join(x) for x in chunk[1:])
        w = merge(words(b), words(o), words(t))
        if all(c[0] == "ok" for c in w):
            for c in w:
                pending += b"".join(c[1])
        else:
            if pending:
                pieces.append(["text", pending.decode()])
            pending = b""
            pieces.append(["conflict", b.decode(), o.decode(), t.decode()])
    if pending:
        pieces.append(["text", pending.decode()])
    return pieces


if __name__ == "__main__":
    for line in sys.stdin:
        case = json.loads(line)
        args = [case[k].encode() for k in ("base", "ours", "theirs")]
        print(json.dumps(text_merge(*args)))
