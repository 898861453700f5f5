"""``lsg-infra start|stop|status|env``: the local Kafka broker and PostgreSQL server."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from lsg_local._proc import InfraError
from lsg_local.kafka import check_prerequisites, kafka_version, resolve_kafka_lib
from lsg_local.postgres import postgres_version
from lsg_local.stack import LocalStack


def _print_env(stack: LocalStack) -> None:
    for key, value in stack.info().env().items():
        print(f"export {key}={shlex.quote(value)}")


def _cmd_start(stack: LocalStack, args: argparse.Namespace) -> int:
    before = stack.status()
    if not before["kafka"]:
        check_prerequisites()  # fail fast (before PostgreSQL starts) when Java/Maven are missing
    t0 = time.monotonic()
    info = stack.ensure_started(timeout=args.timeout)
    took = time.monotonic() - t0
    for name, was_running in before.items():
        print(f"{name}: {'already running (reused)' if was_running else 'started'}")
    print(f"ready in {took:.1f} s")
    print(f"  Kafka      {info.kafka_bootstrap}   (Kafka {kafka_version(resolve_kafka_lib())}, KRaft)")
    print(f"  PostgreSQL {info.postgres_dsn}   (PostgreSQL {postgres_version()})")
    for service, url in info.database_urls.items():
        print(f"    {service:<10} {url}")
    print(f"  state      {stack.base_dir}")
    print('  env        eval "$(uv run lsg-infra env)"')
    return 0


def _cmd_stop(stack: LocalStack, args: argparse.Namespace) -> int:
    before = stack.status()
    t0 = time.monotonic()
    stack.stop(timeout=args.timeout)
    for name, was_running in before.items():
        print(f"{name}: {'stopped' if was_running else 'was not running'}")
    print(f"done in {time.monotonic() - t0:.1f} s")
    return 0


def _cmd_status(stack: LocalStack, _args: argparse.Namespace) -> int:
    status = stack.status()
    info = stack.info()
    addr = {"kafka": info.kafka_bootstrap, "postgres": info.postgres_dsn}
    for name, running in status.items():
        print(f"{name:<9} {'running' if running else 'stopped':<8} {addr[name]}")
    print(f"state     {stack.base_dir}")
    return 0 if all(status.values()) else 3


def _cmd_env(stack: LocalStack, _args: argparse.Namespace) -> int:
    _print_env(stack)
    down = [name for name, running in stack.status().items() if not running]
    if down:
        print(f"# lsg-infra: not running: {', '.join(down)} (run: uv run lsg-infra start)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lsg-infra",
        description="Local Apache Kafka (KRaft) and PostgreSQL for LSG Events development and tests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start Kafka and PostgreSQL (reuses running ones), create the DBs")
    p_start.add_argument("--timeout", type=float, default=180, help="seconds to wait (default 180)")
    p_stop = sub.add_parser("stop", help="stop both servers (data is kept)")
    p_stop.add_argument("--timeout", type=float, default=30, help="seconds before SIGKILL (default 30)")
    sub.add_parser("status", help="show what runs; exit 0 only if both do")
    sub.add_parser("env", help='print shell exports: eval "$(uv run lsg-infra env)"')
    args = parser.parse_args(argv)

    handlers = {"start": _cmd_start, "stop": _cmd_stop, "status": _cmd_status, "env": _cmd_env}
    try:
        return handlers[args.command](LocalStack(), args)
    except InfraError as exc:
        print(f"lsg-infra: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `lsg-infra start | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit flush
        return 0


if __name__ == "__main__":
    sys.exit(main())
