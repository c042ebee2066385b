#!/usr/bin/env python3
"""Independent reader of the messages docs/server.md adds to the sync protocol, written from
that page alone.

  read_server.py FILE...   decodes each file as one WebSocket message (CHALLENGE, AUTH, READY,
                           SUBSCRIBE, PUSH, NEED, ACK or a sync ERROR). An AUTH is checked with
                           PyNaCl against the CHALLENGE before it; every pushed commit is
                           re-hashed and its signature verified. Prints one JSON object per file.
Exits 1 on any violation.
"""
import json, sys

import nacl.signing

from read_logs import check_coverage, verify_commit
from read_sync import Reader, read_commits

AUTH_CONTEXT = b"trellis-auth-v1\x00"


def flag(r):
    b = r.u8()
    if b not in (0, 1):
        raise ValueError("a flag byte is 0 or 1")
    return b == 1


def read(data, challenge):
    r = Reader(data)
    if r.u8() != 1:
        raise ValueError("version is not 1")
    kind = r.u8()
    if kind == 16:
        m = {"type": "CHALLENGE", "server": r.take(32), "nonce": r.take(32), "relay": flag(r)}
    elif kind == 17:
        client, signature = r.take(32), r.take(64)
        m = {"type": "AUTH", "client": client.hex()}
        if challenge is None:
            raise ValueError("AUTH without a CHALLENGE before it")
        signed = AUTH_CONTEXT + challenge["server"] + challenge["nonce"] + client
        nacl.signing.VerifyKey(client).verify(signed, signature)
        m["signature_valid"] = True
    elif kind == 18:
        everything = flag(r)
        access = []
        for _ in range(r.varint()):
            a = {"name": r.string(), "write": flag(r)}
            if a["write"]:
                a["writers"] = [r.take(32).hex() for _ in range(r.varint())]
            access.append(a)
        m = {"type": "READY", "all": everything, "access": access}
    elif kind == 19:
        m = {"type": "SUBSCRIBE", "repositories": [r.string() for _ in range(r.varint())]}
    elif kind == 20:
        m = {"type": "PUSH", "repository": r.string()}
        commits = read_commits(r)
        m["commits"] = [verify_commit(encoded, signature).hex() for encoded, signature in commits]
        PUSHED.extend(commits)
    elif kind == 21:
        m = {"type": "NEED", "repository": r.string(), "ids": [r.take(32).hex() for _ in range(r.varint())]}
    elif kind == 22:
        m = {"type": "ACK", "recipients": r.varint()}
    elif kind == 4:
        m = {"type": "ERROR", "text": r.string()}
    else:
        raise ValueError("unknown type %d" % kind)
    if r.pos != len(data):
        raise ValueError("trailing bytes")
    return m


# Every pushed commit, checked together for covered signatures at the end.
PUSHED = []


def main():
    out, challenge = [], None
    try:
        for path in sys.argv[1:]:
            with open(path, "rb") as f:
                m = read(f.read(), challenge)
            if m["type"] == "CHALLENGE":
                challenge = m
                m = dict(m, server=m["server"].hex(), nonce=m["nonce"].hex())
            out.append(m)
        check_coverage(PUSHED)
    except Exception as e:  # one clear line, non-zero exit
        print("read_server: %s" % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
