"""The prompted task and its arithmetic form: prompts files, completions written after
prompts of different lengths, the positions that are actions, rewards that read the prompt's
columns (textrl's and TRL's conventions), and the group recipes run from the command line,
bad input refused with one line."""

import json

import pytest
import torch

from textrl.cli import main
from textrl.data import arithmetic
from textrl.datasets import DataConfig, build_corpus
from textrl.errors import UserError
from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import AnswerReward
from textrl.rewards.function import FunctionReward
from textrl.tasks import ArithmeticTask, PromptedTask
from textrl.tasks.arithmetic import ArithmeticConfig
from textrl.tasks.prompted import PromptedConfig, codec_of, read_prompts


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def corpus_and_data():
    data = DataConfig(data="arithmetic", n_train=100, n_valid=20)
    corpus, _ = build_corpus(data)
    return corpus, data


@pytest.fixture(scope="module")
def arithmetic_run(tmp_path_factory):
    """A short MLE run on worked additions: the start of the group recipes' runs."""
    from textrl.recipes import recipe_config, train

    out = tmp_path_factory.mktemp("runs") / "mle"
    train(recipe_config("mle", None, {"task": "arithmetic", "data": "arithmetic", "n_train": 200,
                                      "n_valid": 50, "epochs": 2, "batch_size": 32}),
          out, progress=False)
    return out


def test_held_out_problems_never_appear_in_training():
    pool, valid, test = arithmetic.split_pairs(2, seed=0)
    assert len(test) == arithmetic.HELD_OUT == len(valid)
    assert not set(test) & set(pool) and not set(valid) & set(pool)
    assert len(pool) + len(valid) + len(test) == 100 * 100
    assert arithmetic.worked((17, 25)) == list("17+25=42")


