"""Reward handler benchmark: ours against a straightforward implementation of the reference logic.

Run: ``python bench/reward_bench.py`` (from the repository root or anywhere; stdlib only).

Prints, for both implementations, side by side:
  * handler time on a 10 000-sample ``{"batch": [...]}`` event ÷ ``json.loads`` time of the same
    event (target <= 2x). The Lambda runtime parses the event before calling the handler, so this
    says how much the reward adds on top of the parse it cannot avoid;
  * cold import time of the handler module in a fresh interpreter (target <= 50 ms), measured
    inside the subprocess around the import (CPU time; ``python -S``: nothing preloaded by site),
    with the bytecode cache present and without it (a source-only copy: compiled at import, as in
    the Lambda asset, which excludes __pycache__); plus the wall time of
    ``python -S -c "import ..."`` minus a bare ``python -S -c pass``.
Each figure is measured REPEAT times; min / median / max are printed.

Then, in the same run, the worst case on degenerate responses (what collapsed RL policies emit: digit
runs, one token repeated, unbalanced braces, blank floods, ...; the shapes of
tests/fixtures/reward/degenerate/shapes.json): every shape is scored at 1 MB (10^6 characters) with
every component configuration of that file, and the slowest configuration per shape is printed in ms
per MB (CPU, min of DEGENERATE_REPEAT), with the growth from 100 KB to 1 MB (about 10 when linear,
about 100 when quadratic) and the figure recorded before the hardening (before.json beside the
shapes), against the target of 50 ms per MB.

The baseline is written here from the description of the SageMaker AI template's reference reward
logic (seed-plugin.md §2): extract_number with keyword regexes passed as pattern strings on every
call, exact_match, answer_present, compute_reasoning_quality, 0.7/0.3 aggregate, json.dumps body.
"""

import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPEAT = 7
BATCH = 10_000
SEED = 20240611
DEGENERATE_DIR = os.path.join(REPO, "tests", "fixtures", "reward", "degenerate")
DEGENERATE_SIZES = (10_000, 100_000, 1_000_000)
DEGENERATE_REPEAT = 3
TARGET_MS_PER_MB = 50.0

BASELINE_SOURCE = r'''
import json
import re


def extract_number(text):
    """Number after a keyword, else the last number (as the reference template does)."""
    if not text:
        return None
    patterns = [
        r"(?:equals|is|answer is|result is)\s*[:\s]*(-?\d+(?:\.\d+)?)",
        r"=\s*(-?\d+(?:\.\d+)?)",
        r"(?:answer|result|solution)\s*:\s*(-?\d+(?:\.\d+)?)",
    ]
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return float(match.group(1))
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    if numbers:
        return float(numbers[-1])
    return None


def exact_match(predicted, expected):
    if predicted is None or expected is None:
        return 0.0
    return 1.0 if abs(predicted - expected) < 1e-6 else 0.0


def answer_present(predicted, expected):
    return 1.0 if predicted is not None and expected is not None else 0.0


def compute_reasoning_quality(text):
    score = 0.0
    keywords = ["because", "therefore", "step", "first", "then", "so", "thus", "since", "hence"]
    lowered = text.lower()
    found = sum(1 for k in keywords if k in lowered)
    score += min(0.55, 0.11 * found)
    if len(text) > 30:
        score += 0.1
    if len(text) > 60:
        score += 0.1
    if len(text) > 120:
        score += 0.05
    if "\n" in text or "." in text:
        score += 0.2
    return min(1.0, score)


def lambda_handler(event, context):
    if isinstance(event, dict) and "batch" in event:
        batch = event["batch"]
    elif isinstance(event, dict) and "body" in event:
        batch = json.loads(event["body"])["batch"]
    elif isinstance(event, dict):
        batch = event.get("input", event)
    else:
        batch = event
    if not batch:
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "empty batch"})}
    results = []
    for i, sample in enumerate(batch):
        messages = sample.get("messages") or sample.get("prompt") or []
        reference = sample.get("reference_answer")
        if isinstance(reference, dict):
            ground_truth = reference.get("text")
        else:
            ground_truth = (sample.get("reward_model") or {}).get("ground_truth")
        response = ""
        for message in reversed(messages):
            if message.get("role") == "assistant":
                response = message.get("content", "")
                break
        predicted = extract_number(response)
        expected = extract_number(str(ground_truth)) if ground_truth is not None else None
        em = exact_match(predicted, expected)
        present = answer_present(predicted, expected)
        quality = compute_reasoning_quality(response)
        results.append({
            "id": sample.get("id", "sample-%03d" % i),
            "aggregate_reward_score": 0.7 * em + 0.3 * quality,
            "metrics_list": [
                {"name": "exact_match", "value": em, "type": "Reward"},
                {"name": "answer_present", "value": present, "type": "Metric"},
                {"name": "reasoning_quality", "value": quality, "type": "Metric"},
            ],
        })
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(results)}
'''

