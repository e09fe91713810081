"""The README's command blocks (and the site's pages') run, in order, in a fresh folder with
a small copy of the project's data beside it as ``../shared/data``, so the README cannot drift
from the code.

Every ```bash block runs unless the line before it is ``<!-- not run: WHY -->`` (installs, the
tests themselves, GPUs); a ```python block whose first line is ``# NAME.py`` is written to
that file first (the README's reward modules), and so is a block of any language after a
``<!-- file: NAME -->`` line (the README's prompts file). Commands run as written, shrunk with small-run
flags that the recipe accepts (an epoch, two iterations, small samples and evaluations; a
``--resume`` one step further than the run it continues); ``textrl`` runs in this process,
``torchrun`` in two CPU processes. The site's Markdown pages (``docs/**/*.md``) run the same
way, each page in a fresh folder. The tests are marked ``readme``: ``python -m pytest -q -m
readme`` (a few minutes; CI runs them beside the suite).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from textrl.cli import _chosen, main
from textrl.recipes import (
    PRESETS,
    RECIPES,
    choices_of,
    components,
    preset_path,
    read_yaml,
    setting_names,
)
from textrl.training import RolloutConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BLOCK = re.compile(r"(?:<!-- not run: (?P<skip>[^>]*?) -->\n|<!-- file: (?P<file>[\w./-]+) -->\n)?"
                   r"```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
SMALL = {"epochs": 1, "iterations": 2, "pretrain_epochs": 1, "n_train": 200, "n_valid": 50,
         "n_test": 50, "eval_samples": 50, "eval_every": 1, "checkpoint_every": 1,
         "d_pretrain_steps": 1, "d_samples": 64, "d_batch_size": 32}
STEPS = ("epochs", "iterations")  # a --resume asks for one more than the run has
ROLLOUTS = 2  # Monte-Carlo rollouts per prefix, where a run takes any
EVALUATION = {"samples": 64, "importance_samples": 4, "reverse_ppl": 20, "reverse_epochs": 1}
LINES = {"ptb/ptb.train.txt": 300, "ptb/ptb.valid.txt": 60, "ptb/ptb.test.txt": 60,
         "poems/shi.txt": 400}

pytestmark = [pytest.mark.readme,
              pytest.mark.skipif(not SHARED.is_dir(), reason=f"no project data at {SHARED}")]


def runnable_blocks(text: str) -> list[tuple[str, str, str | None]]:
    """``(lang, body, file)`` of every block not marked ``not run``, in order; ``file``: the
    name a ``<!-- file: NAME -->`` line before it gives the block (a data file the commands
    after it read)."""
    return [(m["lang"], m["body"], m["file"]) for m in BLOCK.finditer(text) if m["skip"] is None]


def commands(body: str) -> list[list[str]]:
    """The shell commands of a bash block: continuation lines joined, comments dropped, a
    trailing ``&`` (a job run beside the next) run in turn, ``wait`` skipped."""
    joined = re.sub(r"\\\n", " ", body)
    out = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[-1] == "&":
            words = words[:-1]
        if words and words != ["wait"]:
            out.append(words)
    return out


def flags(values: dict) -> list[str]:
    return [a for k, v in values.items() for a in ("--" + k.replace("_", "-"), str(v))]


def shrunk(argv: list[str], done: dict[str, int]) -> list[str]:
    """``textrl ARGV`` with small-run flags (see the module docstring); ``done`` maps a run
    folder to the steps its shrunk training asked for."""
    if argv[:1] == ["train"]:
        recipe = RECIPES[argv[1]]
        names = setting_names(components(recipe, choices_of(recipe, _chosen(argv[2:]))))
        small = {k: v for k, v in SMALL.items() if k in names}
        if "n_rollouts" in names and rollouts(recipe, argv) > ROLLOUTS:
            small["n_rollouts"] = ROLLOUTS
        out = argv[argv.index("--out") + 1]
        if "--resume" in argv:
            small |= {k: done[out] + 1 for k in STEPS if k in names}
        done[out] = next((v for k, v in small.items() if k in STEPS), 0)
        return argv + flags(small)
    if argv[:1] in (["evaluate"], ["compare"]):
        given = {k for k in EVALUATION if "--" + k.replace("_", "-") in argv}
        extra = {k: v for k, v in EVALUATION.items()
                 if k in given or k == "samples" or (k == "importance_samples"
                                                     and argv[0] == "evaluate")}
        return argv + flags(extra)
    return argv


def rollouts(recipe, argv: list[str]) -> int:
    """The Monte-Carlo rollouts a `textrl train` command asks for: its flag, else its
    preset's, else the default."""
    if "--n-rollouts" in argv:
        return int(argv[argv.index("--n-rollouts") + 1])
    preset = argv[argv.index("--config") + 1] if "--config" in argv else "cpu"
    if recipe.presets is not None and preset in PRESETS:
        return read_yaml(preset_path(recipe, preset)).get("n_rollouts", RolloutConfig.n_rollouts)
    return RolloutConfig.n_rollouts


