"""The policy registry: the protocol every registered family keeps (one parametrised suite;
the Hugging Face family on a tiny GPT-2 and a tiny Llama, skipped without transformers),
and a family written outside textrl (tests/bow_policy.py) trained from the command line by
MLE, SeqGAN (Monte-Carlo rollouts from its prefix states) and PPO with ``--policy``."""

import io
import json
import sys
from functools import partial
from pathlib import Path

import pytest
import torch

from textrl.agents.base import Rollout, policy_outputs
from textrl.components import Component
from textrl.models import POLICIES, TransformerLM, TransformerPolicyConfig, policy_from_dict
from textrl.oracle import OracleLSTM
from textrl.tasks import TASKS, Unconditional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.bow_policy` imports
from tests.bow_policy import BagOfWordsLM, BowConfig  # noqa: E402
from tests.test_hf import HF_ARCHS, text, tiny_hf, tiny_policy  # noqa: E402, F401 (fixtures)
from tests.test_runs import run_cli, user_error  # noqa: E402

BOW = Component(BowConfig, BowConfig.build, BagOfWordsLM)


@pytest.fixture
def with_bow(monkeypatch):
    monkeypatch.setitem(POLICIES, "bow", BOW)


ROTARY = Component(partial(TransformerPolicyConfig, positions="rotary", tied=True),
                   TransformerPolicyConfig.build, TransformerLM)
DROPOUT = Component(partial(TransformerPolicyConfig, dropout=0.3),  # evaluated in eval mode
                    TransformerPolicyConfig.build, TransformerLM)


def families():
    # the Hugging Face family is built from a saved model: a tiny GPT-2 and a tiny Llama
    hf = [(f"hf-{arch}", POLICIES["hf"]) for arch in HF_ARCHS]
    return [*((n, f) for n, f in POLICIES.items() if n != "hf"), *hf, ("bow", BOW),
            ("transformer-rotary-tied", ROTARY),
            ("transformer-dropout", DROPOUT)]


def policy_and_context(name, family, request):
    """A small policy of ``family`` on a random oracle's corpus (a Hugging Face model: on a
    small text its tokenizer reads), and a context of the first task it can serve (``None``
    for unconditional generation)."""
    if name.startswith("hf-"):
        policy, corpus = tiny_policy(request.getfixturevalue("tiny_hf")[name[3:]],
                                     request.getfixturevalue("text"))
    else:
        corpus = OracleLSTM.random(0, vocab_size=11, seq_len=6).corpus(16, 4, 4)
        torch.manual_seed(0)
        policy = family.build(family.config(), corpus).eval()
    task = next(TASKS[t].build(TASKS[t].config(), vocab_size=len(corpus.vocab)) for t in TASKS
                if TASKS[t].cls.needs <= family.cls.capabilities)
    tokens, lengths = corpus.train.tokens[:5], corpus.train.lengths[:5]
    return policy, tokens, lengths, task.condition(tokens, lengths, torch.Generator())


@pytest.mark.parametrize("name, family", families(), ids=[n for n, _ in families()])
def test_every_policy_family_keeps_the_protocol(name, family, with_bow, request):
    policy, tokens, lengths, context = policy_and_context(name, family, request)
    # step over a sequence gives the teacher-forced logits
    logits, _ = policy.teacher_forced(tokens, context)
    state = policy.initial_state(len(tokens), context)
    inputs = policy.teacher_inputs(tokens)
    stepped = []
    for t in range(tokens.shape[1]):
        step_logits, state = policy.step(inputs[:, t], state)
        stepped.append(step_logits)
    torch.testing.assert_close(torch.stack(stepped, 1), logits, rtol=1e-4, atol=1e-5)
    # log_prob is the teacher-forced log-softmax at the tokens the policy chose
    chosen = torch.log_softmax(logits, -1).gather(2, tokens[..., None]).squeeze(2)
    log_probs = policy.log_prob(tokens, lengths, context)
    finite = log_probs != 0
    torch.testing.assert_close(log_probs[finite], chosen[finite], rtol=1e-4, atol=1e-5)
    # state_at(t, b) is the state after reading the start token and tokens[b, :t]
    if "prefix_states" in policy.capabilities:
        prefix_logits, state_at = policy.prefix_states(tokens, context)
        torch.testing.assert_close(prefix_logits, logits, rtol=1e-4, atol=1e-5)
        t, b = torch.tensor([2, 4]), torch.tensor([3, 1])
        resumed, _ = policy.step(tokens[b, t], state_at(t, b))
        torch.testing.assert_close(resumed, logits[b, t + 1], rtol=1e-4, atol=1e-5)
    # select_state keeps rows
    state = policy.initial_state(len(tokens), context)
    _, state = policy.step(inputs[:, 0], state)
    kept = policy.select_state(state, torch.tensor([4, 0]))
    alone, _ = policy.step(tokens[[4, 0], 0], kept)
    together, _ = policy.step(tokens[:, 0], state)
    torch.testing.assert_close(alone, together[[4, 0]], rtol=1e-4, atol=1e-5)
    # a one-hot soft input is its id
    if "soft_inputs" in policy.capabilities:
        state = policy.initial_state(len(tokens), context)
        hard, _ = policy.step(tokens[:, 0], state)
        one_hot = torch.nn.functional.one_hot(tokens[:, 0], policy.vocab_size).float()
        soft, _ = policy.step(one_hot, state)
        torch.testing.assert_close(soft, hard, rtol=1e-5, atol=1e-6)
    # a checkpoint round-trips under weights_only
    buffer = io.BytesIO()
    torch.save(policy.to_dict(), buffer)
    buffer.seek(0)
    restored = policy_from_dict(torch.load(buffer, weights_only=True))
    torch.testing.assert_close(restored.eval().teacher_forced(tokens, context)[0], logits)


class _LogitsOnly:
    """A policy seen through ``teacher_forced`` alone: ``policy_outputs``'s general route."""

    def __init__(self, policy):
        self.teacher_forced = policy.teacher_forced


@pytest.mark.parametrize("name, family", families(), ids=[n for n, _ in families()])
def test_token_scores_equal_the_logits_route_in_value_and_gradient(name, family, with_bow,
                                                                   request):
    policy, tokens, lengths, context = policy_and_context(name, family, request)
    rollout = Rollout(tokens, lengths, torch.zeros(tokens.shape), torch.zeros(tokens.shape),
                      context)
    weights = torch.Generator().manual_seed(3)
    advantage, bonus = (torch.randn(tokens.shape, generator=weights) for _ in range(2))
    params = [p for p in policy.parameters() if p.requires_grad]
    results = []
    for route in (policy, _LogitsOnly(policy)):
        log_probs, entropy, features = policy_outputs(route, rollout)
        grads = torch.autograd.grad((log_probs * advantage + entropy * bonus).sum()
                                    + features.sum(), params, allow_unused=True)
        results.append((log_probs, entropy, features, grads))
    (fused, logits_route) = results
    torch.testing.assert_close(fused[0], policy.log_prob(tokens, lengths, context))
    for ours, theirs in zip(fused[:3], logits_route[:3], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    for ours, theirs in zip(fused[3], logits_route[3], strict=True):
        if theirs is None:
            assert ours is None or not ours.any()
        else:
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_a_new_policy_family_is_one_file_and_one_registry_line(with_bow, tmp_path, capsys):
    mle = tmp_path / "mle"
    small = ["--oracle", "random:1", "--n-train", "64", "--n-valid", "16", "--n-test", "16",
             "--eval-samples", "16", "--quiet"]
    code, stdout, err = run_cli(["train", "mle", "--policy", "bow", "--bow-dim", "12",
                                 "--epochs", "2", "--batch-size", "16", *small, "--out", mle],
                                capsys)
    assert code == 0, err
    state = torch.load(mle / "checkpoint.pt", weights_only=True)
    assert state["model"]["class"] == "BagOfWordsLM"
    assert state["model"]["config"]["emb_dim"] == 12  # --bow-dim reached the family's config
    rl = ["--iterations", "2", "--batch-size", "8", "--eval-every", "1", "--eval-samples", "16",
          "--checkpoint-every", "1", "--quiet"]
    for recipe, extra in (("seqgan", ["--n-rollouts", "2", "--d-pretrain-steps", "1",
                                      "--d-samples", "32", "--d-batch-size", "16"]),
                          ("ppo", ["--reward", "oracle", "--n-rollouts", "0",
                                   "--ppo-minibatch", "4"])):
        out = tmp_path / recipe
        code, stdout, err = run_cli(["train", recipe, "--init", mle, "--policy", "bow", *rl,
                                     *extra, "--out", out], capsys)
        assert code == 0, (recipe, err)
        log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert [r["iteration"] for r in log] == [0, 1, 2] and "nll_oracle" in log[-1]
        before = torch.load(mle / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
        after = torch.load(out / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
        assert not torch.equal(before["head.weight"], after["head.weight"])  # it trained
    code, stdout, _ = run_cli(["sample", tmp_path / "ppo", "-n", "3"], capsys)
    assert code == 0 and len(stdout.splitlines()) == 3
    # --policy must name what --init holds; an unknown family is named
    user_error(["train", "ppo", "--init", mle, "--policy", "recurrent", "--reward", "oracle",
                *rl, "--out", tmp_path / "x"], capsys, "holds a BagOfWordsLM (bow)")
    user_error(["train", "mle", "--policy", "nope", "--out", tmp_path / "y"], capsys,
               "--policy 'nope': use one of recurrent, seq2seq")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_policy_that_cannot_serve_the_task_is_refused_before_anything_runs(
        tmp_path, capsys, text_file, sentences):
    user_error(["train", "mle", "--task", "infill", "--policy", "recurrent", "--oracle",
                "random", "--out", tmp_path / "x"], capsys,
               "--policy recurrent cannot do what the infill task needs (template); use "
               "--policy seq2seq")
    user_error(["train", "maskmle", "--policy", "recurrent", "--data", text_file(sentences),
                "--out", tmp_path / "x"], capsys, "cannot do what the infill task needs")
    assert not (tmp_path / "x").exists()
    assert Unconditional.needs <= POLICIES["recurrent"].cls.capabilities


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    """A one-epoch MLE run of the native Transformer on a small random oracle."""
    from textrl.recipes import recipe_config, train

    out = tmp_path_factory.mktemp("runs") / "transformer"
    train(recipe_config("mle", None, {"oracle": "random:1", "n_train": 64, "n_valid": 32,
                                      "n_test": 32, "epochs": 1, "eval_samples": 32,
                                      "batch_size": 32, "policy": "transformer",
                                      "model_dim": 16, "heads": 2, "positions": "rotary"}),
          out, progress=False)
    return out


@pytest.mark.parametrize("recipe, extra", [
    ("seqgan", {}), ("rankgan", {}), ("pg-bleu", {}), ("constant", {}),
    ("pg", {"reward": "oracle", "n_rollouts": 0}), ("a2c", {"reward": "oracle"}),
    ("ppo", {"reward": "discriminator", "reward_form": "airl"}), ("gumbel-gan", {}),
])
def test_every_recipe_trains_the_transformer(recipe, extra, transformer_run, tmp_path):
    from tests.test_adversarial import tiny_config
    from textrl.recipes import train

    config = tiny_config(recipe, init=str(transformer_run), policy="transformer", **extra)
    if recipe == "gumbel-gan":
        config = config.replace(iterations=2, eval_every=1, checkpoint_every=1, eval_samples=32,
                                batch_size=8, d_steps=1)
    last = train(config, tmp_path / recipe, progress=False)
    assert last["iteration"] == 2 and "nll_oracle" in last
    start = torch.load(transformer_run / "checkpoint.pt", weights_only=True)["model"]
    end = torch.load(tmp_path / recipe / "checkpoint.pt", weights_only=True)["model"]
    assert end["class"] == "TransformerLM" and end["config"]["positions"] == "rotary"
    assert not torch.equal(start["state_dict"]["head.weight"], end["state_dict"]["head.weight"])


def test_a_transformer_run_resumes_bit_identically(transformer_run, tmp_path):
    from tests.test_adversarial import records, tiny_config
    from textrl.recipes import train

    overrides = {"init": str(transformer_run), "iterations": 4, "checkpoint_every": 2}
    train(tiny_config("seqgan", **overrides), tmp_path / "straight", progress=False)
    train(tiny_config("seqgan", **overrides | {"iterations": 2}), tmp_path / "split",
          progress=False)
    train(tiny_config("seqgan", **overrides), tmp_path / "split", resume=True, progress=False)
    a = torch.load(tmp_path / "straight/checkpoint.pt", weights_only=True)["model"]["state_dict"]
    b = torch.load(tmp_path / "split/checkpoint.pt", weights_only=True)["model"]["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    def strip(run):
        return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in records(run)]

    assert strip(tmp_path / "straight") == strip(tmp_path / "split")


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_transformer_rollouts_from_mixed_prefixes_are_the_prefixes_own_continuations(positions):
    from textrl.models.generation import complete_prefixes

    corpus = OracleLSTM.random(0, vocab_size=11, seq_len=6).corpus(16, 4, 4)
    torch.manual_seed(0)
    policy = TransformerPolicyConfig(model_dim=16, heads=2, positions=positions).build(
        corpus).eval()
    tokens, lengths = corpus.train.tokens[:3], corpus.train.lengths[:3]
    # greedy, in chunks of 7 rows: each chunk mixes prefix lengths, so caches are left-padded
    completions, _ = complete_prefixes(policy, tokens, lengths, 2, temperature=0.0, chunk=7)
    for t in range(1, tokens.shape[1]):
        own = policy.sample(3, 6, temperature=0.0, prefix=tokens[:, :t]).tokens
        for n in range(2):
            rows = ((t - 1) * 2 + n) * 3 + torch.arange(3)
            assert torch.equal(completions[rows], own), (t, n)


class _LogitsPolicy(BagOfWordsLM):
    """A policy module that gives its logits but not its output layer apart: it keeps its own
    ``log_prob``, as a family written before ``_score_inputs`` existed does."""

    def _score_inputs(self, tokens, lengths, context, inputs):
        return None

    def log_prob(self, tokens, lengths, context=None, temperature=1.0, inputs=None):
        logits, _ = self.teacher_forced(tokens, context, inputs)
        chosen = torch.log_softmax(logits / temperature, -1).gather(2, tokens[..., None])
        return chosen.squeeze(2) * (torch.arange(tokens.shape[1]) < lengths[:, None])


def test_a_policy_module_without_score_inputs_is_scored_from_its_logits(with_bow, request):
    bow, tokens, lengths, context = policy_and_context("bow", BOW, request)
    policy = _LogitsPolicy(bow.config)
    policy.load_state_dict(bow.state_dict())
    rollout = Rollout(tokens, lengths, torch.zeros(tokens.shape), torch.zeros(tokens.shape))
    log_probs, entropy, _ = policy_outputs(policy, rollout)
    expected, expected_entropy, _ = policy_outputs(bow, rollout)
    torch.testing.assert_close(log_probs, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(entropy, expected_entropy, rtol=1e-4, atol=1e-5)
