"""The item context of a causal backbone: the decoder reads the item's name and one of its real
training reviews before the soft prompts; a review is never its own context; the tokens
survive reloading; a cold item reads none; a T5 run refuses it. The user context: one of
the user's own reviews of another item, read first."""

import pytest
import torch

from elixir_agent.core_model.checkpoint import load_model
from elixir_agent.core_model.data.storage import load_prepared
from elixir_agent.core_model.decoding import Decoding
from elixir_agent.core_model.encoding import pad_labels
from elixir_agent.core_model.inference import ElixirRecommender
from elixir_agent.core_model.item_context import RATING_STEPS, context_text, rating_text, user_text
from elixir_agent.core_model.tokenizer import training_target
from tests.helpers.tiny_causal import write_tiny_causal_lm
from tests.helpers.tiny_run import train_tiny


def _train_with_context(tiny_data, tmp_path_factory, vocabulary_texts=(), **context):
    texts = list(load_prepared(tiny_data).split("train")["text"]) + list(vocabulary_texts)
    lm = write_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "tiny-llama", texts)
    run = tmp_path_factory.mktemp("run") / "run"
    train_tiny(tiny_data, run, backbone=str(lm), finetune="lora", max_text_steps=4,
               text_lr=1e-2, rating_epochs=1, item_context_words=6, item_context_tokens=40,
               **context)
    return run


@pytest.fixture(scope="module")
def context_run(tiny_data, tmp_path_factory):
    return _train_with_context(tiny_data, tmp_path_factory)


def _context_ids(model, user: int, item: int) -> list[int]:
    ids, mask = model.item_context.lookup(torch.tensor([user]), torch.tensor([item]))
    return ids[0][mask[0].bool()].tolist()


def test_the_context_is_the_items_name_and_one_of_its_training_reviews(context_run, tiny_data):
    model, tokenizer, cfg, _, artifacts = load_model(context_run)
    train = load_prepared(tiny_data).split("train")
    item = artifacts.items.ids[0]
    name = artifacts.item_names[item]
    text = context_text(name, "a clean room", 2)
    assert text.startswith(name) and "a clean" in text and "room" not in text
    expected = [tokenizer(context_text(name, training_target(t, cfg.max_words),
                                       cfg.item_context_words),
                          add_special_tokens=False)["input_ids"]
                for t in train[train.item_id == item].text]
    assert _context_ids(model, len(artifacts.users) - 1, 0) in expected


def test_a_review_is_never_its_own_context(context_run):
    model, *_ = load_model(context_run)
    context = model.item_context
    item = int(torch.nonzero(context.lengths[:, 1] > 0)[0])
    author = int(context.authors[item, 0])
    stranger = next(u for u in range(model.cfg.n_users) if u != author)
    assert int(context.authors[item, 1]) != author
    ids, _ = context.lookup(torch.tensor([author, stranger]), torch.tensor([item, item]))
    width = ids.size(1)
    assert torch.equal(ids[0], context.ids[item, 1, -width:].long())  # the author reads the other
    assert torch.equal(ids[1], context.ids[item, 0, -width:].long())


def test_the_context_reaches_the_decoder_and_a_cold_item_reads_none(context_run):
    model, tokenizer, *_ = load_model(context_run)
    labels = pad_labels([tokenizer("the room was clean and quiet")["input_ids"]])
    users, items = torch.tensor([0]), torch.tensor([0])
    with_context = float(model(users, items, labels=labels).text_loss)
    model.item_context.lengths.zero_()
    without = float(model(users, items, labels=labels).text_loss)
    assert with_context != pytest.approx(without, abs=1e-6)
    _, mask = model.item_context.lookup(users, items, cold_items=torch.tensor([True]))
    assert mask.sum() == 0


def test_the_context_survives_reloading_and_batching(context_run):
    rec = ElixirRecommender.from_run(context_run)
    pairs = [(rec.artifacts.users.ids[n], rec.artifacts.items.ids[n]) for n in range(3)]
    greedy = Decoding("greedy")
    alone = [rec.explain_batch([p], decoding=greedy, max_new_tokens=6)[0] for p in pairs]
    assert rec.explain_batch(pairs, decoding=greedy, max_new_tokens=6) == alone
    again = ElixirRecommender.from_run(context_run)
    assert torch.equal(again.model.item_context.ids, rec.model.item_context.ids)


def test_a_pair_reads_the_same_review_alone_and_beside_longer_contexts(context_run):
    # Rows of a batch are left-padded to the longest item context. transformers took a row's
    # padding for a prompt and spared that many of its first review tokens the repetition
    # penalty, so a review changed with the company it was generated in.
    rec = ElixirRecommender.from_run(context_run, int8=False)  # fp32: no bf16 rounding
    users, items = rec.artifacts.users.ids, rec.artifacts.items.ids
    pairs = [(users[n % len(users)], items[n % len(items)]) for n in range(8)]
    index_u, index_i, *_ = rec._indices(pairs, False)
    _, mask = rec.model.item_context.lookup(index_u, index_i)
    assert len(set(mask.sum(1).tolist())) > 1  # contexts of several lengths: padding
    for decoding in (Decoding("greedy"), Decoding("sample", top_p=0.95, temperature=1.0)):
        alone = [rec.explain_batch([p], decoding=decoding, max_new_tokens=24,
                                   min_new_tokens=24)[0] for p in pairs]
        assert rec.explain_batch(pairs, decoding=decoding, max_new_tokens=24,
                                 min_new_tokens=24) == alone


