"""Review text for the decoder: normalisation and an offline SentencePiece tokenizer.

A randomly initialised backbone gets a unigram SentencePiece model trained on the training
split's reviews, converted to a transformers `T5Tokenizer` (the tokenizers-backed class in
transformers 5) so that it saves and loads like any pretrained one. Ids follow T5: pad 0,
eos 1, unk 2, so `decoder_start_token_id = pad`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

import sentencepiece as spm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, T5Tokenizer

_SPACES = re.compile(r"\s+")


# A word that ends a sentence: ., ! or ?, then any closing quotes or brackets.
ENDS_A_SENTENCE = re.compile(r"[.!?][\"')\]]*$")


def normalize_text(text: str, max_words: int) -> str:
    """Lowercase, collapse whitespace, keep the first `max_words` words (paper: 128)."""
    return " ".join(_SPACES.split((text or "").lower().strip())[:max_words])


def training_target(text: str, max_words: int) -> str:
    """`normalize_text`, except that a review longer than `max_words` ends at its last full
    sentence within them, when that keeps at least half of them.

    Why: a target cut at the word cap and then given the end token teaches the decoder to end
    reviews in the middle of a sentence ("... but if your"), which it then does for reviews
    that stop on their own. A review too long for the cap ends after a sentence instead.
    """
    words = _SPACES.split((text or "").lower().strip())
    if len(words) <= max_words:
        return " ".join(words)
    kept = words[:max_words]
    for end in range(len(kept), len(kept) // 2, -1):
        if ENDS_A_SENTENCE.search(kept[end - 1]):
            return " ".join(kept[:end])
    return " ".join(kept)


def train_sentencepiece(texts: Iterable[str], vocab_size: int) -> T5Tokenizer:
    """Unigram SentencePiece on `texts`, returned as a transformers T5 tokenizer."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        hard_vocab_limit=False,  # a small corpus may not support the requested size
        character_coverage=1.0, minloglevel=2, num_threads=2,
        input_sentence_size=200_000, shuffle_input_sentence=True)
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(processor.id_to_piece(i), processor.get_score(i))
             for i in range(processor.get_piece_size())]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(path)


def encode_targets(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_tokens: int
                   ) -> list[list[int]]:
    """Token ids ending with eos, cut to `max_tokens` (eos kept).

    T5 tokenizers append eos themselves; causal LM tokenizers (SmolLM2) do not, and a review
    that never learns to end runs to `max_new_tokens` every time.
    """
    eos = tokenizer.eos_token_id
    ids = [row if row and row[-1] == eos else [*row, eos]
           for row in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    return [row if len(row) <= max_tokens else [*row[: max_tokens - 1], eos] for row in ids]
