"""Graded tests run in a second, trusted kernel that the learner's code never touches.

In stock nbgrader the tests run in the learner's interpreter, where an answer can redefine
``__eq__``, install an AST transformer that turns ``assert`` into ``pass``, replace
``showtraceback`` or monkeypatch ``np.testing``. Here each notebook gets two kernels, both
sandboxed, sharing the working folder:

- the learner's kernel runs every cell except the graded test cells;
- the trusted kernel runs the test cells. It also runs the imports, function and class
  definitions and literal constants of the locked cells (the instructor's code, restored
  from the gradebook), so the tests' helpers are its own. Every other name a test reads
  (the learner's answers, the data the locked cells computed) is fetched from the
  learner's kernel just before the test runs: plain data as a copy rebuilt without pickle,
  anything else as a handle whose comparisons are refused (see ``remote.py``).

Nothing the learner's kernel sends can run code in the trusted one. What remains possible
is what any function can do: return a wrong value, or change the data a locked cell
computed; hidden tests build their own seeded variants inside the test cell for that reason.

Tests that must talk to a live object of the learner (a server in its sandbox) run in the
learner's kernel, per assignment, with the reason in the course's ``grading.toml``.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from nbclient import NotebookClient
from traitlets import Dict

from .bounded import BoundedExecute, _is_test_cell, kill_kernel

REMOTE_SOURCE = (Path(__file__).with_name("remote.py")).read_text()
SOCKET_NAME = "answers.sock"
BOTH_KERNELS = "#| grading: both kernels"
ALWAYS_THERE = set(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit",
                                     "__name__", "__builtins__"}


def _load_remote(extra: str) -> str:
    """Code that loads remote.py as a private module in a kernel, then runs ``extra``."""
    return ("def _poc2prod_load():\n"
            "    import sys, types\n"
            "    module = types.ModuleType('_poc2prod_remote')\n"
            f"    exec(compile({REMOTE_SOURCE!r}, 'poc2prod-remote', 'exec'), module.__dict__)\n"
            "    sys.modules['_poc2prod_remote'] = module\n"
            f"    {extra}\n"
            "_poc2prod_load()\n"
            "del _poc2prod_load\n")


def python_source(cell_source: str) -> ast.Module | None:
    """A cell as Python (magics translated the way IPython does), or None if it is not."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(cell_source))
    except (SyntaxError, ValueError):
        return None


def _bound_at_top(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module namespace (not inside functions)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names if a.name != "*"}
    names: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= _bound_at_top(node)
        stack.extend(ast.iter_child_nodes(node))
    return names


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp,
          ast.DictComp, ast.GeneratorExp)


