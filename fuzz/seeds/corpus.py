#!/usr/bin/env python3
"""Turns make.sh's recording into seed files under fuzz/seeds/corpus/<target>/
(kept apart from the fuzzed corpora, which `cmin` minimises: the real
traffic is never dropped, and every run starts from it too).

   corpus.py EXCHANGES.jsonl REPO_ROOT WORKDIR

Input formats are those of fuzz/harness/*.rs: a flags byte, then parts
prefixed by a big-endian u16 length (query, then upstream answers), or
for xfr/tsig a flags byte and an 8-byte clock first.
"""
import glob
import hashlib
import json
import os
import shutil
import struct
import sys

LOG, ROOT, WORK = sys.argv[1:4]
CORPUS = os.path.join(ROOT, "fuzz", "seeds", "corpus")
# Flags of fuzz/harness/query.rs and xfr.rs.
TCP, AGAIN, LIMIT = 1, 8, 16
IS_IXFR, PRIMARY, OVER_TCP = 1, 2, 4


def parts(flags, *chunks, head=b""):
    out = bytes([flags]) + head
    for c in chunks:
        out += struct.pack("!H", len(c)) + c
    return out


def write(target, data, tag):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-%s-%s" % (tag, hashlib.sha1(data).hexdigest()[:12])
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def question_end(msg):
    at = 12
    while at < len(msg):
        n = msg[at]
        if n == 0:
            return at + 5
        if n & 0xC0:
            return at + 6
        at += 1 + n
    return None


def qtype(msg):
    end = question_end(msg)
    return struct.unpack("!H", msg[end - 4:end - 2])[0] if end and end <= len(msg) else None


def has_tsig(msg):
    return b"\x07xfr-key\x00\x00\xfa" in msg


entries = [json.loads(line) for line in open(LOG)]
entries.sort(key=lambda e: e["arrived"])
for e in entries:
    e["query"] = bytes.fromhex(e["query"])
    e["answers"] = [bytes.fromhex(a) for a in e["answers"]]

# Client queries with the upstream exchanges they caused: those that
# arrived after it and before the next (dig asks one at a time).
caused = {}
last = None
for e in entries:
    if e["tag"] in ("client", "answer"):
        last = e["seq"]
        caused[last] = []
    elif e["tag"] == "up" and last is not None:
        caused[last].append(e)
answer_index = 0
for e in entries:
    if e["tag"] == "up":
        # pldns's own upstream query (hickory-built) is a client query too.
        write("query", parts(AGAIN | (TCP if e["tcp"] else 0), e["query"], *e["answers"]), "hickory")
        continue
    if e["tag"] in ("client", "answer"):
        upstream = [a for u in caused[e["seq"]] for a in u["answers"]]
        t = qtype(e["query"])
        flags = (TCP if e["tcp"] else 0) | AGAIN | (0 if e["tcp"] else LIMIT)
        if e["tag"] == "client":
            write("query", parts(flags, e["query"], *upstream), "dig")
        else:
            stripped = [a[:12] + a[question_end(a):] for a in upstream if question_end(a)]
            write("answer", parts(answer_index | (0x10 if e["tcp"] else 0), *stripped), "real")
            answer_index += 1
        clock = struct.pack("!Q", e["time"])
        if t in (251, 252):
            write("xfr", parts(PRIMARY | (OVER_TCP if e["tcp"] else 0), e["query"], head=clock), "request")
        if has_tsig(e["query"]):
            write("tsig", parts(0, e["query"], head=clock + b"\0\0\0"), "request")
        elif e["tag"] == "client" and e["answers"] and not e["tcp"]:
            # Mode 2: sign this query and its answer, then change one byte.
            at = struct.pack("!H", len(e["query"]) // 2)
            write("tsig", parts(2, e["query"], *e["answers"], head=clock + at + b"\x20"), "signed")
    if e["tag"] == "bindxfr":
        clock = struct.pack("!Q", e["time"])
        t = qtype(e["query"])
        if t == 251:
            # From serial 1 (make.sh asks ixfr=1).
            write("xfr", parts(IS_IXFR, *e["answers"], head=struct.pack("!Q", 1)), "bind-ixfr")
        else:
            write("xfr", parts(0, *e["answers"], head=clock), "bind-axfr")
        if has_tsig(e["query"]):
            write("tsig", parts(1, *e["answers"], head=clock + b"\0\0\0"), "bind-answer")

# Files: record formats, configs, zone files.
for src, target in [
    ("tests/fixtures/azure/*.json", "json"), ("tests/fixtures/azure/*.hosts", "hosts"),
    ("tests/fixtures/azure/invalid/*.json", "json"), ("tests/fixtures/azure/invalid/*.hosts", "hosts"),
    ("config/demo-records/*.json", "json"), ("config/demo-records/*.hosts", "hosts"),
    ("config/demo-records/*.toml", "toml"), ("fuzz/fixture/records/*.json", "json"),
    ("fuzz/fixture/records/*.hosts", "hosts"), ("fuzz/fixture/records/*.toml", "toml"),
    ("config/*.toml", "config"), ("fuzz/fixture/pldns.toml", "config"),
    ("fuzz/seeds/files/*.hosts", "hosts"), ("fuzz/seeds/files/*.toml", "toml"),
    ("fuzz/seeds/files/*.json", "json"), ("fuzz/seeds/files/*.conf.toml", "config"),
    ("fuzz/seeds/files/*.zone", "zonefile"),
]:
    for f in sorted(glob.glob(os.path.join(ROOT, src))):
        if target == "toml" and f.endswith(".conf.toml"):
            continue
        write(target, open(f, "rb").read(), "file")
for f in [os.path.join(WORK, "blob.full"), os.path.join(WORK, "bind", "privatelink.blob.core.windows.net.zone")] \
        + sorted(glob.glob(os.path.join(WORK, "export", "privatelink.blob*"))):
    if os.path.exists(f):
        write("zonefile", open(f, "rb").read(), "file")
for d in sorted(os.listdir(CORPUS)):
    print("%-9s %4d files" % (d, len(os.listdir(os.path.join(CORPUS, d)))))
