"""Rating guidance: the lexicon weighs words by how much better than their item the reviews
using them were rated, the processor pushes only plausible words not yet written, and a run
trained with it keeps its lexicon and writes warmer words for a higher rating."""

import json

import pytest
import torch
from typer.testing import CliRunner

from elixir_agent.cli import app
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.decoding import Decoding
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.rating_guidance import RatingGuidance, RatingLexicon
from tests.helpers.tiny_causal import word_tokenizer, write_tiny_causal_lm
from tests.helpers.tiny_run import train_tiny

# Two items: a good one and a poor one. Within each, the reviews saying "delicious" were
# rated above the item's usual rating and those saying "watery" below it; "lager" names
# only the poor item, whatever its reviewer thought.
REVIEWS = [
    ("stout", 4.8, "delicious stout with coffee"), ("stout", 4.0, "stout with coffee"),
    ("stout", 3.4, "watery stout with coffee"), ("lager", 3.0, "delicious lager , cold"),
    ("lager", 2.0, "lager , cold"), ("lager", 1.2, "watery lager , cold"),
] * 10


def _lexicon(**kwargs):
    tokenizer = word_tokenizer([text for _, _, text in REVIEWS])
    items, ratings, texts = zip(*REVIEWS, strict=True)
    lexicon = RatingLexicon(len(tokenizer)).fill(texts, ratings, items, tokenizer,
                                                 min_reviews=5, **kwargs)
    return lexicon, {w: lexicon.weights[tokenizer.convert_tokens_to_ids(w)].item()
                     for w in ("delicious", "watery", "lager", "stout", ",")}


def test_lexicon_weighs_words_against_their_own_item_not_the_catalogue():
    lexicon, weight = _lexicon()
    assert weight["delicious"] > 0.3 and weight["watery"] < -0.3
    # "lager" reviews average 2.1 against 3.1 overall (a weight of -0.58 against the overall
    # mean), but that is the item, not the words: only the item mean's shrinkage is left.
    assert abs(weight["lager"]) < 0.1 and abs(weight["stout"]) < 0.1
    assert weight[","] == 0.0  # punctuation is never pushed
    assert lexicon.mean_rating.item() == pytest.approx(3.0667, abs=1e-3)


def test_words_fewer_reviews_use_get_no_weight():
    tokenizer = word_tokenizer([text for _, _, text in REVIEWS])
    items, ratings, texts = zip(*REVIEWS, strict=True)
    lexicon = RatingLexicon(len(tokenizer)).fill(texts, ratings, items, tokenizer,
                                                 min_reviews=100)
    assert not lexicon.weights.any()
    with pytest.raises(ValueError, match="differ in length"):
        lexicon.fill(texts, ratings[:3], items, tokenizer)


def test_guidance_moves_plausible_unwritten_words_towards_each_rows_rating():
    weights = torch.tensor([0.0, 0.5, -0.5, 0.5])  # token 1 warm, 2 cold, 3 warm
    scores = torch.tensor([[2.0, 1.5, 1.5, -9.0]] * 2)  # token 3 is implausible
    guide = RatingGuidance(weights, targets=torch.tensor([1.0, -1.0]), strength=4.0)
    out = guide(torch.empty(2, 0, dtype=torch.long), scores.clone())
    assert out[0].argmax() == 1 and out[1].argmax() == 2  # warm row, cold row
    assert torch.equal(out[:, 3], scores[:, 3])  # not plausible: not pushed
    assert torch.equal(out[:, 0], scores[:, 0])  # no weight: untouched
    written = guide(torch.tensor([[1], [2]]), scores.clone())  # each row already wrote its word
    assert written[0].argmax() == 0 and written[1].argmax() == 0
    assert torch.equal(RatingGuidance(weights, torch.tensor([1.0, -1.0]), 0.0)(
        torch.empty(2, 0, dtype=torch.long), scores.clone()), scores)


@pytest.fixture(scope="module")
def guided_run(tiny_data, tmp_path_factory):
    texts = list(load_prepared(tiny_data).split("train")["text"])
    lm = write_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "tiny-llama", texts)
    run = tmp_path_factory.mktemp("guided") / "run"
    train_tiny(tiny_data, run, backbone=str(lm), finetune="lora", max_text_steps=2,
               rating_guidance=16.0, select_decoding=True, select_text_pairs=8)
    return run


def test_a_run_trained_with_guidance_keeps_its_lexicon_and_uses_it_by_default(guided_run):
    rec = ElixirRecommender.from_run(guided_run)
    assert rec.default_decoding().guidance == 16.0
    # The default decoding was chosen on validation as explain will decode: guided.
    selection = json.loads((guided_run / "summary.json").read_text())["decoding_selection"]
    assert all(row["decoding"].endswith("+ rating guidance 16")
               for row in selection["candidates"])
    # summary.json names the words guidance pushes each way.
    strongest = json.loads((guided_run / "summary.json").read_text())["rating_lexicon"]
    assert strongest["positive"][0][1] > 0 > strongest["negative"][0][1]
    rec.explain(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0], max_new_tokens=4)
    lexicon = rec.model.rating_lexicon
    assert lexicon is not None and lexicon.weights.count_nonzero() > 5
    assert 1.0 <= float(lexicon.mean_rating) <= 5.0  # read back from elixir.safetensors


def test_a_higher_rating_gets_warmer_words(guided_run):
    rec = ElixirRecommender.from_run(guided_run)
    rec._load_deferred_text()
    weights = rec.model.rating_lexicon.weights
    users, items, *_ = rec._indices([(rec.artifacts.users.ids[0], rec.artifacts.items.ids[0])],
                                    False)
    def words(rating):
        ids = rec.model.generate(users, items, max_new_tokens=6, min_new_tokens=6,
                                 decoding=Decoding("greedy", guidance=400.0),
                                 ratings=torch.tensor([rating]))
        return ids[0][ids[0] < weights.numel()]
    warm, cold = words(5.0), words(1.0)
    assert not torch.equal(warm, cold)
    assert weights[warm].sum() > weights[cold].sum()


def test_explain_command_asked_to_guide_a_run_without_a_lexicon_says_how_to_get_one(tiny_run):
    rec = ElixirRecommender.from_run(tiny_run.run_dir)
    result = CliRunner().invoke(app, [
        "explain", "--run", str(tiny_run.run_dir), "--user", rec.artifacts.users.ids[0],
        "--item", rec.artifacts.items.ids[0], "--max-new-tokens", "4",
        "--rating-guidance", "8"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "elixir-agent add-guidance --run RUN --data DATA" in " ".join(result.output.split())


def test_guidance_on_a_run_without_a_lexicon_says_how_to_get_one(tiny_run):
    rec = ElixirRecommender.from_run(tiny_run.run_dir)
    pair = (rec.artifacts.users.ids[0], rec.artifacts.items.ids[0])
    with pytest.raises(ValueError, match="add-guidance --run RUN --data DATA"):
        rec.explain(*pair, max_new_tokens=4, decoding=Decoding("greedy", guidance=8.0))
    with pytest.raises(ValueError, match="must be >= 0"):
        rec.explain(*pair, max_new_tokens=4, decoding=Decoding("greedy", guidance=-1.0))
