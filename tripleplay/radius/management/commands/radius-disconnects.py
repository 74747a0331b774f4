from django.core.management.base import BaseCommand

from tripleplay.radius.coa import Sender


class Command(BaseCommand):
    help = ("Send the queued Disconnect-Requests to the NAS now, until nothing is due (`tripleplay worker` does "
            "this on every loop, the outbox radius-disconnects).")

    def handle(self, *args, **o):
        self.stdout.write(f"{Sender().run_until_idle()} disconnect commands sent")