# --------------------------------------------------------------------------------------------
# A realistic RLVR batch: GSM8K-style word problems, 8 rollouts per prompt (GRPO-like), a mix of
# correct, wrong, boxed, "####", reasoning-tagged, empty, echoing and looping responses.

_NAMES = ["Natalia", "Weng", "Betty", "Julie", "James", "Albert", "Ken", "Alexis", "Tina", "Randy"]
_ITEMS = ["clips", "apples", "books", "stickers", "marbles", "cookies", "pencils", "tickets"]
_SYSTEM = ("You are a careful math tutor. Solve the problem step by step, then give the final answer "
           "on its own line as 'The answer is N'.")


def _problem(rng):
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    a, b, c = rng.randint(12, 480), rng.randint(2, 9), rng.randint(3, 60)
    question = (
        f"{name} had {a} {item} in April. In May {name} bought {b} times as many {item} as in April, "
        f"and then gave away {c} {item} to friends at school. How many {item} does {name} have now "
        f"at the end of May, counting the ones from April?"
    )
    answer = a + a * b - c
    steps = (
        f"First, {name} starts with {a} {item} in April.\n"
        f"In May, {name} buys {b} * {a} = {a * b} {item}.\n"
        f"So the total before giving any away is {a} + {a * b} = {a + a * b} {item}.\n"
        f"Then {name} gives away {c}, so {a + a * b} - {c} = {answer} {item} remain.\n"
    )
    return question, answer, steps


def _response(rng, question, answer, steps):
    r = rng.random()
    if r < 0.45:
        return steps + f"The answer is {answer:,}."
    if r < 0.55:
        return steps + f"Therefore the final answer is $\\boxed{{{answer}}}$."
    if r < 0.62:
        return steps + f"#### {answer}"
    if r < 0.70:
        return "<think>" + steps + "</think>\n" + f"The answer is {answer} " + rng.choice(_ITEMS) + "."
    if r < 0.85:
        wrong = answer + rng.choice([-10, -1, 1, 2, 7, 100])
        return steps.replace(str(answer), str(wrong)) + f"The answer is {wrong}."
    if r < 0.90:
        return steps  # no explicit final answer: last number
    if r < 0.93:
        return ""
    if r < 0.96:
        return question + " " + question
    return ("So the answer is " + str(answer) + ". ") * 12


def make_samples(n=BATCH, seed=SEED, rollouts=8):
    rng = random.Random(seed)
    samples = []
    while len(samples) < n:
        question, answer, steps = _problem(rng)
        for _ in range(rollouts):
            i = len(samples)
            samples.append({
                "id": f"gsm8k-{i:06d}",
                "data_source": "gsm8k",
                "ability": "math",
                "messages": [
                    {"role": "system", "content": _SYSTEM},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": _response(rng, question, answer, steps)},
                ],
                "reward_model": {"ground_truth": str(answer), "style": "rule"},
            })
            if len(samples) == n:
                break
    return samples


