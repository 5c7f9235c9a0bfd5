import inspect

import popgen
import popgen.models
import popgen.sampling
import popgen.tokenizers


def test_public_names_import_and_have_docstrings() -> None:
    missing = []
    for module in (popgen, popgen.models, popgen.sampling, popgen.tokenizers):
        for name in module.__all__:
            obj = getattr(module, name)
            documentable = inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)
            if not documentable:  # constants and type aliases
                continue
            if not inspect.getdoc(obj):
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names without docstrings: {missing}"


def test_issue_names_are_public() -> None:
    for name in [
        "Corpus",
        "CorpusOptions",
        "get_tokenizer",
        "Tokenizer",
        "LSTMModel",
        "train",
        "TrainConfig",
        "Sampler",
        "Song",
        "load_run",
    ]:
        assert name in popgen.__all__
    for name in ["chain", "temperature", "top_k", "top_p"]:
        assert name in popgen.sampling.__all__
