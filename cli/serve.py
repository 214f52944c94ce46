"""``stance serve``: replace this process with ``bentoml serve`` of the service.

The command execs BentoML rather than running it as a child, so a process supervisor's SIGTERM
(systemd, Docker, Kubernetes) reaches the server itself and nothing is left holding the port.
"""

from __future__ import annotations

import argparse
import os
import sys

from cli.common import PROJECT_ROOT, add_model_args
from model.artifact import RUNTIME_CHOICES


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register serve."""
    p = sub.add_parser("serve", help="start the BentoML HTTP service")
    p.add_argument("--port", type=int, default=3000, help="TCP port (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default=None,
        help="override the runtime the model was stored with",
    )
    add_model_args(p)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the model, then exec `bentoml serve` on it (this process becomes the server)."""
    from model.artifact import check_artifact
    from service.store import is_folder_ref, resolve_model

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    folder, name = resolve_model(args.model, args.backend)  # fail early with a clear message
    check_artifact(folder, args.runtime)  # a damaged model: one line here, not a traceback
    model = str(folder.parent if args.model and is_folder_ref(args.model) else name)
    env = os.environ | {"STANCE_MODEL": model, "STANCE_BACKEND": args.backend}
    if args.runtime:
        env["STANCE_RUNTIME"] = args.runtime
    cmd = [sys.executable, "-m", "bentoml", "serve", "service.service:StanceService",
           "--host", args.host, "--port", str(args.port)]  # fmt: skip
    print(f"serving {name} ({args.backend}) on http://{args.host}:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    os.chdir(PROJECT_ROOT)
    os.execvpe(cmd[0], cmd, env)
