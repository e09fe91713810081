"""Neural network modules: the policy protocol, the policy families, generation and sampling.

``POLICIES`` maps a policy family's name (``--policy NAME``) to its config dataclass (its
fields are flags; ``config.build(corpus)`` makes the policy) and its model class. A new
family is one file and one line here.
"""

from textrl.components import Component
from textrl.errors import CheckpointError
from textrl.models.base import Policy, Sample, SequenceModel, require
from textrl.models.generation import complete_prefixes, continue_sequences, generate
from textrl.models.hf import HFCausalLM, HFPolicyConfig
from textrl.models.latent_gan import LatentGAN
from textrl.models.modes import eval_mode
from textrl.models.recurrent import LMConfig, RecurrentLM, RecurrentPolicyConfig
from textrl.models.sampling import sample_categorical
from textrl.models.seq2seq import Infill, Seq2SeqConfig, Seq2SeqGenerator, Seq2SeqPolicyConfig
from textrl.models.transformer import TransformerConfig, TransformerLM, TransformerPolicyConfig
from textrl.models.vae import SentenceVAE, VAEConfig

POLICIES: dict[str, Component] = {
    "recurrent": Component(RecurrentPolicyConfig, RecurrentPolicyConfig.build, RecurrentLM),
    "seq2seq": Component(Seq2SeqPolicyConfig, Seq2SeqPolicyConfig.build, Seq2SeqGenerator),
    "transformer": Component(TransformerPolicyConfig, TransformerPolicyConfig.build,
                             TransformerLM),
    "hf": Component(HFPolicyConfig, HFPolicyConfig.build, HFCausalLM),
}
OTHER_MODELS = (SentenceVAE, LatentGAN)  # built by their own recipes, loadable from runs


def family_of(model: object) -> str | None:
    """The name of the policy family ``model`` belongs to (``None``: none of ``POLICIES``)."""
    return next((name for name, family in POLICIES.items() if type(model) is family.cls), None)


def policy_from_dict(data: dict) -> Policy:
    """A model from its ``to_dict()``: the class it names, its config and weights."""
    name = data.get("class", "RecurrentLM")
    classes = {cls.__name__: cls for cls in (*(f.cls for f in POLICIES.values()), *OTHER_MODELS)}
    if name not in classes:
        raise CheckpointError(f"the checkpoint's model is a {name!r}, which this textrl does not "
                              f"know ({', '.join(classes)}); load it with the version that wrote "
                              "it, or register its policy family in textrl.models.POLICIES")
    return classes[name].from_dict(data)


__all__ = ["POLICIES", "Infill", "LatentGAN", "LMConfig", "Policy", "RecurrentLM",
           "RecurrentPolicyConfig", "Sample", "Seq2SeqConfig", "Seq2SeqGenerator",
           "Seq2SeqPolicyConfig", "SentenceVAE", "SequenceModel", "TransformerConfig",
           "TransformerLM", "TransformerPolicyConfig", "VAEConfig",
           "complete_prefixes", "continue_sequences", "eval_mode", "family_of", "generate",
           "policy_from_dict", "require", "sample_categorical"]
