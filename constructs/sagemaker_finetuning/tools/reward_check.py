"""Check a reward function against the SageMaker AI reward Lambda contract, locally ("bring your
own handler").

    from sagemaker_finetuning.tools.reward_check import check_reward_handler
    report = check_reward_handler("my_reward.py:lambda_handler", "train.jsonl", sample_count=50)
    assert report.ok, report.summary()

or from a shell (exit status 1 on violations, 2 when the handler or dataset cannot be loaded)::

    python -m sagemaker_finetuning.tools.reward_check my_reward.py:lambda_handler train.jsonl --contract nova

The handler receives the event the service would send (``{"batch": [...]}`` for open-weights
models, a bare list for Nova 2.0 Lite), after a JSON round trip; its reply is JSON round-tripped
too (as the Lambda runtime does) and checked with
``sagemaker_finetuning.core.reward_contract.check_reply``.

Needs only the standard library (no aws_cdk, no boto3).
"""

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

from sagemaker_finetuning.core.reward_contract import (
    CONTRACTS,
    ContractReport,
    build_event,
    check_reply,
    histogram,
    normalize_contract,
)

__all__ = ["ContractReport", "HandlerLoadError", "check_reward_handler", "load_handler", "load_samples", "main"]

DEFAULT_HANDLER_NAMES = ("lambda_handler", "handler")


class HandlerLoadError(ValueError):
    """The handler or the dataset cannot be loaded; the message says what was received and expected."""


def load_handler(spec):
    """A callable handler from ``spec``.

    ``spec`` is a callable, or ``"path/to/file.py[:function]"``, or ``"package.module[:function]"``.
    Without ``:function``, ``lambda_handler`` then ``handler`` are tried. A file inside a package
    (its folder has ``__init__.py``) is imported as part of that package, so relative imports work.
    """
    if callable(spec):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise HandlerLoadError("handler: received %r; expected a callable or 'path/to/file.py:function'" % (spec,))
    text = os.fspath(spec)
    target, name = text, ""
    if not os.path.exists(text):
        head, sep, tail = text.rpartition(":")
        if sep and head and tail and len(head) > 1:  # (a lone "C" would be a Windows drive)
            target, name = head, tail
    if target.endswith(".py") or "/" in target or os.sep in target or os.path.exists(target):
        module = _import_file(Path(target))
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise HandlerLoadError("handler: cannot import module %r (%s); expected a .py file path or an "
                                   "importable module" % (target, exc)) from exc
    names = (name,) if name else DEFAULT_HANDLER_NAMES
    for candidate in names:
        fn = getattr(module, candidate, None)
        if callable(fn):
            return fn
    raise HandlerLoadError("handler: %s defines no callable %s" % (target, " or ".join(repr(n) for n in names)))


def _import_file(path):
    path = path.resolve()
    if not path.is_file():
        raise HandlerLoadError("handler: file %s does not exist; expected 'path/to/file.py[:function]'" % path)
    # Walk up through packages so that "from sagemaker_finetuning.core import x" keeps working.
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    try:
        if len(parts) > 1:
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            return importlib.import_module(".".join(parts))
        module_name = "_reward_handler_%d" % (abs(hash(str(path))) % 10**8)
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.parent))  # sibling imports of a plain script
        try:
            spec.loader.exec_module(module)
        finally:
            if sys.path and sys.path[0] == str(path.parent):
                sys.path.pop(0)
        return module
    except HandlerLoadError:
        raise
    except Exception as exc:
        raise HandlerLoadError("handler: importing %s failed: %s: %s" % (path, type(exc).__name__, exc)) from exc


