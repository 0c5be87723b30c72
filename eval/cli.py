"""`elixir-agent eval`: the agent against the core-only explainer on the same test pairs.

Run with: elixir-agent eval --run runs/rb --index runs/rb/index --data runs/rb/data --pairs 200 --out reports/rb

Beside the "why" question the agent can be asked other kinds on the same pairs
(`--questions rating,aspects,compare,what_matters`), and an earlier run's answers can be scored
beside this run's (`--previous reports/rb-old/pairs.jsonl`, e.g. from the previous release).
"""

from __future__ import annotations

import platform
from pathlib import Path

import typer

__all__ = ["register"]


def eval_command(
    run: Path = typer.Option(..., "--run", help="Trained core run directory (`elixir-agent train` output)."),
    index: Path = typer.Option(..., "--index", help="Review index directory, built from the training split only."),
    data: Path = typer.Option(..., "--data", help="Prepared dataset directory; its test split supplies the pairs."),
    out: Path = typer.Option(..., "--out", help="Report directory: pairs.jsonl, summary.json/.csv, report.md, PNGs. "
                             "Rerunning with the same --out resumes: finished pairs are skipped."),
    pairs: int = typer.Option(200, "--pairs", min=1, help="Number of test pairs (a fixed seeded draw)."),
    llm: str = typer.Option("local", "--llm", help="The agent's writer: 'local' (embedded SmolLM2), 'none' "
                            "(deterministic composer only), 'auto' (local if installed) or 'provider:model'."),
    judge: str | None = typer.Option(None, "--judge", help="Optional pairwise LLM judge as 'provider:model' "
                                     "(off by default; each pair is judged twice, order swapped)."),
    scenarios: Path | None = typer.Option(None, "--scenarios", help="Scenario file or folder (.toml/.json) of "
                                          "multi-turn checks to run against the agent."),
    bundled_scenarios: bool = typer.Option(False, "--bundled-scenarios", help="Also run the example scenarios "
                                           "shipped with the package."),
    scenario_pairs: int = typer.Option(5, "--scenario-pairs", min=1, help="Test pairs each scenario runs on."),
    systems: str = typer.Option("core,agent", "--systems", help="Comma-separated systems to run: core, agent."),
    questions: str = typer.Option("", "--questions", help="Other question kinds to ask the agent on the same "
                                  "pairs, comma-separated: rating, aspects, compare, what_matters."),
    previous: Path | None = typer.Option(None, "--previous", help="pairs.jsonl of an earlier eval run (same --data, "
                                         "--pairs, --seed): its agent answers are scored beside this run's as "
                                         "agent_previous."),
    resamples: int = typer.Option(200, "--resamples", min=10, help="Bootstrap resamples per metric."),
    seed: int = typer.Option(0, "--seed", help="Seed of the pair draw and of the bootstrap."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Explain the same test pairs with the core-only explainer and the agent; write metrics and a report.

    Metrics: BLEU-1/4, ROUGE-1/2/L, METEOR (chrF when WordNet data is not installed),
    MiniLM embedding similarity, USR/FMR/FCR/DIV, RMSE/MAE, rating-text consistency,
    answers-the-question, groundedness (over answers that answer), citation rate, personal
    (own history / own review cited, users with 3+ training reviews), distinctness across
    users, length and latency, with 95% bootstrap intervals. Failed answers are listed
    verbatim at the top of the report.
    """
    from elixir_agent.agent.context import check_paths
    from elixir_agent.agent.explainers import QUESTION_KINDS, AgentExplainer, CoreExplainer
    from elixir_agent.core_model.data.storage import load_prepared
    from elixir_agent.core_model.inference import load_recommender
    from elixir_agent.eval.runner import evaluate, select_pairs
    from elixir_agent.retrieval.embedder import Embedder

    wanted = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = set(wanted) - {"core", "agent"}
    if unknown or not wanted:
        raise typer.BadParameter(f"unknown systems {sorted(unknown)}; expected core and/or agent", param_hint="--systems")
    kinds = [q.strip() for q in questions.split(",") if q.strip()]
    bad = [k for k in kinds if k not in QUESTION_KINDS or k == "why"]
    if bad:
        raise typer.BadParameter(f"unknown question kinds {bad}; expected some of "
                                 f"{', '.join(k for k in QUESTION_KINDS if k != 'why')}", param_hint="--questions")
    if (scenarios or bundled_scenarios or judge or kinds or previous) and "agent" not in wanted:
        raise typer.BadParameter("scenarios and the judge need the agent in --systems", param_hint="--systems")

    check_paths(run, index, data)
    dataset = load_prepared(data)
    recommender = load_recommender(run)
    embedder = Embedder()
    test = dataset.split("test")
    chosen = select_pairs(test, dataset.aspects, pairs, seed=seed,
                          known=lambda u, i: recommender.has_user(u) and recommender.has_item(i))
    if not chosen:
        raise typer.BadParameter(f"no test pair of {data} has a user and item known to {run}", param_hint="--run")

    explainers = []
    if "core" in wanted:
        explainers.append(CoreExplainer(recommender))
    agent = None
    asked = []
    train = dataset.split("train")
    if "agent" in wanted:
        agent = _build_agent(run, data, recommender, index, embedder, llm)

        def ask(question, conversation_id, **context):
            return agent.ask(question, conversation_id=conversation_id, **context)

        names = train.drop_duplicates("item_id").set_index("item_id")["item_name"].astype(str).to_dict()
        explainers.append(AgentExplainer(ask, fallback=recommender))
        asked = [AgentExplainer(ask, fallback=recommender, kind=kind, item_name=lambda i: names.get(i, i),
                                other_item=_other_item(chosen, names)) for kind in kinds]

    out.mkdir(parents=True, exist_ok=True)
    scenario_results = None
    if agent is not None and (scenarios or bundled_scenarios):
        scenario_results = _run_scenarios(agent, recommender, dataset, chosen, scenarios, bundled_scenarios,
                                          scenario_pairs, out)
    pairwise = None
    if judge:
        from elixir_agent.eval.judge import PairwiseJudge

        pairwise = PairwiseJudge.from_spec(judge)
    meta = {"run": str(run), "index": str(index), "data": str(data), "llm": llm, "judge": judge or "off",
            "dataset": dataset.info.name, "synthetic": dataset.info.synthetic,
            "machine": f"{platform.machine()} {platform.system()}, python {platform.python_version()}"}
    history = train.groupby(train["user_id"].astype(str))["review_id"].agg(lambda ids: set(map(str, ids))).to_dict()
    evaluate(chosen, explainers, out, aspects=dataset.aspects, encoder=embedder, resamples=resamples,
             seed=seed, judge=pairwise, scenario_results=scenario_results, meta=meta, progress=progress,
             history=history, questions=asked, previous=previous)
    typer.echo(f"report: {out / 'report.md'}")


def _other_item(chosen, names: dict[str, str]):
    """For a compare question: the next chosen pair's item that is not this one."""
    items = list(dict.fromkeys(p.item_id for p in chosen))

    def other(user_id: str, item_id: str) -> tuple[str, str]:
        pool = [i for i in items if i != item_id] or [i for i in names if i != item_id]
        start = items.index(item_id) if item_id in items else 0
        choice = pool[start % len(pool)]
        return choice, names.get(choice, choice)

    return other


def _build_agent(run: Path, data: Path, recommender, index_dir: Path, embedder, llm: str):
    from elixir_agent.agent.context import build_context, resolve_llm_choice
    from elixir_agent.agent.graph import build_agent

    loaded = build_context(run, index_dir, data, embedder=embedder, recommender=recommender)
    index = loaded.context.index
    leaked = set(index.review_ids) & set(loaded.dataset.split("test")["review_id"].astype(str))
    if leaked:
        raise typer.BadParameter(f"{index_dir} contains {len(leaked)} test reviews (e.g. {sorted(leaked)[0]}): "
                                 "build the index from the training split only", param_hint="--index")
    llm, _ = resolve_llm_choice(llm)
    return build_agent(loaded.context, llm=llm, embedder=embedder)


def _run_scenarios(agent, recommender, dataset, chosen, path, bundled, n, out: Path):
    from elixir_agent.eval.scenario import bundled_scenarios as shipped
    from elixir_agent.eval.scenario import load_scenarios, run_scenarios

    scenarios = (load_scenarios(path) if path else []) + (shipped() if bundled else [])
    names = dataset.split("train").drop_duplicates("item_id").set_index("item_id")["item_name"]
    contexts = []
    for pair in chosen[:n]:
        prediction = recommender.predict(pair.user_id, pair.item_id)
        top = max(prediction.user_importance, key=prediction.user_importance.get)
        name = names.get(pair.item_id)
        contexts.append({"user": pair.user_id, "item": pair.item_id, "item_name": name if isinstance(name, str) else "",
                         "aspect": top, "rating": float(prediction.rating)})
    return run_scenarios(scenarios, lambda q, cid, **kw: agent.ask(q, conversation_id=cid, **kw), contexts,
                         transcript_path=out / "scenarios.jsonl")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add `elixir-agent eval` (the agent-vs-core-only report) to the top-level app."""
    app.command("eval", help="Agent vs core-only explanations on the same test pairs: metrics and a report.")(eval_command)
