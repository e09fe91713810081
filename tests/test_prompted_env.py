"""The prompted task as a Gymnasium environment (textrl.tasks.prompted_env)."""

import warnings

import numpy as np
import pytest
import torch

from textrl.datasets import DataConfig, build_corpus
from textrl.envs import PromptedEnv, PromptedVecEnv
from textrl.rewards import ConstantReward, Reward
from textrl.tasks.arithmetic import ArithmeticConfig, ArithmeticTask
from textrl.tasks.prompted import PromptedConfig, PromptedTask, codec_of


@pytest.fixture(scope="module")
def arithmetic():
    data = DataConfig(data="arithmetic", n_train=50, n_valid=20)
    corpus, _ = build_corpus(data)
    return ArithmeticTask(ArithmeticConfig(group_size=2), corpus, data), corpus


def encode(task, text):
    return task.text.encode(text)


def test_check_env_passes_and_the_env_is_registered(arithmetic):
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import textrl  # noqa: F401  (registers the envs)

    task, _ = arithmetic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gymnasium.make("textrl/Prompted-v0", task=task).unwrapped)
        check_env(gymnasium.make("textrl/Prompted-v0").unwrapped)  # the embedded default
    env = PromptedEnv(task)
    assert env.observation_space.shape == (task.max_len + 1,) == (11,)
    assert env.action_space.n == len(task.text.vocab)


def test_a_reset_shows_the_prompt(arithmetic):
    task, _ = arithmetic
    env = PromptedEnv(task, render_mode="ansi")
    obs, info = env.reset(seed=0)
    prompt = encode(task, info["prompt"])
    n = info["prompt_length"]
    assert info["prompt"].endswith("=") and n == len(prompt)
    assert info["prompt"] in {row["prompt"] for row in task.table.rows}  # a training problem
    assert obs[:n].tolist() == prompt and obs[-1] == n
    assert (obs[n:-1] == task.text.vocab.pad_id).all()
    assert env.render() == f"{info['prompt']} | "


def play(env, actions):
    """Step ``actions``; returns the rewards and the last step's (obs, terminated)."""
    rewards = []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        assert not truncated
        rewards.append(reward)
    return rewards, obs, terminated


def test_the_right_answer_earns_1_at_its_last_step_and_a_wrong_one_0(arithmetic):
    task, _ = arithmetic
    eos = task.text.vocab.eos_id
    env = PromptedEnv(task, render_mode="ansi")
    _, info = env.reset(seed=1)
    row = next(r for r in task.table.rows if r["prompt"] == info["prompt"])
    answer = encode(task, row["answer"]) + [eos]
    rewards, _, terminated = play(env, answer)
    assert terminated and rewards == [0.0] * (len(answer) - 1) + [1.0]
    assert env.render() == f"{row['prompt']} | {row['answer']}"
    env.reset(seed=1)  # the same prompt
    wrong = encode(task, str(int(row["answer"]) + 1)) + [eos]
    rewards, _, terminated = play(env, wrong)
    assert terminated and rewards == [0.0] * len(wrong)
    env.reset(seed=1)  # the answer without its EOS is not finished: no reward yet
    rewards, _, terminated = play(env, answer[:-1])
    assert not terminated and rewards == [0.0] * (len(answer) - 1)