def test_prompts_files_and_their_errors(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "2+2=", "answer": "4"}\n\n{"prompt": "3+4=", "answer": 7}\n')
    assert read_prompts(str(jsonl)) == [{"prompt": "2+2=", "answer": "4"},
                                        {"prompt": "3+4=", "answer": "7"}]
    csv = tmp_path / "p.csv"
    csv.write_text("prompt,answer\n2+2=,4\n")
    assert read_prompts(str(csv)) == [{"prompt": "2+2=", "answer": "4"}]
    for name, text, message in (("a.jsonl", '{"question": "2+2="}\n', "a.jsonl:1: no 'prompt'"),
                                ("b.jsonl", '{"prompt": "2+2="}\n{"prompt": " "}\n',
                                 "b.jsonl:2: empty prompt"),
                                ("c.csv", "question\nx\n", "c.csv:2: no 'prompt'"),
                                ("d.txt", "x\n", "give a .jsonl or .csv"),
                                ("e.jsonl", "", "no prompts"),
                                ("f.jsonl", '{"prompt": "1+1="}\n[1, 2]\n',
                                 "f.jsonl:2: not a JSON object"),
                                ("g.jsonl", '{"prompt": \n', "g.jsonl:1: not JSON")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(UserError, match=message):
            read_prompts(str(path))


def test_completions_follow_prompts_of_different_lengths(corpus_and_data):
    corpus, data = corpus_and_data
    task = ArithmeticTask(ArithmeticConfig(group_size=3), corpus, data)
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=len(corpus.vocab), start_id=corpus.start_id,
                                  eos_id=corpus.eos_id, pad_id=corpus.vocab.pad_id))
    g = torch.Generator().manual_seed(1)
    context, action_mask = task.contexts(12, None, g)  # 4 prompts: 34+61, 2+73, 5+59, 53+81
    assert context.lengths.unique().numel() > 1  # 1- and 2-digit operands in one batch
    assert context.group.tolist() == [i // 3 for i in range(12)]
    sample = task.generate(policy, 12, corpus.max_len, context, 1.0, g)
    for row in range(12):
        p = int(context.lengths[row])
        assert sample.tokens[row, :p].tolist() == context.tokens[row, :p].tolist()
        assert (sample.log_probs[row, :p] == 0).all()  # the prompt is given, not sampled
        assert sample.lengths[row] > p
    assert (action_mask == (torch.arange(corpus.max_len) >= context.lengths[:, None])).all()
    # rows of a group share their prompt
    assert context.column("prompt")[0] == context.column("prompt")[2]


def test_mle_counts_only_the_completion(corpus_and_data):
    corpus, data = corpus_and_data
    task = ArithmeticTask(ArithmeticConfig(), corpus, data)
    tokens, lengths = corpus.train.tokens[:4], corpus.train.lengths[:4]
    context = task.condition(tokens, lengths, None)
    chosen = task.chosen(tokens, lengths, context)
    for row in range(4):
        text = corpus.vocab.decode(tokens[row].tolist())
        equals = text.index("=") + 1
        assert chosen[row].nonzero().flatten().tolist() == list(range(equals, int(lengths[row])))
        assert context.rows[row]["answer"] == "".join(text[equals:])


def test_answers_are_checked_against_the_prompts_column(corpus_and_data):
    corpus, data = corpus_and_data
    task = ArithmeticTask(ArithmeticConfig(), corpus, data)
    problems = task.held_out
    right = torch.full((3, corpus.max_len), corpus.vocab.pad_id)
    for row in range(3):
        ids = task.text.encode(problems.rows[row]["prompt"] + problems.rows[row]["answer"])
        right[row, :len(ids)] = torch.tensor(ids)
        right[row, len(ids)] = corpus.vocab.eos_id
    lengths = (right != corpus.vocab.pad_id).sum(1)
    three = problems.rows[:3]
    batch = problems._replace(tokens=problems.tokens[:3], lengths=problems.lengths[:3],
                              group=problems.group[:3], rows=three)
    assert AnswerReward()(right, lengths, batch).tolist() == [1.0, 1.0, 1.0]
    wrong = right.clone()
    wrong[0, int(batch.lengths[0])] = task.text.encode("0" if three[0]["answer"][0] != "0"
                                                       else "1")[0]
    assert AnswerReward()(wrong, lengths, batch).tolist()[0] == 0.0


def test_text_rewards_get_completions_prompts_and_columns(corpus_and_data):
    corpus, data = corpus_and_data
    task = ArithmeticTask(ArithmeticConfig(group_size=2), corpus, data)
    seen = {}

    def trl_style(completions, prompts, answer, **columns):
        seen.update(completions=completions, prompts=prompts, answer=answer)
        return [float(c == a) for c, a in zip(completions, answer, strict=True)]

    context, _ = task.contexts(4, None, torch.Generator().manual_seed(0))
    sample = task.generate(RecurrentLM(LMConfig(vocab_size=len(corpus.vocab))), 4,
                           corpus.max_len, context, 1.0, torch.Generator().manual_seed(0))
    FunctionReward(trl_style)(sample.tokens, sample.lengths, context)
    assert seen["prompts"] == context.column("prompt") and len(seen["completions"]) == 4
    assert seen["answer"] == context.column("answer")
    per_group = FunctionReward(lambda completions, **_: [1.0] * 2, name="per_prompt")
    with pytest.raises(UserError, match="one per prompt.*one value per completion"):
        per_group(sample.tokens, sample.lengths, context)
    with pytest.raises(UserError, match="only a prompted task"):
        FunctionReward(trl_style)(sample.tokens, sample.lengths, None)


def test_prompts_from_a_corpus_carry_their_reference(sentences, text_file):
    corpus, _ = build_corpus(DataConfig(data=str(text_file(sentences))))
    from textrl.tasks.prompted import build_prompted

    task = build_prompted(PromptedConfig(prompt_words=2, group_size=2), corpus=corpus,
                          data=DataConfig(data=str(text_file(sentences))))
    tokens, lengths = corpus.train.tokens[:3], corpus.train.lengths[:3]
    context = task.condition(tokens, lengths, None)
    for row in range(3):
        words = corpus.vocab.decode(tokens[row].tolist())
        assert context.rows[row] == {"prompt": " ".join(words[:2]),
                                     "reference": " ".join(words[2:])}


@pytest.mark.parametrize("recipe", ["grpo", "rloo", "reinforce-pp"])
def test_group_recipes_train_on_arithmetic_and_resume(recipe, arithmetic_run, tmp_path, capsys):
    out = tmp_path / recipe
    flags = ["--task", "arithmetic", "--init", arithmetic_run, "--batch-size", "16",
             "--group-size", "4", "--eval-every", "2", "--checkpoint-every", "1", "--out", out,
             "--quiet"]
    code, _, err = run_cli(["train", recipe, *flags, "--iterations", "2"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["train", recipe, *flags, "--iterations", "3", "--resume"], capsys)
    assert code == 0, err
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [0, 1, 2, 3]
    assert {"accuracy", "accuracy_valid", "kl", "kl_coef", "reward"} <= set(log[2])
    assert log[3]["completions"] == 3 * 16


@pytest.mark.parametrize("argv, message", [
    (["grpo", "--group-size", "1"], "--group-size 2"),
    (["rloo", "--group-size", "1"], "--group-size 2"),
    (["grpo", "--batch-size", "10", "--group-size", "4"], "is not a multiple of --group-size"),
    (["grpo", "--reward", "discriminator", "--task", "unconditional", "--kl-target", "1"],
     "--kl-target needs a starting --kl-coef"),
])
def test_bad_group_settings_exit_2_with_one_line(argv, message, arithmetic_run, tmp_path, capsys):
    task = [] if "--task" in argv else ["--task", "arithmetic"]
    code, _, err = run_cli(["train", *argv, *task, "--init", arithmetic_run, "--iterations", "1",
                            "--out", tmp_path / "run", "--quiet"], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_prompts_file_with_a_users_text_reward(arithmetic_run, tmp_path, capsys, monkeypatch):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"{a}+{b}=", "answer": str(a + b)}) + "\n"
                               for a, b in [(1, 2), (10, 31), (4, 4)]))
    (tmp_path / "my_rewards.py").write_text(
        "def exact(completions, answer, **columns):\n"
        "    return [float(c.strip() == a) for c, a in zip(completions, answer, strict=True)]\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", "grpo", "--prompts", prompts, "--reward", "my_rewards:exact",
                            "--init", arithmetic_run, "--batch-size", "8", "--group-size", "4",
                            "--iterations", "1", "--out", tmp_path / "run", "--quiet"], capsys)
    assert code == 0, err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1+1="}\n')
    code, _, err = run_cli(["train", "grpo", "--prompts", bad, "--init", arithmetic_run,
                            "--out", tmp_path / "bad", "--quiet"], capsys)
    assert code == 2 and "no 'prompt' column" in err and not (tmp_path / "bad").exists()
    # A character the run never saw (or one it keeps for itself) is refused, not read as
    # <unk>: the policy would complete another prompt than the reward reads.
    for number, prompt in ((2, "1*2="), (1, "<eos>1+1=")):
        bad.write_text("".join(json.dumps({"prompt": p, "answer": "2"}) + "\n"
                               for p in (["1+1=", prompt] if number == 2 else [prompt])))
        code, _, err = run_cli(["train", "grpo", "--prompts", bad, "--init", arithmetic_run,
                                "--reward", "my_rewards:exact", "--batch-size", "8",
                                "--group-size", "4", "--iterations", "1",
                                "--out", tmp_path / "bad", "--quiet"], capsys)
        assert code == 2 and f"bad.jsonl: prompt {number}: the run's vocabulary has no" in err, err
        assert not (tmp_path / "bad").exists()


