"""Build-time helpers of textrl's documentation.

- The API pages (``api/<module>.rst``) are written from the ``__all__`` lists of textrl's
  public modules, each object documented once, on the page of the first module (in
  ``API_MODULES`` order) that lists it; the other pages link to it.
- ``{leaderboard}``: rows of ``benchmarks/LEADERBOARD.md`` (generated from the result files),
  picked by their system column, so no page types a number of its own.
- The data-flow diagram of the concepts page, drawn with matplotlib.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
LEADERBOARD = ROOT / "benchmarks" / "LEADERBOARD.md"

# The public modules: their ``__all__`` lists are the API. Each object's home is the first
# page (in this order) that lists it; ``textrl`` comes last, so it documents nothing itself.
API_MODULES = ["textrl.data", "textrl.models", "textrl.tasks", "textrl.envs", "textrl.rewards",
               "textrl.agents", "textrl.agents.sb3", "textrl.training", "textrl.recipes",
               "textrl.metrics", "textrl.oracle", "textrl.errors", "textrl"]
# Modules whose types or functions appear in the public signatures and docstrings: their own
# classes and functions not documented above ("members"), or the module's docstring only.
SUPPORT_MODULES = {
    "textrl.datasets": "members", "textrl.components": "members", "textrl.optimization": "members",
    "textrl.evaluation": "members", "textrl.settings": "members",
    "textrl.training.runs": "members", "textrl.training.plateau": "members",
    "textrl.data.tokenizers": "members", "textrl.data.grammar": "module",
    "textrl.data.arithmetic": "module", "textrl.models.module": "members",
    "textrl.models.transformer": "members", "textrl.models.latent_gan": "members",
    "textrl.tasks.arithmetic": "members", "textrl.tasks.prompted": "members",
    "textrl.agents.clipped": "members", "textrl.metrics.reverse": "module",
    "textrl.recipes.mle": "module", "textrl.models.token_log_probs": "members",
    "textrl.distributed": "members", "textrl.data.corpus": "module",
}


def public_names(module_name: str) -> list[str]:
    """``__all__`` of a module, or (a module without one, such as ``textrl.agents.sb3``)
    the public classes and functions defined in it."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items() if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module_name]


def page_names() -> dict[str, list[str]]:
    """The names each page lists: the API modules' public names, then the support modules'
    own classes and functions."""
    pages = {m: public_names(m) for m in API_MODULES}
    for module_name, what in SUPPORT_MODULES.items():
        pages[module_name] = [] if what == "module" else public_names(module_name)
    return pages


def homes(pages: dict[str, list[str]]) -> dict[int, str]:
    """``id(object) -> the page that documents it``."""
    found: dict[int, str] = {}
    for module_name, names in pages.items():
        module = importlib.import_module(module_name)
        for name in names:
            found.setdefault(id(getattr(module, name)), module_name)
    return found


def summary(obj: object) -> str:
    """The first sentence of a class's or function's docstring (inline markup kept whole),
    or what a data attribute holds."""
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return holds(obj)
    doc = inspect.getdoc(obj)
    if not doc:
        return ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    # Out of its class's context a role may not resolve: the table shows its name as code.
    first = re.sub(r":\w+:`~?(?:[\w.]*\.)?(\w+)`", r"``\1``", first)
    for match in re.finditer(r"\.\s(?=[A-Z(`])", first):
        head = first[:match.start() + 1]
        if head.count("``") % 2 == 0 and head.count("`") % 2 == 0:
            return head
    return first.rstrip(":;,") + ("" if first.endswith(".") else ".")


def holds(obj: object) -> str:
    if isinstance(obj, dict):
        return f"A ``dict`` keyed by name: {', '.join(f'``{k}``' for k in obj)}."
    if isinstance(obj, tuple):
        return ", ".join(f"``{v}``" for v in obj) + "."
    return f"``{obj!r}``" if isinstance(obj, str | int | float) else ""


def data_note(module_name: str, name: str, obj: object) -> list[str]:
    """A data attribute: its ``#:`` comment when it has one, else what it holds."""
    from sphinx.pycode import ModuleAnalyzer

    analyzer = ModuleAnalyzer.for_module(module_name)
    analyzer.analyze()
    if ("", name) in analyzer.attr_docs:
        return [f".. autodata:: {module_name}.{name}", "   :no-value:"]
    lines = [f".. py:data:: {name}", f"   :module: {module_name}"]
    if isinstance(obj, str | int | float):
        lines += [f"   :value: {obj!r}"]
    lines.append("")
    if isinstance(obj, dict | tuple):
        lines.append("   " + holds(obj))
    return lines


