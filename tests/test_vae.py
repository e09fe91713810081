"""The sentence VAE: its KL, annealing, word dropout, likelihood estimates, latent metrics,
code-space commands, and runs through the one loop."""

import json
import math

import pytest
import torch

from tests.test_cli import assert_user_error, cli
from textrl.metrics.latent import (
    active_units,
    importance_weights,
    mutual_information,
    vae_likelihood,
)
from textrl.models import SentenceVAE, VAEConfig, policy_from_dict
from textrl.models.vae import gaussian_kl, gaussian_log_density
from textrl.training.vae import VAEScheduleConfig, kl_terms, kl_weight, word_dropout


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def small_vae(**overrides):
    config = dict(vocab_size=12, emb_dim=8, hidden_dim=8, latent_dim=3, start_id=1, eos_id=2,
                  pad_id=0) | overrides
    return SentenceVAE(VAEConfig(**config))


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.3, -0.7, 0.0]])
    z = mu + (0.5 * logvar).exp() * torch.randn(400_000, 3, generator=g())
    mc = (gaussian_log_density(z, mu, logvar)
          - gaussian_log_density(z, torch.zeros(3), torch.zeros(3))).mean()
    assert float(gaussian_kl(mu, logvar).sum()) == pytest.approx(float(mc), abs=0.01)
    assert float(gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).sum()) == 0.0


def test_free_bits_stop_the_pull_of_dimensions_below_the_floor():
    mu = torch.tensor([[0.1, 2.0], [-0.1, 2.0]], requires_grad=True)
    logvar = torch.zeros(2, 2)
    kl, penalised = kl_terms(mu, logvar, free_bits=0.5)
    assert kl.item() == pytest.approx(0.005 + 2.0)
    assert penalised.item() == pytest.approx(0.5 + 2.0)  # dimension 0 floored at 0.5
    penalised.backward()
    assert torch.equal(mu.grad[:, 0], torch.zeros(2)) and (mu.grad[:, 1] > 0).all()
    plain, same = kl_terms(mu, logvar)
    assert plain.item() == same.item()


def test_annealing_schedules_at_chosen_steps():
    def weight(step, **settings):
        return kl_weight(VAEScheduleConfig(**settings), step, steps_per_epoch=100)

    assert weight(0, kl_anneal="none") == weight(10**6, kl_anneal="none") == 1.0
    # linear (texar): 0.1 at the start, + 1 / (10 * 100) per step, 1 from step 900 on
    assert weight(0) == pytest.approx(0.1)
    assert weight(500) == pytest.approx(0.6)
    assert weight(899) < 1 and weight(900) == weight(5000) == 1.0
    # sigmoid (timbmg): 0.5 at x0; steep settings do not overflow
    assert weight(2500, kl_anneal="sigmoid") == pytest.approx(0.5)
    assert weight(2500 + 400, kl_anneal="sigmoid") == pytest.approx(1 / (1 + math.exp(-1)))
    assert weight(0, kl_anneal="sigmoid", kl_k=1.0) == 0.0
    # cyclical (Fu et al.): cycles of 2 epochs, rising over the first half, back at the start
    cyc = dict(kl_anneal="cyclical", kl_cycle=2, kl_ratio=0.5, kl_start=0.0)
    assert [weight(s, **cyc) for s in (0, 50, 100, 150, 199, 200, 250)] == pytest.approx(
        [0.0, 0.5, 1.0, 1.0, 1.0, 0.0, 0.5])


def test_word_dropout_replaces_the_expected_share_of_conditioning_words_only():
    inputs = torch.randint(4, 12, (2000, 20), generator=g())  # 3 is <unk>
    inputs[:, 0] = 1  # the start token
    dropped = word_dropout(inputs, 0.75, unk_id=3, generator=g(1))
    changed = dropped != inputs
    assert not changed[:, 0].any() and (dropped[changed] == 3).all()
    assert float(changed[:, 1:].float().mean()) == pytest.approx(0.25, abs=0.005)
    assert torch.equal(word_dropout(inputs, 1.0, 3, g()), inputs)
    assert (word_dropout(inputs, 0.0, 3, g())[:, 1:] == 3).all()  # the inputless decoder


