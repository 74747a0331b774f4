"""`tripleplay radius-reconcile`: compare the sessions billing believes active with each NAS's own list
and repair the drift (docs/radius.md, Reconciliation). The worker runs it every 5 minutes (job
"radius-reconcile"); running it by hand is always safe."""

from django.core.management.base import BaseCommand

from tripleplay.radius.reconcile import reconcile_all


class Command(BaseCommand):
    help = ("Reconcile the sessions billing believes active with each NAS's view: close in billing what the NAS "
            "lacks, disconnect what billing lacks or bars, CoA a wrong rate.")

    def handle(self, *args, **o):
        self.stdout.write(reconcile_all())
