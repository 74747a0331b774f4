"""`tripleplay sweep-sessions`: end the charging sessions not heard from by their deadline. The worker
runs it every minute (job "sweep-sessions"); running it by hand is always safe."""

from django.core.management.base import BaseCommand

from tripleplay.sessions.services import sweep_silent


class Command(BaseCommand):
    help = "End charging sessions that stopped reporting: release their reservations (their usage is charged)."

    def handle(self, *args, **options):
        total = 0
        while True:
            ended = sweep_silent(limit=1000)
            total += ended
            if ended < 1000:
                break
        self.stdout.write(f"Ended {total} silent session(s).")