def test_word_dropout_reaches_only_the_decoder_inputs_never_the_targets():
    vae = small_vae()
    tokens = torch.randint(3, 12, (4, 6), generator=g())
    lengths = torch.full((4,), 6)
    z = torch.randn(4, 3, generator=g())
    inputs = word_dropout(vae.teacher_inputs(tokens), 0.0, 3, g())
    dropped = vae.log_prob(tokens, lengths, z, inputs=inputs)
    logits, _ = vae.teacher_forced(tokens, z, inputs=inputs)
    expected = logits.log_softmax(-1).gather(-1, tokens[..., None])[..., 0]
    assert torch.allclose(dropped, expected, atol=1e-5)  # scored against the true words
    assert not torch.allclose(dropped, vae.log_prob(tokens, lengths, z))


def test_importance_weighted_nll_is_never_worse_than_the_bound():
    vae = small_vae()
    tokens = torch.randint(3, 12, (5, 7), generator=g())
    lengths = torch.tensor([7, 5, 3, 2, 1])
    log_w, _ = importance_weights(vae, tokens, lengths, k=50, generator=g(2), chunk=7)
    iw = -(torch.logsumexp(log_w, 0) - math.log(50))
    assert (iw <= -log_w.mean(0) + 1e-5).all()  # Jensen, on the same 50 codes
    from textrl.data.corpus import Split

    scores = vae_likelihood(vae, Split(tokens, lengths), k=100, generator=g(3))
    assert scores["nll_iw"] <= scores["nll_bound"]
    assert scores["nll_bound"] == pytest.approx(scores["rec"] + scores["kl"], rel=1e-6)
    words = float(lengths.sum())
    assert scores["ppl_iw"] == pytest.approx(math.exp(scores["nll_iw"] * 5 / words), rel=1e-6)


def test_importance_weights_row_by_row():
    vae = small_vae(z_every_step=True)
    tokens = torch.randint(3, 12, (4, 6), generator=g())
    lengths = torch.tensor([6, 4, 2, 5])
    log_w, kl = importance_weights(vae, tokens, lengths, k=3, generator=g(7), chunk=3)
    mu, logvar = vae.encode(tokens, lengths)
    z = mu + (0.5 * logvar).exp() * torch.randn(3, 4, 3, generator=g(7))  # the same draws
    with torch.no_grad():
        for i in range(3):
            for b in range(4):
                rec = vae.log_prob(tokens[b:b + 1], lengths[b:b + 1], z[i, b:b + 1]).sum()
                prior = gaussian_log_density(z[i, b], torch.zeros(3), torch.zeros(3))
                posterior = gaussian_log_density(z[i, b], mu[b], logvar[b])
                assert float(log_w[i, b]) == pytest.approx(float(rec + prior - posterior),
                                                           rel=1e-5)
    assert torch.allclose(kl, gaussian_kl(mu, logvar).sum(-1))


def test_the_inputless_decoder_reads_no_word():
    vae = small_vae(inputless=True, unk_id=3)
    tokens = torch.randint(4, 12, (5, 6), generator=g())
    other = torch.randint(4, 12, (5, 6), generator=g(1))
    lengths = torch.full((5,), 6)
    z = torch.randn(5, 3, generator=g(2))
    with torch.no_grad():
        a = vae.log_prob(tokens, lengths, z)
        logits_a, _ = vae.teacher_forced(tokens, z)
        logits_b, _ = vae.teacher_forced(other, z)
    assert torch.equal(logits_a, logits_b)  # whatever the words, the same predictions
    assert not torch.equal(a, vae.log_prob(other, lengths, z).detach())  # scored on its words


def test_importance_weighting_recovers_log_p_x_when_the_decoder_ignores_z():
    # With z cut off from the decoder, p(x|z) = p(x) and E_q[p(z) / q(z|x)] = 1: the
    # importance-weighted NLL converges to -log p(x), the bound exceeds it by the KL.
    from textrl.data.corpus import Split

    vae = small_vae()
    with torch.no_grad():
        vae.latent_to_state.weight.zero_()
    tokens = torch.randint(3, 12, (3, 5), generator=g())
    lengths = torch.tensor([5, 4, 2])
    with torch.no_grad():
        exact = -float(vae.log_prob(tokens, lengths, torch.zeros(3, 3)).sum()) / 3
    scores = vae_likelihood(vae, Split(tokens, lengths), k=4000, generator=g(4))
    assert scores["nll_iw"] == pytest.approx(exact, abs=0.02)
    assert scores["rec"] == pytest.approx(exact, rel=1e-5)
    assert scores["nll_bound"] == pytest.approx(exact + scores["kl"], rel=1e-5)


