"""The shape of the code itself: a core that does not need Celery, no import cycles, one
pipeline table, and reasons from one enum."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sluice.shared.outcomes import Outcome
from sluice.shared.reasons import Reason
from sluice.workers import pipeline
from sluice.workers.routing import task_routes
from sluice.workers.running import body_of

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("workers", "producers", "shared", "cli")

# What must import, and work, with Celery absent: the stages, the fetcher, the dedup index,
# the store and the producers' recording of items.
CELERY_FREE = (
    "sluice.workers",
    "sluice.workers.pipeline",
    *(row.body.split(":")[0] for row in pipeline.PIPELINE),
    "sluice.workers.fetching.client",
    "sluice.workers.fetching.crawler",
    "sluice.workers.dedup.index",
    "sluice.workers.dedup.rebuild",
    "sluice.shared.outcomes",
    "sluice.shared.jobs",
    "sluice.producers.submit",
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[f"sluice.{name}"] = path
    return found


def _top_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules ``path`` imports when it is imported (not inside functions)."""
    imported: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not run
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        imported.update(name for name in names if name in modules)
    return imported


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports), or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for imported in sorted(graph[name]):
            if imported != name and not name.startswith(imported + "."):
                cycle = visit(imported, [*path, name])
                if cycle:
                    return cycle
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _top_level_imports(path, modules) for name, path in modules.items()}
    for name in list(graph):  # importing a.b.c runs a and a.b first
        parts = name.split(".")
        graph[name] |= {".".join(parts[:n]) for n in range(1, len(parts))} & set(graph)
    assert _find_cycle(graph) is None
    assert graph["sluice.workers.celery"] >= {"sluice.workers.routing"}  # the graph is really read


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a.b": {"a"}, "a": set()}) is None


def test_the_core_imports_without_celery() -> None:
    script = (
        "import importlib, sys\n"
        "sys.modules['celery'] = None  # any `import celery` now fails\n"
        f"for name in {list(CELERY_FREE)!r}:\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_importing_workers_builds_no_celery_app() -> None:
    script = (
        "import sys, sluice.workers, sluice.workers.pipeline; assert 'celery' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_product_installs_under_one_namespace(tmp_path: Path) -> None:
    """Outside the repository only ``sluice`` is importable: no generic top-level ``cli`` or
    ``shared`` for another distribution to overwrite, and no module loaded twice."""
    script = (
        "import importlib.util, sys\n"
        "import sluice.cli.main, sluice.workers.celery\n"
        f"clashes = [m for m in {list(PRODUCT)!r} if importlib.util.find_spec(m)]\n"
        f"loaded = [m for m in sys.modules if m.split('.')[0] in {list(PRODUCT)!r}]\n"
        "assert not clashes and not loaded, (clashes, loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_package_folder_is_installed() -> None:
    """setuptools maps each package by name: a new folder must be listed to be installed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        "sluice." + ".".join(path.parent.relative_to(ROOT).parts)
        for package in PRODUCT
        for path in (ROOT / package).rglob("__init__.py")
    }
    assert folders == set(config["packages"])
    assert config["package-dir"] == {f"sluice.{package}": package for package in PRODUCT}


@pytest.mark.parametrize("row", pipeline.PIPELINE, ids=lambda row: row.name)
def test_every_row_names_a_stage_function(row: pipeline.Stage) -> None:
    body = body_of(row.name)
    assert callable(body)
    assert body.__annotations__.get("return") in ("Outcome", Outcome)
    assert set(row.successors) <= set(pipeline.STAGES)
    assert task_routes()[row.task_name] == {"queue": row.queue}


def test_the_table_is_one_path_from_fetch_to_store() -> None:
    first, *_, last = pipeline.STAGES
    assert (first, last) == ("fetch", "store")
    for earlier, later in zip(pipeline.STAGES, pipeline.STAGES[1:], strict=False):
        assert pipeline.stage(earlier).successors[0] == later


def test_no_reason_is_a_free_string() -> None:
    """Errors are raised with a Reason member, never a string literal."""
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("PermanentError", "RetryableError", "failed", "Retry")
                and node.args
                and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_reasons_are_unique_and_described() -> None:
    values = [reason.value for reason in Reason]
    assert len(values) == len(set(values))
    assert all(reason.description for reason in Reason)
    assert Reason("http_404") is Reason.http(404)
    assert Reason.http(404).is_client_error and not Reason.http(503).is_client_error
    with pytest.raises(ValueError):
        Reason("no_such_reason")


def _frontier_adds(tree: ast.AST) -> list[int]:
    """Lines calling ``.add`` on a frontier (``Frontier(...).add``, ``frontier.add``)."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "add":
            continue
        target = node.func.value
        if isinstance(target, ast.Call):
            target = target.func
        spelled = ast.unparse(target).lower()
        if "frontier" in spelled:
            lines.append(node.lineno)
    return lines


def test_the_frontier_owns_its_keys_and_its_door() -> None:
    """No product module but the frontier spells one of its Redis keys (``fr:``) or adds
    items with its script: everything enters through ``frontier.enter``."""
    frontier = ROOT / "workers" / "fetching" / "frontier.py"
    offenders = []
    for path in _modules().values():
        if path == frontier:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and "fr:" in str(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} names a key")
        offenders += [f"{path.relative_to(ROOT)}:{n} adds items" for n in _frontier_adds(tree)]
    assert offenders == []


def test_the_door_check_sees_a_frontier_add() -> None:
    tree = ast.parse("Frontier(client).add([])\nself.frontier.add([])\nseen.add(1)\n")
    assert _frontier_adds(tree) == [1, 2]


def _private_imports(tree: ast.AST, modules: dict[str, Path]) -> list[tuple[int, str]]:
    """Lines taking a private name (``_x``, not ``__x__``) from another product module:
    ``from sluice.a import _x`` or ``module._x`` on an imported product module."""
    found: list[tuple[int, str]] = []
    module_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    module_names.add(alias.asname or alias.name)
                elif node.module in modules and _is_private(alias.name):
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            module_names.update(a.asname for a in node.names if a.asname and a.name in modules)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_names
            and _is_private(node.attr)
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def test_no_private_name_is_imported_across_modules() -> None:
    """A module's ``_names`` are its own: what another module needs is made public."""
    modules = _modules()
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path in modules.values()
        for line, name in _private_imports(ast.parse(path.read_text(encoding="utf-8")), modules)
    ]
    assert offenders == []


def test_the_private_import_check_sees_both_spellings() -> None:
    modules = {"sluice.a": Path("a.py"), "sluice.a.b": Path("b.py")}
    tree = ast.parse(
        "from sluice.a import _x, y, __all__\n"
        "from sluice.a import b\n"
        "import sluice.a.b as c\n"
        "def f():\n"
        "    return b._z, c._w, b.public, other._v\n"
    )
    assert sorted(_private_imports(tree, modules)) == [
        (1, "sluice.a._x"),
        (5, "b._z"),
        (5, "c._w"),
    ]


# workers/ must not import producers/ (producers feed the pipeline, not the other way round).


def _imported_modules(tree: ast.AST) -> set[str]:
    """Every module ``tree`` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_workers_do_not_import_producers() -> None:
    found = {
        (name, imported)
        for name, path in _modules().items()
        if name.startswith("sluice.workers.") or name == "sluice.workers"
        for imported in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if imported == "sluice.producers" or imported.startswith("sluice.producers.")
    }
    assert found == set()


def test_the_producers_check_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from sluice.producers.submit import submit_urls\n")
    assert _imported_modules(tree) == {"sluice.producers.submit"}
