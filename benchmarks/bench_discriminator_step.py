"""SeqGAN's discriminator step against its FLOP floor (issue 29's CPU goal: at most 2x).

One d-step is ``CNNDiscriminator.update`` exactly as ``AdversarialTrainer.d_phase`` calls it:
``--d-batch-size / 2`` real and as many generated sentences (32 + 32 at the ``paper``
preset), forward, binary cross-entropy plus the L2 penalty on the output layer, backward and
the Adam step. The discriminator and its optimiser are built the way the recipe builds them
(``reward_component(...).build`` on ``recipe_config("seqgan", "paper")``'s reward settings:
embedding 64, filter widths 1..10, 15, 20 with 100, 200 x 4, 100 x 5, 160, 160 filters, 1,720
features, highway, dropout 0.25, L2 0.2, Adam 1e-4), over SeqGAN's oracle shape (V = 5,000,
every sentence 20 tokens). The tokens are seeded random ids: the step's cost does not depend
on which tokens. Best of ``--repeats`` steps after warm-up, on one fixed batch.

The floor is the step's convolution and linear FLOPs over the sgemm rate (1024^3) measured in
this process at the same thread count. Per sentence of L = 20 tokens, embedding E = 64, F =
sum(n_w) = 1,720 features, forward:

    convolutions  sum_w 2 (L - w + 1) n_w w E      = 15,180,800  (filter width w, n_w filters)
    highway       2 x 2 F^2                        = 11,833,600  (transform and gate, F x F)
    output layer  2 F                              =      3,440
    forward       27,017,840

and backward twice forward, total 3 x forward x batch = 5.19 GFLOP at batch 64. Backward is
2x for every layer: each needs its weight gradient and its input gradient, the convolutions'
too, since their input is the embedding whose table is trained (the input ids themselves
need none). Not counted (no matmul FLOPs): the embedding lookup and its gradient (an index
add), the padding mask, ReLU, max-over-time pooling, the highway's sigmoid and gating,
dropout, the loss, and Adam's update of the ~7.0M parameters (memory-bound, in the profile).

A torch.profiler (CPU) run of ``--profile-steps`` more steps gives the top 15 ops by self
time, and the profiled time split by where each op was called from: convolution (forward
and backward), linear (highway and output layer, forward and backward), optimizer (Adam's
step and zero_grad), other ops (embedding, mask, ReLU, pooling, gating, dropout, loss), and
outside ops (the profiled wall time no op covers: Python and the autograd engine's own
work), with convolution against everything else as two numbers. The step is timed a second
time with PyTorch's default CPU Adam (the per-tensor loop textrl's discriminators used before
``textrl.optimization.adam``; the weights are bit-identical), in the same process.

    python benchmarks/bench_discriminator_step.py --threads 2 --out benchmarks/out/d_step/threads2.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_speed import best_time, matmul_flops
from provenance import provenance

from textrl.recipes import recipe_config
from textrl.recipes.components import reward_component

VOCAB, LENGTH = 5000, 20  # SeqGAN's oracle: Vocab.integers(5000), every sentence 20 tokens
CATEGORIES = ("convolution", "linear", "optimizer", "other_ops")


def discriminator(preset: str = "paper"):
    """The preset's discriminator (and its Adam), built as the seqgan recipe builds it, and the
    run config it came from."""
    config = recipe_config("seqgan", preset)
    torch.manual_seed(config.seed)
    reward = reward_component(config.choices.reward).build(config.parts["reward"], vocab_size=VOCAB)
    return reward, config


def step_flops(filter_sizes, num_filters, emb_dim: int, length: int, batch: int) -> dict:
    """Convolution and linear FLOPs of one d-step on ``batch`` sentences of ``length``
    (2 FLOPs a multiply-add; backward twice forward)."""
    features = sum(num_filters)
    conv = sum(2 * (length - w + 1) * n * w * emb_dim
               for w, n in zip(filter_sizes, num_filters, strict=True))
    highway = 2 * 2 * features * features
    output = 2 * features
    forward = conv + highway + output
    return {"conv_forward_per_sentence": conv, "highway_forward_per_sentence": highway,
            "output_forward_per_sentence": output, "forward_per_sentence": forward,
            "step": 3 * forward * batch}


def category(event) -> str:
    """Where a profiled op was called from: itself or its nearest enclosing op that names a
    convolution, a linear map or the optimiser (Adam's elementwise ops run inside
    ``Optimizer.step``; a backward's ops inside its autograd node)."""
    while event is not None:
        name = event.name.lower()
        if "conv" in name:
            return "convolution"
        if name.startswith("optimizer."):
            return "optimizer"
        if "addmm" in name or "linear" in name:  # both layers are nn.Linear on [B, F]: addmm
            return "linear"
        event = event.cpu_parent
    return "other_ops"


def profile(step, steps: int) -> dict:
    """``steps`` calls of ``step`` under the CPU profiler: the top 15 ops by self time and the
    time per step in each category, in seconds."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - t0
    seconds = dict.fromkeys(CATEGORIES, 0.0)
    for event in prof.events():
        seconds[category(event)] += event.self_cpu_time_total / 1e6
    seconds["outside_ops"] = max(wall - sum(seconds.values()), 0.0)
    per_step = {key: value / steps for key, value in seconds.items()}
    conv = per_step["convolution"]
    return {"steps": steps, "profiled_step_s": wall / steps, "category_s_per_step": per_step,
            "category_share": {key: value * steps / wall for key, value in per_step.items()},
            "convolution_s_per_step": conv, "everything_else_s_per_step": wall / steps - conv,
            "convolution_share": conv * steps / wall,
            "everything_else_share": 1 - conv * steps / wall,
            "top_self_time": prof.key_averages().table(sort_by="self_cpu_time_total",
                                                       row_limit=15).splitlines()}


def measure(repeats: int, profile_steps: int, preset: str = "paper") -> dict:
    disc, config = discriminator(preset)
    half = max(config.d_batch_size // 2, 1)  # d_phase: half real, half generated
    g = torch.Generator().manual_seed(0)
    lengths = torch.full((half,), LENGTH)
    real = (torch.randint(VOCAB, (half, LENGTH), generator=g), lengths)
    fake = (torch.randint(VOCAB, (half, LENGTH), generator=g), lengths)

    def step():
        return disc.update(real, fake)

    seconds = best_time(step, repeats, warmup=3)
    # the same step with PyTorch's default CPU Adam (the per-tensor loop textrl used before
    # textrl.optimization.adam; identical weights), timed in the same process
    multi_tensor = disc.optimizer
    disc.optimizer = torch.optim.Adam(disc.parameters(), lr=config.d_lr, foreach=False)
    per_tensor_seconds = best_time(step, repeats, warmup=3)
    disc.optimizer = multi_tensor
    flops = step_flops(config.d_filter_sizes, config.d_num_filters, config.d_emb_dim, LENGTH,
                       2 * half)
    rate = matmul_flops(1024, 1024, 1024, 10)
    floor = flops["step"] / rate
    return {"preset": preset, "batch": 2 * half, "real": half, "generated": half,
            "length": LENGTH, "vocab": VOCAB, "emb_dim": config.d_emb_dim,
            "filter_sizes": list(config.d_filter_sizes), "num_filters": list(config.d_num_filters),
            "features": sum(config.d_num_filters), "dropout": config.d_dropout, "l2": config.d_l2,
            "lr": config.d_lr, "optimizer": type(disc.optimizer).__name__,
            "parameters": sum(p.numel() for p in disc.parameters()),
            "repeats": repeats, "step_s": seconds, "flops": flops, "sgemm_flop_per_s": rate,
            "floor_s": floor, "over_floor": seconds / floor,
            "per_tensor_adam_step_s": per_tensor_seconds,
            "per_tensor_adam_over_floor": per_tensor_seconds / floor,
            "step_flop_per_s": flops["step"] / seconds,
            "profile": profile(step, profile_steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--preset", default="paper", choices=("paper", "cpu"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads} | measure(args.repeats, args.profile_steps, args.preset)
    result["provenance"] = provenance(args.threads)
    print(json.dumps(result), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
