"""In-filling (MaskGAN): masks, and the seq2seq generator that fills them."""

import pytest
import torch

from textrl.data.masks import make_mask, template
from textrl.models import Infill, Seq2SeqConfig, Seq2SeqGenerator, policy_from_dict
from textrl.models.generation import complete_prefixes


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_contiguous_masks_follow_the_authors_block_and_never_blank_the_first_token():
    lengths = torch.full((200,), 20)
    present = make_mask(lengths, 20, "contiguous", 0.5, g())
    missing = ~present
    assert (missing.sum(1) == 9).all()  # int(0.5 * 20) - 1, as the authors' generate_mask
    assert not missing[:, 0].any()
    starts = missing.int().argmax(1)
    assert starts.min() == 1 and starts.max() == 20 - 9  # every start in [1, L - block]
    blocks = torch.arange(20)[None] - starts[:, None]
    assert torch.equal(missing, (blocks >= 0) & (blocks < 9))  # one contiguous block


def test_masks_are_seeded_and_leave_padding_alone():
    lengths = torch.tensor([7, 3, 1, 12])
    for strategy in ("contiguous", "random"):
        a = make_mask(lengths, 12, strategy, 0.5, g(1))
        assert torch.equal(a, make_mask(lengths, 12, strategy, 0.5, g(1)))
        beyond = torch.arange(12)[None] >= lengths[:, None]
        assert a[beyond].all() and a[:, 0].all()
    rates = (~make_mask(torch.full((2000,), 21), 21, "random", 0.3, g(2)))[:, 1:].float().mean()
    assert abs(rates.item() - 0.3) < 0.01
    unconditional = make_mask(torch.tensor([4]), 5, "unconditional")
    assert unconditional.int().tolist() == [[1, 0, 0, 0, 1]]
    with pytest.raises(ValueError, match="strategy"):
        make_mask(lengths, 12, "blocks")
    with pytest.raises(ValueError, match="rate"):
        make_mask(lengths, 12, "random", 1.5)


def setup(batch=4, length=8, vocab=12, seed=0, **config):
    torch.manual_seed(seed)
    policy = Seq2SeqGenerator(Seq2SeqConfig(vocab_size=vocab, emb_dim=6, hidden_dim=5, **config))
    tokens = torch.randint(1, vocab, (batch, length), generator=g(seed))
    lengths = torch.tensor([length, length - 3, length, 2])[:batch]
    present = make_mask(lengths, length, "contiguous", 0.5, g(seed + 1))
    context = Infill(template(tokens, present, policy.mask_id), present, lengths)
    return policy, tokens, lengths, context


def test_given_tokens_are_copied_with_no_probability_or_gradient():
    policy, tokens, lengths, context = setup()
    sample = policy.sample(4, 8, context=context, generator=g(3))
    present = context.present
    assert torch.equal(sample.tokens[present], tokens[present])
    assert (sample.log_probs[present] == 0).all()
    log_probs = policy.log_prob(sample.tokens, torch.full((4,), 8), context)
    torch.testing.assert_close(log_probs, sample.log_probs)  # what it sampled, it scores
    assert (log_probs[~present] < 0).all()
    grads = torch.autograd.grad(log_probs[present].sum(), list(policy.parameters()),
                                allow_unused=True)
    assert all(grad is None or not grad.any() for grad in grads)
    logits, _ = policy.teacher_forced(sample.tokens, context)
    entropy = -(logits.log_softmax(-1).exp() * logits.log_softmax(-1).nan_to_num()).sum(-1)
    assert (entropy[present] == 0).all()


def test_attention_reads_the_template_and_ignores_its_padding():
    policy, tokens, lengths, context = setup()
    reference, _ = policy.teacher_forced(tokens, context)
    padded = context.template.clone()
    padded[1, lengths[1]:] = 3  # beyond row 1's length: padding the encoder must not read
    logits, _ = policy.teacher_forced(tokens, context._replace(template=padded))
    n = int(lengths[1])
    torch.testing.assert_close(logits[1, :n], reference[1, :n])
    # ... and gives it no weight: the same sentence without the padding scores the same.
    alone = Infill(context.template[1:2, :n], context.present[1:2, :n], lengths[1:2])
    torch.testing.assert_close(policy.teacher_forced(tokens[1:2, :n], alone)[0][0],
                               reference[1, :n])
    given = context.template.clone()
    first_given = int(context.present[0, 1:].int().argmax()) + 1
    given[0, first_given] = (given[0, first_given] % 11) + 1  # change one given word
    logits, _ = policy.teacher_forced(tokens, context._replace(template=given))
    missing = ~context.present[0]
    assert not torch.allclose(logits[0, missing], reference[0, missing])


