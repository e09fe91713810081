import math

import pytest
import torch

from textrl.models import LMConfig, RecurrentLM, sample_categorical


def test_sampler_matches_distribution():
    probs = torch.tensor([0.5, 0.0, 0.2, 0.3, 0.0])
    logits = probs.log().expand(20_000, 5)
    ids, logp = sample_categorical(logits, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(ids, minlength=5).double()
    assert counts[1] == 0 and counts[4] == 0  # zero mass is never drawn, even at the end
    expected = probs.double() * len(ids)
    nonzero = expected > 0
    chi2 = float(((counts - expected)[nonzero] ** 2 / expected[nonzero]).sum())
    assert chi2 < 13.8  # chi-square, 2 dof, p = 0.001
    torch.testing.assert_close(logp, probs.log()[ids])


@pytest.mark.parametrize("reuse_logits", [False, True])
def test_sampler_across_blocks(reuse_logits):
    # V = 37: blocks of 6 and a last block of 1; blocks 1 and 4 hold no mass at all, and
    # block 2 only its last token.
    probs = torch.rand(37, generator=torch.Generator().manual_seed(3))
    probs[6:12] = 0
    probs[24:30] = 0
    probs[12:17] = 0
    probs /= probs.sum()
    logits = probs.log().expand(50_000, 37).clone()
    before = logits.clone()
    ids, logp = sample_categorical(logits, generator=torch.Generator().manual_seed(0),
                                   reuse_logits=reuse_logits)
    assert torch.equal(logits, before) != reuse_logits  # scratch space only when allowed
    counts = torch.bincount(ids, minlength=37).double()
    assert counts[probs == 0].sum() == 0
    expected = probs.double() * len(ids)
    nonzero = expected > 0
    chi2 = float(((counts - expected)[nonzero] ** 2 / expected[nonzero]).sum())
    assert chi2 < 52.6  # chi-square, 24 dof, p = 0.001
    torch.testing.assert_close(logp, probs.log()[ids])


def test_sampler_is_shift_invariant_and_keeps_grad_inputs():
    # |max logit| < 40 skips the max-shift; + 100 forces it. Same draws either way, up to
    # float rounding at the edge of a token's interval.
    logits = torch.randn(4000, 300, generator=torch.Generator().manual_seed(4)).requires_grad_()
    a, logp_a = sample_categorical(logits, generator=torch.Generator().manual_seed(5),
                                   reuse_logits=True)
    b, logp_b = sample_categorical(logits.detach() + 100, generator=torch.Generator().manual_seed(5),
                                   reuse_logits=True)
    assert float((a != b).float().mean()) < 1e-3
    torch.testing.assert_close(logp_a, logp_b, atol=1e-4, rtol=0)
    assert not logp_a.requires_grad
    torch.testing.assert_close(logits.detach(), torch.randn(4000, 300, generator=torch.Generator()
                                                            .manual_seed(4)))


def test_sampler_temperature_seed_and_greedy():
    logits = torch.randn(64, 50, generator=torch.Generator().manual_seed(1))
    a, _ = sample_categorical(logits, 0.7, torch.Generator().manual_seed(2))
    b, logp = sample_categorical(logits, 0.7, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    torch.testing.assert_close(logp, torch.log_softmax(logits / 0.7, -1).gather(1, a[:, None])[:, 0])
    greedy, _ = sample_categorical(logits, 0.0)
    assert torch.equal(greedy, logits.argmax(-1))
    with pytest.raises(ValueError):
        sample_categorical(logits, -1.0)


def test_sampler_extreme_logits():
    logits = torch.tensor([[-1e4, 1e4, -1e4], [0.0, -math.inf, -math.inf]])
    ids, logp = sample_categorical(logits, generator=torch.Generator().manual_seed(0))
    assert ids.tolist() == [1, 0] and torch.isfinite(logp).all()


def lm(**kw):
    return RecurrentLM(LMConfig(vocab_size=12, emb_dim=8, hidden_dim=16, **kw))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@torch.no_grad()
def test_log_prob_matches_stepwise_and_ignores_padding(cell):
    model = lm(cell=cell, num_layers=2, start_id=1, eos_id=2)
    tokens = torch.tensor([[5, 6, 2, 0, 0], [7, 8, 9, 10, 2]])
    lengths = torch.tensor([3, 5])
    logp = model.log_prob(tokens, lengths)
    assert logp.shape == (2, 5) and (logp[0, 3:] == 0).all()
    state = model.initial_state(2)
    token = torch.full((2,), 1)
    for t in range(5):
        logits, state = model.step(token, state)
        step_logp = torch.log_softmax(logits, -1).gather(1, tokens[:, t:t + 1])[:, 0]
        real = t < lengths
        torch.testing.assert_close(logp[real, t], step_logp[real], atol=1e-5, rtol=1e-5)
        token = tokens[:, t]
    changed = tokens.clone()
    changed[0, 3:] = 11  # padding content must not matter
    torch.testing.assert_close(model.log_prob(changed, lengths), logp)
    assert model.nll(tokens, lengths).item() == pytest.approx(-logp.sum().item() / 8)


def test_sample_with_eos_pads_and_scores_consistently():
    model = lm(start_id=1, eos_id=2, pad_id=0).eval()
    with torch.no_grad():
        model.head.bias[2] += 2.0  # make EOS likely so rows end early
    s = model.sample(200, max_len=8, generator=torch.Generator().manual_seed(0))
    assert s.tokens.shape == (200, 8) and (s.lengths < 8).any()
    for row, n in zip(s.tokens.tolist(), s.lengths.tolist(), strict=True):
        assert all(t == 0 for t in row[n:])
        assert 2 not in row[: n - 1] and (n == 8 or row[n - 1] == 2)
    torch.testing.assert_close(s.log_probs, model.log_prob(s.tokens, s.lengths), atol=1e-5,
                               rtol=1e-5)


def test_sample_fixed_length_prefix_and_seed():
    model = lm().eval()
    a = model.sample(5, 6, generator=torch.Generator().manual_seed(4))
    b = model.sample(5, 6, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.tokens, b.tokens) and (a.lengths == 6).all()
    prefix = torch.tensor([[3, 4]] * 5)
    c = model.sample(5, 6, prefix=prefix, generator=torch.Generator().manual_seed(4))
    assert torch.equal(c.tokens[:, :2], prefix) and (c.log_probs[:, :2] == 0).all()
    assert (c.log_probs[:, 2:] < 0).all()
    with pytest.raises(ValueError, match="prefix"):
        model.sample(1, 3, prefix=torch.tensor([[1, 2, 3]]))
    assert model.sample(0, 4).tokens.shape == (0, 4)


def test_to_dict_round_trip(tmp_path):
    model = lm(cell="gru", eos_id=2)
    torch.save(model.to_dict(), tmp_path / "m.pt")
    loaded = RecurrentLM.from_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    x = torch.randint(12, (3, 4))
    torch.testing.assert_close(loaded.log_prob(x, torch.full((3,), 4)),
                               model.log_prob(x, torch.full((3,), 4)))
    with pytest.raises(ValueError, match="cell"):
        lm(cell="rnn")


def test_seqgan_init_std():
    model = RecurrentLM(LMConfig(vocab_size=500, hidden_dim=32, init_std=0.1))
    weights = torch.cat([p.flatten() for p in model.parameters()])
    assert weights.std().item() == pytest.approx(0.1, rel=0.05)
    assert abs(weights.mean().item()) < 0.01


def test_recurrent_lm_is_a_policy_and_reads_soft_inputs():
    from textrl.models import Policy, SequenceModel

    lm = RecurrentLM(LMConfig(vocab_size=11, hidden_dim=8, num_layers=2))
    assert isinstance(lm, Policy) and isinstance(lm, SequenceModel)
    ids = torch.randint(11, (4,))
    one_hot = torch.nn.functional.one_hot(ids, 11).float()
    state = lm.initial_state(4)
    with torch.no_grad():
        by_id, (h_id, _) = lm.step(ids, state)
        by_dist, (h_dist, _) = lm.step(one_hot, state)
    assert torch.equal(by_id, by_dist) and torch.equal(h_id, h_dist)  # a one-hot is its token
    soft = torch.softmax(torch.randn(4, 11), -1).requires_grad_()
    logits, _ = lm.step(soft, state)
    logits.sum().backward()
    assert soft.grad is not None and soft.grad.abs().sum() > 0  # the relaxed path is differentiable
    tokens = torch.randint(11, (3, 5))
    forced, features = lm.teacher_forced(tokens)
    soft_inputs = torch.nn.functional.one_hot(lm.teacher_inputs(tokens), 11).float()
    torch.testing.assert_close(lm.teacher_forced(tokens, inputs=soft_inputs)[0], forced)
    assert features.shape == (3, 5, lm.feature_dim)


def test_an_unconditional_policy_refuses_a_context():
    lm = RecurrentLM(LMConfig(vocab_size=5))
    with pytest.raises(ValueError, match="takes no context"):
        lm.sample(2, 4, context=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="takes no context"):
        lm.log_prob(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 3]), torch.zeros(2))


def test_continue_sequences_ends_rows_where_the_caller_says():
    # The environment's done, not the policy's EOS, ends episode rows.
    from textrl.models import continue_sequences

    lm = RecurrentLM(LMConfig(vocab_size=6, eos_id=2, start_id=1)).eval()
    tokens = torch.zeros(4, 5, dtype=torch.long)
    ends_at = torch.tensor([1, 3, 5, 2])
    steps = iter(range(5))

    def done(ids):
        return ends_at == next(steps) + 1

    with torch.no_grad():
        logits, state = lm.step(torch.ones(4, dtype=torch.long), lm.initial_state(4))
        lengths, log_probs = continue_sequences(lm, logits, state, tokens,
                                                torch.zeros(4, dtype=torch.long),
                                                generator=torch.Generator().manual_seed(0),
                                                on_step=done)
    assert lengths.tolist() == [1, 3, 5, 2]
    mask = torch.arange(5) < lengths[:, None]
    assert (tokens[~mask] == 0).all() and (log_probs[~mask] == 0).all()
    assert (log_probs[mask] < 0).all()