def test_the_prompted_task_needs_a_group_for_grpo_but_not_for_ppo(arithmetic_run, tmp_path,
                                                                  capsys):
    code, _, err = run_cli(["train", "ppo", "--task", "arithmetic", "--n-rollouts", "0",
                            "--init", arithmetic_run, "--batch-size", "8", "--group-size", "1",
                            "--iterations", "1", "--out", tmp_path / "ppo", "--quiet"], capsys)
    assert code == 0, err


def test_prompted_task_is_refused_without_its_data(sentences, text_file):
    corpus, _ = build_corpus(DataConfig(data=str(text_file(sentences))))
    with pytest.raises(UserError, match="--data arithmetic"):
        ArithmeticTask(ArithmeticConfig(), corpus, DataConfig(data=str(text_file(sentences))))
    assert PromptedTask.name == "prompted"


def test_a_corpus_prompted_run_scores_its_completions(sentences, text_file, tmp_path, capsys):
    data = str(text_file(sentences))
    out = tmp_path / "prompted"
    code, stdout, err = run_cli(["train", "mle", "--task", "prompted", "--prompt-words", "2",
                                 "--data", data, "--epochs", "1", "--eval-every", "1",
                                 "--out", out, "--quiet"], capsys)
    assert code == 0, err
    final = json.loads(stdout.splitlines()[-1])
    assert {"completion_bleu4", "completion_self_bleu4", "completion_length"} <= set(final)
    code, stdout, err = run_cli(["evaluate", out, "--json", "--samples", "20", "--scorer", out],
                                capsys)
    assert code == 0, err
    scored = json.loads(stdout)
    assert 0.0 <= scored["completion_bleu4"] <= 1.0 and scored["scorer_nll"] > 0
    # a special token typed into a prompt would end it (<eos>) or hide in it (<pad>)
    for special in ("<eos>", "<pad>"):
        code, _, err = run_cli(["sample", out, "--prompt", f"the {special} cat"], capsys)
        assert code == 2 and f"the run's vocabulary has no '{special}'" in err, err
    code, stdout, err = run_cli(["sample", out, "--prompt", "the cat", "-n", "2"], capsys)
    assert code == 0 and all(line.startswith("the cat") for line in stdout.splitlines()), err


