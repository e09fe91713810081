import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import textrl
from textrl.data import Vocab
from textrl.envs import TextGenerationEnv, TextVecEnv
from textrl.models import LMConfig, RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.rewards import (
    CompositeReward,
    ConstantReward,
    KLPenalty,
    MonteCarloReward,
    OracleReward,
    Reward,
)


def test_default_env_registered_and_passes_check_env():
    env = gymnasium.make(textrl.ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.observation_space.dtype == np.int64 and env.action_space.n == 5000


def test_episode_pays_the_oracle_likelihood_at_the_last_step():
    oracle = OracleLSTM.random(seed=0, vocab_size=30, seq_len=6)
    env = TextGenerationEnv(OracleReward(oracle), vocab_size=30, max_len=6)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0] * 7
    actions = [3, 0, 7, 29, 1, 5]
    for t, action in enumerate(actions):
        obs, reward, terminated, truncated, _ = env.step(action)
        assert obs[-1] == t + 1 and obs[t] == action and not truncated
        assert terminated == (t == 5)
        if t < 5:
            assert reward == 0.0
    expected = oracle.log_prob(torch.tensor([actions])).mean().item()
    assert reward == pytest.approx(expected, rel=1e-6)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(1)


def test_eos_ends_the_episode_and_render():
    vocab = Vocab.from_corpus([["a", "b", "c"]])
    env = TextGenerationEnv(ConstantReward(2.0), vocab_size=len(vocab), max_len=5,
                            eos_id=vocab.eos_id, pad_id=vocab.pad_id, vocab=vocab,
                            render_mode="ansi")
    env.reset()
    _, reward, terminated, _, _ = env.step(vocab.stoi["b"])
    assert not terminated and reward == 0.0
    assert env.render() == "b"
    _, reward, terminated, _, _ = env.step(vocab.eos_id)
    assert terminated and reward == 2.0
    with pytest.raises(ValueError, match="not a token id"):
        env.step(99)


def test_reward_protocol():
    assert isinstance(ConstantReward(), Reward)
    assert isinstance(OracleReward(OracleLSTM.random(0, vocab_size=10, seq_len=3)), Reward)
    with pytest.raises(ValueError, match="vocab_size and max_len"):
        TextGenerationEnv(ConstantReward())
    policy = RecurrentLM(LMConfig(vocab_size=5))
    q_values = MonteCarloReward(ConstantReward(), policy, 2)
    with pytest.raises(ValueError, match="not causal"):
        TextVecEnv(2, q_values, vocab_size=5, max_len=3)
    with pytest.raises(ValueError, match="not causal"):  # a sequence term inside a composite
        TextGenerationEnv(CompositeReward((1.0, KLPenalty(policy)), (1.0, ConstantReward())),
                          vocab_size=5, max_len=3)


def test_causal_token_level_rewards_are_paid_per_step():
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=6, eos_id=5, pad_id=0))
    reference = RecurrentLM(LMConfig(vocab_size=6, eos_id=5, pad_id=0))
    kl = KLPenalty(policy, reference)
    env = TextVecEnv(3, kl, vocab_size=6, max_len=4, eos_id=5, pad_id=0)
    env.reset()
    actions = torch.tensor([[1, 2, 5], [3, 4, 1], [5, 2, 2]]).T  # row 2 ends at once
    paid = []
    for t, step in enumerate(actions):
        rewards, done = env.step_tensors(step)[1:3]
        paid.append(rewards)
        assert done.tolist() == [[False, False, True], [False, False, False], [True, False, False]][t]
    paid = torch.stack(paid, dim=1)
    whole = kl(torch.tensor([[1, 2, 5, 0], [3, 4, 1, 0]]), torch.tensor([3, 3]))
    torch.testing.assert_close(paid[:2], whole[:, :3])
    torch.testing.assert_close(paid[2, 0], kl(torch.tensor([[5]]), torch.tensor([1]))[0, 0])


def lengths_reward(tokens, lengths):
    return lengths.float()


lengths_reward.token_level = False


def test_vec_env_contract():
    env = TextVecEnv(3, lengths_reward, vocab_size=6, max_len=4, eos_id=2, pad_id=0)
    obs = env.reset()
    assert obs.shape == (3, 5) and obs.dtype == np.int64
    first, rewards, dones, infos = env.step(np.array([4, 2, 5]))
    assert dones.tolist() == [False, True, False] and rewards.tolist() == [0.0, 1.0, 0.0]
    assert infos[1]["episode"]["r"] == 1.0 and infos[1]["episode"]["l"] == 1
    assert infos[1]["terminal_observation"].tolist() == [2, 0, 0, 0, 1]
    assert first[1].tolist() == [0, 0, 0, 0, 0]  # the finished row was reset
    snapshot = first.copy()
    second, *_ = env.step(np.array([3, 3, 3]))
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, snapshot)  # stepping never rewrites returned arrays
    for _ in range(2):
        obs, rewards, dones, infos = env.step(np.array([3, 3, 3]))
    assert dones.tolist() == [True, False, True] and rewards.tolist() == [4.0, 0.0, 4.0]
    assert env.get_attr("render_mode") == [None] * 3
    env.set_attr("marker", 7)
    assert env.get_attr("marker", indices=[0, 2]) == [7, 7]
    assert env.env_method("get_attr", "num_envs", indices=[1]) == [[3, 3, 3]]
    assert env.env_is_wrapped(gymnasium.Wrapper) == [False] * 3


def test_stable_baselines3_ppo_trains_on_the_vec_env():
    from stable_baselines3 import PPO

    env = TextVecEnv(4, ConstantReward(1.0), vocab_size=10, max_len=5)
    model = PPO("MlpPolicy", env, n_steps=10, batch_size=20, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=80)
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 8 and all(e["r"] == 1.0 and e["l"] == 5 for e in episodes)
    action, _ = model.predict(env.reset(), deterministic=True)
    assert action.shape == (4,) and ((action >= 0) & (action < 10)).all()
