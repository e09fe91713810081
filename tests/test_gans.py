"""The GANs trained without RL: the Gumbel-softmax sampler and unroll, the temperature
schedules, the soft-input discriminator, the adversarial losses and gradient penalty, the
Gumbel-softmax and latent-space GAN runs, and the embedded grammar benchmark."""

import math

import pytest
import torch

from textrl.data.grammar import grammar_metrics, is_grammatical, sample_expressions
from textrl.models import LMConfig, RecurrentLM
from textrl.models.gumbel import gumbel_softmax, inverse_temperature, relaxed_sample
from textrl.rewards.discriminator import CNNDiscriminator
from textrl.training.gan_losses import critic_loss, generator_loss, gradient_penalty


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def interrupted_and_resumed(recipe, settings, trainer_class, full, split, monkeypatch):
    """The final weights of ``recipe`` trained straight through into ``full``, and of the
    same run stopped by an error in iteration 3 and resumed from its checkpoint in
    ``split``."""
    from textrl.recipes import recipe_config, train
    from textrl.training import RunDir

    train(recipe_config(recipe, "cpu", settings), full, progress=False)
    original = trainer_class.train_step

    def stop_at_three(self, step):
        if step == 3:
            raise RuntimeError("interrupted")
        return original(self, step)

    monkeypatch.setattr(trainer_class, "train_step", stop_at_three)
    with pytest.raises(RuntimeError, match="interrupted"):
        train(recipe_config(recipe, "cpu", settings), split, progress=False)
    monkeypatch.setattr(trainer_class, "train_step", original)
    train(recipe_config(recipe, None, {}, saved=RunDir(split).load_config()), split,
          resume=True, progress=False)
    return tuple(RunDir(run).load_checkpoint()["model"]["state_dict"] for run in (full, split))


def test_gumbel_argmax_is_an_exact_sample_and_low_temperature_approaches_it():
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0]).repeat(40_000, 1)
    soft, ids = gumbel_softmax(logits, tau=0.01, generator=g())
    frequencies = torch.bincount(ids, minlength=4).float() / len(ids)
    assert torch.allclose(frequencies, torch.softmax(logits[0], -1), atol=0.01)
    assert torch.equal(soft.argmax(-1), ids)
    assert (soft.max(-1).values > 0.99).float().mean() > 0.95  # tau -> 0: nearly one-hot
    warm, _ = gumbel_softmax(logits[:100], tau=10.0, generator=g())
    assert warm.max(-1).values.max() < 0.9
    with pytest.raises(ValueError, match="> 0"):
        gumbel_softmax(logits, 0.0)


def test_gradients_flow_through_the_relaxation_and_straight_through_is_one_hot_forward():
    logits = torch.randn(5, 6, generator=g(), requires_grad=True)
    soft, _ = gumbel_softmax(logits, 0.5, g(1))
    (soft * torch.arange(6.0)).sum().backward()
    assert logits.grad.abs().sum() > 0
    logits.grad = None
    hard, ids = gumbel_softmax(logits, 0.5, g(1), straight_through=True)
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(ids, 6).float())
    (hard * torch.arange(6.0)).sum().backward()
    assert logits.grad.abs().sum() > 0  # the relaxed path's gradient


@pytest.mark.parametrize("mode", ["kusner", "relgan"])
def test_relaxed_unroll_matches_its_hard_tokens_and_pads_after_eos(mode):
    lm = RecurrentLM(LMConfig(vocab_size=7, emb_dim=8, hidden_dim=8, start_id=1, eos_id=2,
                              pad_id=0))
    sample = relaxed_sample(lm, 64, 9, tau=0.7, mode=mode, generator=g(3))
    assert sample.soft.shape == (64, 9, 7) and sample.tokens.shape == (64, 9)
    inside = torch.arange(9) < sample.lengths[:, None]
    assert torch.equal(sample.soft.argmax(-1)[inside], sample.tokens[inside])
    assert (sample.tokens[~inside] == 0).all() and (sample.soft[~inside][:, 0] == 1).all()
    ended = sample.lengths < 9
    assert (sample.tokens[ended, sample.lengths[ended] - 1] == 2).all()
    loss = (sample.soft * torch.randn(7, generator=g())).sum()
    loss.backward()
    assert lm.head.weight.grad.abs().sum() > 0
    # Kusner feeds the relaxed vector back, a mix of every word's embedding, so every row
    # gets a gradient; RelGAN feeds hard tokens: only the start token and emitted ids do.
    touched = lm.embedding.weight.grad.abs().sum(1) > 0
    fed = set(sample.tokens[:, :-1].flatten().tolist()) | {1}
    if mode == "kusner":
        assert touched.all()
    else:
        assert set(torch.nonzero(touched).flatten().tolist()) <= fed and not touched.all()