def test_active_units_and_mutual_information():
    mu = torch.stack([torch.linspace(-1, 1, 50), torch.full((50,), 0.3),
                      0.05 * torch.linspace(-1, 1, 50)], dim=1)
    assert active_units(mu) == 1  # var 0.35, 0 and ~0.0009
    # Posteriors equal to the prior carry no information; far-apart sharp ones carry log N.
    n = 400
    assert mutual_information(torch.zeros(n, 4), torch.zeros(n, 4), g()) == pytest.approx(0, abs=0.3)
    apart = torch.arange(n, dtype=torch.float)[:, None].repeat(1, 2) * 10
    assert mutual_information(apart, torch.full((n, 2), -4.0), g()) == pytest.approx(
        math.log(n), abs=0.15)  # one code per sentence: Monte-Carlo noise ~0.05


def test_the_decoder_is_a_policy_with_the_code_as_context():
    vae = small_vae(z_every_step=True)
    z = torch.randn(6, 3, generator=g())
    a = vae.sample(6, 8, context=z, generator=g(1))
    b = vae.sample(6, 8, context=z, generator=g(1))
    assert torch.equal(a.tokens, b.tokens)
    scored = vae.log_prob(a.tokens, a.lengths, z)
    assert torch.allclose(scored, a.log_probs, atol=1e-5)  # sampling and scoring agree
    assert not torch.allclose(vae.log_prob(a.tokens, a.lengths, -z), scored)  # z matters
    prior = vae.sample(6, 8, generator=g(1))  # codes from N(0, I), drawn from the generator
    assert torch.equal(prior.tokens, vae.sample(6, 8, generator=g(1)).tokens)
    with pytest.raises(ValueError, match="needs a code"):
        vae.log_prob(a.tokens, a.lengths)
    with pytest.raises(ValueError, match="latent dimensions"):
        vae.initial_state(6, torch.zeros(6, 4))
    copy = policy_from_dict(vae.to_dict())
    assert torch.equal(copy.log_prob(a.tokens, a.lengths, z), scored)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    from textrl.recipes import recipe_config, train

    root = tmp_path_factory.mktemp("vae")
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "log", "big", "red"]
    gen = g(5)
    lines = [" ".join(words[i] for i in torch.randint(len(words), (int(n),), generator=gen))
             for n in torch.randint(2, 9, (120,), generator=gen)]
    data = root / "data.txt"
    data.write_text("\n".join(lines) + "\n")
    settings = {"data": str(data), "emb_dim": 16, "hidden_dim": 16, "latent_dim": 4,
                "epochs": 2, "batch_size": 16, "word_keep": 0.7, "kl_warmup": 1.0,
                "dropout": 0.0}
    train(recipe_config("vae", None, settings), root / "run", progress=False)
    return root, settings


def test_an_autoencoder_on_oracle_sequences(tmp_path, capsys):
    from textrl.recipes import recipe_config, train
    from textrl.training import load_run

    train(recipe_config("vae", None, {"oracle": "random:1", "n_train": 64, "n_valid": 16,
                                      "n_test": 16, "emb_dim": 8, "hidden_dim": 8,
                                      "latent_dim": 4, "epochs": 1, "autoencoder": True}),
          tmp_path / "ae", progress=False)
    loaded = load_run(tmp_path / "ae")
    sample = loaded.model.sample(3, loaded.max_len, generator=g())
    assert (sample.lengths == loaded.max_len).all()  # fixed-length sequences, no EOS
    assert_user_error(capsys, "reconstruct", tmp_path / "ae", "1 2 3", match="oracle")
    # A latent GAN has no NLL-test: `compare` keeps it in the table, leaves it out of the
    # NLL-oracle / NLL-test plot, says so, and still plots the runs that have both.
    train(recipe_config("latent-gan", None, {"init": str(tmp_path / "ae"), "iterations": 2,
                                             "batch_size": 8, "critic_steps": 1, "blocks": 1,
                                             "width": 8, "noise_dim": 3, "eval_samples": 16}),
          tmp_path / "gan", progress=False)
    train(recipe_config("mle", None, {"oracle": "random:1", "n_train": 64, "n_valid": 16,
                                      "n_test": 16, "epochs": 1, "hidden_dim": 8,
                                      "eval_samples": 16}), tmp_path / "mle", progress=False)
    plot = tmp_path / "qd.png"
    code, out, err = cli(capsys, "compare", tmp_path / "gan", tmp_path / "mle", "--samples", "16",
                         "--plot", plot)
    header, gan_row, mle_row = (line.split() for line in out.splitlines())
    assert code == 0 and header[:4] == ["run", "temperature", "nll_oracle", "nll_test"]
    assert len(gan_row) == len(mle_row) - 1  # the GAN's nll_test cell is empty
    assert f"{tmp_path / 'gan'} has no nll_oracle or nll_test" in err
    assert str(tmp_path / "mle") not in err and plot.stat().st_size > 0


