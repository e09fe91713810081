"""Neural network modules: the policy protocol, the recurrent policy, generation and sampling."""

from textrl.errors import CheckpointError
from textrl.models.base import Policy, Sample, SequenceModel
from textrl.models.generation import complete_prefixes, continue_sequences, generate
from textrl.models.latent_gan import LatentGAN
from textrl.models.modes import eval_mode
from textrl.models.recurrent import LMConfig, RecurrentLM
from textrl.models.sampling import sample_categorical
from textrl.models.seq2seq import Infill, Seq2SeqConfig, Seq2SeqGenerator
from textrl.models.vae import SentenceVAE, VAEConfig

# checkpoint models
POLICIES = {"RecurrentLM": RecurrentLM, "Seq2SeqGenerator": Seq2SeqGenerator,
            "SentenceVAE": SentenceVAE, "LatentGAN": LatentGAN}


def policy_from_dict(data: dict) -> Policy:
    """A policy from its ``to_dict()``: the class it names, its config and weights."""
    name = data.get("class", "RecurrentLM")
    if name not in POLICIES:
        raise CheckpointError(f"the checkpoint's model is a {name!r}, which this textrl does not "
                              f"know ({', '.join(POLICIES)}); load it with the version that wrote it")
    return POLICIES[name].from_dict(data)


__all__ = ["Infill", "LatentGAN", "LMConfig", "Policy", "RecurrentLM", "Sample", "Seq2SeqConfig",
           "Seq2SeqGenerator", "SentenceVAE", "SequenceModel", "VAEConfig", "complete_prefixes",
           "continue_sequences", "eval_mode", "generate", "policy_from_dict", "sample_categorical"]
