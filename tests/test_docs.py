"""Every public class and function has a docstring, so the API reference (docs/api, built
from the ``__all__`` lists of these modules by docs/_ext/textrl_docs.py) documents it.

A dataclass without one counts as lacking it (Python fills in its signature). The test
names every object that lacks one; ``KNOWN`` lists those awaiting a docstring in files being
changed elsewhere, and the test fails once one of them has it, so the list only shrinks.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import textrl

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ["textrl", "textrl.data", "textrl.models", "textrl.tasks", "textrl.envs",
                  "textrl.rewards", "textrl.agents", "textrl.agents.sb3", "textrl.training",
                  "textrl.recipes", "textrl.metrics", "textrl.oracle", "textrl.errors"]
KNOWN: set[str] = set()


def public_objects(module_name: str) -> dict[str, object]:
    """``{module.name: object}`` of the classes and functions a module makes public: its
    ``__all__``, or (without one) those defined in it."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [
        n for n, obj in vars(module).items() if not n.startswith("_")
        and getattr(obj, "__module__", None) == module_name]
    return {f"{module_name}.{n}": getattr(module, n) for n in names
            if inspect.isclass(getattr(module, n)) or inspect.isroutine(getattr(module, n))}


def has_docstring(obj: object) -> bool:
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return False
    # A dataclass or NamedTuple without a docstring gets its signature as one.
    return not (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))


def test_every_public_object_has_a_docstring():
    lacking = sorted(name for module in PUBLIC_MODULES
                     for name, obj in public_objects(module).items()
                     if not has_docstring(obj) and name not in KNOWN)
    assert not lacking, ("public objects without a docstring (the API reference shows them "
                         "bare): " + ", ".join(lacking))


def test_the_known_list_only_shrinks():
    objects = {name: obj for module in PUBLIC_MODULES
               for name, obj in public_objects(module).items()}
    stale = sorted(name for name in KNOWN if name not in objects or has_docstring(objects[name]))
    assert not stale, f"remove from KNOWN in tests/test_docs.py (documented or gone): {stale}"


def test_every_module_with_an_all_list_is_in_the_reference():
    with_all = {m.name for m in pkgutil.walk_packages(textrl.__path__, "textrl.")
                if not m.name.endswith("__main__")
                and hasattr(importlib.import_module(m.name), "__all__")}
    missing = sorted((with_all | {"textrl"}) - set(PUBLIC_MODULES))
    assert not missing, f"add to PUBLIC_MODULES here and API_MODULES in docs/_ext: {missing}"


def test_the_site_documents_these_modules():
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import textrl_docs
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    assert set(textrl_docs.API_MODULES) == set(PUBLIC_MODULES)


# The keys Read the Docs' v2 config schema allows (readthedocs/readthedocs.org,
# readthedocs/rtd_tests/fixtures/spec/v2/schema.json): a misspelt key fails the build there,
# and no network reaches Read the Docs from here to find out.
RTD_KEYS = {
    (): {"version", "formats", "conda", "build", "python", "sphinx", "mkdocs", "submodules",
         "search"},
    ("build",): {"os", "tools", "jobs", "apt_packages", "commands"},
    ("build", "jobs"): {"post_checkout", "pre_system_dependencies", "post_system_dependencies",
                        "pre_create_environment", "create_environment",
                        "post_create_environment", "pre_install", "install", "post_install",
                        "pre_build", "build", "post_build"},
    ("sphinx",): {"builder", "configuration", "fail_on_warning"},
    ("python",): {"install"},
}
RTD_OS = {"ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04", "ubuntu-lts-latest"}


def test_read_the_docs_builds_as_ci_does():
    import tomllib
    import yaml

    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    for path, allowed in RTD_KEYS.items():
        section = config
        for key in path:
            section = section.get(key, {})
        assert set(section) <= allowed, f"{'.'.join(path) or 'top level'}: {set(section) - allowed}"
    assert config["version"] == 2 and config["build"]["os"] in RTD_OS
    # warnings are errors there as in CI (`sphinx-build -W -n`; nitpicky is set in conf.py)
    assert config["sphinx"]["fail_on_warning"] is True
    assert (ROOT / config["sphinx"]["configuration"]).is_file()
    ci_build = next(line.split() for line in (ROOT / ".ci/run").read_text().splitlines()
                    if line.startswith("sphinx-build"))
    assert {"-W", "-n"} <= set(ci_build)
    assert re.search(r"^nitpicky = True$", (ROOT / "docs/conf.py").read_text(), re.M)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    installed = {extra for install in config["python"]["install"]
                 for extra in install.get("extra_requirements", [])}
    assert "docs" in installed and installed <= set(extras)
    # without the CPU index first, pip resolves torch to the multi-GB CUDA build
    assert any("download.pytorch.org/whl/cpu" in job for job in config["build"]["jobs"]["pre_install"])
