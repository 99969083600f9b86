"""Benchmark: dataset validation throughput on one core (SFT JSON Lines).

Generates a synthetic SFT file (default 150 MB) in a temporary directory, then times, on the
same file and best of ``--repeat`` runs each:

* a plain read: ``for line in f: pass`` (binary mode),
* ``json.loads`` of every line (text mode, the cheapest stdlib parse loop),
* ``sagemaker_finetuning.tools.datasets.validate(path, "sft")``.

and prints MB/s for each and the validator's ratios to the first two. Target: >= 100 MB/s.

    python bench/dataset_bench.py [--mb 150] [--short-mb 60] [--repeat 5]

Two record-size profiles: "long" (~2 KB records, chat-sized answers) and "short" (~200 B
records, where the per-record cost dominates).

Then the workflow's part validator (``core.datasets.whole.validate_part``: whole-dataset validation
before launch, one byte range of an S3 object, fed 1 MiB chunks as a ranged GetObject yields them,
counting text characters too), side by side with a bare ``json.loads`` per line over the same
bytes in memory, on one core: typical inputs ("long", "short", as above, split into 32 MiB parts)
and worst cases: "tiny" (~40 B records: per-record cost only) and "huge" (4 MB lines: every line
spans several chunks). The target (>= 100 MB/s) applies to the typical inputs; the worst cases
are printed for their ratios.

    python bench/dataset_bench.py --part-mb 100 --tiny-mb 20 --huge-mb 64
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sagemaker_finetuning.core.datasets.whole import plan_parts, validate_part
from sagemaker_finetuning.tools.datasets import validate

TARGET_MB_S = 100.0

_WORDS = (
    "the customer asked about an order refund shipping delay invoice account password reset "
    "please could you help me with my subscription plan upgrade billing question thanks "
    "naïve café résumé 東京 ✓ “quoted” tab\tnewline\nbackslash\\ slash/ 42 3.14 -7"
).split(" ")


#: words per prompt / completion for each record-size profile
PROFILES = {"long": ((15, 160), (20, 320)), "short": ((4, 20), (4, 26))}


def make_sft_file(path: Path, megabytes: float, seed: int = 7, profile: str = "long") -> int:
    """Write realistic SFT records (json.dumps defaults: ASCII with \\u escapes) until the size."""
    (p_lo, p_hi), (c_lo, c_hi) = PROFILES[profile]
    rnd = random.Random(seed)
    target = int(megabytes * 1_000_000)
    size = 0
    with open(path, "w", encoding="utf-8") as f:
        batch: list[str] = []
        while size < target:
            rec = {
                "prompt": " ".join(rnd.choices(_WORDS, k=rnd.randint(p_lo, p_hi))),
                "completion": " ".join(rnd.choices(_WORDS, k=rnd.randint(c_lo, c_hi))),
            }
            line = json.dumps(rec) + "\n"
            size += len(line)  # ASCII only
            batch.append(line)
            if len(batch) >= 2000:
                f.write("".join(batch))
                batch.clear()
        f.write("".join(batch))
    return size


def _plain(path: Path) -> None:
    with open(path, "rb") as f:
        for _line in f:
            pass


def _loads(path: Path) -> None:
    loads = json.loads
    with open(path, encoding="utf-8") as f:
        for line in f:
            loads(line)


def _validate(path: Path) -> None:
    report = validate(path, "sft")
    if not report.ok:
        raise SystemExit(f"benchmark file unexpectedly invalid: {report.summary()}")


def best_of(fn, path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - t0)
    return best


def run(path: Path, megabytes: float, profile: str, repeat: int) -> float:
    t0 = time.perf_counter()
    size = make_sft_file(path, megabytes, profile=profile)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    print(f"[{profile}] file: {size / 1e6:.1f} MB, {lines} records ({size / lines:.0f} B/record avg), "
          f"generated in {time.perf_counter() - t0:.1f}s")
    mb = size / 1e6
    t_plain = best_of(_plain, path, repeat)
    t_loads = best_of(_loads, path, repeat)
    t_val = best_of(_validate, path, repeat)
    print(f"[{profile}] plain read (for line in f: pass): {mb / t_plain:8.1f} MB/s  ({t_plain:.3f}s)")
    print(f"[{profile}] json.loads per line            : {mb / t_loads:8.1f} MB/s  ({t_loads:.3f}s)")
    print(f"[{profile}] validate(path, 'sft')          : {mb / t_val:8.1f} MB/s  ({t_val:.3f}s)")
    print(f"[{profile}] validate time / plain read time : {t_val / t_plain:6.2f}x")
    print(f"[{profile}] validate time / json.loads time : {t_val / t_loads:6.2f}x")
    return mb / t_val


# ----------------------------------------------------------------------------- the part validator
PART_BYTES = 32 * 1024 * 1024
CHUNK = 1 << 20


def make_tiny(megabytes: float, seed: int = 11) -> bytes:
    """~40 B SFT records: the worst case per byte (every cost is per record)."""
    rnd = random.Random(seed)
    words = [w for w in _WORDS if w.isalpha()]
    lines, size, target = [], 0, int(megabytes * 1_000_000)
    while size < target:
        line = json.dumps({"prompt": rnd.choice(words), "completion": rnd.choice(words)}) + "\n"
        size += len(line)
        lines.append(line)
    return "".join(lines).encode()


def make_huge(megabytes: float, line_mb: float = 4.0, seed: int = 13) -> bytes:
    """SFT records of ``line_mb`` MB each: every line spans several 1 MiB chunks."""
    rnd = random.Random(seed)
    lines, size, target = [], 0, int(megabytes * 1_000_000)
    words = int(line_mb * 1_000_000 / 6)
    while size < target:
        line = json.dumps({"prompt": "summarize", "completion": " ".join(rnd.choices(_WORDS, k=words))}) + "\n"
        size += len(line.encode())
        lines.append(line)
    return "".join(lines).encode()


def _loads_bytes(data: bytes) -> None:
    loads = json.loads
    for line in io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"):
        loads(line)


def _chunks(data: bytes, start: int):
    for i in range(start, len(data), CHUNK):
        yield data[i:i + CHUNK]


def _parts(data: bytes) -> None:
    records = 0
    for part in plan_parts([("bench.jsonl", len(data))], PART_BYTES):
        result = validate_part(part, _chunks(data, part.read_from), "sft")
        if result.invalid_records:
            raise SystemExit(f"benchmark data unexpectedly invalid: {result.issues[:3]}")
        records += result.records
    if records == 0:
        raise SystemExit("benchmark data has no records")


def run_parts(name: str, data: bytes, repeat: int) -> float:
    """MB/s of the part validator; json.loads per line over the same bytes measured alongside."""
    mb = len(data) / 1e6
    lines = data.count(b"\n")
    t_loads = best_of(_loads_bytes, data, repeat)
    t_parts = best_of(_parts, data, repeat)
    parts = len(plan_parts([("bench.jsonl", len(data))], PART_BYTES))
    print(f"[parts:{name}] {mb:.1f} MB, {lines} records ({len(data) / max(lines, 1):.0f} B/record), {parts} part(s) of <= 32 MiB")
    print(f"[parts:{name}] json.loads per line      : {mb / t_loads:8.1f} MB/s  ({t_loads:.3f}s)")
    print(f"[parts:{name}] validate_part            : {mb / t_parts:8.1f} MB/s  ({t_parts:.3f}s)")
    print(f"[parts:{name}] validate_part time / json.loads time : {t_parts / t_loads:6.2f}x")
    return mb / t_parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=150.0, help="size of the long-record file in MB (default 150)")
    ap.add_argument("--short-mb", type=float, default=60.0,
                    help="size of the short-record (~200 B) file in MB; 0 skips it (default 60)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement, best kept (default 5)")
    ap.add_argument("--part-mb", type=float, default=100.0,
                    help="size of the typical inputs of the part-validator benchmark; 0 skips it (default 100)")
    ap.add_argument("--tiny-mb", type=float, default=20.0, help="size of the ~40 B-record worst case (default 20)")
    ap.add_argument("--huge-mb", type=float, default=64.0, help="size of the 4 MB-line worst case (default 64)")
    args = ap.parse_args(argv)

    print(f"one core, python {sys.version.split()[0]}, {os.cpu_count()} cpus visible; stdlib json only")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sft.jsonl"
        rates["long"] = run(path, args.mb, "long", args.repeat)
        if args.short_mb > 0:
            rates["short"] = run(path, args.short_mb, "short", args.repeat)
        if args.part_mb > 0:
            for profile in ("long", "short"):
                make_sft_file(path, args.part_mb, profile=profile)
                rates[f"parts:{profile}"] = run_parts(profile, path.read_bytes(), args.repeat)
    if args.part_mb > 0:
        worst = {"tiny": make_tiny(args.tiny_mb), "huge": make_huge(args.huge_mb)}
        shown_worst = ", ".join(f"{k} {run_parts(k, v, args.repeat):.0f} MB/s" for k, v in worst.items())
        print(f"part validator worst cases (not gated): {shown_worst}")
    ok = all(r >= TARGET_MB_S for r in rates.values())
    shown = ", ".join(f"{k} {v:.0f} MB/s" for k, v in rates.items())
    print(f"target >= {TARGET_MB_S:.0f} MB/s: {'PASS' if ok else 'FAIL'} ({shown})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