@pytest.fixture
def workdir(tmp_path):
    """``tmp/repo`` with ``tmp/shared/data`` beside it: the first lines of the text files,
    the oracle file itself."""
    data = tmp_path / "shared" / "data"
    for name, lines in LINES.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        with open(SHARED / name, encoding="utf-8") as source:
            head = [next(source) for _ in range(lines)]
        (data / name).write_text("".join(head), encoding="utf-8")
    (data / "seqgan_oracle").mkdir()
    (data / "seqgan_oracle" / "target_params_py3.pkl").symlink_to(
        SHARED / "seqgan_oracle" / "target_params_py3.pkl")
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


def run(argv: list[str], done: dict[str, int], cwd: Path) -> None:
    if argv[0] == "textrl":
        with pytest.raises(SystemExit) as exit_info:
            main(shrunk(argv[1:], done))
        assert exit_info.value.code == 0, f"README: {shlex.join(argv)}"
    elif argv[0] == "torchrun":
        module = argv.index("-m")
        cmd = [sys.executable, "-m", "torch.distributed.run", *argv[1:module + 2],
               *shrunk(argv[module + 2:], done)]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              env=os.environ | {"OMP_NUM_THREADS": "1"})
        assert proc.returncode == 0, f"README: {shlex.join(argv)}\n{proc.stderr[-3000:]}"
    else:
        pytest.fail(f"README block runs {argv[0]!r}: mark the block <!-- not run: ... --> or "
                    "teach tests/test_readme.py to run it")


def run_page(text: str, workdir: Path) -> int:
    """Run a page's blocks in order in ``workdir``; returns how many commands ran."""
    done: dict[str, int] = {}
    ran = 0
    for lang, body, file in runnable_blocks(text):
        first = body.splitlines()[0] if body else ""
        if file is not None:
            (workdir / file).write_text(body, encoding="utf-8")
        elif lang == "python" and re.fullmatch(r"# [\w/]+\.py", first):
            (workdir / first[2:]).write_text(body, encoding="utf-8")
        elif lang == "bash":
            for argv in commands(body):
                run(argv, done, workdir)
                ran += 1
    return ran


def test_the_readme_runs_as_written(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    assert run_page((ROOT / "README.md").read_text(encoding="utf-8"), workdir) > 30


def doc_pages() -> list[Path]:
    """The site's Markdown pages (docs/) with a command block to run."""
    pages = sorted(p for p in (ROOT / "docs").rglob("*.md")
                   if not {"_build", "auto_tutorials"} & set(p.parts))
    return [p for p in pages
            if any(lang == "bash" for lang, _, _ in runnable_blocks(p.read_text("utf-8")))]


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_the_docs_pages_run_as_written(page, workdir, monkeypatch):
    """Each page in a fresh folder of its own: a page's commands stand on their own."""
    monkeypatch.chdir(workdir)
    assert run_page(page.read_text(encoding="utf-8"), workdir) > 0
