#!/usr/bin/env python3
"""Write the models the chat tests (sql-tests/19_chat.sql) import:

    scripts/make-chat-models.py DIR FIXTURES

- llama-chat/: a Llama-shaped model of random weights (written here, reproducible)
  with Llama 2's real tokenizer (fixtures/real-tokenizers/llama2: tokenizer.json
  and tokenizer_config.json, <s> and </s>) and a real chat template in
  tokenizer_config.json (Mistral Nemo's, from tests/data/chat_templates: bos_token,
  [INST]...[/INST], eos_token after each assistant turn);
- llama-chat-eot/: the same, but generation_config.json also ends generation at
  token END_OF_TURN, one the model writes in the test's first reply: lm_chat
  must stop there, where lm_generate (config.json's eos only) goes on;
- tok-chat-files/: tokenizer files alone (a tokenizer model) with named templates
  in tokenizer_config.json, a chat_template.jinja over its default, and
  special_tokens_map.json over its special tokens;
- tok-chat-json/: tokenizer files alone with chat_template.json, and named templates in
  additional_chat_templates/ (tool_use.jinja, rag.jinja);
- llama2-vocab-chat.gguf, llama-tiny-chat.gguf: GGUF files of tests/data/gguf
  with tokenizer.chat_template (and a named tokenizer.chat_template.tool_use)
  added to their metadata;
- templates/: copies of the real templates the tests give lm_import.

Standard library only."""
import array
import json
import os
import random
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(ROOT, "tests", "data", "chat_templates")
GGUF = os.path.join(ROOT, "tests", "data", "gguf")
NEMO = "mistralai-Mistral-Nemo-Instruct-2407.jinja"
# A token of the greedy reply to 19_chat.sql's first conversation ("vote", its 5th).
END_OF_TURN = 11719


def template(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return f.read()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)


def random_llama(path, seed=20261208, scale=0.3, tied=True):
    """A Llama-shaped model of random weights over Llama 2's 32,000 tokens (uniform in
    [-scale, scale), reproducible from the seed), written as safetensors."""
    rng = random.Random(seed)
    hidden, layers, heads, kv_heads, head_dim, ffn, vocab = 64, 2, 4, 2, 16, 128, 32000
    shapes = {"model.embed_tokens.weight": [vocab, hidden], "model.norm.weight": [hidden]}
    if not tied:
        shapes["lm_head.weight"] = [vocab, hidden]
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({
            p + "input_layernorm.weight": [hidden], p + "post_attention_layernorm.weight": [hidden],
            p + "self_attn.q_proj.weight": [heads * head_dim, hidden],
            p + "self_attn.k_proj.weight": [kv_heads * head_dim, hidden],
            p + "self_attn.v_proj.weight": [kv_heads * head_dim, hidden],
            p + "self_attn.o_proj.weight": [hidden, heads * head_dim],
            p + "mlp.gate_proj.weight": [ffn, hidden], p + "mlp.up_proj.weight": [ffn, hidden],
            p + "mlp.down_proj.weight": [hidden, ffn]})
    header, data, offset = {}, [], 0
    for name in sorted(shapes):
        n = 1
        for d in shapes[name]:
            n *= d
        if name.endswith("norm.weight"):
            values = array.array("f", [1.0] * n)
        else:
            values = array.array("f", [(rng.random() * 2 - 1) * scale for _ in range(n)])
        if sys.byteorder != "little":
            values.byteswap()
        raw = values.tobytes()
        header[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [offset, offset + len(raw)]}
        data.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(data))
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
            "head_dim": head_dim, "intermediate_size": ffn, "vocab_size": vocab, "max_position_embeddings": 512,
            "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": tied,
            "bos_token_id": 1, "eos_token_id": 2}


def llama_chat(out, fixtures, weights, config, generation_eos=2):
    """A chat model directory: the random weights, Llama 2's tokenizer, Mistral Nemo's template."""
    tok = os.path.join(fixtures, "real-tokenizers", "llama2")
    os.makedirs(out)
    shutil.copy(weights, os.path.join(out, "model.safetensors"))
    shutil.copy(os.path.join(tok, "tokenizer.json"), out)
    write_json(os.path.join(out, "config.json"), config)
    write_json(os.path.join(out, "generation_config.json"),
               {"bos_token_id": 1, "eos_token_id": generation_eos, "transformers_version": "5.17.0"})
    with open(os.path.join(tok, "tokenizer_config.json"), encoding="utf-8") as f:
        # model_max_length stays an integer of 31 digits, as transformers writes it
        tc = json.load(f)
    tc["chat_template"] = template(NEMO)
    write_json(os.path.join(out, "tokenizer_config.json"), tc)