def test_nll_counts_only_the_positions_it_is_given():
    from textrl.data.corpus import Split
    from textrl.metrics.nll import nll_test
    from textrl.tasks import Unconditional

    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=9))
    tokens, lengths = torch.randint(1, 9, (4, 6)), torch.tensor([6, 3, 5, 2])
    positions = torch.arange(6)[None, :].expand(4, 6) >= 2
    positions = positions & (torch.arange(6)[None, :] < lengths[:, None])
    log_probs = policy.log_prob(tokens, lengths).detach()
    want = -(log_probs * positions).sum() / positions.sum()
    got = nll_test(policy, Split(tokens, lengths), positions=positions)
    assert got == pytest.approx(want.item(), rel=1e-5)
    assert nll_test(policy, Split(tokens, lengths)) == pytest.approx(
        (-log_probs.sum() / lengths.sum()).item(), rel=1e-5)
    # an unconditional (or in-filling) evaluator scores whole sentences, as before
    assert Unconditional().scored_positions(tokens, lengths, None) is None


@pytest.mark.slow
def test_the_native_transformer_trains_on_arithmetic_with_rloo(tmp_path, capsys):
    mle = tmp_path / "mle"
    code, _, err = run_cli(["train", "mle", "--task", "arithmetic", "--data", "arithmetic",
                            "--n-train", "100", "--n-valid", "20", "--policy", "transformer",
                            "--model-dim", "16", "--heads", "2", "--epochs", "1", "--quiet",
                            "--out", mle], capsys)
    assert code == 0, err
    code, _, err = run_cli(["train", "rloo", "--task", "arithmetic", "--init", mle,
                            "--partial-credit",  # an untrained model's answers are all wrong
                            "--iterations", "2", "--batch-size", "8", "--group-size", "2",
                            "--eval-every", "1", "--quiet", "--out", tmp_path / "rloo"], capsys)
    assert code == 0, err
    start = torch.load(mle / "checkpoint.pt", weights_only=True)["model"]
    end = torch.load(tmp_path / "rloo" / "checkpoint.pt", weights_only=True)["model"]
    assert end["class"] == "TransformerLM"
    assert not torch.equal(start["state_dict"]["head.weight"], end["state_dict"]["head.weight"])


