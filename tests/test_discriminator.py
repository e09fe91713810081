import math

import pytest
import torch

from textrl.rewards import REWARD_FORMS, CNNDiscriminator
from textrl.rewards.discriminator import SEQGAN_NUM_FILTERS


def small(**kw):
    return CNNDiscriminator(vocab_size=12, emb_dim=8, filter_sizes=(1, 2, 3),
                            num_filters=(6, 6, 6), **kw)


def test_seqgan_defaults_have_1720_features():
    assert sum(SEQGAN_NUM_FILTERS) == 1720
    d = CNNDiscriminator(vocab_size=50)
    x = torch.randint(50, (2, 20))
    assert d.encoder(x, torch.full((2,), 20)).shape == (2, 1720)


def test_learns_to_tell_real_from_fake():
    torch.manual_seed(0)
    d = small(lr=1e-2, dropout=0.0)
    real = torch.randint(0, 6, (64, 8))  # "experts" use the low half of the vocabulary
    fake = torch.randint(6, 12, (64, 8))
    lengths = torch.full((64,), 8)
    for _ in range(30):
        stats = d.update((real, lengths), (fake, lengths))
    assert stats["accuracy"] == 1.0
    assert d(real, lengths).min() > 0.9 and d(fake, lengths).max() < 0.1


def test_padding_is_ignored_and_short_sequences_work():
    d = small()
    x = torch.tensor([[3, 4, 2, 0, 0], [3, 4, 2, 7, 9]])
    a = d(x, torch.tensor([3, 3]))
    torch.testing.assert_close(a[0], a[1])  # only the first 3 tokens count
    assert d(torch.tensor([[5]]), torch.tensor([1])).shape == (1,)  # shorter than a filter


def test_reward_forms_are_functions_of_d():
    torch.manual_seed(1)
    x, lengths = torch.randint(12, (5, 6)), torch.full((5,), 6)
    values = {}
    for form in REWARD_FORMS:
        torch.manual_seed(2)  # the same weights for every form
        values[form] = small(reward_form=form)(x, lengths)
    prob = values["d"]
    torch.testing.assert_close(values["log_d"], prob.log())
    torch.testing.assert_close(values["airl"], prob.log() - (1 - prob).log(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(values["gail"], -(1 - prob).log())
    with pytest.raises(ValueError, match="reward_form"):
        small(reward_form="wasserstein")


def test_l2_penalty_on_the_output_layer():
    d = small(l2=0.2, dropout=0.0)
    with torch.no_grad():
        d.out.weight.fill_(1.0)
        d.out.bias.fill_(2.0)
    x, lengths = torch.randint(12, (4, 5)), torch.full((4,), 5)
    stats = d.update((x[:2], lengths[:2]), (x[2:], lengths[2:]))
    assert stats["loss"] - stats["bce"] == pytest.approx(0.2 * 0.5 * (18 + 4), rel=1e-6)
    assert not math.isnan(stats["accuracy"])
