from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORACLE_PICKLE = SHARED_DATA / "seqgan_oracle" / "target_params_py3.pkl"
POEMS = SHARED_DATA / "poems" / "shi.txt"

needs_oracle_file = pytest.mark.skipif(
    not ORACLE_PICKLE.exists(), reason=f"SeqGAN oracle file not found at {ORACLE_PICKLE}")


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)


@pytest.fixture
def text_file(tmp_path):
    def write(lines, name="data.txt"):
        path = tmp_path / name
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path
    return write


@pytest.fixture
def sentences():
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log", "big", "small", "red"]
    g = torch.Generator().manual_seed(1)
    return [" ".join(words[i] for i in torch.randint(len(words), (int(n),), generator=g))
            for n in torch.randint(2, 8, (60,), generator=g)]


@pytest.fixture(scope="session")
def mle_run(tmp_path_factory):
    """A one-epoch MLE run on a small random oracle: the start of the RL tests' runs."""
    from textrl.recipes import recipe_config, train

    out = tmp_path_factory.mktemp("runs") / "mle"
    train(recipe_config("mle", None, {"oracle": "random:1", "n_train": 64, "n_valid": 32,
                                      "n_test": 32, "epochs": 1, "eval_samples": 32,
                                      "batch_size": 32}), out, progress=False)
    return out
