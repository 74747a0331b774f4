"""`tripleplay demo`: a working tripleplay on 127.0.0.1 in one command.

Migrates the database, seeds the demo data once (tripleplay/demo.py; later runs keep what is
there), resets the demo logins, creates a fresh API token (tokens are stored hashed, so an old one
cannot be shown again; earlier demo tokens stay valid), prints where to go, then serves.
The built-in development SECRET_KEY is accepted here (TRIPLEPLAY_DEMO=1): never expose a demo.
"""

from __future__ import annotations

import os
import secrets

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tripleplay import clock, demo
from tripleplay.access.services import create_api_client
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import DomainError
from tripleplay.ops.management.commands.serve import (
    add_server_arguments,
    check_server_options,
    run_server,
)

HOST = "127.0.0.1"  # a demo with public passwords listens on loopback only
EXAMPLE_API_PATH = "/api/v1/customers"


class Command(BaseCommand):
    help = "Set up demo data, logins and an API token, then serve them on 127.0.0.1."

    def add_arguments(self, parser):
        add_server_arguments(parser, host=False)
        parser.add_argument("--no-serve", action="store_true", help="set everything up, print it, and exit")
        parser.add_argument("--no-iptv", action="store_true",
                            help="do not start the simulated IPTV platforms and the provisioning worker")
        parser.add_argument("--simulator-base-port", type=int, default=8101,
                            help="the seven simulated platforms listen on this port and the next six (127.0.0.1)")
        parser.add_argument("--stripe-port", type=int, default=8110,
                            help="the simulated Stripe (online payments) listens on this port (127.0.0.1)")
        parser.add_argument("--no-payments", action="store_true", help="do not start the simulated Stripe")
        parser.add_argument("--sms-port", type=int, default=8111,
                            help="the simulated Twilio (SMS notifications) listens on this port (127.0.0.1)")
        parser.add_argument("--no-sms", action="store_true", help="do not start the simulated Twilio")
        parser.add_argument("--no-radius", action="store_true",
                            help="do not start FreeRADIUS and the simulated NAS")
        parser.add_argument("--radius-base-port", type=int, default=18120,
                            help="FreeRADIUS auth on this UDP port, accounting on the next; the NAS simulator's "
                                 "control API and CoA port on the two after (127.0.0.1)")

    def handle(self, *args, **options):
        os.environ["TRIPLEPLAY_DEMO"] = "1"
        port = options["port"]
        check_server_options(port=port, workers=options["workers"], threads=options["threads"],
                             timeout=options["timeout"])

        self._section("Database")
        # The raw stream: migrate's own "Applying X... OK" lines need writes without a newline.
        call_command("migrate", interactive=False, verbosity=options["verbosity"],
                     stdout=getattr(self.stdout, "_out", self.stdout))

        self._section("Demo data")
        actor = Actor.system("demo")
        try:
            result = demo.seed(actor)
            operators = demo.ensure_operators(actor)
            subscriber = demo.ensure_subscriber_login(actor)
            name = f"demo-{clock.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
            client, token = create_api_client(actor, name=name, role=Role.ADMIN)
        except DomainError as e:
            raise CommandError(f"seeding the demo failed: {e.message}") from e
        if result.created:
            self.stdout.write(f"Created {result.products} products, {result.customers} customers and "
                              f"{result.accounts} accounts.")
            self.stdout.write(f"Coupon code {demo.DEMO_COUPON}: Triple Play's first three months at half price.")
        else:
            self.stdout.write("Demo data already present: kept as it is.")
        from tripleplay.demo_invoicing import issue_demo_invoices

        issued, rendered = issue_demo_invoices(actor)
        if issued:
            self.stdout.write(f"Issued {issued} invoices ({rendered} PDFs under TRIPLEPLAY_HOME/invoices; the worker "
                              "delivers their e-mails to TRIPLEPLAY_HOME/mail).")

        stripe = None
        if not options["no_payments"] and not options["no_serve"]:  # the provider needs the server's webhook
            self._section("Simulated payment provider")
            from tripleplay.demo_payments import start_stripe

            try:
                stripe = start_stripe(options["stripe_port"], port)
            except (RuntimeError, OSError) as e:
                raise CommandError(f"could not start the simulated Stripe on port {options['stripe_port']}: {e}"
                                   " (choose another with --stripe-port, or --no-payments)") from e
            self.stdout.write(f"  Stripe simulator at {stripe.url}" if stripe else "  Using the configured provider")
        sms = None
        if not options["no_sms"] and not options["no_serve"]:
            self._section("Simulated SMS provider")
            from tripleplay.demo_notifications import start_sms

            try:
                sms = start_sms(options["sms_port"], port)
            except (RuntimeError, OSError) as e:
                if stripe is not None:
                    stripe.stop()
                raise CommandError(f"could not start the simulated Twilio on port {options['sms_port']}: {e}"
                                   " (choose another with --sms-port, or --no-sms)") from e
            self.stdout.write(f"  Twilio simulator at {sms.url}" if sms else "  Using the configured Twilio account")
        iptv = radius = None
        try:
            if not options["no_iptv"]:
                self._section("Simulated IPTV platforms")
                iptv = self._start_iptv(actor, options["simulator_base_port"], serving=not options["no_serve"])
            if not options["no_radius"]:
                self._section("Internet access (FreeRADIUS and a simulated NAS)")
                radius = self._start_radius(actor, options["radius_base_port"], port, serving=not options["no_serve"])
            self._banner(port, operators, client.name, token, serving=not options["no_serve"], iptv=iptv,
                         stripe=stripe, payments=not options["no_payments"] and not options["no_serve"], radius=radius,
                         subscriber=subscriber, sms=sms, sms_shown=not options["no_sms"] and not options["no_serve"])
            if options["no_serve"]:
                return
            run_server(host=HOST, port=port, workers=options["workers"], threads=options["threads"],
                       timeout=options["timeout"], stdout=self.stdout)
        finally:
            if iptv is not None:
                iptv.stop()
            if radius is not None:
                radius.stop()
            if stripe is not None:
                stripe.stop()
            if sms is not None:
                sms.stop()

    def _start_radius(self, actor, base_port: int, port: int, *, serving: bool):
        from tripleplay import demo_radius

        try:
            return demo_radius.start(actor, base_port=base_port, tripleplay_url=f"http://{HOST}:{port}",
                                     processes=serving)
        except (RuntimeError, OSError) as e:
            raise CommandError(f"could not start FreeRADIUS and the NAS simulator on ports {base_port}.."
                               f"{base_port + 3}: {e} (choose others with --radius-base-port, or --no-radius)") from e

    def _start_iptv(self, actor, base_port: int, *, serving: bool):
        from tripleplay import demo_iptv
        from tripleplay.iptv.platforms.base import PlatformError

        try:
            sims = demo_iptv.start_simulators(base_port)
        except (RuntimeError, OSError) as e:
            raise CommandError(f"could not start the simulated platforms on ports {base_port}..{base_port + 5}: {e}"
                               " (choose others with --simulator-base-port, or --no-iptv)") from e
        running = demo_iptv.RunningIptv(sims)
        try:
            for note in demo_iptv.configure(actor, sims):
                self.stdout.write(f"  {note}")
            if serving:
                running.worker = demo_iptv.start_worker()
            else:
                demo_iptv.drain_once()  # provision the demo subscribers, then stop (--no-serve)
        except (PlatformError, DomainError) as e:
            running.stop()
            raise CommandError(f"configuring the simulated platforms failed: {e}") from e
        except BaseException:
            running.stop()
            raise
        return running

    @staticmethod
    def _iptv_lines(iptv, serving: bool) -> list[str]:
        if iptv is None:
            return []
        lines = ["  Simulated IPTV platforms (state under TRIPLEPLAY_HOME/simulators; control API at URL/_sim/state):"]
        lines += [f"    {name:<13} {sim.url}" for name, sim in sorted(iptv.simulators.items())]
        lines.append("  Provisioning worker: " + ("running (tripleplay worker)" if serving else "drained once"))
        lines.append("")
        return lines

    def _section(self, title: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {title}"))

    def _banner(self, port: int, operators, client_name: str, token: str, *, serving: bool, iptv=None, stripe=None,
                payments: bool = False, radius=None, subscriber: tuple[str, str] | None = None, sms=None,
                sms_shown: bool = False) -> None:
        from tripleplay.demo_notifications import banner_lines as sms_lines
        from tripleplay.demo_payments import banner_lines

        base = f"http://{HOST}:{port}"
        width = max(len(u) for u, _ in operators)
        lines = [
            "",
            self.style.SUCCESS("Tripleplay demo is ready" + ("" if serving else " (not serving: --no-serve)")),
            "",
            f"  Operator UI:          {base}/",
            f"  Django admin:         {base}/admin/",
            f"  API docs:             {base}/api/v1/docs",
            f"  Health check:         {base}/healthz (alive), {base}/readyz (ready: database, migrations,"
            " worker, jobs)",
            f"  Metrics:              {base}/metrics (Prometheus)",
            "",
            f"  Logins (password for all: {demo.DEMO_PASSWORD}):",
            *(f"    {u:<{width}}  role {r.value}" for u, r in operators),
            "",
            *([f"  Subscriber portal:    {base}/my/  (login {subscriber[0]}, password {subscriber[1]})", ""]
              if subscriber else []),
            f"  API token (client {client_name}, role admin; new on every run):",
            f"    {token}",
            "",
            *self._iptv_lines(iptv, serving),
            *(banner_lines(stripe) if payments else []),
            *(sms_lines(sms) if sms_shown else []),
            *(["  Internet access:", *(f"    {note}" for note in radius.notes), ""] if radius is not None else []),
            "  Try:",
            f'    curl -H "Authorization: Bearer {token}" {base}{EXAMPLE_API_PATH}',
            "",
        ]
        self.stdout.write("\n".join(lines))
