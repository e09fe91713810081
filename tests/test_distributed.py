"""Two gloo processes on the CPU: one MLE step, one policy-gradient and one actor-critic
g-step, one discriminator d-step and one step of each group algorithm (GRPO, RLOO,
REINFORCE++ with their KL terms), each on its process's share, give the parameters one
process gets from the whole global batch (the gradient sync lives in the one optimiser step:
no agent or reward names it); and the CLI trains and resumes a run the way torchrun starts
it."""

import json
import os
import socket

import pytest
import torch
from torch import distributed as dist
from torch import multiprocessing

from textrl import distributed
from textrl.agents import (
    GRPO,
    RLOO,
    ActorCritic,
    BehaviourCloning,
    PolicyGradient,
    ReferenceKL,
    ReinforcePP,
    Rollout,
)
from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import CNNDiscriminator

WORLD = 2


def global_batch():
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(1, 12, (8, 6), generator=g)
    lengths = torch.tensor([6, 3, 5, 6, 1, 4, 6, 2])  # unequal token counts per process
    rewards = torch.rand(8, 6, generator=g)
    real = (torch.randint(1, 12, (4, 6), generator=g), torch.full((4,), 6))
    fake = (torch.randint(1, 12, (4, 6), generator=g), torch.tensor([6, 4, 5, 2]))
    return tokens, lengths, rewards, real, fake


def four_updates(part=lambda n: slice(0, n)):
    """MLE, PG, A2C and discriminator updates from seeded models on ``part`` of the global
    batch: the parameters after them, and the gradient of each update (Adam's step hardly
    depends on the gradient's scale, so the gradients are what shows a wrongly scaled
    loss)."""
    tokens, lengths, rewards, real, fake = global_batch()
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=12, emb_dim=6, hidden_dim=5))
    discriminator = CNNDiscriminator(12, emb_dim=4, filter_sizes=(2, 3), num_filters=(3, 3),
                                     dropout=0.0)
    a2c = ActorCritic(policy, lr=0.1, grad_clip=1e9, entropy_coef=0.1)
    rows, half = part(len(tokens)), part(len(real[0]))
    rollout = Rollout(tokens, lengths, torch.zeros(8, 6), rewards)
    grouped = rollout._replace(group=torch.arange(8) // 2)
    out = {}
    for name, module, update in (
            ("mle", policy, lambda: BehaviourCloning(policy, lr=0.1, grad_clip=1e9).update(
                tokens[rows], lengths[rows])),
            ("pg", policy, lambda: PolicyGradient(policy, lr=0.1, grad_clip=1e9).update(
                rollout.rows(torch.arange(8)[rows]))),
            ("a2c", a2c.value_head, lambda: a2c.update(rollout.rows(torch.arange(8)[rows]))),
            ("d", discriminator, lambda: discriminator.update(
                (real[0][half], real[1][half]), (fake[0][half], fake[1][half]))),
            # group algorithms: each process holds whole groups; batch-wide statistics (the
            # batch std, REINFORCE++'s whitening, token counts, the KL) are the global batch's
            ("grpo", policy, lambda: GRPO(policy, lr=0.1, grad_clip=1e9, loss_type="grpo",
                                          kl=ReferenceKL(policy, 0.1, "loss")).update(
                grouped.rows(torch.arange(8)[rows]))),
            ("grpo-dapo", policy, lambda: GRPO(policy, lr=0.1, grad_clip=1e9, scale_rewards="batch"
                                               ).update(grouped.rows(torch.arange(8)[rows]))),
            # without groups the global batch is the group, wherever its rows are
            ("grpo-batch", policy, lambda: GRPO(policy, lr=0.1, grad_clip=1e9).update(
                rollout.rows(torch.arange(8)[rows]))),
            ("rloo", policy, lambda: RLOO(policy, lr=0.1, grad_clip=1e9,
                                          kl=ReferenceKL(policy, 0.1, "reward")).update(
                grouped.rows(torch.arange(8)[rows]))),
            ("rpp", policy, lambda: ReinforcePP(policy, lr=0.1, grad_clip=1e9, group_baseline=True,
                                                kl=ReferenceKL(policy, 0.1, "reward")).update(
                grouped.rows(torch.arange(8)[rows])))):
        update()
        out |= {f"{name} grad {k}": p.grad.clone() for k, p in module.named_parameters()}
    return (out | policy.state_dict() | {f"v.{k}": v for k, v in a2c.value_head.state_dict().items()}
            | {f"d.{k}": v for k, v in discriminator.state_dict().items()})


def _worker(rank, init, out):
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD)
    try:
        torch.save(four_updates(distributed.share), f"{out}/rank{rank}.pt")
    finally:
        distributed.stop()