def test_steps_soft_inputs_and_teacher_forcing_agree():
    policy, tokens, lengths, context = setup(attention=True)
    logits, _ = policy.teacher_forced(tokens, context)
    state = policy.initial_state(4, context)
    inputs = policy.teacher_inputs(tokens)
    for t in range(8):
        one_hot = torch.nn.functional.one_hot(inputs[:, t], 12).float()
        step_logits, state = policy.step(one_hot, state)
        torch.testing.assert_close(step_logits, logits[:, t])


def test_rollouts_keep_prefixes_and_given_tokens():
    policy, tokens, lengths, context = setup()
    full = torch.full((4,), 8)
    completions, _ = complete_prefixes(policy, tokens, full, 2, generator=g(4), context=context)
    rows = completions.view(7, 2, 4, 8)  # [prefix length - 1, rollout, sentence, T]
    for t in range(1, 8):
        assert torch.equal(rows[t - 1, :, :, :t], tokens[None, :, :t].expand(2, 4, t))
        assert (rows[t - 1][:, context.present] == tokens[context.present]).all()


def test_without_a_template_nothing_is_given_and_checkpoints_round_trip():
    policy, tokens, lengths, context = setup(dropout=0.3)
    policy.eval()
    sample = policy.sample(3, 8, generator=g(7))  # a language model: every word sampled
    assert (sample.log_probs < 0).all()
    full = torch.full((3,), 8)
    torch.testing.assert_close(policy.log_prob(sample.tokens, full), sample.log_probs)
    torch.testing.assert_close(policy.log_prob(sample.tokens, full, policy.blank(3)),
                               sample.log_probs)
    copy = policy_from_dict(policy.to_dict())
    policy.eval()
    torch.testing.assert_close(copy.eval().teacher_forced(tokens, context)[0],
                               policy.teacher_forced(tokens, context)[0])


def discriminator(critic="context", seed=0):
    from textrl.rewards.token_discriminator import TokenDiscriminator

    torch.manual_seed(seed)
    return TokenDiscriminator(12, emb_dim=6, hidden_dim=5, critic=critic, lr=1e-2)


def test_the_discriminator_pays_each_missing_word_and_reads_the_template():
    d = discriminator()
    policy, tokens, lengths, context = setup()
    rewards = d(tokens, lengths, context)
    missing = ~context.present & (torch.arange(8)[None] < lengths[:, None])
    assert (rewards[~missing] == 0).all() and (rewards[missing] < 0).all()  # log D < 0
    given = context.template.clone()
    first_given = int(context.present[0, 1:].int().argmax()) + 1
    given[0, first_given] = (given[0, first_given] % 11) + 1
    changed = d(tokens, lengths, context._replace(template=given))
    assert not torch.allclose(changed[0][missing[0]], rewards[0][missing[0]])  # same words


def test_discriminator_steps_score_missing_positions_only_and_learn():
    d = discriminator()
    policy, tokens, lengths, context = setup()
    fake = policy.sample(4, 8, context=context, generator=g(5)).tokens
    before = d.head.weight.clone()
    critic_before = d.critic.head.weight.clone()
    stats = [d.update((tokens, lengths), (fake, lengths), context) for _ in range(30)]
    assert stats[-1]["loss"] < stats[0]["loss"] and stats[-1]["accuracy"] > 0.5
    assert not torch.equal(d.head.weight, before)
    assert torch.equal(d.critic.head.weight, critic_before)  # the agent trains the critic
    # Words after a row's last blank are given: they carry no loss (and, read left to
    # right, cannot change a blank's score), so changing them changes nothing.
    missing = ~context.present & (torch.arange(8)[None] < lengths[:, None])
    last = (missing * torch.arange(8)[None]).amax(1)
    after = torch.arange(8)[None] > last[:, None]
    changed = torch.where(after, (fake % 11) + 1, fake)
    d2, d3 = discriminator(seed=1), discriminator(seed=1)
    a = d2.update((tokens, lengths), (fake, lengths), context)
    b = d3.update((tokens, lengths), (changed, lengths), context)
    assert a["loss"] == pytest.approx(b["loss"]) and after.any()