def entry(module_name: str, name: str, obj: object) -> list[str]:
    target = f"{module_name}.{name}"
    if inspect.isclass(obj):
        lines = [f".. autoclass:: {target}", "   :members:", "   :show-inheritance:"]
        if "__call__" in vars(obj):
            lines.append("   :special-members: __call__")
        return lines
    if inspect.isroutine(obj):
        return [f".. autofunction:: {target}"]
    return data_note(module_name, name, obj)


def api_page(module_name: str, names: list[str], home: dict[int, str]) -> str:
    """The reST of one page: the module's docstring, a table of its names (linked to where
    each is documented) and the entries it is home to."""
    module = importlib.import_module(module_name)
    title = f"``{module_name}``"
    out = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:", ""]
    if names:
        out += [".. list-table::", "   :widths: 30 70", ""]
    entries = []
    for name in names:
        obj = getattr(module, name)
        where = home[id(obj)]
        out += [f"   * - :py:obj:`~{where}.{name}`", f"     - {summary(obj) or ' '}"]
        if where == module_name:
            entries.append((name, obj))
    out.append("")
    for name, obj in entries:
        out += [*entry(module_name, name, obj), ""]
    return "\n".join(out)


def write_api(app) -> None:
    """Write ``api/*.rst`` (git-ignored) before Sphinx reads the sources."""
    folder = Path(app.srcdir) / "api"
    folder.mkdir(exist_ok=True)
    pages = page_names()
    home = homes(pages)
    texts = {module_name: api_page(module_name, names, home)
             for module_name, names in pages.items()}
    texts["internals"] = "\n".join([
        "Internals", "=========", "",
        "Modules whose classes and functions appear in the signatures and docstrings of the",
        "public API, documented here for those references; they may change without notice.",
        "", ".. toctree::", "   :maxdepth: 1", "", *(f"   {m}" for m in SUPPORT_MODULES), ""])
    for module_name, text in texts.items():
        path = folder / f"{module_name}.rst"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


# --- the leaderboard -------------------------------------------------------------------

