from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a simulated IPTV platform (one wire format) as an HTTP server on loopback, or `simulate nas` (a NAS)."

    def run_from_argv(self, argv):
        # argv: [prog, "simulate", *args]; the simulator owns its argument parsing (it also runs
        # without Django as `python -m tripleplay.simulators`).
        if argv[2:3] == ["nas"]:  # the NAS speaks RADIUS, not an IPTV platform's HTTP API
            from tripleplay.simulators.nas import main
        else:
            from tripleplay.simulators.__main__ import main

        code = main(argv[3:] if argv[2:3] == ["nas"] else argv[2:])
        if code:
            raise SystemExit(code)

    def handle(self, *args, **options):  # call_command("simulate") is not how this is used
        raise CommandError("run it as: tripleplay simulate NAME --port N")