@pytest.mark.parametrize("form", ["context", "authors"])
def test_critic_values_look_only_before_each_word(form):
    d = discriminator(critic=form)
    torch.nn.init.normal_(d.critic.head.weight)
    policy, tokens, lengths, context = setup()
    full = torch.full((4,), 8)
    values = d.critic(tokens, full, context)
    later = tokens.clone()
    later[:, 5] = (later[:, 5] % 11) + 1
    moved = d.critic(later, full, context)
    torch.testing.assert_close(moved[:, :6], values[:, :6])  # V_t reads x_<t only
    assert not torch.allclose(moved[:, 6], values[:, 6])
    given = context.template.clone()
    given[:, 1] = (given[:, 1] % 11) + 1
    with_other_template = d.critic(tokens, full, context._replace(template=given))
    assert torch.allclose(with_other_template, values) == (form == "authors")
    assert [n for n, _ in d.critic.named_parameters()] == ["head.weight", "head.bias"]


def test_maskgan_returns_and_clipped_advantages_by_hand():
    from textrl.agents import ActorCritic, Rollout

    class Zero(torch.nn.Module):  # a critic that knows nothing: advantage = return
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(()))

        def forward(self, tokens, lengths, context=None):
            return self.bias.expand(tokens.shape).clone() * 0

    policy, tokens, lengths, context = setup(batch=1, length=5)
    present = torch.tensor([[True, False, True, False, False]])
    context = Infill(template(tokens, present, policy.mask_id), present, torch.tensor([5]))
    rewards = torch.tensor([[9.0, -1.0, 7.0, -2.0, -5.0]])  # paid at given positions too: ignored
    rollout = Rollout(tokens, torch.tensor([5]), torch.zeros(1, 5), rewards, context=context,
                      action_mask=~present)
    agent = ActorCritic(policy, gamma=0.89, gae_lambda=1.0, critic=Zero(), advantage_clip=5.0)
    advantages, returns = agent.advantages(rollout, torch.zeros(1, 5))
    gamma = 0.89
    r = [0.0, -1.0, 0.0, -2.0, -5.0]  # the authors: R_t = sum_s missing_s gamma^(s-t) r_s
    expected = [sum(gamma ** (s - t) * r[s] for s in range(t, 5)) for t in range(5)]
    expected = torch.tensor(expected) * (~present[0])
    torch.testing.assert_close(returns[0], expected)
    torch.testing.assert_close(advantages[0], expected.clamp(-5, 5))
    assert returns[0, 1] < -6 and advantages[0, 1] == -5.0  # -1 - .89^2 2 - .89^3 5, clipped


def test_infilling_env_is_registered_and_passes_check_env():
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import textrl  # noqa: F401  (registers the envs)

    env = gymnasium.make("textrl/Infilling-v0")
    check_env(env.unwrapped)


def test_an_episode_acts_once_per_blank_and_never_touches_given_words():
    from textrl.envs import InfillingEnv
    from textrl.rewards import OracleReward

    env = InfillingEnv()
    obs, _ = env.reset(seed=3)
    length = 20
    template_ids, position = obs[:length], int(obs[-1])
    blanks = [i for i, t in enumerate(template_ids) if t == 5000]
    assert position == blanks[0] and len(blanks) == 9
    actions = torch.randint(5000, (len(blanks),), generator=g(6)).tolist()
    rewards, done = [], False
    for action in actions:
        assert not done
        obs, reward, done, truncated, _ = env.step(action)
        rewards.append(reward)
    assert done and not truncated
    filled = torch.as_tensor(obs[length:2 * length])
    given = torch.as_tensor(template_ids != 5000)
    assert torch.equal(filled[given], torch.as_tensor(template_ids)[given])
    assert filled[blanks].tolist() == actions
    oracle = env.reward.oracle
    expected = OracleReward(oracle, per_token=True)(filled[None], torch.tensor([length]))[0, blanks]
    torch.testing.assert_close(torch.tensor(rewards), expected)