def load_samples(dataset, sample_count=None):
    """Samples from a list of dicts, a ``.jsonl`` file (one JSON object a line), or a ``.json``
    file holding a list or ``{"batch": [...]}``. ``sample_count`` keeps the first N."""
    if isinstance(dataset, (list, tuple)):
        samples = list(dataset)
    else:
        path = Path(dataset)
        if not path.is_file():
            raise HandlerLoadError("dataset: file %s does not exist; expected a .jsonl file or a list of samples" % path)
        text = path.read_text(encoding="utf-8")
        samples = None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise HandlerLoadError("dataset: %s is not valid JSON (%s)" % (path, exc)) from exc
            samples = data.get("batch") if isinstance(data, dict) else data
            if not isinstance(samples, list):
                raise HandlerLoadError("dataset: %s holds %s; expected a list of samples or {\"batch\": [...]}"
                                       % (path, type(data).__name__))
        else:
            samples = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                if sample_count is not None and len(samples) >= sample_count:
                    break
                try:
                    samples.append(json.loads(line))
                except ValueError as exc:
                    raise HandlerLoadError("dataset: %s line %d is not valid JSON (%s)" % (path, number, exc)) from exc
    if sample_count is not None:
        if not isinstance(sample_count, int) or isinstance(sample_count, bool) or sample_count < 1:
            raise HandlerLoadError("sample_count: received %r; expected a positive integer" % (sample_count,))
        samples = samples[:sample_count]
    if not samples:
        raise HandlerLoadError("dataset: no samples; expected at least one")
    return samples


def check_reward_handler(handler_or_path, dataset_path_or_samples, *, contract="open-weights", sample_count=None,
                         id_key="id", context=None):
    """Run a reward handler on dataset samples and check its reply against the contract.

    Returns a :class:`ContractReport` (``ok``, ``violations``, ``warnings``, ``scores`` and their
    min/mean/max and histogram). A handler that raises, or returns something that is not JSON, is
    reported as a violation. Raises :class:`HandlerLoadError` when the handler or the dataset
    cannot be loaded.
    """
    contract = normalize_contract(contract)
    handler = load_handler(handler_or_path)
    samples = load_samples(dataset_path_or_samples, sample_count)
    try:
        event = json.loads(json.dumps(build_event(samples, contract)))
    except (TypeError, ValueError) as exc:
        raise HandlerLoadError("dataset: samples are not JSON-serialisable (%s)" % exc) from exc
    started = time.perf_counter()
    try:
        reply = handler(event, context)
    except Exception as exc:  # noqa: BLE001 - the handler's failure is the finding
        return _failed(contract, samples, "handler raised %s: %s" % (type(exc).__name__, exc))
    elapsed = time.perf_counter() - started
    try:
        reply = json.loads(json.dumps(reply))
    except (TypeError, ValueError) as exc:
        return _failed(contract, samples, "reply is not JSON-serialisable (%s); the Lambda runtime could not return it" % exc)
    report = check_reply(samples, reply, contract, id_key=id_key)
    per_sample = elapsed / len(samples)
    if per_sample > 0.1:
        report.warnings.append("the handler took %.0f ms per sample; aim for under 100 ms" % (per_sample * 1e3))
    return report


def _failed(contract, samples, message):
    return ContractReport(contract=contract, ok=False, sample_count=len(samples), violations=[message],
                          violation_count=1, histogram=histogram([]))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sagemaker_finetuning.tools.reward_check",
        description="Check a reward function handler against the SageMaker AI reward Lambda contract.",
    )
    parser.add_argument("handler", help="path/to/file.py[:function] or package.module[:function] "
                                        "(default function: lambda_handler, then handler)")
    parser.add_argument("dataset", help="samples: a .jsonl file (one JSON object a line) or a .json list")
    parser.add_argument("--contract", default="open-weights", choices=CONTRACTS,
                        help="open-weights (default): {batch} event, statusCode/body reply; nova: bare lists")
    parser.add_argument("--sample-count", type=int, default=None, help="use the first N samples")
    parser.add_argument("--id-key", default="id", help="the sample key holding the id (default: id)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = check_reward_handler(args.handler, args.dataset, contract=args.contract,
                                      sample_count=args.sample_count, id_key=args.id_key)
    except HandlerLoadError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
