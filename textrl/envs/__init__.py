"""Gymnasium environments for text generation; importing textrl registers them."""

import gymnasium

from textrl.envs.base import Step, TensorVecEnv, step_rewards
from textrl.envs.text_env import Sentences, TextGenerationEnv, TextVecEnv
from textrl.tasks.infill_env import Blanks, InfillingEnv, InfillingVecEnv
from textrl.tasks.prompted_env import Completions, PromptedEnv, PromptedVecEnv

ENV_ID = "textrl/TextGeneration-v0"
INFILLING_ENV_ID = "textrl/Infilling-v0"
PROMPTED_ENV_ID = "textrl/Prompted-v0"
for env_id, entry_point in ((ENV_ID, "textrl.envs.text_env:TextGenerationEnv"),
                            (INFILLING_ENV_ID, "textrl.tasks.infill_env:InfillingEnv"),
                            (PROMPTED_ENV_ID, "textrl.tasks.prompted_env:PromptedEnv")):
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, entry_point=entry_point)

__all__ = ["ENV_ID", "INFILLING_ENV_ID", "PROMPTED_ENV_ID", "Blanks", "Completions",
           "InfillingEnv", "InfillingVecEnv", "PromptedEnv", "PromptedVecEnv", "Sentences", "Step",
           "TensorVecEnv", "TextGenerationEnv", "TextVecEnv", "step_rewards"]
