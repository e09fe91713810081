import gymnasium
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, PPO

import textrl
from textrl.agents.sb3 import FastCategoricalDistribution, PrefixEncoder, policy_kwargs, use_fast_sampler
from textrl.envs import TextVecEnv
from textrl.rewards import ConstantReward


def test_prefix_encoder_reads_exactly_the_prefix():
    space = gymnasium.spaces.Box(0, 9, shape=(6,), dtype=np.int64)
    encoder = PrefixEncoder(space, vocab_size=10, emb_dim=4, hidden_dim=5)
    obs = torch.tensor([[3.0, 7.0, 0.0, 0.0, 0.0, 2.0], [3.0, 7.0, 9.0, 9.0, 9.0, 2.0]])
    features = encoder(obs)
    assert features.shape == (2, 5)
    torch.testing.assert_close(features[0], features[1])  # what follows the position is unread
    inputs = torch.tensor([[10, 3, 7]])  # the start token (id = vocab_size), then the prefix
    out, _ = encoder.rnn(encoder.embedding(inputs))
    torch.testing.assert_close(features[0], out[0, -1])
    empty = encoder(torch.tensor([[5.0, 5.0, 5.0, 5.0, 5.0, 0.0]]))
    out, _ = encoder.rnn(encoder.embedding(torch.tensor([[10]])))
    torch.testing.assert_close(empty[0], out[0, 0])


def test_last_token_encoder_for_recurrent_policies():
    space = gymnasium.spaces.Box(0, 9, shape=(4,), dtype=np.int64)
    encoder = PrefixEncoder(space, vocab_size=10, emb_dim=3, last_token=True)
    features = encoder(torch.tensor([[4.0, 8.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]]))
    torch.testing.assert_close(features[0, :3], encoder.embedding.weight[8])
    torch.testing.assert_close(features[1, :3], encoder.embedding.weight[10])


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_sb3_trains_unmodified_on_the_registered_env(algo):
    env = gymnasium.make(textrl.ENV_ID)
    kwargs = {"n_steps": 40, "batch_size": 40} if algo is PPO else {"n_steps": 20}
    model = algo("MlpPolicy", env, policy_kwargs=policy_kwargs(), seed=0, **kwargs)
    model = use_fast_sampler(model, torch.Generator(device=model.device).manual_seed(0))
    assert isinstance(model.policy.action_dist, FastCategoricalDistribution)
    model.learn(40)
    assert len(model.ep_info_buffer) == 2  # two 20-token sentences
    action, _ = model.predict(env.reset(seed=0)[0])
    assert 0 <= int(action) < 5000


def test_recurrent_ppo_with_the_last_token_encoder():
    sb3_contrib = pytest.importorskip("sb3_contrib", reason="sb3-contrib is a dev extra")
    env = TextVecEnv(4, ConstantReward(), vocab_size=50, max_len=5)
    model = sb3_contrib.RecurrentPPO("MlpLstmPolicy", env, n_steps=10, batch_size=20, seed=0,
                                     policy_kwargs=policy_kwargs(50, last_token=True))
    use_fast_sampler(model).learn(40)
    assert len(model.ep_info_buffer) == 8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fast_sampler_refuses_a_generator_on_another_device():
    model = PPO("MlpPolicy", gymnasium.make(textrl.ENV_ID), policy_kwargs=policy_kwargs(),
                device="cpu")
    with pytest.raises(ValueError, match="generator is on cuda"):
        use_fast_sampler(model, torch.Generator(device="cuda"))


def test_fast_sampler_refuses_continuous_actions():
    env = gymnasium.make("Pendulum-v1")
    with pytest.raises(TypeError, match="Discrete"):
        use_fast_sampler(A2C("MlpPolicy", env))


def one_per_token(tokens, lengths, context=None):
    return (torch.arange(tokens.shape[1]) < lengths[:, None]).float()


one_per_token.token_level = True
one_per_token.causal = True


def test_a_per_token_reward_returns_the_sum_of_its_steps_to_sb3():
    # 1 per token over sentences of 4 tokens (no EOS): every episode's return is 4, the sum
    # of what it was paid step by step, not the last step's 1.
    env = TextVecEnv(2, one_per_token, vocab_size=6, max_len=4)
    env.reset()
    for _ in range(4):
        _, rewards, dones, infos = env.step(np.array([1, 2]))
        assert rewards.tolist() == [1.0, 1.0]
    assert dones.all() and [i["episode"]["r"] for i in infos] == [4.0, 4.0]
    assert [i["episode"]["l"] for i in infos] == [4, 4]
    model = PPO("MlpPolicy", TextVecEnv(4, one_per_token, vocab_size=6, max_len=4), n_steps=8,
                batch_size=16, n_epochs=1, seed=0, policy_kwargs=policy_kwargs(), device="cpu")
    model.learn(32)
    assert [e["r"] for e in model.ep_info_buffer] == [4.0] * 8  # SB3's ep_rew_mean reads these


@pytest.mark.parametrize("family", ["recurrent", "transformer"])
def test_sb3_reads_the_prefix_with_a_textrl_policy_of_any_family(family):
    from textrl.agents.sb3 import PolicyEncoder
    from textrl.models import POLICIES
    from textrl.oracle import OracleLSTM

    corpus = OracleLSTM.random(0, vocab_size=12, seq_len=5).corpus(8, 2, 2)
    torch.manual_seed(0)
    policy = POLICIES[family].build(POLICIES[family].config(), corpus)
    pretrained = [p.clone() for p in policy.parameters()]
    env = TextVecEnv(4, ConstantReward(1.0), vocab_size=12, max_len=5)
    model = PPO("MlpPolicy", env, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu",
                policy_kwargs=policy_kwargs(policy=policy))
    assert isinstance(model.policy.features_extractor, PolicyEncoder)
    before = [p.clone() for p in policy.parameters()]
    # SB3 builds its model around the policy without re-initialising it: a pretrained
    # policy keeps its weights
    assert all(torch.equal(a, b) for a, b in zip(pretrained, before, strict=True))
    model.learn(32)
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    # the features at position p are the policy's after the start token and p prefix tokens
    encoder = model.policy.features_extractor
    obs = torch.tensor([[3.0, 7.0, 1.0, 1.0, 1.0, 2.0], [3.0, 7.0, 9.0, 9.0, 9.0, 2.0]])
    features = encoder(obs)
    torch.testing.assert_close(features[0], features[1])
    _, expected = policy.teacher_forced(torch.tensor([[3, 7, 0]]))  # index 2: after 3, 7
    torch.testing.assert_close(features[0], expected[0, 2])