def test_a_t5_run_refuses_the_item_context(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="item_context_words needs a causal backbone"):
        train_tiny(tiny_data, tmp_path / "run", item_context_words=6)


@pytest.fixture(scope="module")
def voiced_run(tiny_data, tmp_path_factory):
    return _train_with_context(tiny_data, tmp_path_factory, user_context_words=4,
                               user_context_tokens=16)


def test_the_user_context_is_their_own_review_of_another_item(voiced_run, tiny_data):
    model, tokenizer, cfg, _, artifacts = load_model(voiced_run)
    context = model.item_context
    user = int(torch.nonzero(context.user_lengths[:, 1] > 0)[0])
    reviewed = int(context.user_items[user, 0])
    other = next(i for i in range(cfg.n_items) if i != reviewed)
    ids, mask = context.lookup(torch.tensor([user, user]), torch.tensor([other, reviewed]))
    own = [context.user_ids[user, slot, -int(context.user_lengths[user, slot]):].tolist()
           for slot in (0, 1)]
    rows = [ids[n][mask[n].bool()].tolist() for n in range(2)]
    assert rows[0][:len(own[0])] == own[0]  # the user's text first, the item's after it
    assert rows[1][:len(own[1])] == own[1]  # about this item: their other review instead
    train = load_prepared(tiny_data).split("train")
    mine = train[train.user_id == artifacts.users.ids[user]]
    expected = [tokenizer(user_text(training_target(t, cfg.max_words), 4),
                          add_special_tokens=False)["input_ids"] for t in mine.text]
    assert own[0] in expected and own[1] in expected
    # Padding goes to the left of both parts, as generation counts positions.
    assert all(mask[n].tolist() == sorted(mask[n].tolist()) for n in range(2))


def test_the_user_context_reaches_the_decoder_and_batches_like_one_row(voiced_run):
    rec = ElixirRecommender.from_run(voiced_run)
    labels = pad_labels([rec.tokenizer("the room was clean and quiet")["input_ids"]])
    users, items = torch.tensor([0]), torch.tensor([0])
    with_user = float(rec.model(users, items, labels=labels).text_loss)
    cold = float(rec.model(users, items, labels=labels,
                           cold_users=torch.tensor([True])).text_loss)
    assert with_user != pytest.approx(cold, abs=1e-6)
    pairs = [(rec.artifacts.users.ids[n], rec.artifacts.items.ids[n]) for n in range(4)]
    greedy = Decoding("greedy")
    alone = [rec.explain_batch([p], decoding=greedy, max_new_tokens=5)[0] for p in pairs]
    assert rec.explain_batch(pairs, decoding=greedy, max_new_tokens=5) == alone


def test_the_user_context_needs_the_item_context(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="user_context_words needs the item context"):
        train_tiny(tiny_data, tmp_path / "run", user_context_words=4)


@pytest.fixture(scope="module")
def rated_run(tiny_data, tmp_path_factory):
    # The tiny tokenizer learns its vocabulary from these texts: the ratings' words included.
    return _train_with_context(tiny_data, tmp_path_factory, rating_text=True,
                               vocabulary_texts=[rating_text(r) for r in RATING_STEPS])


def test_the_context_ends_with_the_rating_in_words(rated_run):
    model, tokenizer, *_ = load_model(rated_run)
    users, items = torch.tensor([0, 0, 0]), torch.tensor([1, 1, 1])
    ids, mask = model.item_context.lookup(users, items, ratings=torch.tensor([4.4, 0.2, 3.0]))
    rows = [ids[n][mask[n].bool()].tolist() for n in range(3)]
    said = [tokenizer(rating_text(r), add_special_tokens=False)["input_ids"] for r in (4.5, 1, 3)]
    assert len({tuple(words) for words in said}) == 3
    for row, words in zip(rows, said, strict=True):  # the nearest half star, clamped to 1-5
        assert row[-len(words):] == words
    item_part = rows[0][:-len(said[0])]
    assert item_part and all(row[:-len(words)] == item_part for row, words in zip(rows, said, strict=True))
    assert all(mask[n].tolist() == sorted(mask[n].tolist()) for n in range(3))  # left padding
    with pytest.raises(ValueError, match="pass `ratings`"):
        model.item_context.lookup(users, items)


def test_the_stated_rating_reaches_the_decoder(rated_run):
    rec = ElixirRecommender.from_run(rated_run)
    labels = pad_labels([rec.tokenizer("the room was clean and quiet")["input_ids"]])
    users, items = torch.tensor([0]), torch.tensor([0])
    low = float(rec.model(users, items, labels=labels, text_ratings=torch.tensor([1.0])).text_loss)
    high = float(rec.model(users, items, labels=labels, text_ratings=torch.tensor([5.0])).text_loss)
    assert low != pytest.approx(high, abs=1e-6)
    user, item = rec.artifacts.users.ids[0], rec.artifacts.items.ids[0]
    assert isinstance(rec.explain(user, item, max_new_tokens=4), str)  # the predicted rating


def test_the_rating_text_needs_the_item_context(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="rating_text needs the item context"):
        train_tiny(tiny_data, tmp_path / "run", rating_text=True)
