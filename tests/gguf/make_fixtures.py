#!/usr/bin/env python3
"""Writes the GGUF files the reader's tests parse, with llama.cpp's own
gguf-py, and beside each the reading gguf-py's GGUFReader makes of it
(NAME.json): every metadata key with its type and value, every tensor with
its ggml type, dimensions (first varies fastest), absolute data offset and
byte count.  pg_lm's reader must agree with it.

    PYTHONPATH=llama.cpp/gguf-py python3 tests/gguf/make_fixtures.py tests/data/gguf

(llama.cpp from the npm package node-llama-cpp: ../shared/peers/README.md;
gguf-py needs numpy: python3-numpy.)"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)


def write(name, alignment=None, arch="llama"):
    path = os.path.join(out, name + ".gguf")
    w = gguf.GGUFWriter(path, arch)
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name("pg_lm reader fixture")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 65000)
    w.add_int16("test.i16", -32000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.15625)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo \"quoted\"\n\ttab ✓")
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", -1.0e-300)
    w.add_array("test.array_ints", [1, 2, 3, 2000000000])
    w.add_array("test.array_strings", ["a", "", "☃ snow", "x" * 300])
    w.add_array("test.array_f32", [0.5, -2.25, 1e10])
    w.add_array("test.array_i32", [-1, 0, 7])
    w.add_array("test.array_bool", [True, False, True])
    w.add_array("test.empty_array", [])
    # tensors of every storage kind: float ones from values, quantized ones as raw blocks
    f32 = rng.standard_normal((3, 40)).astype(np.float32)
    w.add_tensor("t.f32", f32)
    w.add_tensor("t.f16", rng.standard_normal((2, 8)).astype(np.float16))
    w.add_tensor("t.bf16", gguf.quants.quantize(rng.standard_normal((4, 16)).astype(np.float32), Q.BF16),
                 raw_dtype=Q.BF16)
    w.add_tensor("t.q8_0", gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    for qt, blocks in [(Q.Q4_0, 2), (Q.Q4_1, 2), (Q.Q5_0, 1), (Q.Q5_1, 1), (Q.Q4_K, 1), (Q.Q5_K, 2),
                       (Q.Q6_K, 1), (Q.Q2_K, 1), (Q.Q3_K, 1)]:
        block, size = gguf.GGML_QUANT_SIZES[qt]
        raw = rng.integers(0, 256, (3, blocks * size), dtype=np.uint8)
        w.add_tensor("t." + qt.name.lower(), raw, raw_dtype=qt)
    w.add_tensor("t.i32", np.arange(-5, 5, dtype=np.int32))
    w.add_tensor("t.vector", rng.standard_normal(7).astype(np.float32))
    w.add_tensor("t.4d", rng.standard_normal((2, 3, 2, 5)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    describe(path)


def plain(v):
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, int) and not isinstance(v, bool) and v >= 2 ** 63:
        return str(v)  # beyond what JSON readers keep as integers
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def describe(path):
    r = gguf.GGUFReader(path)
    kv = []
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        types = [int(t) for t in field.types]
        kv.append({"key": name, "type": types[0], "element_type": types[1] if len(types) > 1 else None,
                   "value": plain(field.contents())})
    tensors = [{"name": t.name, "type": int(t.tensor_type), "ne": [int(x) for x in t.shape],
                "offset": int(t.data_offset), "nbytes": int(t.n_bytes)} for t in r.tensors]
    align = r.alignment
    with open(path[:-5] + ".json", "w") as f:
        json.dump({"version": int(r.fields["GGUF.version"].contents()), "alignment": int(align),
                   "data_offset": int(r.data_offset), "kv": kv, "tensors": tensors}, f, indent=1,
                  ensure_ascii=False)


write("kinds")
write("aligned64", alignment=64)
