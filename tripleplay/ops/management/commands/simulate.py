from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a simulated IPTV platform (one wire format) as an HTTP server on loopback."

    def run_from_argv(self, argv):
        # argv: [prog, "simulate", *args]; the simulator owns its argument parsing (it also runs
        # without Django as `python -m tripleplay.simulators`).
        from tripleplay.simulators.__main__ import main

        code = main(argv[2:])
        if code:
            raise SystemExit(code)

    def handle(self, *args, **options):  # call_command("simulate") is not how this is used
        raise CommandError("run it as: tripleplay simulate NAME --port N")