def test_resume_is_bit_identical(vae_run, tmp_path):
    from textrl.recipes import recipe_config, train
    from textrl.training import RunDir

    root, settings = vae_run
    half = tmp_path / "half"
    train(recipe_config("vae", None, settings | {"epochs": 1}), half, progress=False)
    train(recipe_config("vae", None, settings | {"epochs": 2}, saved=RunDir(half).load_config()),
          half, resume=True, progress=False)
    full = RunDir(root / "run").load_checkpoint()["model"]["state_dict"]
    resumed = RunDir(half).load_checkpoint()["model"]["state_dict"]
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    log = [json.loads(x) for x in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["kl_weight"] == pytest.approx(1.0) and 0 < log[0]["kl_weight"] < 1
    assert {"nll_valid", "kl_valid", "active_units", "train_rec", "train_kl"} <= set(log[-1])


def test_commands_on_a_vae_run(vae_run, capsys):
    root, _ = vae_run
    run = root / "run"
    code, out, _ = cli(capsys, "reconstruct", run, "the cat sat", "a dog ran to the log")
    lines = out.splitlines()
    assert code == 0 and [line.split("\t")[0] for line in lines] == (
        ["input", "mean", "sample", "sample", "sample"] * 2)
    code, out, _ = cli(capsys, "interpolate", run, "the cat sat", "a dog ran to the log",
                       "--steps", "4")
    path = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and [p[0] for p in path] == ["0.00", "0.33", "0.67", "1.00"]
    # The homotopy's ends decode like the two posterior means.
    _, out, _ = cli(capsys, "reconstruct", run, "the cat sat", "a dog ran to the log",
                    "--posterior-samples", "0")
    means = [line.split("\t")[1] for line in out.splitlines() if line.startswith("mean")]
    assert [path[0][1], path[-1][1]] == means
    code, out, _ = cli(capsys, "evaluate", run, "--json", "--samples", "30",
                       "--importance-samples", "20")
    result = json.loads(out)
    assert code == 0 and result["nll_iw"] <= result["nll_bound"]
    assert {"kl", "active_units", "mutual_info", "ppl_iw", "bleu4", "distinct2"} <= set(result)
    assert "nll_test" not in result  # a VAE's likelihood is the bound, not a decoder pass


def test_bad_input_to_the_code_space_commands(vae_run, capsys, mle_run):
    root, _ = vae_run
    run = root / "run"
    assert_user_error(capsys, "reconstruct", run, "", match="is empty")
    assert_user_error(capsys, "reconstruct", run, "zebra giraffe", match="none of its words")
    assert_user_error(capsys, "reconstruct", run, " ".join(["cat"] * 200), match="at most")
    assert_user_error(capsys, "interpolate", run, "the cat", "a dog", "--steps", "1",
                      match="--steps")
    assert_user_error(capsys, "interpolate", mle_run, "1 2", "3 4",
                      match="cannot encode sentences into codes")
    assert_user_error(capsys, "train", "vae", "--oracle", "random", "--word-keep", "0.5",
                      "--out", root / "bad", match="--word-keep 1 on oracle data")


def test_constrained_beam_search_is_exact_with_a_wide_beam_and_keeps_given_words():
    from itertools import product

    from textrl.data.vocab import Vocab
    from textrl.imputation import constrained_beam_search, impute
    from textrl.models import LMConfig, RecurrentLM

    vocab = Vocab(["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c", "d"])
    words = [4, None, 6, None]
    fills = [i for i in range(len(vocab)) if i not in (0, 1, 2)]
    for seed in range(5):  # peaked random models, where the given words' scores matter
        torch.manual_seed(seed)
        lm = RecurrentLM(LMConfig(vocab_size=len(vocab), emb_dim=8, hidden_dim=8, start_id=1,
                                  eos_id=2, pad_id=0, init_std=1.0)).eval()

        def score(fill, lm=lm):
            tokens = torch.tensor([[4, fill[0], 6, fill[1], 2]])
            with torch.no_grad():
                return float(lm.log_prob(tokens, torch.tensor([5])).sum())

        best = max(product(fills, fills), key=score)
        assert constrained_beam_search(lm, words, beam=100, banned=(1,)) == [4, best[0], 6,
                                                                             best[1]]
    narrow = impute(lm, words, vocab, beam=1)
    assert narrow[0] == 4 and narrow[2] == 6 and len(narrow) == 4
    vae = small_vae(vocab_size=len(vocab))
    filled = impute(vae, words, vocab)  # iterated conditional modes
    assert filled[0] == 4 and filled[2] == 6 and None not in filled
    assert filled[1] not in (0, 1, 2) and filled[3] not in (0, 1, 2)
    # One round: a beam of 5 under the posterior mean of the sentence with <unk> blanks.
    with torch.no_grad():
        mu, _ = vae.encode(torch.tensor([[4, 3, 6, 3, 2]]), torch.tensor([5]))
    assert impute(vae, words, vocab, icm_steps=1) == constrained_beam_search(
        vae, words, 5, mu, banned=(1,))


def test_impute_command(vae_run, capsys, mle_run, tmp_path):
    root, settings = vae_run
    code, out, _ = cli(capsys, "impute", root / "run", "the ___ sat on ___ mat")
    text, filled = out.rstrip("\n").split("\t")
    filled = filled.split()
    assert code == 0 and len(filled) == 6 and filled[0] == "the" and filled[2:4] == ["sat", "on"]
    lm = tmp_path / "lm"
    assert cli(capsys, "train", "mle", "--data", settings["data"], "--epochs", "1", "--out", lm,
               "--quiet")[0] == 0
    code, out, _ = cli(capsys, "impute", lm, "a dog ___ to the ___", "--beam", "3")
    filled = out.rstrip("\n").split("\t")[1].split()
    assert code == 0 and filled[:2] == ["a", "dog"] and filled[3:5] == ["to", "the"]
    assert_user_error(capsys, "impute", root / "run", "the cat sat", match="no ___")
    assert_user_error(capsys, "impute", root / "run", "", match="no ___")
    assert_user_error(capsys, "impute", root / "run", "___ " * 300, match="at most")
    assert_user_error(capsys, "impute", mle_run, "1 ___ 2", match="impute takes")


def test_adversarial_classifiers_tell_apart_what_differs_and_not_what_does_not():
    from textrl.data.corpus import Split
    from textrl.metrics.adversarial import UnigramClassifier, adversarial_error

    def sentences(low, high, seed, n=300):
        gen = g(seed)
        lengths = torch.randint(2, 8, (n,), generator=gen)
        tokens = torch.randint(low, high, (n, 8), generator=gen)
        tokens[torch.arange(8) >= lengths[:, None]] = 0
        return Split(tokens, lengths)

    real = sentences(4, 8, 1)
    for kind in ("unigram", "lstm"):
        apart = adversarial_error(real, sentences(8, 12, 2), 12, 0, kind, epochs=10)
        assert apart["accuracy"] > 0.95 and apart["adversarial_error"] > 45
    alike = adversarial_error(real, sentences(4, 8, 3), 12, 0, "unigram", epochs=10)
    assert abs(alike["adversarial_error"]) < 15  # 60 test sentences: chance, within noise
    clf = UnigramClassifier(12, 0)
    tokens = torch.tensor([[5, 6, 0, 0]])
    assert torch.equal(clf(tokens, torch.tensor([2])), clf(tokens.masked_fill(tokens == 0, 9),
                                                            torch.tensor([2])))
