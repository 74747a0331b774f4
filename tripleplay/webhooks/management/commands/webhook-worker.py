import signal

from django.core.management.base import BaseCommand

from tripleplay.webhooks.delivery import Deliverer
from tripleplay.webhooks.policy import RetryPolicy


class Command(BaseCommand):
    help = ("Deliver webhooks until SIGTERM (any number of these processes share the queue); "
            "every `tripleplay worker` also delivers, between its provisioning batches.")

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=8, help="parallel requests in this process")
        parser.add_argument("--batch-size", type=int, default=100, help="deliveries claimed per transaction")
        parser.add_argument("--lease-seconds", type=int, default=60,
                            help="how long a claim lasts if this process dies (then another sends again); a "
                                 "delivery is sent only while its lease outlasts its endpoint's timeout by 1 s")
        parser.add_argument("--poll-seconds", type=float, default=0.5, help="sleep when nothing is due")
        parser.add_argument("--retry-base-seconds", type=float, default=5.0, help="first retry delay (doubles)")
        parser.add_argument("--retry-cap-seconds", type=float, default=4 * 3600.0, help="longest retry delay")
        parser.add_argument("--max-attempts", type=int, default=12, help="then the delivery is failed (dead letter)")
        parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due (batch use)")
        parser.add_argument("--name", help="worker name in leases (default host:pid:random)")

    def handle(self, *args, **o):
        for option in ("threads", "batch_size", "lease_seconds", "max_attempts"):
            if o[option] < 1:
                self.stderr.write(f"--{option.replace('_', '-')} must be at least 1")
                raise SystemExit(2)
        d = Deliverer(name=o["name"], batch_size=o["batch_size"], threads=o["threads"],
                      lease_seconds=o["lease_seconds"], poll_seconds=o["poll_seconds"],
                      retry=RetryPolicy(base_seconds=o["retry_base_seconds"], cap_seconds=o["retry_cap_seconds"],
                                        max_attempts=o["max_attempts"]))

        def stop(signum, frame):
            d.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"webhook worker {d.name}: {o['threads']} thread(s), batch {o['batch_size']}")
        self.stdout.flush()
        d.run(until_idle=o["until_idle"])
        self.stdout.write(f"webhook worker {d.name}: stopped after {d.delivered} successful deliveries")
