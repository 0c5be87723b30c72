from tests.helpers.tiny_run import tiny_data, tiny_run  # noqa: F401  (session fixtures)
