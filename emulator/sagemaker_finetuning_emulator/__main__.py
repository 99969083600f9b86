"""``python -m sagemaker_finetuning_emulator serve --port N`` - run the emulator in the foreground.

Prints the endpoint and the environment a client needs, then serves until SIGINT/SIGTERM.
``python -m sagemaker_finetuning_emulator check`` runs the moto self-check and lists the patches.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def _serve(args: argparse.Namespace) -> int:
    from sagemaker_finetuning_emulator.server import Emulator

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from sagemaker_finetuning_emulator.runtime import log_through_root

    log_through_root()
    emulator = Emulator(
        port=args.port,
        region=args.region,
        job_seconds=args.job_seconds,
        check_input_data=None if args.check_input_data is None else args.check_input_data == "on",
        verbose=args.verbose,
    )
    stop = threading.Event()

    def _signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _signal)
    signal.signal(signal.SIGTERM, _signal)
    emulator.start()
    try:
        print(f"SIMULATED AWS emulator (moto + sagemaker_finetuning patches) listening on {emulator.endpoint_url}", flush=True)
        print("Point clients at it with:", flush=True)
        for key, value in emulator.client_env().items():
            print(f"  export {key}={value}", flush=True)
        print(f"Control API: {emulator.endpoint_url}/moto-api/finetune/status", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        print("emulator stopped", flush=True)
    return 0


def _check(_args: argparse.Namespace) -> int:
    from sagemaker_finetuning_emulator.patches import apply_all

    for patch in apply_all():
        print(f"{patch['target']}: {patch['summary']}")
    print("self-check passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_finetuning_emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator until SIGINT/SIGTERM")
    serve.add_argument("--port", type=int, default=5000, help="TCP port on 127.0.0.1 (0 = any free port)")
    serve.add_argument("--region", default="us-east-1", help="region whose public-hub catalogue is seeded")
    serve.add_argument("--job-seconds", type=float, default=None, help="simulated training job duration (default 3, env FINETUNE_SIM_JOB_SECONDS)")
    serve.add_argument("--check-input-data", choices=("on", "off"), default=None, help="fail jobs whose S3 input is empty (default on)")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=_serve)
    check = sub.add_parser("check", help="run the moto self-check and list the patches")
    check.set_defaults(func=_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
