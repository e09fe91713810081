"""Where the benchmarks find ``../shared/data``: the folder beside the repository that holds the
SeqGAN authors' oracle file, Penn Treebank and the Chinese quatrains (never copied into it)."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared/data"
ORACLE = SHARED_DATA / "seqgan_oracle/target_params_py3.pkl"
PTB = SHARED_DATA / "ptb"
POEMS = SHARED_DATA / "poems/shi.txt"