def test_the_vec_env_resets_finished_rows_and_sb3_trains_on_it():
    from stable_baselines3 import PPO

    from textrl.agents.sb3 import policy_kwargs
    from textrl.envs import InfillingVecEnv
    from textrl.rewards import ConstantReward

    env = InfillingVecEnv(3, seed=1)
    obs = env.reset()
    assert obs.shape == (3, 41)
    episodes = 0
    for _ in range(12):
        obs, rewards, done, infos = env.step(torch.randint(5000, (3,)).numpy())
        for i in done.nonzero()[0]:
            episodes += 1
            assert infos[i]["episode"]["l"] == 9 and obs[i, -1] < 20  # a fresh sentence
    assert episodes == 3
    with pytest.raises(ValueError, match="token-level and causal"):
        InfillingVecEnv(2, sentences=InfillingVecEnv(1).blanks.pool, reward=ConstantReward(1.0),
                        vocab_size=5000)
    model = PPO("MlpPolicy", InfillingVecEnv(4, seed=0), n_steps=16, batch_size=32,
                policy_kwargs=policy_kwargs(), device="cpu", seed=0)
    model.learn(64)


def test_text_as_one_stream_cut_into_windows(text_file):
    from textrl.datasets import DataConfig, build_corpus

    path = text_file(["a b c", "d e", "f g h i"])
    corpus, _ = build_corpus(DataConfig(data=str(path), valid=str(path), test=str(path),
                                        windows=4))
    eos = corpus.vocab.eos_id
    stream = [*corpus.vocab.encode(["a", "b", "c"]), eos, *corpus.vocab.encode(["d", "e"]), eos,
              *corpus.vocab.encode(["f", "g", "h", "i"]), eos]
    assert corpus.train.tokens.tolist() == [stream[:4], stream[4:8], stream[8:12]]
    assert corpus.eos_id is None and corpus.max_len == 4  # fixed-length windows


