"""The model shapes of the benchmarks (as bench_transformers.c names them),
shared by the PyTorch peer and ort_model.py: importing this parses nothing."""
import argparse

PRESETS = {
    "gpt2-small": dict(decoder=True, layers=12, hidden=768, heads=12, ffn=3072, vocab=50257, positions=1024),
    "minilm-l6": dict(decoder=False, layers=6, hidden=384, heads=12, ffn=1536, vocab=30522, positions=512),
    "bert-base": dict(decoder=False, layers=12, hidden=768, heads=12, ffn=3072, vocab=30522, positions=512),
}
ALIASES = {"gpt2": "gpt2-small", "bert": "bert-base"}
KEYS = ("layers", "hidden", "heads", "ffn", "vocab", "positions")


def parse_shape(arg):
    """PRESET, or gpt2 / bert / PRESET followed by :KEY=N,... (as bench_transformers.c)."""
    base, _, overrides = arg.partition(":")
    base = ALIASES.get(base, base)
    if base not in PRESETS:
        raise argparse.ArgumentTypeError("unknown shape %r (gpt2-small, minilm-l6, bert-base, gpt2:..., bert:...)" % base)
    shape = dict(PRESETS[base], name=arg)
    for kv in filter(None, overrides.split(",")):
        key, eq, value = kv.partition("=")
        if key not in KEYS or not eq or not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError("bad shape setting %r (KEY=N, KEY one of %s)" % (kv, ", ".join(KEYS)))
        shape[key] = int(value)
    if overrides and "ffn=" not in overrides:
        shape["ffn"] = 4 * shape["hidden"]   # as bench_transformers.c: both architectures' default
    if shape["hidden"] % shape["heads"]:
        raise argparse.ArgumentTypeError("%s: hidden %d is not a multiple of heads %d"
                                         % (arg, shape["hidden"], shape["heads"]))
    return shape


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("wants a whole number of at least 1, not %r" % text)
    return int(text)