def test_temperature_schedules():
    assert inverse_temperature("exponential", 0, 3000, 100.0) == 1.0
    assert inverse_temperature("exponential", 3000, 3000, 100.0) == pytest.approx(100.0)
    assert inverse_temperature("exponential", 1500, 3000, 100.0) == pytest.approx(10.0)
    assert inverse_temperature("constant", 7, 10, 5.0) == 5.0
    assert inverse_temperature("jang", 999, 10**5, 0, jang_rate=1e-4, jang_every=500) == \
        pytest.approx(1 / math.exp(-1e-4 * 500))
    assert inverse_temperature("jang", 10**6, 10**6, 0) == pytest.approx(2.0)  # tau floor 0.5


def test_a_one_hot_input_reads_exactly_like_its_token():
    d = CNNDiscriminator(vocab_size=9, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4))
    d.eval()
    tokens = torch.randint(9, (5, 7), generator=g())
    lengths = torch.tensor([7, 5, 3, 2, 1])
    one_hot = torch.nn.functional.one_hot(tokens, 9).float()
    assert torch.equal(d.logits(one_hot, lengths), d.logits(tokens, lengths))
    # A relaxed input embeds as the mix of its words' embeddings, and passes a gradient.
    soft = torch.softmax(torch.randn(5, 7, 9, generator=g(1)), -1).requires_grad_(True)
    mixed = soft @ d.encoder.embedding.weight
    assert torch.allclose(mixed[0, 0], (soft[0, 0, :, None] * d.encoder.embedding.weight).sum(0))
    d.logits(soft, lengths).sum().backward()
    assert soft.grad.abs().sum() > 0


def test_adversarial_losses_and_the_gradient_penalty_by_hand():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-1.0, 1.0])
    sig = torch.sigmoid
    assert critic_loss("standard", real, fake) == pytest.approx(
        float(-(sig(real).log().mean() + (1 - sig(fake)).log().mean())))
    assert critic_loss("rsgan", real, fake) == pytest.approx(float(-sig(real - fake).log().mean()))
    assert generator_loss("rsgan", real, fake) == pytest.approx(float(-sig(fake - real).log().mean()))
    assert critic_loss("wgan-gp", real, fake) == pytest.approx(0.0 - 1.25)
    assert critic_loss("hinge", real, fake) == pytest.approx((0 + 0.5) / 2 + (0 + 2) / 2)
    assert generator_loss("standard", real, fake) == pytest.approx(float(-sig(fake).log().mean()))
    assert generator_loss("wgan-gp", real, fake) == generator_loss("hinge", real, fake) == 0.0
    # A linear critic has gradient w everywhere: the penalty is (||w|| - 1)^2.
    w = torch.tensor([3.0, 4.0])
    penalty = gradient_penalty(lambda x: x @ w, torch.randn(8, 2), torch.randn(8, 2), g())
    assert penalty.item() == pytest.approx((5.0 - 1.0) ** 2)
    # A quadratic one, per example at the interpolate: grad = 2x.
    a, b = torch.ones(1, 2), torch.zeros(1, 2)
    e = float(torch.rand(1, 1, generator=g(4)))
    penalty = gradient_penalty(lambda x: (x ** 2).sum(1), a, b, g(4))
    assert penalty.item() == pytest.approx((2 * e * math.sqrt(2) - 1) ** 2, rel=1e-5)


def test_the_grammar_sampler_and_parser():
    expressions = sample_expressions(500, seed=0)
    assert expressions == sample_expressions(500, seed=0)
    assert all(is_grammatical(e) for e in expressions)
    assert {len(e) for e in expressions} == set(range(3, 16, 2))
    for bad in (["x", "+"], ["(", "x"], ["x", "x"], ["+", "x"], [")", "x", "("], [],
                ["(", ")"], ["x", "(", "x", ")"]):
        assert not is_grammatical(bad), bad
    gen = g(1)
    for e in expressions[:200]:  # a term made an operator, or anything else made a term
        i = int(torch.randint(len(e), (1,), generator=gen))
        assert not is_grammatical([*e[:i], "x" if e[i] != "x" else "+", *e[i + 1:]])
    metrics = grammar_metrics([["x", "+", "x"], ["x", "x"], ["x", "*", "x"]], [["x", "+", "x"]])
    assert metrics == pytest.approx({"grammatical": 2 / 3, "novel": 1 / 3, "unique": 1.0})


