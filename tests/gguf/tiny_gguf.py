"""Helpers the GGUF fixture scripts share (make_llama_fixtures.py,
make_quant_fixtures.py): a GGUF writer with a tiny decoder's metadata and
vocabulary, finishing a GGUF file, and llama.cpp's query/key permutation.
Needs llama.cpp's gguf-py on PYTHONPATH."""
import gguf


def decoder_gguf(path, arch, title, file_type, theta, head_keys=lambda g: None, *,
                 dim, layers, heads, kv_heads, ffn, vocab, ctx, eps, byte_tokens=True):
    """A GGUF writer with a tiny decoder's metadata and a minimal SentencePiece-style vocabulary
    (the tests feed token ids); head_keys adds the architecture's own keys after the head counts.
    The vocabulary: <unk> <s> </s>, the 256 byte pieces <0xNN> unless byte_tokens is false
    (a vocabulary too small for them), then pieces ▁wN up to vocab tokens."""
    g = gguf.GGUFWriter(path, arch)
    g.add_name(title)
    g.add_context_length(ctx)
    g.add_embedding_length(dim)
    g.add_block_count(layers)
    g.add_feed_forward_length(ffn)
    g.add_head_count(heads)
    g.add_head_count_kv(kv_heads)
    head_keys(g)
    g.add_rope_freq_base(theta)
    g.add_layer_norm_rms_eps(eps)
    g.add_file_type(file_type)
    toks = ["<unk>", "<s>", "</s>"] + ([f"<0x{i:02X}>" for i in range(256)] if byte_tokens else [])
    n_fixed = len(toks)
    toks += [f"▁w{i}" for i in range(vocab - n_fixed)]
    g.add_tokenizer_model("llama")
    g.add_token_list(toks)
    g.add_token_scores([0.0] * n_fixed + [-float(i) for i in range(vocab - n_fixed)])
    g.add_token_types([2, 3, 3] + [6] * (n_fixed - 3) + [1] * (vocab - n_fixed))
    g.add_bos_token_id(1)
    g.add_eos_token_id(2)
    return g


def finish(g):
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()


def permute(weights, n_head, n_head_kv):
    # convert_hf_to_gguf.py, LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))
