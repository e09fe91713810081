"""
Gymnasium and stable-baselines3
===============================

Importing textrl registers three Gymnasium environments: ``textrl/TextGeneration-v0`` (one
sentence per episode, one token per action), ``textrl/Infilling-v0`` (a masked sentence
whose blanks the agent writes) and ``textrl/Prompted-v0`` (a prompt, then the agent's
completion). They pass Gymnasium's ``check_env`` and run stable-baselines3's algorithms
unmodified. :class:`~textrl.envs.TextVecEnv` steps a whole batch of sentences as tensors
behind SB3's ``VecEnv`` interface, and :mod:`textrl.agents.sb3` gives SB3's policies a
features extractor that reads token ids as ids.
"""

# %%
# The registered environments
# ---------------------------
import gymnasium
import numpy as np
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import textrl  # registers the environments
from textrl.agents.sb3 import policy_kwargs, use_fast_sampler
from textrl.envs import ENV_ID, INFILLING_ENV_ID, PROMPTED_ENV_ID
from textrl.rewards import OracleReward

for env_id in (ENV_ID, INFILLING_ENV_ID, PROMPTED_ENV_ID):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped)
    print(f"{env_id:26s} observation {env.observation_space}, action {env.action_space}")

# %%
# The observation is the padded sequence of token ids so far followed by the position (so
# padding is never mistaken for a token); the action is a token id. Without arguments,
# ``TextGeneration-v0`` is SeqGAN's setting: the seeded random oracle's vocabulary of
# 5,000 and sentences of 20 tokens, rewarded with the oracle's log-likelihood at the end.
# Any reward, vocabulary size and length can be given; here a small oracle keeps PPO fast.
oracle = textrl.OracleLSTM.random(seed=0, vocab_size=50, seq_len=10)
env = gymnasium.make(ENV_ID, reward=OracleReward(oracle), vocab_size=50, max_len=10)
check_env(env.unwrapped)
env = Monitor(env)  # SB3's episode statistics
obs, info = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(7)
print(obs, reward, terminated)

# %%
# stable-baselines3's PPO
# -----------------------
# ``policy_kwargs`` embeds the ids and reads the prefix with an LSTM (SB3's default
# would read the ids as real numbers); ``use_fast_sampler`` makes the policy sample
# with textrl's exact inverse-CDF sampler instead of ``torch.multinomial``.
model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, learning_rate=3e-3, seed=0,
            policy_kwargs=policy_kwargs(vocab_size=50))
use_fast_sampler(model, torch.Generator().manual_seed(0))
before, _ = evaluate_policy(model, env, n_eval_episodes=50)
model.learn(4_096)
after, _ = evaluate_policy(model, env, n_eval_episodes=50)
print(f"mean episode reward (the oracle's mean log-likelihood): {before:.3f} -> {after:.3f}")

# %%
# textrl's batched environment under SB3
# --------------------------------------
# :class:`~textrl.envs.TextVecEnv` is a ``VecEnv`` of 64 sentences stepped at once as
# tensors: the same algorithm, without a Python loop over environments.
vec_env = textrl.TextVecEnv(64, reward=OracleReward(oracle), vocab_size=50, max_len=10)
model = PPO("MlpPolicy", vec_env, n_steps=16, batch_size=256, learning_rate=3e-3, seed=0,
            policy_kwargs=policy_kwargs(vocab_size=50))
use_fast_sampler(model, torch.Generator().manual_seed(0))
model.learn(12_288)
rewards, _ = evaluate_policy(model, env, n_eval_episodes=50, return_episode_rewards=True)
print(f"after {model.num_timesteps} steps: {np.mean(rewards):.3f}")

# %%
# A prompted task
# ---------------
# ``Prompted-v0`` defaults to the embedded arithmetic task: the observation starts with a
# prompt such as ``17+25=`` and the agent writes the answer; ``info`` names the prompt.
env = gymnasium.make(PROMPTED_ENV_ID)
obs, info = env.reset(seed=0)
print(info, obs)

# %%
# At full size
# ------------
# The README's example: PPO on the default environment (vocabulary 5,000), and
# sb3-contrib's ``RecurrentPPO`` with ``policy_kwargs(last_token=True)``; textrl's own PPO
# on the same environment is ``textrl.agents.PPO(policy).learn(TextVecEnv(64), ...)``, and
# ``benchmarks/RESULTS.md`` ("native agents against stable-baselines3") compares the two.
#
# .. code-block:: python
#
#    env = gymnasium.make("textrl/TextGeneration-v0")
#    model = use_fast_sampler(PPO("MlpPolicy", env, policy_kwargs=policy_kwargs()))
#    model.learn(100_000)