def tokenizer_dirs(base, fixtures):
    tok = os.path.join(fixtures, "models", "llama-tiny", "tokenizer.json")
    d = os.path.join(base, "tok-chat-files")
    os.makedirs(d)
    shutil.copy(tok, d)
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "bos_token": "<s>",
        "eos_token": "not this one",
        "unk_token": {"__type": "AddedToken", "content": "<unk>", "special": True},
        "chat_template": [
            {"name": "default", "template": "default: {{ messages[0]['content'] }}"},
            {"name": "tool_use", "template": "tool_use: {{ tools | length }} {{ tools[0]['function']['name'] }}"},
        ]})
    write_json(os.path.join(d, "special_tokens_map.json"), {"eos_token": {"content": "</s>", "lstrip": False}})
    with open(os.path.join(d, "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write("{{ bos_token }}|{{ eos_token }}|{{ unk_token }}|{{ messages[0]['content'] }}")
    d = os.path.join(base, "tok-chat-json")
    os.makedirs(d)
    shutil.copy(tok, d)
    write_json(os.path.join(d, "chat_template.json"),
               {"chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"})
    # named templates in additional_chat_templates/ (a file that is not .jinja is not one)
    extra = os.path.join(d, "additional_chat_templates")
    os.makedirs(extra)
    for name, text in (("tool_use.jinja", "extra tool_use: {{ tools | length }} {{ messages[0]['content'] }}"),
                       ("rag.jinja", "rag: {{ documents | length }}"), ("notes.txt", "not a template")):
        with open(os.path.join(extra, name), "w", encoding="utf-8") as f:
            f.write(text)


# ---- GGUF: add string keys to a file's metadata ---------------------------------------

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


def skip_value(buf, pos, vtype):
    if vtype in SCALAR:
        return pos + SCALAR[vtype]
    if vtype == STRING:
        (n,) = struct.unpack_from("<Q", buf, pos)
        return pos + 8 + n
    if vtype == ARRAY:
        etype, n = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if etype in SCALAR:
            return pos + n * SCALAR[etype]
        for _ in range(n):
            pos = skip_value(buf, pos, etype)
        return pos
    raise ValueError(f"GGUF value type {vtype}")


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_add_strings(src, dst, pairs):
    with open(src, "rb") as f:
        buf = f.read()
    magic, version, n_tensors, n_kv = struct.unpack_from("<4sIQQ", buf, 0)
    assert magic == b"GGUF" and version >= 2
    pos = 24
    alignment = 32
    for _ in range(n_kv):
        (klen,) = struct.unpack_from("<Q", buf, pos)
        key = buf[pos + 8:pos + 8 + klen].decode()
        pos += 8 + klen
        (vtype,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        if key == "general.alignment":
            (alignment,) = struct.unpack_from("<I", buf, pos)
        pos = skip_value(buf, pos, vtype)
    kv_end = pos
    for _ in range(n_tensors):
        (nlen,) = struct.unpack_from("<Q", buf, pos)
        pos += 8 + nlen
        (ndim,) = struct.unpack_from("<I", buf, pos)
        pos += 4 + 8 * ndim + 4 + 8
    infos_end = pos
    data_start = -(-infos_end // alignment) * alignment
    extra = b"".join(gguf_string(k) + struct.pack("<I", STRING) + gguf_string(v) for k, v in pairs)
    head = struct.pack("<4sIQQ", magic, version, n_tensors, n_kv + len(pairs)) + buf[24:kv_end] + extra \
        + buf[kv_end:infos_end]
    head += b"\0" * (-len(head) % alignment)
    with open(dst, "wb") as f:
        f.write(head + (buf[data_start:] if n_tensors else b""))


def main():
    base, fixtures = sys.argv[1], sys.argv[2]
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    weights = os.path.join(base, "random-llama.safetensors")
    config = random_llama(weights)
    llama_chat(os.path.join(base, "llama-chat"), fixtures, weights, config)
    llama_chat(os.path.join(base, "llama-chat-eot"), fixtures, weights, config, generation_eos=[2, END_OF_TURN])
    os.remove(weights)
    tokenizer_dirs(base, fixtures)
    # the templates the tests pass to lm_import(..., chat_template => pg_read_file(...))
    os.makedirs(os.path.join(base, "templates"))
    for name in (NEMO, "Qwen-Qwen2.5-7B-Instruct.jinja"):
        shutil.copy(os.path.join(TEMPLATES, name), os.path.join(base, "templates"))
    tool_use = "{{ bos_token }}tools: {{ tools | length }}"
    gguf_add_strings(os.path.join(GGUF, "llama2-vocab.gguf"), os.path.join(base, "llama2-vocab-chat.gguf"),
                     [("tokenizer.chat_template", template(NEMO)), ("tokenizer.chat_template.tool_use", tool_use)])
    gguf_add_strings(os.path.join(GGUF, "llama-tiny-f32.gguf"), os.path.join(base, "llama-tiny-chat.gguf"),
                     [("tokenizer.chat_template", template(NEMO))])
    for d, _, files in os.walk(base):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


if __name__ == "__main__":
    main()