def _read_names(tree: ast.AST) -> set[str]:
    """Global names the code reads: a function's parameters and locals are not asked for."""
    found: set[str] = set()

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, SCOPES):
            inner = {n.id for n in ast.walk(node)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            if not isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                arguments = node.args
                inner |= {a.arg for a in [*arguments.posonlyargs, *arguments.args,
                                          *arguments.kwonlyargs, arguments.vararg,
                                          arguments.kwarg] if a is not None}
            local = local | inner
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    visit(tree, frozenset())
    return found


def _is_constant(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _trusted_statement(statement: ast.stmt) -> bool:
    """Imports, definitions and literal constants: the locked code the tests may rely on."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                              ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, ast.Name) for t in statement.targets) \
            and _is_constant(statement.value)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.value is not None \
            and _is_constant(statement.value)
    return False


class TrustedNames:
    """Which names the trusted kernel defines itself, and which it fetches from the learner."""

    def __init__(self):
        self.protected: set[str] = set()  # code and test results: the learner cannot replace
        self.own: set[str] = set()        # bound in T (protected, plus locked constants)
        self.read_by_code: set[str] = set()

    def locked_cell(self, source: str) -> tuple[list[str], list[str]]:
        """The names to fetch first and the statements T runs itself, of a locked cell.

        A cell marked ``#| grading: both kernels`` runs whole in T too (a model the tests
        inspect, trained by the instructor's code rather than fetched from the learner).
        """
        tree = python_source(source)
        if tree is None:
            return [], []
        if BOTH_KERNELS in source.splitlines():
            return self._fetch_then_own(tree), [ast.unparse(tree)]
        statements = [s for s in tree.body if _trusted_statement(s)]
        for statement in statements:
            bound = _bound_at_top(statement)
            self.own |= bound
            if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
                self.protected |= bound
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.read_by_code |= _read_names(statement)
        return [], [ast.unparse(s) for s in statements]

    def answer_cell(self, source: str) -> None:
        """A name the learner's answer binds comes from the learner, unless T's code owns it."""
        tree = python_source(source)
        if tree is None:
            return
        for statement in tree.body:
            self.own -= _bound_at_top(statement) - self.protected

    def test_cell(self, source: str) -> list[str]:
        """The names to fetch before the test runs; what it binds becomes T's own."""
        tree = python_source(source)
        return [] if tree is None else self._fetch_then_own(tree)

    def _fetch_then_own(self, tree: ast.Module) -> list[str]:
        """Code T runs whole: the names it reads from L; what it binds becomes T's own."""
        bound = set().union(*(_bound_at_top(s) for s in tree.body)) if tree.body else set()
        wanted = (_read_names(tree) | self.read_by_code) - self.own - bound - ALWAYS_THERE
        self.own |= bound
        self.protected |= bound
        return sorted(wanted)


class SplitExecute(BoundedExecute):
    """BoundedExecute whose graded test cells run in a trusted kernel (see module doc)."""

    tests_in_learner_kernel = Dict(
        help="Assignments whose tests need the learner's live objects (a server in its "
             "sandbox), with the reason: their tests run in the learner's kernel."
    ).tag(config=True)

    trusted_kernel_manager_class = None  # set per job; None runs everything in one kernel
    trusted_config = None                # its settings: its own connection file and sockets
    channel: Path | None = None          # folder shared by the two kernels for the socket
    trusted_start: Path | None = None    # the trusted kernel's private starting folder

    def split_for(self, nb, resources) -> bool:
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        return (self.trusted_kernel_manager_class is not None
                and assignment not in self.tests_in_learner_kernel
                and any(_is_test_cell(c) for c in nb.cells))

    def preprocess(self, nb, resources=None, km=None):
        self.trusted = None
        if not self.split_for(nb, resources):
            return super().preprocess(nb, resources, km)
        self.trusted = BoundedExecute(config=self.trusted_config or self.config,
                                      kernel_manager_class=self.trusted_kernel_manager_class)
        NotebookClient.__init__(self.trusted, nb)
        self.trusted.reset_execution_trackers()
        self.trusted.resources = {"metadata": {"path": str(self.trusted_start)}}
        self.names = TrustedNames()
        self.connected = False
        with self.trusted.setup_kernel():
            self.trusted.wait_for_reply(self.trusted.kc.kernel_info())
            return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if self.trusted is None or cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        if not self.connected:
            self._connect(resources)
        meta = cell.metadata.get("nbgrader", {})
        if _is_test_cell(cell):
            self._in_trusted("bind", self.names.test_cell(cell.source))
            return self.trusted.preprocess_cell(cell, resources, index)
        result = super().preprocess_cell(cell, resources, index)
        if meta.get("solution"):
            self.names.answer_cell(cell.source)
        else:
            fetch, statements = self.names.locked_cell(cell.source)
            if fetch:
                self._in_trusted("bind", fetch)
            if statements:
                self._in_trusted("run_each", statements)
        return result

    def _connect(self, resources) -> None:
        """Start the answer server in the learner's kernel, then connect the trusted one."""
        socket_path = str(self.channel / SOCKET_NAME)
        work = resources["metadata"]["path"]
        self._quietly(self, _load_remote(
            f"module.start_learner_side({socket_path!r}, get_ipython().user_ns)"))
        self._quietly(self.trusted, _load_remote(
            f"module.start_trusted_side({socket_path!r}, {work!r}, "
            f"{float(self.timeout or 60)!r})"))
        self.connected = True

    def _in_trusted(self, function: str, names_or_sources: list[str]) -> None:
        self._quietly(self.trusted, f"__import__('_poc2prod_remote').{function}("
                                    f"get_ipython().user_ns, {names_or_sources!r})")

    @staticmethod
    def _quietly(client, code: str) -> None:
        """Run setup code in a kernel without output; a failure stops the notebook."""
        reply = client.wait_for_reply(client.kc.execute(code, silent=True, store_history=False,
                                                        allow_stdin=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError("could not set up the trusted test kernel: "
                               f"{content.get('ename')}: {content.get('evalue')}")

    def _stop_kernel(self) -> None:
        super()._stop_kernel()
        kill_kernel(getattr(self.trusted, "km", None))


def split_settings_for(course_folder: Path) -> dict:
    """``tests_in_learner_kernel`` from a course's ``grading.toml`` (empty when absent)."""
    import tomllib

    path = Path(course_folder) / "grading.toml"
    if not path.exists():
        return {}
    table = tomllib.loads(path.read_text()).get("tests_in_learner_kernel", {})
    return {str(k): str(v) for k, v in table.items()}