def test_grammar_data_through_the_cli(capsys, tmp_path):
    import json

    from tests.test_cli import assert_user_error, cli

    out = tmp_path / "gram"
    code, _, err = cli(capsys, "train", "mle", "--data", "grammar", "--n-train", "300",
                       "--n-valid", "50", "--n-test", "50", "--epochs", "1", "--out", out,
                       "--quiet")
    assert code == 0, err
    code, stdout, _ = cli(capsys, "evaluate", out, "--samples", "50", "--json")
    result = json.loads(stdout)
    assert code == 0 and 0 <= result["novel"] <= result["grammatical"] <= 1
    assert_user_error(capsys, "train", "mle", "--data", "grammar", "--test", "x.txt", "--out",
                      tmp_path / "bad", match="draws its own splits")
    assert_user_error(capsys, "train", "mle", "--data", "grammar", "--max-len", "3", "--out",
                      tmp_path / "bad", match="--max-len >= 4")


@pytest.mark.parametrize("variant", [{"mode": "relgan"},
                                     {"mode": "kusner", "loss": "wgan-gp",
                                      "straight_through": True}])
def test_gumbel_gan_resumes_bit_identically_and_ends_at_beta_max(mle_run, tmp_path, monkeypatch,
                                                                 variant):
    import json

    from textrl.training import RunDir
    from textrl.training.gumbel_gan import GumbelGANTrainer

    settings = {"init": str(mle_run), "iterations": 4, "batch_size": 8, "d_steps": 2,
                "eval_every": 2, "eval_samples": 16, "checkpoint_every": 1, "beta_max": 10.0,
                "d_num_filters": [4, 4, 4]} | variant
    full, split = tmp_path / "full", tmp_path / "split"
    a, b = interrupted_and_resumed("gumbel-gan", settings, GumbelGANTrainer, full, split,
                                   monkeypatch)
    assert all(torch.equal(a[k], b[k]) for k in a)
    a = RunDir(full).load_checkpoint()
    start = RunDir(mle_run).load_checkpoint()["model"]["state_dict"]
    assert any(not torch.equal(a["model"]["state_dict"][k], start[k]) for k in start)  # it learns
    log = [json.loads(x) for x in (full / "metrics.jsonl").read_text().splitlines()]
    assert all(r["g_grad_norm"] > 0 for r in log[1:])
    assert log[-1]["tau"] == pytest.approx(1 / 10.0)  # the last iteration reaches beta_max
    assert log[1]["tau"] == pytest.approx(1 / 10.0 ** (1 / 4))
    assert [r["iteration"] for r in log] == [0, 1, 2, 3, 4]


def test_frechet_distance():
    from textrl.training.latent_gan import frechet_distance

    a = torch.randn(4000, 3, generator=g())
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + torch.tensor([1.0, 2.0, 0.0])
    assert frechet_distance(a, shifted) == pytest.approx(5.0, abs=1e-6)
    scaled = a * 2  # covariances I and 4I: tr(I + 4I - 2 * 2I) = 3
    assert frechet_distance(a, scaled) == pytest.approx(3.0, rel=0.05)