def test_two_processes_give_the_one_process_parameters(tmp_path):
    multiprocessing.start_processes(_worker, args=(f"file://{tmp_path}/init", str(tmp_path)),
                                    nprocs=WORLD, start_method="spawn")
    expected = four_updates()
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            torch.testing.assert_close(got[name], value, rtol=1e-5, atol=1e-6, msg=name)
    # The updates moved the weights: equal parameters are not equal initial parameters.
    torch.manual_seed(0)
    start = RecurrentLM(LMConfig(vocab_size=12, emb_dim=6, hidden_dim=5)).state_dict()
    assert not torch.allclose(start["head.weight"], expected["head.weight"])


def test_shares_cover_a_batch_once(monkeypatch):
    assert distributed.share(7) == slice(0, 7) and distributed.world() == 1
    monkeypatch.setattr(distributed, "world", lambda: 3)
    owned = []
    for rank in range(3):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        part = distributed.share(10)
        owned += list(range(10))[part]
        assert part.stop - part.start in (3, 4)
    assert owned == list(range(10))


def _cli_worker(rank, port, argv_list, out):  # what torchrun sets, then `textrl ...`
    os.environ |= {"WORLD_SIZE": str(WORLD), "RANK": str(rank), "LOCAL_RANK": str(rank),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
    from textrl.cli import run

    for i, argv in enumerate(argv_list):
        codes = []
        try:
            codes.append(run(argv))
        except SystemExit as exc:  # argparse
            codes.append(exc.code)
        (out / f"code{rank}-{i}").write_text(str(codes[0]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("recipe", ["mle", "seqgan", "grpo"])
def test_the_cli_trains_and_resumes_in_two_processes(recipe, mle_run, tmp_path):
    out = tmp_path / "run"
    common = ["--device", "cpu", "--quiet", "--out", str(out), "--eval-samples", "16"]
    if recipe == "mle":
        first = ["train", "mle", "--oracle", "random:1", "--n-train", "64", "--n-valid", "16",
                 "--n-test", "16", "--batch-size", "16", "--epochs", "1", *common]
        resume = ["train", "mle", "--resume", "--epochs", "2", *common]
    elif recipe == "grpo":  # each process's share is one group (the whole batch of a task
        # without prompts), so no statistic crosses processes but the batch-wide ones
        first = ["train", "grpo", "--task", "unconditional", "--reward", "oracle", "--init",
                 str(mle_run), "--iterations", "1", "--batch-size", "8", "--kl-coef", "0.1",
                 *common]
        resume = ["train", "grpo", "--resume", "--iterations", "2", *common]
    else:
        first = ["train", "seqgan", "--init", str(mle_run), "--iterations", "1", "--n-rollouts",
                 "2", "--batch-size", "8", "--d-pretrain-steps", "1", "--d-steps", "1",
                 "--d-epochs", "1", "--d-samples", "32", "--d-batch-size", "16", *common]
        resume = ["train", "seqgan", "--resume", "--iterations", "2", *common]
    (tmp_path / "r").mkdir()
    for argv, folder in ((first, tmp_path), (resume, tmp_path / "r")):
        multiprocessing.start_processes(_cli_worker, args=(free_port(), [argv], folder),
                                        nprocs=WORLD, start_method="spawn")
    for folder in (tmp_path, tmp_path / "r"):
        assert [(folder / f"code{r}-0").read_text() for r in range(WORLD)] == ["0", "0"]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    unit = "epoch" if recipe == "mle" else "iteration"
    assert [r[unit] for r in records if r[unit] > 0] == [1, 2]  # one writer, no duplicates
    launch = (out / "config.yaml").read_text()
    assert "processes: 2" in launch and "stream_seeds" in launch
