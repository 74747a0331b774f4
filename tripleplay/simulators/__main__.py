"""python -m tripleplay.simulators NAME --port N (what `tripleplay simulate` runs; no Django needed)."""

from __future__ import annotations

import argparse
import sys

from tripleplay.simulators.base import Faults, make_server, serve_until_stopped
from tripleplay.simulators.registry import simulators


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tripleplay simulate", description="Run a simulated IPTV platform on loopback.")
    p.add_argument("name", choices=sorted(simulators()), help="which platform's wire format")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: any free one, printed)")
    p.add_argument("--username", default="tripleplay", help="the credential the platform accepts")
    p.add_argument("--password", default="secret", help="its password / API key")
    p.add_argument("--state-file", help="keep subscribers and packages in this JSON file across restarts")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--timeout-rate", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--drop-after-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--tripleplay-url", help="tripleplay's base URL for PPV calls (loopback, e.g. http://127.0.0.1:8000)")
    p.add_argument("--tripleplay-token", help="the platform's inbound token (tpp_...) for PPV calls")
    p.add_argument("--ppv-style", choices=["json", "xml"],
                   help="which PPV API to call (default: the platform's own: XML for generic_xml, minerva, seachange)")
    p.add_argument("--protocol-version",
                   help="generic_xml only: act as a platform of this older 1.x revision (pong and schema)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = {}
    if args.protocol_version:
        if args.name != "generic_xml":
            print("error: --protocol-version is for generic_xml only", file=sys.stderr)
            return 2
        extra["protocol_version"] = args.protocol_version
    try:
        sim = simulators()[args.name](username=args.username, password=args.password, state_file=args.state_file,
                                      **extra)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sim.faults = Faults(error_rate=args.error_rate, latency_ms=args.latency_ms, timeout_rate=args.timeout_rate,
                        drop_rate=args.drop_rate, drop_after_rate=args.drop_after_rate, seed=args.seed)
    import random

    sim.rng = random.Random(args.seed)
    if args.tripleplay_url or args.tripleplay_token:
        try:
            sim.configure_tripleplay(args.tripleplay_url, args.tripleplay_token, args.ppv_style)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    elif args.ppv_style:
        sim.tripleplay.style = args.ppv_style
    try:
        server = make_server(sim, args.host, args.port)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    try:
        serve_until_stopped(server, {"simulator": args.name, "url": f"http://{host}:{port}", "username": args.username})
    finally:
        sim.state.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
