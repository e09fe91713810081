"""Gymnasium environments for text generation; importing textrl registers them."""

import gymnasium

from textrl.envs.base import Step, TensorVecEnv, step_rewards
from textrl.envs.text_env import Sentences, TextGenerationEnv, TextVecEnv
from textrl.tasks.infill_env import Blanks, InfillingEnv, InfillingVecEnv

ENV_ID = "textrl/TextGeneration-v0"
INFILLING_ENV_ID = "textrl/Infilling-v0"
for env_id, entry_point in ((ENV_ID, "textrl.envs.text_env:TextGenerationEnv"),
                            (INFILLING_ENV_ID, "textrl.tasks.infill_env:InfillingEnv")):
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, entry_point=entry_point)

__all__ = ["ENV_ID", "INFILLING_ENV_ID", "Blanks", "InfillingEnv", "InfillingVecEnv",
           "Sentences", "Step", "TensorVecEnv", "TextGenerationEnv", "TextVecEnv", "step_rewards"]
