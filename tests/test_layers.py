"""The package layout holds: no import circle, arrows only the allowed way (in server_core and in
whisper_desktop), nothing imports an entry point, torch-free leaves, and Qt-free desktop parts."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support import ROOT, run_python

PACKAGES = ("server_core", "whisper_desktop")

# Who may import whom inside server_core (DESIGN §1): group -> groups it may import.
LEAVES = {
    "server_core",
    "server_core.config",
    "server_core.contract",
    "server_core.extras",
    "server_core.errors",
    "server_core.events",
    "server_core.languages",
    "server_core.model_names",
    "server_core.observers",
    "server_core.whisper_tables",
}
ENTRY_POINTS = {
    "server_core.serve",
    "server_core.simulate",
    "server_core.client.main",
    "server_core.cluster.main",
}
ENTRY_GROUP = ENTRY_POINTS | {
    "server_core.cli_options",
    "server_core.serve_options",
    "server_core.signals",
    "server_core.client.__main__",
}
ALLOWED = {
    "leaf": {"leaf"},
    "tool": {"leaf"},
    "audio": {"leaf", "audio"},
    "models": {"leaf", "models"},
    "engine": {"leaf", "engine", "models"},
    "net": {"leaf", "net", "audio", "protocol"},
    "client": {"leaf", "client", "audio", "protocol"},
    # the Ray Serve deployment: the only importer of ray; it runs the engine behind the net app
    "cluster": {"leaf", "cluster", "engine", "net", "protocol", "entry"},
    "entry": {
        *("leaf", "tool", "audio", "models", "engine", "net", "client", "protocol", "entry"),
        "cluster",
    },
}
TORCH_FREE = sorted(LEAVES | {"server_core.audio.wire", "server_core.net.protocol"})

# Entry points and the only module allowed to import each.
ENTRY_IMPORTERS = {
    "server_core.serve": {"whisper_desktop.main"},
    "server_core.simulate": {"whisper_desktop.main"},
    "server_core.client.main": {"server_core.client.__main__"},
    "server_core.cluster.main": {"whisper_desktop.main"},
    "whisper_desktop.main": {"whisper_desktop.__main__"},
    "whisper_desktop.app": {"whisper_desktop.main"},
    "whisper_desktop.history.cli": {"whisper_desktop.main"},
}

# Who may import whom inside whisper_desktop: room -> rooms it may import. "core" is server_core
# apart from its leaves ("leaf"); "base" the desktop's small shared modules (paths, icons, ...).
DESKTOP_ENTRY = {"whisper_desktop.__main__", "whisper_desktop.main", "whisper_desktop.app"}
DESKTOP_ALLOWED = {
    "base": {"leaf"},
    "history": {"base"},  # the store, recorder and exporters: no Qt, no windows
    "capture": {"leaf", "core"},
    "host": {"leaf", "core"},  # the engine worker knows no window, setting or controller
    "model_download": {"leaf", "core"},  # the download worker, as host
    "settings": {"leaf", "base", "host"},  # the model, and its one mapping to HostConfig
    "widgets": {"leaf", "base", "history", "settings"},  # they show; they run no engine
    "controller": {
        *("leaf", "core", "base", "history", "capture", "host", "settings", "widgets"),
        "model_download",
    },
}
QT_FREE = [  # run without a display or Qt installed: the dispatcher and the history CLI
    "whisper_desktop.main",
    "whisper_desktop.paths",
    "whisper_desktop.history.store",
    "whisper_desktop.history.recorder",
    "whisper_desktop.history.exporters",
    "whisper_desktop.history.cli",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its file (functions included)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
                break
    return targets


def import_graph() -> dict[str, set[str]]:
    known = project_modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def group(module: str) -> str:
    if module in LEAVES:
        return "leaf"
    if module in ENTRY_GROUP:
        return "entry"
    if module == "server_core.net.protocol":
        return "protocol"
    if module == "server_core.wer":
        return "tool"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "leaf"


def desktop_room(module: str) -> str:
    if module.startswith("server_core"):
        return "leaf" if module in LEAVES else "core"
    if module in DESKTOP_ENTRY or module == "whisper_desktop.history.cli":
        return "entry"
    parts = module.split(".")
    named = ("widgets", "history", "capture", "host", "settings", "controller", "model_download")
    return parts[1] if len(parts) > 1 and parts[1] in named else "base"


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "server_core.engine.core" in graph["server_core.engine"]
    assert "server_core.serve" in graph["whisper_desktop.main"]  # imported inside main()


def test_no_import_circle() -> None:
    found = cycles(import_graph())
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_arrows_point_one_way() -> None:
    wrong = []
    for module, targets in import_graph().items():
        if not module.startswith("server_core"):
            continue
        for target in targets:
            if target.startswith("whisper_desktop"):
                wrong.append(f"{module} -> {target} (server_core never imports the desktop)")
            elif group(target) not in ALLOWED[group(module)] | {group(module)}:
                wrong.append(f"{module} ({group(module)}) -> {target} ({group(target)})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_desktop_rooms_point_one_way() -> None:
    wrong = []
    for module, targets in import_graph().items():
        room = desktop_room(module)
        if not module.startswith("whisper_desktop") or room == "entry":
            continue
        for target in targets:
            if desktop_room(target) not in DESKTOP_ALLOWED[room] | {room}:
                wrong.append(f"{module} ({room}) -> {target} ({desktop_room(target)})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_nothing_imports_an_entry_point() -> None:
    graph = import_graph()
    assert set(ENTRY_IMPORTERS) <= set(graph)  # the table names real modules
    assert ENTRY_POINTS <= set(ENTRY_IMPORTERS)
    importers = defaultdict(set)
    for module, targets in graph.items():
        for target in targets & set(ENTRY_IMPORTERS):
            importers[target].add(module)
    bad = {
        t: sorted(m - ENTRY_IMPORTERS[t]) for t, m in importers.items() if m - ENTRY_IMPORTERS[t]
    }
    assert bad == {}


def heavy_imports(module: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of the ``heavy`` top-level packages importing ``module`` loads (a fresh process)."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += f"{heavy!r}))"
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip())


@pytest.mark.parametrize("module", TORCH_FREE)
def test_leaf_modules_load_no_torch(module: str) -> None:
    assert heavy_imports(module, ("torch", "whisper", "fastapi", "PySide6")) == []


@pytest.mark.parametrize("module", QT_FREE)
def test_desktop_dispatch_and_history_load_no_qt(module: str) -> None:
    assert heavy_imports(module, ("torch", "PySide6")) == []


def test_leaves_still_know_whisper_tables() -> None:
    code = (
        "from server_core.languages import normalize_language;"
        "from server_core.model_names import official_names;"
        "print(normalize_language('German'), 'turbo' in official_names(), 'large-v3' in "
        "official_names())"
    )
    done = run_python(code)
    assert done.stdout.split() == ["de", "True", "True"], done.stderr


def test_only_the_cluster_package_imports_ray() -> None:
    """Ray is an extra (``cluster``): the server, client and desktop run without it."""
    importers = []
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            if any(n == "ray" or n.startswith("ray.") for n in names):
                importers.append(name)
    assert importers, "the scan sees the cluster package's imports"
    assert {m for m in importers if not m.startswith("server_core.cluster.")} == set()
