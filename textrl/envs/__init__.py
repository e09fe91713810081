"""Gymnasium environments for text generation; importing textrl registers them."""

import gymnasium

from textrl.envs.text_env import Sentences, TextGenerationEnv, TextVecEnv

ENV_ID = "textrl/TextGeneration-v0"
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="textrl.envs.text_env:TextGenerationEnv")

__all__ = ["ENV_ID", "Sentences", "TextGenerationEnv", "TextVecEnv"]