def test_latent_gan_on_an_autoencoder(tmp_path, capsys, monkeypatch):
    import json

    from tests.test_cli import assert_user_error, cli
    from textrl.recipes import recipe_config, train
    from textrl.training import load_run
    from textrl.training.latent_gan import LatentGANTrainer

    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "log"]
    gen = g(5)
    lines = [" ".join(words[i] for i in torch.randint(len(words), (int(n),), generator=gen))
             for n in torch.randint(2, 7, (80,), generator=gen)]
    data = tmp_path / "data.txt"
    data.write_text("\n".join(lines) + "\n")
    ae = tmp_path / "ae"
    train(recipe_config("vae", None, {"data": str(data), "emb_dim": 8, "hidden_dim": 8,
                                      "latent_dim": 4, "epochs": 2, "batch_size": 16,
                                      "autoencoder": True}), ae, progress=False)
    log = [json.loads(x) for x in (ae / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["train_kl"] == 0.0 and "rec_valid" in log[-1]
    settings = {"init": str(ae), "iterations": 4, "batch_size": 8, "critic_steps": 2,
                "blocks": 1, "width": 8, "noise_dim": 3, "eval_every": 2, "eval_samples": 50,
                "checkpoint_every": 1}
    full, split = tmp_path / "full", tmp_path / "split"
    a, b = interrupted_and_resumed("latent-gan", settings, LatentGANTrainer, full, split,
                                   monkeypatch)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The autoencoder is frozen: the latent GAN's copy equals the autoencoder run's.
    model = load_run(full).model
    autoencoder = load_run(ae, best=True).model
    assert all(torch.equal(p, q) for p, q in zip(model.autoencoder.parameters(),
                                                 autoencoder.parameters(), strict=True))
    # Its samples decode generated codes; interpolation works on its autoencoder's codes.
    codes = model.codes(4, g(1))
    assert torch.equal(model.sample(4, 8, 0.0, generator=g(1)).tokens,
                       autoencoder.sample(4, 8, 0.0, context=codes).tokens)
    code, out, _ = cli(capsys, "interpolate", full, "the cat sat", "a dog ran", "--steps", "3")
    assert code == 0 and len(out.splitlines()) == 3
    code, out, _ = cli(capsys, "reconstruct", ae, "the cat sat")  # the mean only
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == ["input", "mean"]
    assert_user_error(capsys, "reconstruct", ae, "the cat", "--posterior-samples", "2",
                      match="0 for an autoencoder")
    code, out, _ = cli(capsys, "evaluate", full, "--samples", "20", "--json")
    assert code == 0 and "nll_test" not in json.loads(out)  # no likelihood to report
    assert_user_error(capsys, "train", "latent-gan", "--out", tmp_path / "x",
                      match="needs --init")


def test_reverse_perplexity_punishes_collapsed_samples():
    from textrl.data.corpus import Split
    from textrl.metrics.reverse import reverse_perplexity

    def sentences(n, seed, collapsed=False):
        gen = g(seed)
        lengths = torch.randint(3, 7, (n,), generator=gen)
        tokens = torch.randint(4, 10, (n, 7), generator=gen)
        if collapsed:
            tokens[:], lengths[:] = tokens[0], lengths[0]
        tokens[torch.arange(7) >= lengths[:, None] - 1] = 0
        tokens[torch.arange(n), lengths - 1] = 2
        return Split(tokens, lengths)

    test = sentences(200, 1)
    args = (test, 10, 1, 2, 0, g(3))
    small = {"epochs": 10, "emb_dim": 8, "hidden_dim": 8, "lr": 0.01}
    diverse = reverse_perplexity(sentences(400, 2), *args, **small)
    collapsed = reverse_perplexity(sentences(400, 2, collapsed=True), *args, **small)
    assert diverse["reverse_ppl"] < 12 and collapsed["reverse_ppl"] > 2 * diverse["reverse_ppl"]
    assert diverse["reverse_ppl"] == pytest.approx(math.exp(diverse["reverse_nll"]))


def test_gumbel_gan_on_sentences_with_eos(tmp_path, capsys):
    import json

    from tests.test_cli import assert_user_error, cli

    mle = tmp_path / "mle"
    assert cli(capsys, "train", "mle", "--data", "grammar", "--n-train", "200", "--n-valid",
               "40", "--n-test", "40", "--epochs", "1", "--out", mle, "--quiet")[0] == 0
    out = tmp_path / "gan"
    code, stdout, err = cli(capsys, "train", "gumbel-gan", "--init", mle, "--iterations", "2",
                            "--batch-size", "8", "--d-steps", "1", "--d-num-filters", "4", "4",
                            "4", "--beta-max", "5", "--eval-every", "2", "--out", out, "--quiet")
    assert code == 0, err
    final = json.loads(stdout)
    assert 1 <= final["length_mean"] <= 16 and final["g_grad_norm"] > 0
    assert_user_error(capsys, "train", "gumbel-gan", "--init", mle, "--beta-max", "0.5",
                      "--out", tmp_path / "bad", match="heat up")
