"""openai-whisper's own tables (languages, model names), read without importing torch.

``whisper/__init__.py`` imports torch; the tables are plain literals in its source
(``_MODELS``) and in ``whisper/tokenizer.py``, which itself needs only tiktoken. When whisper is
imported already, its modules are used as they are.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType


def _package_file(name: str) -> Path:
    spec = importlib.util.find_spec("whisper")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("openai-whisper is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / name


@lru_cache(maxsize=1)
def tokenizer_module() -> ModuleType:
    """whisper.tokenizer (LANGUAGES, TO_LANGUAGE_CODE), loaded on its own if need be."""
    loaded = sys.modules.get("whisper.tokenizer")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        "_whisper_tokenizer_tables", _package_file("tokenizer.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def model_urls() -> dict[str, str]:
    """Official model name -> download URL, in whisper's order."""
    loaded = sys.modules.get("whisper")
    if loaded is not None and hasattr(loaded, "_MODELS"):
        return dict(loaded._MODELS)
    tree = ast.parse(_package_file("__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "_MODELS" for t in targets):
                return dict(ast.literal_eval(node.value))
    raise ImportError("openai-whisper's model table (_MODELS) was not found")
