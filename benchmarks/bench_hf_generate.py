"""The Hugging Face policy sampled by textrl's loop against ``model.generate`` (issue 26):
the same tiny GPT-2 (built from a config, untrained), the same batch and length, both with the
KV cache, both drawing from the full softmax (``top_k=0``: GPT-2's generation defaults would
otherwise cut to the top 50), every sentence to full length (no EOS: a random model's EOS
would end the two loops at different steps). Goal: textrl's loop at least as fast.

textrl's loop (``textrl.models.generation.generate``) runs the policy's ``step``; the policy
keeps its cache as plain tensors and wraps them in a fresh ``DynamicCache`` every step, so a
state held elsewhere is never changed (``textrl/models/hf.py``).

    python benchmarks/bench_hf_generate.py --threads 2 --out benchmarks/out/transformer/hf_generate.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from bench_speed import best_time
from provenance import provenance

from textrl.models.generation import generate
from textrl.models.hf import HFCausalLM, HFLMConfig

VOCAB, DIM, LAYERS, HEADS = 5000, 64, 2, 4


def tiny_gpt2(max_len: int) -> HFCausalLM:
    import transformers

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=LAYERS, n_embd=DIM, n_head=HEADS,
                                     n_positions=max_len + 1, vocab_size=VOCAB,
                                     bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    return HFCausalLM(HFLMConfig(config.to_json_string(), vocab_size=VOCAB, start_id=0,
                                 eos_id=None, pad_id=0), model).eval()


def hf_generate(policy: HFCausalLM, n: int, length: int, batch: int) -> torch.Tensor:
    """``model.generate(do_sample=True, use_cache=True)`` from the start token, ``batch`` rows
    at a time: ``[n, length]`` sampled ids."""
    parts = []
    for lo in range(0, n, batch):
        rows = min(batch, n - lo)
        start = torch.zeros(rows, 1, dtype=torch.long)
        out = policy.model.generate(start, attention_mask=torch.ones_like(start),
                                    do_sample=True, use_cache=True, max_new_tokens=length,
                                    min_new_tokens=0, top_k=0, top_p=1.0, temperature=1.0,
                                    eos_token_id=None, pad_token_id=0)
        parts.append(out[:, 1:])
    return torch.cat(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--lengths", type=int, nargs="+", default=[20, 51])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with torch.inference_mode():
        for length in args.lengths:
            policy = tiny_gpt2(length)
            ours = best_time(lambda p=policy, n=length: generate(
                p, args.sentences, n, generator=torch.Generator().manual_seed(0),
                chunk=args.batch), args.repeats, warmup=1)
            theirs = best_time(lambda p=policy, n=length: hf_generate(
                p, args.sentences, n, args.batch), args.repeats, warmup=1)
            drawn = generate(policy, args.batch, length, chunk=args.batch,
                             generator=torch.Generator().manual_seed(0))
            rows.append({"length": length, "sentences": args.sentences, "batch": args.batch,
                         "textrl_s": ours, "generate_s": theirs, "generate_over_textrl": theirs / ours,
                         "textrl_full_length": bool((drawn.lengths == length).all())})
            print(json.dumps(rows[-1]), flush=True)
    result = {"model": {"arch": "gpt2", "vocab": VOCAB, "dim": DIM, "layers": LAYERS,
                        "heads": HEADS}, "rows": rows, "provenance": provenance(args.threads)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