def test_maskmle_trains_resumes_and_starts_from_a_language_model(text_file, tmp_path, capsys):
    import json

    from tests.test_runs import run_cli, user_error

    words = ["the", "cat", "sat", "on", "a", "mat", "and", "the", "dog", "ran", "to", "big",
             "red", "log"]
    gen = g(8)
    lines = [" ".join(words[i] for i in torch.randint(len(words), (6,), generator=gen))
             for _ in range(80)]
    data = text_file(lines)
    common = ["--data", data, "--windows", "8", "--emb-dim", "8", "--hidden-dim", "8",
              "--batch-size", "16", "--quiet"]
    lm = tmp_path / "lm"
    assert run_cli(["train", "mle", "--data", data, "--windows", "8", "--emb-dim", "8",
                    "--hidden-dim", "8", "--epochs", "1", "--quiet", "--out", lm], capsys)[0] == 0
    out = tmp_path / "maskmle"
    code, stdout, err = run_cli(["train", "maskmle", *common, "--epochs", "1", "--init-lm", lm,
                                 "--out", out], capsys)
    assert code == 0, err
    first = json.loads(stdout)
    assert first["nll_valid"] > 0 and first["ppl_valid"] > 1
    code, stdout, _ = run_cli(["train", "maskmle", "--resume", "--epochs", "2", "--out", out],
                              capsys)
    resumed = json.loads(stdout)
    assert code == 0 and resumed["epoch"] == 2
    code, stdout, _ = run_cli(["sample", out, "-n", "2"], capsys)
    assert code == 0 and len(stdout.splitlines()) == 2
    # evaluate samples the authors' way: a real first word, every other word filled.
    from textrl.recipes import task_of
    from textrl.training import load_run

    loaded = load_run(out)
    task = task_of(loaded.config, loaded.corpus, loaded.data)
    context = task.sample_contexts(loaded.corpus.test, 5, g(10))
    assert context.present[:, 0].all() and not context.present[:, 1:].any()
    assert set(context.template[:, 0].tolist()) <= set(loaded.corpus.test.tokens[:, 0].tolist())
    code, stdout, _ = run_cli(["evaluate", out, "--samples", "20", "--json"], capsys)
    result = json.loads(stdout)
    assert code == 0 and result["distinct1"] > 0
    # A window's <eos> separates sentences: the metrics read all its 8 words, not the first
    # sentence (decoding stopped at EOS until 2026-11-26).
    assert result["length_mean"] == result["length_min"] == 8
    # Masked perplexity under both kinds of masks; the random kind, at the run's own rate and
    # seed, is the validation number its last epoch logged.
    assert result["masked_ppl_contiguous"] > 1
    assert result["masked_ppl_random"] == pytest.approx(resumed["ppl_valid"], rel=1e-5)
    user_error(["train", "maskmle", *common, "--hidden-dim", "9", "--epochs", "1",
                "--init-lm", lm, "--out", tmp_path / "bad"], capsys, "does not match")
    # textrl infill: blanks filled, given words kept, unknown words shown as <unk>.
    code, stdout, err = run_cli(["infill", out, "the <m> <m> on zebra mat"], capsys)
    assert code == 0, err
    shown, filled = stdout.rstrip("\n").split("\t")
    assert shown == "the <m> <m> on <unk> mat"
    filled = filled.split()
    assert len(filled) == 6 and filled[0] == "the" and filled[3:] == ["on", "<unk>", "mat"]
    # --file on a windows run: one output line per input line, a short line filled as it
    # is, a line longer than the model's window of 8 a window at a time, a blank one blank.
    lines = ["the cat sat on the mat", "the end", "", "a dog ran to the log and the cat sat on"]
    code, stdout, err = run_cli(["infill", out, "--file", text_file(lines, "real.txt"), "--seed",
                                 "1"], capsys)
    assert code == 0, err
    rows = [line.split("\t") for line in stdout.split("\n")[:-1]]
    assert [r[0] for r in rows] == lines
    assert [len(r[2].split()) for r in rows] == [6, 2, 0, 11]
    assert all("<m>" in r[1] for r in rows if r[0]) and rows[3][1].count("<m>") >= 2
    user_error(["infill", out, "the cat sat"], capsys, "no <m>")
    user_error(["infill", out, " ".join(["<m>"] * 9)], capsys, "this model fills 1 to 8")
    user_error(["infill", lm, "the <m> sat"], capsys, "cannot read an in-filling template")