# --------------------------------------------------------------------------------------------
# Degenerate responses: the worst case per shape.


def degenerate_text(shape, size):
    """A response of about ``size`` characters: head + unit * k + tail (see shapes.json)."""
    head, unit, tail = shape["head"], shape["unit"], shape["tail"]
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def degenerate_suite():
    """``(shapes, {config name: (scorer, ground truth)})`` from shapes.json, built with the
    ``lambda_src.reward`` first on sys.path."""
    from lambda_src.reward.components import DEFAULT_COMPONENTS, build_components
    from lambda_src.reward.scoring import Scorer

    with open(os.path.join(DEGENERATE_DIR, "shapes.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    scorers = {}
    for name, config in spec["configs"].items():
        components = build_components(list(DEFAULT_COMPONENTS) if config is None else config)
        scorers[name] = (Scorer(components), spec["ground_truths"].get(name, spec["default_ground_truth"]))
    return spec["shapes"], scorers


def degenerate_sample(text, ground_truth):
    return {"id": "degenerate", "reward_model": {"ground_truth": ground_truth},
            "messages": [{"role": "user", "content": "Solve the problem."}, {"role": "assistant", "content": text}]}


def time_degenerate(scorer, sample, repeat=DEGENERATE_REPEAT):
    """Min CPU seconds to score one sample (a fresh Scorer state is not needed: nothing is cached per text)."""
    best = math.inf
    for _ in range(repeat):
        c0 = time.process_time()
        scorer.score(sample, 0)
        best = min(best, time.process_time() - c0)
    return best


def degenerate_worst(sizes=DEGENERATE_SIZES, repeat=DEGENERATE_REPEAT, shapes=None, scorers=None):
    """Per shape: ``{"config": slowest configuration at the largest size, "seconds": {size: s}}``
    (the slowest configuration's time at each size)."""
    if shapes is None or scorers is None:
        shapes, scorers = degenerate_suite()
    worst = {}
    for shape in shapes:
        texts = {size: degenerate_text(shape, size) for size in sizes}
        per_config = {}
        for name, (scorer, truth) in scorers.items():
            per_config[name] = {size: time_degenerate(scorer, degenerate_sample(texts[size], truth), repeat)
                                for size in sizes}
        slowest = max(per_config, key=lambda name: per_config[name][sizes[-1]])
        worst[shape["name"]] = {"config": slowest, "seconds": per_config[slowest]}
    return worst


def _recorded_before():
    path = os.path.join(DEGENERATE_DIR, "before.json")
    if not os.path.exists(path):
        return {}, ""
    with open(path, encoding="utf-8") as fh:
        before = json.load(fh)
    return before["ms_per_mb"], before["recorded"]


def print_degenerate(worst, sizes=DEGENERATE_SIZES):
    """The worst case per shape, in ms per MB (10^6 characters), against the target."""
    before, recorded = _recorded_before()
    big, mid = sizes[-1], sizes[-2]
    print(f"degenerate responses: worst configuration per shape, CPU ms per MB (min of {DEGENERATE_REPEAT}); "
          f"growth = t({big // 1000} KB) / t({mid // 1000} KB): ~10 linear, ~100 quadratic")
    print(f"  {'shape':<24}{'slowest configuration':<24}{'ms/MB':>9}{'growth':>8}{'before':>10}")
    for name, row in worst.items():
        t_big, t_mid = row["seconds"][big], row["seconds"][mid]
        per_mb = t_big * 1e3 / (big / 1e6)
        growth = t_big / t_mid if t_mid > 0 else math.inf
        was = before.get(name)
        print(f"  {name:<24}{row['config']:<24}{per_mb:9.1f}{growth:8.1f}"
              f"{(f'{was:10.1f}' if was is not None else '         -')}")
    overall = max(row["seconds"][big] * 1e3 / (big / 1e6) for row in worst.values())
    if recorded:
        print(f"  before: recorded {recorded}")
    return overall


# --------------------------------------------------------------------------------------------


def _stats(values):
    return min(values), statistics.median(values), max(values)


def _interleaved(cases, repeat=REPEAT):
    """Run every case once per round, ``repeat`` rounds, so that background load hits all alike.

    ``cases``: name -> (fn, setup). Returns name -> {"cpu": [...], "wall": [...]} in seconds.
    CPU time (time.process_time) is the primary figure: it is not inflated when other processes
    take the cores; wall time is reported alongside.
    """
    out = {name: {"cpu": [], "wall": []} for name in cases}
    for _ in range(repeat):
        for name, (fn, setup) in cases.items():
            arg = setup() if setup else None
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            fn(arg)
            c1, w1 = time.process_time(), time.perf_counter()
            out[name]["cpu"].append(c1 - c0)
            out[name]["wall"].append(w1 - w0)
    return out


def _subprocess_import(code_import, path, no_bytecode=False):
    """CPU seconds spent importing, measured inside a fresh ``python -S`` around the import.

    ``no_bytecode``: ``path`` holds sources only and nothing is written (sys.dont_write_bytecode),
    so our modules are compiled from source; the standard library keeps its cached bytecode.
    """
    code = (
        "import sys, time\n"
        f"sys.dont_write_bytecode = {no_bytecode!r}\n"
        f"sys.path.insert(0, {path!r})\n"
        "t0 = time.process_time()\n"
        f"{code_import}\n"
        "print(time.process_time() - t0)\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def _subprocess_wall(code):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def _source_copy(path, names):
    """A temporary copy of ``names`` (files or packages) under ``path``, without bytecode."""
    dest = tempfile.mkdtemp(prefix="reward_src_")
    for name in names:
        src = os.path.join(path, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(src, dest)
    return dest


def _import_figures(code_import, path, names):
    _subprocess_import(code_import, path)  # warm the bytecode cache (a deployed package may ship it)
    cached = [_subprocess_import(code_import, path) for _ in range(REPEAT)]
    source_only = _source_copy(path, names)
    fresh = [_subprocess_import(code_import, source_only, no_bytecode=True) for _ in range(REPEAT)]
    shutil.rmtree(source_only, ignore_errors=True)
    bare = [_subprocess_wall("pass") for _ in range(REPEAT)]
    full = [_subprocess_wall(f"import sys; sys.path.insert(0, {path!r}); {code_import}") for _ in range(REPEAT)]
    return cached, fresh, statistics.median(full) - statistics.median(bare)


def _ms(values):
    lo, med, hi = _stats(values)
    return f"{lo * 1e3:7.1f} {med * 1e3:7.1f} {hi * 1e3:7.1f}"


def main():
    started = time.perf_counter()
    sys.path.insert(0, REPO)
    from lambda_src.reward import handler as ours_module  # noqa: E402  (the Lambda asset layout)
    from lambda_src.reward.components import DEFAULT_COMPONENTS, build_components  # noqa: E402

    samples = make_samples()
    event_text = json.dumps({"batch": samples})
    fresh_event = lambda: json.loads(event_text)  # noqa: E731  (untimed: every run gets cold objects)

    baseline_dir = tempfile.mkdtemp(prefix="reward_baseline_")
    with open(os.path.join(baseline_dir, "reward_baseline.py"), "w") as fh:
        fh.write(BASELINE_SOURCE)
    baseline = {}
    exec(compile(BASELINE_SOURCE, "reward_baseline.py", "exec"), baseline)

    def ours(event):
        # A new handler per run: no warm ground-truth caches carried over between repetitions.
        h = ours_module.RewardHandler(build_components(list(DEFAULT_COMPONENTS)))
        return h(event)

    cases = {
        "loads": (lambda _: json.loads(event_text), None),
        "ours": (ours, fresh_event),
        "baseline": (lambda ev: baseline["lambda_handler"](ev, None), fresh_event),
        "ours_body": (ours, lambda: {"body": event_text}),
        "ours_nova": (ours, lambda: json.loads(event_text)["batch"]),
    }
    # Sanity: both reply 200 with one result per sample.
    for reply in (ours(fresh_event()), baseline["lambda_handler"](fresh_event(), None)):
        assert reply["statusCode"] == 200 and len(json.loads(reply["body"])) == BATCH
    times = _interleaved(cases)

    # As Lambda imports it: from the library's asset layout (handlers + the core under a stub package).
    from sagemaker_finetuning.support.asset_layout import stage

    asset = str(stage(Path(tempfile.mkdtemp(prefix="reward_asset_")) / "asset"))
    imp_ours = _import_figures("import lambda_src.reward.handler", asset, ["lambda_src", "sagemaker_finetuning"])
    shutil.rmtree(os.path.dirname(asset), ignore_errors=True)
    imp_base = _import_figures("import reward_baseline", baseline_dir, ["reward_baseline.py"])

    cpu = {name: t["cpu"] for name, t in times.items()}
    wall = {name: t["wall"] for name, t in times.items()}
    med = {name: statistics.median(v) for name, v in cpu.items()}
    print(f"reward bench: {BATCH} samples ({len(event_text) / 1e6:.1f} MB event, 8 rollouts per prompt), "
          f"{REPEAT} interleaved runs each, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print("batch CPU time (ms)                      min  median     max   ratio to json.loads: median (min-max per run)")
    for label, name in (
        ("json.loads(event)", "loads"),
        ("ours      handler({batch})", "ours"),
        ("baseline  handler({batch})", "baseline"),
        ("ours      handler({body: str})", "ours_body"),
        ("ours      handler([...]) nova", "ours_nova"),
    ):
        per_run = [a / b for a, b in zip(cpu[name], cpu["loads"], strict=True)]
        print(f"  {label:<33} {_ms(cpu[name])}   {med[name] / med['loads']:.2f}x "
              f"({min(per_run):.2f}-{max(per_run):.2f})")
    print("  wall-clock medians (ms): " + ", ".join(
        f"{name} {statistics.median(v) * 1e3:.1f}" for name, v in wall.items()))
    print(f"  per sample (CPU): ours {med['ours'] / BATCH * 1e6:.2f} us, baseline {med['baseline'] / BATCH * 1e6:.2f} us,"
          f" json.loads {med['loads'] / BATCH * 1e6:.2f} us; ours / baseline = {med['ours'] / med['baseline']:.2f}")
    print()
    print("cold import of the handler module (CPU ms, python -S)  min  median     max")
    for label, (cached, fresh, wall_delta) in (("ours", imp_ours), ("baseline", imp_base)):
        print(f"  {label:<9} .pyc cached                          {_ms(cached)}")
        print(f"  {label:<9} compiling source (the Lambda asset)  {_ms(fresh)}")
        print(f"  {label:<9} wall(import) - wall(bare interpreter), medians: {wall_delta * 1e3:.1f}")
    print()
    worst_mb = print_degenerate(degenerate_worst())
    print()
    ratio = med["ours"] / med["loads"]
    ratio_min = min(cpu["ours"]) / min(cpu["loads"])
    imp = statistics.median(imp_ours[0])
    verdict = "met" if max(ratio, ratio_min) <= 2 else "NOT met"
    print(f"targets: handler / json.loads = {ratio:.2f}x (medians), {ratio_min:.2f}x (minimums); "
          f"target <= 2x: {verdict}")
    print(f"         degenerate responses: worst case {worst_mb:.1f} ms per MB; target <= {TARGET_MS_PER_MB:.0f} ms "
          f"per MB: {'met' if worst_mb <= TARGET_MS_PER_MB else 'NOT met'}")
    print(f"         cold import {imp * 1e3:.1f} ms with .pyc, {statistics.median(imp_ours[1]) * 1e3:.1f} ms compiling "
          f"(medians); target <= 50 ms: {'met' if max(imp, statistics.median(imp_ours[1])) <= 0.05 else 'NOT met'}")
    print(f"bench wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