def leaderboard_rows() -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first table of ``benchmarks/LEADERBOARD.md``."""
    lines = LEADERBOARD.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| system |"))
    header = [c.strip() for c in lines[start].strip("|").split(" | ")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != len(header):
            raise ValueError(f"{LEADERBOARD}: a row with {len(cells)} cells: {line[:80]}")
        rows.append(cells)
    return header, rows


def inline(text: str) -> list[nodes.Node]:
    """Markdown cell text as docutils nodes: `code`, **bold**, *italic*, <br> as ' · '."""
    text = text.replace("<br>", " · ")
    out: list[nodes.Node] = []
    for part in re.split(r"(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*)", text):
        if part.startswith("`"):
            out.append(nodes.literal(part[1:-1], part[1:-1]))
        elif part.startswith("**"):
            out.append(nodes.strong(part[2:-2], part[2:-2]))
        elif part.startswith("*") and len(part) > 1:
            out.append(nodes.emphasis(part[1:-1], part[1:-1]))
        elif part:
            out.append(nodes.Text(part))
    return out


class Leaderboard(SphinxDirective):
    """``{leaderboard}`` with ``:system:`` (a regular expression matched against the whole
    system cell; all rows without it) and ``:fields:`` (which columns, by header, separated
    by ``;``; default: all). An option that matches no row or column is an error, so a
    renamed row breaks the build."""

    option_spec = {"system": directives.unchanged, "fields": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(LEADERBOARD))
        header, rows = leaderboard_rows()
        pattern = self.options.get("system")
        if pattern:
            rows = [r for r in rows if re.fullmatch(pattern, r[0])]
        if not rows:
            raise self.error(f"no row of benchmarks/LEADERBOARD.md has a system matching "
                             f"{pattern!r}")
        wanted = [f.strip() for f in self.options.get("fields", "").split(";") if f.strip()]
        unknown = set(wanted) - set(header)
        if unknown:
            raise self.error(f"no column {sorted(unknown)} in benchmarks/LEADERBOARD.md")
        columns = [header.index(f) for f in wanted] if wanted else range(1, len(header))
        out = []
        for row in rows:
            title = nodes.paragraph("", "", nodes.strong("", "", *inline(row[0])),
                                    nodes.Text(" — "), *inline(row[1]))
            pairs = [(header[i], row[i]) for i in columns if i not in (0, 1)]
            out.append(nodes.container("", title, two_columns(pairs),
                                       classes=["leaderboard-row"]))
        return out


def two_columns(pairs: list[tuple[str, str]]) -> nodes.table:
    """A table of ``(name, markdown cell)`` rows, without a header."""
    group = nodes.tgroup(cols=2)
    group += nodes.colspec(colwidth=22)
    group += nodes.colspec(colwidth=78)
    body = nodes.tbody()
    for name, cell in pairs:
        body += nodes.row("", nodes.entry("", nodes.paragraph("", name)),
                          nodes.entry("", nodes.paragraph("", "", *inline(cell))))
    group += body
    return nodes.table("", group, classes=["leaderboard-table"])


# --- the data-flow diagram -------------------------------------------------------------

FLOW = [("data", "Corpus, Vocab\noracle samples"), ("task", "contexts, action\nmasks, groups"),
        ("policy", "Policy protocol:\nstep, log_prob"), ("rollout", "Rollout: tokens,\nlog-probs"),
        ("reward", "Reward /\nLearnedReward"), ("agent", "Agent.update:\nloss, one step"),
        ("run loop", "checkpoints,\nmetrics.jsonl"), ("evaluation", "textrl evaluate\n/ compare")]


def draw_dataflow(path: Path) -> None:
    """The data flow of the concepts page as an SVG: eight boxes in two rows and the d-step
    (the learned reward's update from real and generated sentences)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.2)
    ax.axis("off")
    xs = [0.2, 2.7, 5.2, 7.7]
    spots = [(x, 2.6) for x in xs] + [(x, 0.4) for x in reversed(xs)]
    w, h = 2.0, 1.2
    for (name, what), (x, y) in zip(FLOW, spots, strict=True):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04,rounding_size=0.12",
                                    fc="#eef3fb", ec="#3465a4", lw=1.4))
        ax.text(x + w / 2, y + h - 0.3, name, ha="center", va="center", weight="bold",
                fontsize=11)
        ax.text(x + w / 2, y + 0.42, what, ha="center", va="center", fontsize=8.5)
    arrow = dict(arrowstyle="-|>", color="#333333", lw=1.3, mutation_scale=14)
    for a, b in zip(spots, spots[1:], strict=False):
        if a[1] == b[1]:
            left = a[0] < b[0]
            start = (a[0] + (w if left else 0), a[1] + h / 2)
            end = (b[0] + (0 if left else w), b[1] + h / 2)
        else:  # down the right-hand side
            start, end = (a[0] + w / 2, a[1]), (b[0] + w / 2, b[1] + h)
        ax.annotate("", end, start, arrowprops=arrow)
    # The d-step: real sentences (data) and generated ones train a learned reward; drawn
    # through the gap between the rows, into the reward's top.
    red = "#a40000"
    x0, x1, y = spots[0][0] + w / 2, spots[4][0] + 0.45, 2.1
    ax.plot([x0, x0, x1], [spots[0][1], y, y], color=red, lw=1.3, ls="--")
    ax.annotate("", (x1, spots[4][1] + h), (x1, y),
                arrowprops=dict(arrow, color=red, ls="--"))
    ax.text((x0 + x1) / 2, y + 0.08, "d-step: LearnedReward.update(real, fake)", color=red,
            fontsize=9, ha="center", va="bottom")
    fig.savefig(path, format="svg", bbox_inches="tight")
    plt.close(fig)


def write_generated(app) -> None:
    folder = Path(app.srcdir) / "_generated"
    folder.mkdir(exist_ok=True)
    draw_dataflow(folder / "dataflow.svg")
    write_api(app)


def plain_flag_help(app, what, name, obj, options, lines) -> None:
    """A config dataclass's field docstring is its flag's ``--help`` text, plain text: its
    ``*``, ``|`` and backslashes are escaped, single backticks made code, for reST."""
    if what != "attribute" or any("``" in line for line in lines):
        return
    owner_name, _, _ = name.rpartition(".")
    module_name, _, owner = owner_name.rpartition(".")
    try:
        parent = getattr(importlib.import_module(module_name), owner)
    except (ImportError, AttributeError, ValueError):
        return
    if not dataclasses.is_dataclass(parent):
        return
    for i, line in enumerate(lines):
        line = re.sub(r"([\\*|])", r"\\\1", line)
        lines[i] = re.sub(r"`([^`]+)`", r"``\1``", line)


def setup(app):
    app.connect("builder-inited", write_generated)
    app.connect("autodoc-process-docstring", plain_flag_help)
    app.add_directive("leaderboard", Leaderboard)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
