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
