from elixir_agent.tools.aspects import aspects_in_text, match_aspect


def test_catalog_statistics_match_the_training_split(world):
    train = world.train
    item_id = sorted(world.catalog.items)[0]
    stats = world.catalog.items[item_id]
    rows = train[train.item_id == item_id]
    assert stats.n_reviews == len(rows)
    assert abs(stats.mean_rating - rows.rating.mean()) < 1e-3
    assert abs(stats.aspect_means["cleanliness"] - rows.aspect_cleanliness.mean()) < 1e-3
    user_id = train.user_id.iloc[0]
    assert len(world.catalog.users[user_id].history) == (train.user_id == user_id).sum()


def test_names_ids_and_typos_resolve(world):
    catalog = world.catalog
    assert catalog.resolve_item("h0000") == "h0000"
    assert catalog.resolve_item("harbor inn 0") == "h0000"
    assert catalog.resolve_item("Harbor Inn 0 (synthetic)") == "h0000"
    assert catalog.resolve_item("Harbour Inn 0") is None
    assert catalog.suggest_items("Harbour Inn 0", 3)[0].id == "h0000"
    found = catalog.find_items_in_text("is harbour inn 0 better than h0003 or Grand Inn 1?")
    assert found == ["h0000", "h0003", "h0001"]
    # A number is part of the name: 'Inn 1' must not match 'Inn 12'.
    assert "h0001" not in catalog.find_items_in_text("what about Grand Inn 12?")


def test_aspect_words():
    aspects = ["cleanliness", "location", "service", "value", "rooms"]
    assert match_aspect("clean", aspects) == "cleanliness"
    assert match_aspect("staff", aspects) == "service"
    assert match_aspect("taste", aspects) is None
    assert aspects_in_text("Is it clean? How's the staff and the price?", aspects) == [
        "cleanliness", "service", "value"]
