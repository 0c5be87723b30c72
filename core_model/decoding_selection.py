"""Choosing a run's default decoding on validation, by a score that counts diversity.

BLEU and ROUGE alone reward the safe template every user gets: greedy decoding wins them
while writing 8% distinct reviews. The criterion here is ROUGE-L x distinct-2 (both in
percent): a decoding must stay close to the references *and* differ from one pair to the
next. Candidates: greedy and a few nucleus settings; validation pairs only, never test.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from elixir_agent.core_model.decoding import Decoding, pair_seed
from elixir_agent.core_model.text_metrics import diversity, rouge_f1

CANDIDATES = (Decoding("greedy"), Decoding("sample", top_p=0.8, temperature=0.7),
              Decoding("sample", top_p=0.9, temperature=0.8),
              Decoding("sample", top_p=0.95, temperature=1.0))


def selection_score(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    rouge = rouge_f1(hypotheses, references)["rougeL"]
    distinct = diversity(hypotheses)["distinct2"]
    return {"rougeL": rouge, "distinct2": distinct, "score": rouge * distinct / 100.0}


@torch.no_grad()
def score_decodings(model, tokenizer, users: list[str], items: list[str], user_index,
                    item_index, references: list[str], candidates=CANDIDATES,
                    max_new_tokens: int = 64, batch_size: int = 32) -> list[dict]:
    """One row per candidate: its label, settings and selection scores."""
    model.eval()
    device = next(model.parameters()).device
    rows = []
    for decoding in candidates:
        texts: list[str] = []
        for start in range(0, len(users), batch_size):
            chunk = slice(start, start + batch_size)
            seeds = [pair_seed(u, i, decoding.seed) for u, i in zip(users[chunk], items[chunk],
                                                                    strict=True)]
            ids = model.generate(user_index[chunk].to(device), item_index[chunk].to(device),
                                 max_new_tokens=max_new_tokens, decoding=decoding, seeds=seeds)
            texts.extend(t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True))
        rows.append({"decoding": decoding.label(), "mode": decoding.mode,
                     "top_p": decoding.top_p, "temperature": decoding.temperature,
                     **selection_score(texts, references)})
    return rows


def choose_decoding(setup) -> tuple:
    """(model config with the best decoding as default, the table it was chosen from)."""
    cfg, data = setup.model_cfg, setup.valid
    n = min(setup.train_cfg.select_text_pairs, len(data.texts))
    users = [setup.artifacts.users.ids[int(i)] for i in data.users[:n]]
    items = [setup.artifacts.items.ids[int(i)] for i in data.items[:n]]
    rows = score_decodings(setup.model, setup.tokenizer, users, items, data.users[:n],
                           data.items[:n], list(data.texts[:n]),
                           max_new_tokens=cfg.max_target_tokens)
    best = max(rows, key=lambda row: row["score"])
    chosen = replace(cfg, decoding=best["mode"], top_p=best["top_p"],
                     temperature=best["temperature"])
    setup.model.cfg = chosen
    return chosen, {"criterion": "ROUGE-L x distinct-2 / 100", "pairs": n, "chosen": best,
                    "candidates": rows}
