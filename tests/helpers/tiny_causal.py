"""Tiny causal LMs written offline, as a user's own model would be: a Llama directory and a
GGUF file, each with a tokenizer, a few thousand random weights, loadable in a second."""

from __future__ import annotations

from pathlib import Path

import torch

SPECIALS = ["<unk>", "<pad>", "</s>"]


def word_tokenizer(texts: list[str]):
    """A whitespace word-level tokenizer over `texts` (pad 1, eos 2), built without a download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for text in texts for w in text.lower().split()})
    vocab = {token: n for n, token in enumerate([*SPECIALS, *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with single spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>",
                                   eos_token="</s>")


def tiny_llama_config(vocab_size: int):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                       max_position_embeddings=256, pad_token_id=1, eos_token_id=2,
                       bos_token_id=2, tie_word_embeddings=False)


def write_tiny_causal_lm(path: Path, texts: list[str], seed: int = 0) -> Path:
    """A 2-layer, 32-wide Llama and its tokenizer saved with save_pretrained."""
    from transformers import LlamaForCausalLM

    tokenizer = word_tokenizer(texts)
    torch.manual_seed(seed)
    LlamaForCausalLM(tiny_llama_config(len(tokenizer))).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def write_tiny_gguf(path: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide Llama as a GGUF file (the `gguf` package's writer), with a byte-level
    BPE tokenizer: the 256 byte symbols, a few merges and an end-of-text token."""
    import gguf
    import numpy as np
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    merges = ["Ġ t", "h e", "Ġt he", "Ġ b", "e e", "Ġb ee", "Ġbee r"]
    tokens = [*symbols, *(m.replace(" ", "") for m in merges), "<|endoftext|>"]
    eos = len(tokens) - 1
    hidden, ff, heads, layers = 32, 64, 4, 2
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(256)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * (len(tokens) - 1) + [3])  # 3: control
    writer.add_token_merges(merges)
    writer.add_eos_token_id(eos)
    writer.add_bos_token_id(eos)
    writer.add_pad_token_id(eos)
    rng = np.random.default_rng(seed)

    def weight(*shape):
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(len(tokens), hidden))
    for n in range(layers):
        writer.add_tensor(f"blk.{n}.attn_norm.weight", np.ones(hidden, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{n}.{name}.weight", weight(hidden, hidden))
        writer.add_tensor(f"blk.{n}.ffn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"blk.{n}.ffn_gate.weight", weight(ff, hidden))
        writer.add_tensor(f"blk.{n}.ffn_up.weight", weight(ff, hidden))
        writer.add_tensor(f"blk.{n}.ffn_down.weight", weight(hidden, ff))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    writer.add_tensor("output.weight", weight(len(tokens), hidden))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
