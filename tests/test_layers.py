"""The package's layers: top -> experiments -> kernels, never upward, never sideways.

* top: ``mrptheory.cli``, ``mrptheory.catalog`` and the cross-experiment ``mrptheory.commands``;
* experiments: ``mrptheory.experiments.<name>`` (each imports only itself and the kernels);
* kernels: every other module (``linear``, ``metrics``, ``data``, ``nets``, ``plots``, ``results``,
  ``claims``, ``cli_support``, ...): they import kernels only.

Every import counts: module-level and lazy ones inside functions, relative ones, and
``importlib.import_module("...")`` / ``find_spec`` calls or ``"module:attr"`` tables whose string
literal names a ``mrptheory`` module. The same walk finds import cycles between modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mrptheory"
TOP = ("mrptheory.cli", "mrptheory.catalog", "mrptheory.commands")
#: a string literal that is a whole module path (optionally ``:attribute``), as import tables use
MODULE_LITERAL = re.compile(r"^(mrptheory(?:\.\w+)*)(?::\w+)?$")


def module_name(path: Path, root: Path) -> str:
    """``mrptheory.experiments.mae.claims`` of ``ROOT/../mrptheory/experiments/mae/claims.py``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every ``mrptheory`` module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_LITERAL.match(node.value)
            if match:
                found.add(match.group(1))
    return {m for m in found if m == "mrptheory" or m.startswith("mrptheory.")}


def layer_of(module: str) -> tuple[str, str | None]:
    """``("top", None)``, ``("experiment", name)`` or ``("kernel", None)``."""
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return "top", None
    parts = module.split(".")
    if parts[:2] == ["mrptheory", "experiments"]:
        return "experiment", parts[2] if len(parts) > 2 else None
    return "kernel", None


def violations(root: Path = PACKAGE) -> list[str]:
    """One line per import that goes upward or sideways between experiments."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = module_name(path, root)
        layer, experiment = layer_of(source)
        if layer == "top":
            continue
        for target in sorted(imported_modules(path, root)):
            t_layer, t_experiment = layer_of(target)
            if t_layer == "top":
                found.append(f"{source} imports {target} (upward: top layer)")
            elif t_layer == "experiment" and layer == "kernel" and t_experiment is not None:
                found.append(f"{source} imports {target} (upward: a kernel imports an experiment)")
            elif (t_layer == "experiment" and t_experiment not in (None, experiment)):
                found.append(f"{source} imports {target} (sideways: experiment {experiment} "
                             f"imports experiment {t_experiment})")
    return found


def import_cycles(root: Path = PACKAGE) -> list[list[str]]:
    """Cycles of the module import graph (lazy imports included; a package's facade strings and
    a module's own parent packages do not count)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {m: sorted(t for t in imported_modules(p, root) if t in modules and t != m
                       and not m.startswith(t + "."))
             for m, p in modules.items()}
    cycles, state = [], {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = "open"
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == "open":
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    return cycles


def test_no_upward_or_sideways_import():
    assert violations() == []


def test_no_import_cycle():
    assert import_cycles() == []


def test_the_five_experiments_and_no_layer_first_folders():
    experiments = {p.name for p in (PACKAGE / "experiments").iterdir() if (p / "__init__.py").exists()}
    assert experiments == {"alignment", "dynamics", "mae", "multiview", "subspace"}
    for gone in ("models", "train", "theory"):
        assert not (PACKAGE / gone).exists(), gone


def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "mrptheory"
    for rel, text in {"__init__.py": "", "experiments/__init__.py": "",
                      "experiments/a/__init__.py": "", "experiments/b/__init__.py": "",
                      "kernel.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize("rel, text, words", [
    # a kernel importing an experiment, lazily inside a function
    ("kernel.py", "def f():\n    from mrptheory.experiments.a import x\n", "upward"),
    # a kernel importing the top layer through importlib and a string literal
    ("plots.py", "import importlib\nimportlib.import_module('mrptheory.catalog')\n", "upward"),
    # an experiment importing another one, relatively
    ("experiments/a/run.py", "from ..b import model\n", "sideways"),
    # an experiment importing the top layer
    ("experiments/b/run.py", "import mrptheory.cli\n", "upward"),
    # a "module:attr" table in a kernel
    ("cmds.py", "TABLE = {'x': 'mrptheory.experiments.b.cli:x'}\n", "upward"),
])
def test_the_walk_finds_a_violating_module(tmp_path, rel, text, words):
    root = _fake_package(tmp_path, {rel: text})
    found = violations(root)
    source = module_name(root / rel, root)
    assert found and all(line.startswith(f"{source} imports ") and words in line
                         for line in found), found


def test_the_walk_allows_the_layers(tmp_path):
    root = _fake_package(tmp_path, {
        "experiments/a/run.py": "from . import model\nfrom mrptheory.kernel import k\n"
                                "from mrptheory.experiments import a\n",
        "experiments/a/model.py": "",
        "catalog.py": "MODULES = ['mrptheory.experiments.a.run', 'mrptheory.experiments.b']\n",
        "cli.py": "from mrptheory.experiments.b import cli\n",
    })
    assert violations(root) == []


def test_the_walk_finds_a_cycle(tmp_path):
    root = _fake_package(tmp_path, {"kernel.py": "def f():\n    from mrptheory import store\n",
                                    "store.py": "from mrptheory.kernel import f\n"})
    assert import_cycles(root) == [["mrptheory.kernel", "mrptheory.store", "mrptheory.kernel"]]