def test_a_text_reward_that_returns_none_or_text_is_refused(corpus_and_data):
    corpus, data = corpus_and_data
    task = ArithmeticTask(ArithmeticConfig(group_size=2), corpus, data)
    context, _ = task.contexts(2, None, torch.Generator().manual_seed(0))
    sample = task.generate(RecurrentLM(LMConfig(vocab_size=len(corpus.vocab))), 2,
                           corpus.max_len, context, 1.0, torch.Generator().manual_seed(0))
    for value in ([1.0, None], ["yes", "no"]):
        reward = FunctionReward(lambda completions, value=value, **_: value, name="odd")
        with pytest.raises(UserError, match="never None or text"):
            reward(sample.tokens, sample.lengths, context)


def test_rewards_and_kl_settings_that_cannot_go_together_exit_2(arithmetic_run, mle_run,
                                                                 tmp_path, capsys, monkeypatch):
    (tmp_path / "odd_task.py").write_text(
        "from textrl.rewards import Reward\n"
        "class Odd(Reward):\n"
        "    task = 'prompt'\n"
        "    def __call__(self, tokens, lengths, context=None):\n"
        "        return lengths.float()\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", "grpo", "--task", "arithmetic", "--reward", "odd_task:Odd",
                            "--init", arithmetic_run, "--out", tmp_path / "a", "--quiet"], capsys)
    assert code == 2 and "'prompt', which is not a task" in err and "Traceback" not in err
    code, _, err = run_cli(["train", "seqgan", "--init", mle_run, "--kl-coef", "0.1",
                            "--out", tmp_path / "b", "--quiet"], capsys)
    assert code == 2 and "--kl-in loss, or --n-rollouts 0" in err


def test_sample_completes_the_users_prompts(arithmetic_run, tmp_path, capsys):
    def sample(*flags):
        code, out, err = run_cli(["sample", arithmetic_run, "-n", "4", *flags], capsys)
        assert code == 0, err
        return out

    assert sample().count("\n") == 4  # without --prompt: -n samples from the start, as ever
    out = sample("--prompt", "17+25=", "--prompt", "3+4=", "--seed", "1")
    blocks = [block.splitlines() for block in out.strip("\n").split("\n\n")]
    assert [len(block) for block in blocks] == [4, 4]  # -n completions, grouped by prompt
    for prompt, block in zip(["17+25=", "3+4="], blocks, strict=True):
        assert all(line.startswith(prompt) for line in block)
        assert any(len(line) > len(prompt) for line in block)  # a completion after it
    assert sample("--prompt", "17+25=", "--prompt", "3+4=", "--seed", "1") == out
    assert sample("--prompt", "17+25=", "--prompt", "3+4=", "--seed", "2") != out
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "17+25="}\n{"prompt": "3+4=", "answer": "7"}\n')
    assert sample("--prompts", prompts, "--seed", "1") == out
    greedy = sample("--prompt", "17+25=", "--temperature", "0")
    assert sample("--prompt", "17+25=", "--temperature", "0", "--seed", "5") == greedy
    assert len(set(greedy.splitlines())) == 1


@pytest.mark.parametrize("prompt, message", [
    ("", "prompt '': an empty prompt"),
    ("  ", "prompt '  ': an empty prompt"),
    ("17 * 25=", "the run's vocabulary has no ' ', '*'"),
    ("1" * 40, "has 40 tokens; "),
    (None, "is a --task unconditional run, which reads no prompt"),
])
def test_sample_refuses_prompts_it_cannot_complete(prompt, message, arithmetic_run, mle_run,
                                                   capsys):
    run, prompt = (mle_run, "1 2") if prompt is None else (arithmetic_run, prompt)
    code, _, err = run_cli(["sample", run, "--prompt", prompt], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("textrl: error: "), err
    assert message in lines[0] and "Traceback" not in err


def test_a_lowercased_runs_prompts_file_is_lowercased_as_its_text_was(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("The cat sat on the mat\nthe dog sat on the log\n" * 4)
    data = DataConfig(data=str(text), lowercase=True)
    corpus, _ = build_corpus(data)
    codec = codec_of(corpus, data)
    assert codec.encode("The CAT sat") == codec.encode("the cat sat")
    assert corpus.vocab.unk_id not in codec.encode("The CAT sat")
    assert not codec_of(corpus, DataConfig(data=str(text))).lowercase
