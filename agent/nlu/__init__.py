"""Understanding questions: a learned intent classifier, entity linking and a typed parse.

See docs/nlu.md. `QuestionParser(load_or_train(embedder), catalog, aspects).parse(message, state)`.
"""

from elixir_agent.agent.nlu.classifier import IntentClassifier, train_classifier
from elixir_agent.agent.nlu.parser import ParsedQuestion, QuestionParser
from elixir_agent.agent.nlu.store import load_or_train, train_and_save

__all__ = ["IntentClassifier", "ParsedQuestion", "QuestionParser", "load_or_train",
           "train_and_save", "train_classifier"]
