"""The peer of bench_device on a GPU: PyTorch + transformers, float32 (TF32
off), the same work — B sequences each with a prompt of --prompt random
tokens, then --decode greedy steps of all B together with the KV cache
(tokens/s of the decoded tokens), and --batch inputs of --seq tokens
through BERT (sequences/s, mean pooling).  Best of --rounds.  Prints
"key value" lines as bench_device does."""
import argparse
import time

import torch
from transformers import AutoConfig, BertModel, GPT2LMHeadModel


def decode_rate(model, vocab, b, prompt, decode, rounds):
    best = 0.0
    for _ in range(rounds):
        ids = torch.randint(vocab, (b, prompt), device="cuda")
        with torch.no_grad():
            out = model(input_ids=ids, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(decode):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
        best = max(best, b * decode / (time.perf_counter() - t0))
    return best


def encode_rate(model, vocab, batch, seq, rounds):
    best = 0.0
    ids = torch.randint(vocab, (batch, seq), device="cuda")
    with torch.no_grad():
        for _ in range(rounds + 1):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(input_ids=ids).last_hidden_state.mean(1).cpu()
            best = max(best, batch / (time.perf_counter() - t0))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder")
    ap.add_argument("--encoder")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("device.torch", torch.cuda.get_device_name(0), "torch", torch.__version__, flush=True)
    if a.decoder:
        cfg = AutoConfig.from_pretrained(a.decoder)
        model = GPT2LMHeadModel(cfg).cuda().eval()
        for b in (int(x) for x in a.batches.split(",")):
            rate = decode_rate(model, cfg.vocab_size, b, a.prompt, a.decode, a.rounds)
            print(f"decode_tokens_per_s.torch.batch{b} {rate:.1f}", flush=True)
        del model
    if a.encoder:
        cfg = AutoConfig.from_pretrained(a.encoder)
        model = BertModel(cfg, add_pooling_layer=False).cuda().eval()
        rate = encode_rate(model, cfg.vocab_size, a.batch, a.seq, a.rounds)
        print(f"encode_sequences_per_s.torch.batch{a.batch}.seq{a.seq} {rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
