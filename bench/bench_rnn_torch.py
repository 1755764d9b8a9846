#!/usr/bin/env python3
"""bench_rnn_torch.py — the PyTorch peer of bench_rnn.c.

The lecture's TextRNNClassifier with the rnn-lstm-langid fixture's shapes
(vocabulary 4000, embedding 32, 2-layer bidirectional LSTM of 48, linear
head on the concatenated final states, 2 labels), one thread, 1,000
sequences of 32 token ids from the same generator as bench_rnn.c, one
sequence at a time (as the engine runs them), then all at once as a batch
for reference.  The fixture's weights are loaded when the safetensors
file is there (read with struct + json, no safetensors package needed;
the checksums then agree with bench_rnn.c), random weights of the same
shapes otherwise.

Run from the project root with Debian's python3-torch:
    python3 bench/bench_rnn_torch.py [path/to/rnn-lstm-langid]
"""
import os
import sys
import time

import torch
from torch import nn

VOCAB = 4000
EMBED = 32
HIDDEN = 48
LAYERS = 2
LABELS = 2
N_SEQUENCES = 1000
SEQ_LEN = 32
ROUNDS = 5
RANDOM_SEED = 12345


class TextRNNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.rnn = nn.LSTM(EMBED, HIDDEN, num_layers=LAYERS, bidirectional=True,
                           batch_first=True)
        self.classifier = nn.Linear(2 * HIDDEN, LABELS)

    def forward(self, ids):
        _, (h_n, _) = self.rnn(self.embedding(ids))
        # the last layer's final forward and backward states, side by side
        encoding = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        return self.classifier(encoding)


def lcg_ids(count, vocab):
    """The ids bench_rnn.c draws: state = state * 1664525 + 1013904223 (mod 2^32)."""
    state = RANDOM_SEED
    out = []
    for _ in range(count):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append((state >> 8) % vocab)
    return out


def read_safetensors(path):
    """Tensors of a safetensors file without the safetensors package: an
    8-byte little-endian header length, a JSON header (dtype, shape,
    data_offsets relative to the data), then the data."""
    import json
    import struct
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        dtype = dtypes[meta["dtype"]]
        count = (end - begin) // torch.empty(0, dtype=dtype).element_size()
        t = torch.frombuffer(data, dtype=dtype, count=count, offset=begin) if count else \
            torch.empty(0, dtype=dtype)
        out[name] = t.reshape(meta["shape"]).clone()
    return out


def load_weights(model, directory):
    path = os.path.join(directory, "model.safetensors")
    if not os.path.exists(path):
        return "random (no " + path + ")"
    state = read_safetensors(path)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return "fixture"


def best_of(rounds, fn):
    """Best wall-clock and best CPU seconds (the machines are shared)."""
    best = best_cpu = float("inf")
    for _ in range(rounds):
        t0, cpu0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - cpu0)
    return best, best_cpu


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    fixtures = os.environ.get("PG_LM_FIXTURES", "../shared/fixtures")
    directory = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(fixtures, "models", "rnn-lstm-langid")
    model = TextRNNClassifier().eval()
    weights = load_weights(model, directory)
    ids = torch.tensor(lcg_ids(N_SEQUENCES * SEQ_LEN, VOCAB),
                       dtype=torch.long).view(N_SEQUENCES, SEQ_LEN)
    rows = [ids[i:i + 1] for i in range(N_SEQUENCES)]

    with torch.inference_mode():
        for row in rows[:N_SEQUENCES // 10]:      # warm up
            model(row)
        checksum = sum(float(model(row)[0, 0]) for row in rows)

        def one_at_a_time():
            for row in rows:
                model(row)

        seconds, cpu = best_of(ROUNDS, one_at_a_time)
        batch_seconds, batch_cpu = best_of(ROUNDS, lambda: model(ids))

    print("torch %s lstm-classifier sequences=%d tokens=%d seconds=%.4f "
          "sequences_per_second=%.0f cpu_seconds=%.4f sequences_per_cpu_second=%.0f "
          "weights=%s checksum=%.4f"
          % (torch.__version__, N_SEQUENCES, SEQ_LEN, seconds, N_SEQUENCES / seconds,
             cpu, N_SEQUENCES / cpu, weights, checksum))
    print("torch %s lstm-classifier batched sequences=%d tokens=%d seconds=%.4f "
          "sequences_per_second=%.0f cpu_seconds=%.4f sequences_per_cpu_second=%.0f"
          % (torch.__version__, N_SEQUENCES, SEQ_LEN, batch_seconds,
             N_SEQUENCES / batch_seconds, batch_cpu, N_SEQUENCES / batch_cpu))


if __name__ == "__main__":
    main()