def test_maskgan_trains_on_blanks_only_and_resumes(text_file, tmp_path, capsys, monkeypatch):
    import json

    from tests.test_runs import run_cli, user_error
    from textrl.agents import ActorCritic

    words = ["a", "b", "c", "d", "e", "f", "g", "h"]
    gen = g(9)
    data = text_file([" ".join(words[i] for i in torch.randint(8, (7,), generator=gen))
                      for _ in range(60)])
    maskmle = tmp_path / "maskmle"
    assert run_cli(["train", "maskmle", "--data", data, "--windows", "10", "--emb-dim", "8",
                    "--hidden-dim", "8", "--epochs", "1", "--quiet", "--out", maskmle],
                   capsys)[0] == 0
    rollouts = []
    original = ActorCritic.update

    def spy(self, rollout):
        rollouts.append(rollout)
        return original(self, rollout)

    monkeypatch.setattr(ActorCritic, "update", spy)
    tiny = ["--d-emb-dim", "8", "--d-hidden-dim", "8", "--batch-size", "8", "--d-samples", "16",
            "--d-batch-size", "16", "--d-pretrain-steps", "2", "--eval-every", "1", "--quiet"]
    out = tmp_path / "maskgan"
    code, stdout, err = run_cli(["train", "maskgan", "--init", maskmle, "--iterations", "2",
                                 *tiny, "--out", out], capsys)
    assert code == 0, err
    record = json.loads(stdout)
    assert record["iteration"] == 2 and record["nll_valid"] > 0 and "d_accuracy" in record
    for rollout in rollouts:
        present = rollout.context.present
        assert torch.equal(rollout.action_mask, ~present)  # windows: every position is real
        assert torch.equal(rollout.tokens[present], rollout.context.template[present])
        assert (rollout.rewards[present] == 0).all() and (rollout.rewards[~present] < 0).all()
    code, stdout, _ = run_cli(["train", "maskgan", "--resume", "--iterations", "3", "--quiet",
                               "--out", out], capsys)
    assert code == 0 and json.loads(stdout)["iteration"] == 3
    # Resumed, the run is the uninterrupted one: every logged number, every weight.
    straight = tmp_path / "straight"
    assert run_cli(["train", "maskgan", "--init", maskmle, "--iterations", "3", *tiny,
                    "--checkpoint-every", "1", "--out", straight], capsys)[0] == 0
    from tests.test_runs import final_state

    (a, log_a), (b, log_b) = final_state(straight), final_state(out)
    assert log_a == log_b
    for key, value in a["model"]["state_dict"].items():
        assert torch.equal(value, b["model"]["state_dict"][key]), key
    for key, value in a["trainer"]["reward"]["model"].items():
        assert torch.equal(value, b["trainer"]["reward"]["model"][key]), key
    user_error(["train", "maskgan", "--init", maskmle, *tiny, "--n-rollouts", "4", "--out",
                tmp_path / "x"], capsys, "the infill task pays every action its own reward")
    code, stdout, err = run_cli(["train", "maskgan", "--init", maskmle, "--iterations", "1",
                                 *tiny, "--d-init", "generator", "--out", tmp_path / "copied"],
                                capsys)
    assert code == 0 and json.loads(stdout)["d_accuracy"] >= 0, err
    user_error(["train", "maskgan", "--init", maskmle, *tiny, "--d-init", "generator",
                "--d-hidden-dim", "6", "--out", tmp_path / "x"], capsys,
               "--d-init generator copies the generator into the discriminator")
    assert not (tmp_path / "x").exists()
    lm = tmp_path / "lm"
    assert run_cli(["train", "mle", "--data", data, "--windows", "10", "--epochs", "1", "--quiet",
                    "--out", lm], capsys)[0] == 0
    user_error(["train", "maskgan", "--init", lm, *tiny, "--out", tmp_path / "y"], capsys,
               "a RecurrentLM cannot read an in-filling template")


def test_maskmle_loss_is_a_mean_over_the_blanked_words():
    from textrl.agents.mle import BehaviourCloning

    model = Seq2SeqGenerator(Seq2SeqConfig(vocab_size=10, emb_dim=8, hidden_dim=8))
    tokens = torch.randint(10, (4, 6), generator=g())
    lengths = torch.tensor([6, 5, 4, 6])
    present = make_mask(lengths, 6, "random", 0.5, g(1))
    context = Infill(template(tokens, present, model.mask_id), present, lengths)
    blanks = (torch.arange(6) < lengths[:, None]) & ~present
    with torch.no_grad():
        expected = -model.log_prob(tokens, lengths, context).sum() / blanks.sum()
    stats = BehaviourCloning(model).update(tokens, lengths, context=context, chosen=blanks)
    assert stats["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_the_discriminator_can_start_from_the_generator():
    """--d-init generator: the authors' code restores D's embedding, encoder, decoder and
    attention from the MaskMLE checkpoint; the head stays new, the optimiser keeps training
    the same (copied-into) parameters, and a size mismatch is refused with the flags to fix."""
    from textrl.errors import UserError

    policy, tokens, lengths, context = setup()
    d = discriminator(seed=3)  # not seed 0: setup's generator would be the same draw
    assert not torch.equal(d.body.encoder.weight_ih_l0, policy.encoder.weight_ih_l0)
    head = d.head.weight.clone()
    d.start_from(policy)
    mine, theirs = d.body.state_dict(), policy.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert torch.equal(d.head.weight, head)
    assert {id(p) for group in d.optimizer.param_groups for p in group["params"]} >= {
        id(p) for name, p in d.body.named_parameters() if name != "output_bias"}
    fake = policy.sample(4, 8, context=context, generator=g(5)).tokens
    d.update((tokens, lengths), (fake, lengths), context)
    assert not torch.equal(d.body.encoder.weight_ih_l0, policy.encoder.weight_ih_l0)  # copied
    from textrl.rewards.token_discriminator import TokenDiscriminator

    wider = TokenDiscriminator(12, emb_dim=6, hidden_dim=7)
    with pytest.raises(UserError, match="--d-hidden-dim"):
        wider.start_from(policy)