def test_episodes_end_at_eos_or_max_len_and_the_prompt_is_never_an_action(arithmetic):
    task, _ = arithmetic
    env = PromptedEnv(task)
    obs, info = env.reset(seed=2)
    n = info["prompt_length"]
    digit = encode(task, "7")[0]
    for step in range(task.max_len - n):
        obs, _, terminated, _, _ = env.step(digit)
        assert obs[:n].tolist() == encode(task, info["prompt"])  # the prompt stays as drawn
        assert obs[n + step] == digit and obs[-1] == n + step + 1  # written after the prompt
        assert terminated == (step == task.max_len - n - 1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(digit)
    env.reset(seed=2)
    _, _, terminated, _, _ = env.step(task.text.vocab.eos_id)
    assert terminated
    with pytest.raises(RuntimeError, match="reset"):  # EOS ended it, short of max_len
        env.step(digit)
    with pytest.raises(ValueError, match="not a token id"):
        env.reset()
        env.step(len(task.text.vocab))


def paid_position(tokens, lengths, context=None):
    """Token-level and causal: position t is paid t + 1 (which positions the env pays)."""
    return (torch.arange(tokens.shape[1]) + 1.0).expand(len(tokens), -1)


paid_position.token_level = True
paid_position.causal = True


def test_only_completion_positions_are_paid_and_counted_in_the_vec_env(arithmetic):
    task, _ = arithmetic
    env = PromptedVecEnv(3, task, reward=paid_position, seed=0)
    obs = env.reset()
    starts = obs[:, -1].copy()  # each row's prompt length
    digit = encode(task, "3")[0]
    _, rewards, dones, _ = env.step(np.full(3, digit))
    assert rewards.tolist() == (starts + 1).tolist()  # the first action is paid after the prompt
    _, rewards, dones, infos = env.step(np.full(3, task.text.vocab.eos_id))
    assert dones.all() and rewards.tolist() == (starts + 2).tolist()
    for i in range(3):  # an episode is its 2 actions: the prompt is neither paid nor a step
        assert infos[i]["episode"]["l"] == 2
        assert infos[i]["episode"]["r"] == 2 * starts[i] + 3
        assert infos[i]["terminal_observation"][starts[i]] == digit
    env = PromptedVecEnv(2, task, reward=ConstantReward(2.0), seed=0)  # sequence-level
    env.reset()
    _, rewards, dones, _ = env.step(np.array([digit, task.text.vocab.eos_id]))
    assert dones.tolist() == [False, True] and rewards.tolist() == [0.0, 2.0]


def test_seeds_reproduce_the_prompts(arithmetic):
    task, _ = arithmetic

    def prompts(env, seed):
        first = env.reset(seed=seed)[1]["prompt"]
        return [first] + [env.reset()[1]["prompt"] for _ in range(4)]

    a, b = PromptedEnv(task), PromptedEnv(task)
    assert prompts(a, 7) == prompts(b, 7) == prompts(a, 7)
    assert prompts(a, 8) != prompts(a, 7)
    vec = PromptedVecEnv(4, task, seed=3)
    first = vec.reset()
    assert np.array_equal(first, PromptedVecEnv(4, task, seed=3).reset())
    vec.seed(3)
    assert np.array_equal(vec.reset(), first)
    vec.seed(4)
    assert not np.array_equal(vec.reset(), first)


def test_a_task_without_a_prompts_file_draws_real_sentences_prompts(arithmetic):
    _, corpus = arithmetic
    data = DataConfig(data="arithmetic", n_train=50, n_valid=20)
    task = PromptedTask(PromptedConfig(prompt_words=2), codec_of(corpus, data), corpus.max_len)
    with pytest.raises(ValueError, match="give a reward"):
        PromptedEnv(task, sentences=corpus.train)
    with pytest.raises(ValueError, match="sentences"):
        PromptedEnv(task, ConstantReward(1.0))
    env = PromptedEnv(task, ConstantReward(1.0), sentences=corpus.train)
    obs, info = env.reset(seed=0)
    starts = {tuple(row[:2]) for row in corpus.train.tokens.tolist()}
    assert info["prompt_length"] == 2 and tuple(obs[:2].tolist()) in starts


def test_rewards_the_env_cannot_pay_are_refused(arithmetic):
    task, _ = arithmetic

    def whole(tokens, lengths, context=None):
        return torch.zeros(tokens.shape)

    whole.token_level = True  # not causal: needs the finished sentence

    class Templates(Reward):
        task = "infill"

    with pytest.raises(ValueError, match="not causal"):
        PromptedEnv(task, whole)
    with pytest.raises(ValueError, match="infill"):
        PromptedVecEnv(2, task, Templates())


def test_stable_baselines3_ppo_learns_on_it_through_the_adapter(arithmetic):
    from stable_baselines3 import PPO

    from textrl.agents.sb3 import PolicyEncoder, policy_kwargs, use_fast_sampler
    from textrl.models import POLICIES

    task, corpus = arithmetic
    policy = POLICIES["recurrent"].build(POLICIES["recurrent"].config(emb_dim=8, hidden_dim=8),
                                         corpus)
    env = PromptedVecEnv(8, task, seed=0)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, n_epochs=1, seed=0, device="cpu",
                policy_kwargs=policy_kwargs(policy=policy))
    model = use_fast_sampler(model, torch.Generator().manual_seed(0))
    assert isinstance(model.policy.features_extractor, PolicyEncoder)
    before = [p.clone() for p in policy.parameters()]
    model.learn(256)
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 256 // task.max_len
    assert all(e["r"] in (0.0, 1.0) and 1 <= e["l"] <= task.max_len - 4 for e in episodes)
