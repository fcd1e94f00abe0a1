"""Rules of the house, checked: the library never imports its adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADAPTERS = {"streamlit", "typer", "app", "mcp"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


LIBRARY = sorted((REPO / "kg").rglob("*.py")) + sorted((REPO / "ingest").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(REPO)))
def test_library_does_not_import_adapters(path: Path) -> None:
    bad = imports_of(path) & ADAPTERS
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}: kg/ingest must stay UI-free"


@pytest.mark.parametrize(
    "path",
    [p for p in sorted((REPO / "kg").rglob("*.py")) if p.name != "api.py"],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_kg_does_not_import_ingest(path: Path) -> None:
    """Data flows ingest -> kg; only kg.api (the Python API, the top of the house, which
    drives an ingest as the CLI does) may call ingest."""
    assert "ingest" not in imports_of(path), "data flows ingest -> kg, never back up"


#: Every module of litkg that opens an HTTP connection, and to what. The rule the house
#: keeps: nothing else does (a test below), and each of these really does (so the list
#: stays true both ways).
HTTP_CLIENTS = {
    "ingest/s2.py": "the Semantic Scholar Graph API (every S2 request, cached)",
    "ingest/zotero.py": "the Zotero web API (read and write) and Zotero 7's local API (read)",
    "kg/rdf/remote.py": "a SPARQL 1.1 server the user points litkg at (LITKG_SPARQL_ENDPOINT)",
    "kg/portable/archive.py": "an https:// snapshot given to `litkg snapshot import`",
    "app/state.py": "whether the S2 API answers at all (the app's refresh button)",
}
#: Modules that serve HTTP (bound to 127.0.0.1 unless told otherwise).
HTTP_SERVERS = {"kg/rdf/serve.py": "`litkg serve`, the SPARQL endpoint"}
HTTP_MODULES = {"httpx", "requests", "urllib3", "urllib.request", "http.client", "aiohttp"}


def http_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            found.update(m for m in HTTP_MODULES if name == m or name.startswith(m + "."))
    return found


ALL_CODE = LIBRARY + sorted((REPO / "app").rglob("*.py"))


@pytest.mark.parametrize("path", ALL_CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_listed_modules_speak_http(path: Path) -> None:
    name = str(path.relative_to(REPO))
    if name in HTTP_CLIENTS:
        return
    assert not http_imports(path), (
        f"{name} opens HTTP connections: go through ingest/s2.py (or add it to "
        f"HTTP_CLIENTS with what it talks to, and say so in docs/architecture.md)"
    )


@pytest.mark.parametrize("name", sorted(HTTP_CLIENTS))
def test_the_listed_http_clients_really_are(name: str) -> None:
    assert http_imports(REPO / name), f"{name} no longer speaks HTTP: drop it from the list"


def test_servers_use_the_standard_library_server() -> None:
    for name in HTTP_SERVERS:
        assert "http.server" in (REPO / name).read_text()


# --------------------------------------------------------------------------- layers
#: The rooms of kg in the order data flows through them: a module may import its own
#: room and the rooms ranked below it, never above. ``ingest`` (sources, the S2 client,
#: the crawl) writes into the store, so it may use the core, the store and the formats;
#: ``kg.api`` is the top (the one kg module that drives ingest, as the CLI does).
RANK = {
    "kg.core": 0,
    "kg.store": 1,
    "kg.formats": 1,
    "ingest": 2,
    "kg.text": 2,
    "kg.topics": 3,
    "kg.graph": 4,
    "kg.rdf": 5,
    "kg.recommend": 6,
    "kg.build": 7,
    "kg.portable": 7,
    "kg.views": 8,
    "kg.api": 9,
    "kg": 9,  # kg/__init__.py: kg.open() and kg.LitkgError
    "app": 10,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def room(module: str) -> str | None:
    best = None
    for name in RANK:
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    return best


def own_imports(path: Path) -> set[str]:
    """The litkg modules ``path`` imports anywhere (functions included), except under
    ``if TYPE_CHECKING:``; ``from pkg import mod`` counts as importing ``pkg.mod`` when
    that is a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if (REPO / sub.replace(".", "/")).with_suffix(".py").exists():
                    found.add(sub)
    return {m for m in found if m.split(".")[0] in ("kg", "ingest", "app")}


CODE_MODULES = {module_name(p): p for p in ALL_CODE if "pages" not in p.parts}


@pytest.mark.parametrize("module", sorted(CODE_MODULES))
def test_imports_point_down_the_flow(module: str) -> None:
    mine = room(module)
    assert mine is not None, f"{module} is in no room: add its folder to RANK"
    for target in own_imports(CODE_MODULES[module]):
        theirs = room(target)
        if theirs is None or theirs == "kg":  # the package itself (kg.core triggers it)
            continue
        assert RANK[theirs] <= RANK[mine], (
            f"{module} ({mine}) imports {target} ({theirs}), a room above it: data flows "
            f"{' -> '.join(sorted(RANK, key=RANK.__getitem__))}"
        )


def test_no_import_cycles() -> None:
    graph = {
        m: {t for t in own_imports(p) if t in CODE_MODULES and t != m}
        for m, p in CODE_MODULES.items()
    }
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_one_exception_root() -> None:
    """Every exception class litkg defines derives from kg.LitkgError (private control
    flow signals aside), and the CLI's error handler catches exactly that root."""
    import importlib
    import inspect

    from kg.core.errors import LitkgError

    outside = []
    for module in sorted(CODE_MODULES):
        if module.startswith("app"):
            continue
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module
                and not name.startswith("_")
                and not issubclass(obj, LitkgError)
            ):
                outside.append(f"{module}.{name}")
    assert not outside, f"exceptions outside kg.LitkgError: {outside}"
    cli = (REPO / "app" / "cli.py").read_text()
    handler = cli[cli.index("def _friendly") : cli.index("def _settings")]
    assert "except LitkgError as exc:" in handler
    assert "ValueError" not in handler and "KGError" not in handler


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(REPO)))
def test_own_modules_are_imported_at_the_top(path: Path) -> None:
    """Imports inside functions are for heavy optional dependencies (torch, the ONNX
    runtime, pyspark ...), never to dodge a cycle among litkg's own modules. The one
    exception: ``kg.open()`` imports ``kg.api`` (see docs/decisions.md, "The house")."""
    if path.relative_to(REPO).as_posix() == "kg/__init__.py":
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                inside += [f"{n} (line {node.lineno})" for n in names if n.split(".")[0] in OWN]
    assert not inside, f"imported inside a function: {inside}"


OWN = ("kg", "ingest")


def test_no_module_is_over_1000_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in ALL_CODE
        if (n := len(p.read_text().splitlines())) > 1000
    }
    assert not long, f"split these by job: {long}"


def test_no_machine_paths_in_repo() -> None:
    """No absolute path of a developer's machine in any tracked file."""
    import subprocess

    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    needles = ("/work/", "/root/", "/home/")
    for name in listed:
        path = REPO / name
        if path == Path(__file__) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for needle in needles:
            assert needle not in text, f"{name} contains a machine path {needle}"
