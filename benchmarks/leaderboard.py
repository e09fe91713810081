"""The leaderboard: textrl against the papers, one row per system, dataset and metric,
generated from the result files under benchmarks/out and the papers' numbers in
benchmarks/papers.yaml.

    python -m benchmarks.leaderboard          # or: python benchmarks/leaderboard.py

writes benchmarks/LEADERBOARD.md. No textrl number is typed here: each row names the result
files, the records in them and the field it reports, and the script reads the numbers. A row
whose files or records are missing says "no artifact" instead of a number. Before the page is
written, every number is read once more from the file it came from (`check_traces`); the page
is not written if one is not found there.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from textrl.files import COMPRESSED, kept, read_kept

try:  # as a module (python -m benchmarks.leaderboard) or as a script
    from benchmarks.leaderboard_rows import ROWS, Row, Source
except ImportError:
    from leaderboard_rows import ROWS, Row, Source

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
PAPERS = ROOT / "benchmarks/papers.yaml"
PAGE = ROOT / "benchmarks/LEADERBOARD.md"

Traced = tuple[float, Path, str]  # a number, the file it was read from, its field there


@dataclass
class Measured:
    records: list[tuple[Path, dict]]  # (results file, record), one per seed
    last: list[list[Traced]]  # per field of the source, one per seed
    best: list[Traced]  # one per run whose log was found
    evaluations: list[int]  # logged evaluations per run


def read_text(path: Path) -> str:
    """The text of a file under benchmarks/out: ``path`` or, where only that is kept,
    ``path.xz`` or ``path.gz``, read decompressed. Every reader of a kept log reads it here."""
    return read_kept(kept(path))


def load(path: Path) -> list[dict]:
    """The records of a JSON-lines file, or the one object of a JSON file (either compressed)."""
    text = read_text(path)
    plain = path.with_suffix("") if path.suffix in COMPRESSED else path
    if plain.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def field(record: dict, name: str) -> object:
    """A record's field; a dotted name reads into nested objects ("evaluation.nll_test"),
    None where a step is missing."""
    for key in name.split("."):
        record = record.get(key) if isinstance(record, dict) else None
    return record


def run_name(record: dict) -> str:
    """The run directory a record describes, by the naming each benchmark script uses."""
    name = record.get("run") or "{}-seed{}".format(
        record.get("recipe") or record.get("variant") or record.get("model"), record.get("seed"))
    return name.removesuffix("-scores")


def run_dir(results: Path, record: dict) -> Path | None:
    """The run's directory beside its results file or, for a run merged in from another
    folder (ss_authors_seed2/ into ss_authors/results.jsonl), in a sibling folder."""
    name = run_name(record)
    siblings = results.parent.parent.glob(f"{results.parent.name}?*")
    folders = [results.parent, *sorted(f for f in siblings  # run.py --force's reruns are apart
                                       if not re.fullmatch(r".*-rerun\d+", f.name))]
    return next((f / name for f in folders if kept(f / name / "metrics.jsonl").exists()), None)


def best_logged(run: Path, field: str) -> tuple[Traced, int] | None:
    """``((lowest value of field the run logged after step 0, its log, field), evaluations)``;
    the log is ``metrics.jsonl`` or, in a kept run, ``metrics.jsonl.xz`` (or ``.gz``)."""
    log = kept(run / "metrics.jsonl")
    values = [r[field] for r in load(log) if field in r
              and (r.get("iteration") or r.get("epoch") or 0) > 0]
    return ((min(values), log, field), len(values)) if values else None


def measure(out: Path, source: Source) -> Measured:
    found: dict[tuple[Path, str], tuple[Path, dict]] = {}
    for path in sorted(out.glob(source.files)):
        for record in load(path):
            if source.where(record):  # a rerun appended to the same file replaces its run
                found[path, run_name(record)] = (path, record)
    records = list(found.values())
    last = [[(field(r, f), path, f) for path, r in records if field(r, f) is not None]
            for f in source.fields]
    best, evaluations = [], []
    for path, record in records if source.best else []:
        run = run_dir(path, record)
        logged = best_logged(run, source.best) if run else None
        if logged:
            best.append(logged[0])
            evaluations.append(logged[1])
    return Measured(records, last, best, evaluations)


def board(out: Path = OUT) -> list[tuple[Row, Measured, list[tuple[str, Measured]]]]:
    return [(row, measure(out, row.source), [(label, measure(out, s)) for label, s in row.also])
            for row in ROWS]


def check_traces(lines: list[tuple[Row, Measured, list[tuple[str, Measured]]]]) -> list[str]:
    """Every number of the board read again from its file: what is not found there."""
    missing = []
    for _, measured, also in lines:
        for m in [measured, *(m for _, m in also)]:
            for value, path, name in [*(t for f in m.last for t in f), *m.best]:
                if not path.exists() or not any(field(r, name) == value for r in load(path)):
                    missing.append(f"{path}: no record with {name} = {value}")
    return missing


def stats(traced: list[Traced], scale: float) -> tuple[float, float]:
    values = [scale * v for v, _, _ in traced]
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(per_field: list[list[Traced]], scale: float, digits: int) -> str:
    """"mean ± sd (n=N)", fields joined by " / "; "-" for none."""
    if not per_field or not per_field[0]:
        return "-"
    parts = []
    for traced in per_field:
        mean, sd = stats(traced, scale)
        parts.append(f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(traced) > 1 else ""))
    return f"{' / '.join(parts)} (n={len(per_field[0])})"


def best_cell(m: Measured, field: str | None, scale: float, digits: int) -> str:
    if not m.best:
        return "-"
    evaluations = "/".join(map(str, sorted(set(m.evaluations))))
    on = "validation" if "valid" in field else "test metric" if field == "nll_oracle" else field
    return f"{cell([m.best], scale, digits)}, lowest of {evaluations} logged ({on})"


def verdict(row: Row, paper: dict | None, m: Measured) -> str:
    """matches: the paper's number lies within textrl's mean ± 2 sd over seeds; better / worse
    otherwise. Compared with textrl's best logged value where the paper reports its best
    evaluation, else with the end-of-run number."""
    if not m.records:
        return "no artifact"
    if paper is None or paper.get("comparable", True) is False:
        return "not comparable"
    use_best = paper["selection"] == "best" and bool(m.best)
    traced = m.best if use_best else (m.last[0] if m.last else [])
    if not traced:
        return "not run"
    mean, sd = stats(traced, row.source.scale)
    if abs(mean - paper["value"]) <= 2 * sd:
        word = "matches"
    else:
        word = "better" if (mean > paper["value"]) == ("↑" in row.metric) else "worse"
    return word + (" (on best logged)" if use_best else "")


@cache
def first_committed(path: Path) -> str:
    """The date and commit that first added ``path`` to git (a file's mtime here is the
    checkout's, and no pre-provenance log records a date)."""
    try:
        log = subprocess.run(["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%cs %h",
                              "--", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        log = ""
    if not log.strip():
        return "not in git"
    date, commit = log.strip().splitlines()[-1].split()
    return f"first committed {date} ({commit})"


def shown(path: Path, out: Path) -> str:
    """A path as the page links it: relative to benchmarks/ (the page's folder)."""
    return str(path.relative_to(out.parent))


def stamp(p: dict) -> str:
    """A provenance record (benchmarks/provenance.py) in a few words: commit, day, machine."""
    machine = p["device"] if p["device"] != "cpu" else f"{p['cpu']}, {p['cores']} cores"
    return (f"{(p['commit'] or 'commit unknown')[:7]}{'+dirty' if p['dirty'] else ''}, "
            f"{p['date'][:10]}, {machine}, {p['torch_threads']} threads")


def artifact_cell(m: Measured, out: Path) -> str:
    files = sorted({shown(p, out) for p, _ in m.records})
    logs = sorted({re.sub(r"seed\d+", "seed*", shown(p, out)) for _, p, _ in m.best})
    made = list(dict.fromkeys(stamp(r["provenance"]) for _, r in m.records if "provenance" in r))
    old = sorted({p for p, r in m.records if "provenance" not in r})
    if old:  # the machine only where a record happens to name it
        devices = sorted({r["device"] for p, r in m.records if p in old and "device" in r})
        dates = ", ".join(dict.fromkeys(first_committed(p) for p in old))
        made.append(f"pre-provenance, file {dates}, "
                    + (f"device recorded: {', '.join(devices)}" if devices else "machine not recorded"))
    return "<br>".join([*files, *(f"logs: {log}" for log in logs), *made])


def paper_cell(paper: dict | None, digits: int) -> str:
    if paper is None:
        return "-"
    values = paper["value"] if isinstance(paper["value"], list) else [paper["value"]]
    number = " / ".join(f"{v:.{digits}f}" for v in values)
    sd = f" ± {paper['sd']:.{digits}f}" if "sd" in paper else ""
    return f"{number}{sd} ({paper['paper']}, {paper['table']})"


def escape(text: str) -> str:
    return text.replace("|", "\\|")


def render(lines: list[tuple[Row, Measured, list[tuple[str, Measured]]]], papers: dict,
           out: Path = OUT) -> str:
    head = ["# textrl leaderboard", "",
            "Generated by `python -m benchmarks.leaderboard` from the result files under "
            "[`out/`](out) and the papers' numbers in [`papers.yaml`](papers.yaml) (each with its "
            "source); do not edit by hand. The evidence, dated, is the lab notebook "
            "[RESULTS.md](RESULTS.md). Mean ± sd over seeds, n seeds. **End of run**: the last "
            "weights (or the named checkpoint) scored by `textrl evaluate`. **Best logged**: the "
            "best evaluation a run logged during training; on the *test metric* (NLL-oracle) "
            "this selects on the test set, as the SeqGAN authors' scripts picked their Table 1 "
            "numbers, on *validation* it does not. **Verdict**: *matches* when the "
            "paper's number lies within mean ± 2 sd, else *better* / *worse*; compared with best "
            "logged where the paper reports its run's best evaluation, else with the end of "
            "run. **Pre-provenance**: written before result files recorded their commit and "
            "machine; dated by the commit that first added the file.", "",
            "**Reproduce a row**: `python benchmarks/run.py ROW_ID --seeds 0 1 2`, with the id "
            "shown in bold in the command column, runs the row's command for those seeds, after "
            "the rows it needs (the MLE starts first); it resumes what was interrupted, runs only "
            "the seeds not yet recorded and refuses a finished row unless given `--force` (which "
            "reruns it into fresh `*-rerunN` folders, leaving the recorded ones as they are). "
            "`--list` prints the ids, `--dry-run` the commands.", "",
            "| system | dataset · metric | paper | textrl, end of run | textrl, best logged | "
            "what differs from the paper | verdict | id · command | artifact · provenance |",
            "|---|---|---|---|---|---|---|---|---|"]
    body, more = [], []
    for row, m, also in lines:
        paper = papers[row.paper] if row.paper else None
        end = (cell(m.last, row.source.scale, row.digits) if m.records else "**no artifact**")
        if row.scored and m.last:
            end += f", {row.scored}"
        cells = [row.system, f"{row.dataset} · {row.metric}", paper_cell(paper, row.digits), end,
                 best_cell(m, row.source.best, row.source.scale, row.digits), row.differs,
                 verdict(row, paper, m), f"**{row.id}**<br>`{row.command}`",
                 artifact_cell(m, out) if m.records else f"expected: out/{row.source.files}"]
        body.append("| " + " | ".join(escape(c) for c in cells) + " |")
        for label, a in also:
            source = dict(row.also)[label]
            more.append("| " + " | ".join(escape(c) for c in [
                f"{row.system} ({row.dataset})", label,
                cell(a.last, source.scale, row.digits) if a.records else "**no artifact**",
                best_cell(a, source.best, source.scale, row.digits),
                artifact_cell(a, out) if a.records else f"expected: out/{source.files}"]) + " |")
    reruns = ["", "## Reruns and variants of the rows above", "",
              "| row | run | textrl, end of run | textrl, best logged | artifact · provenance |",
              "|---|---|---|---|---|", *more]
    used = sorted({row.paper for row, _, _ in lines if row.paper}, key=list(papers).index)
    setups = ["", "## The papers' setups", "",
              *(f"- `{k}`: {papers[k]['paper']}, {papers[k]['table']}: {papers[k]['setup']}"
                + (f". Not comparable: {papers[k]['why']}." if "why" in papers[k] else "")
                for k in used)]
    plots = sorted(out.glob("compare/*.png")) + sorted(out.glob("*/quality_diversity.png"))
    pictures = ["", "## Quality against diversity", "",
                "Temperature sweeps (`textrl compare`) of the runs above; RESULTS.md says which "
                "runs and samples each plot holds.", "",
                *(f"[<img src=\"{shown(p, out)}\" width=\"280\" alt=\"{shown(p, out)}\">]"
                  f"({shown(p, out)})" for p in plots)]
    return "\n".join([*head, *body, *reruns, *setups, *pictures]) + "\n"


def main() -> None:
    lines = board(OUT)
    missing = check_traces(lines)
    if missing:
        sys.exit("numbers not found in their files:\n" + "\n".join(missing))
    PAGE.write_text(render(lines, yaml.safe_load(PAPERS.read_text())))
    print(f"{PAGE.relative_to(ROOT)}: {len(lines)} rows")


if __name__ == "__main__":
    main()
