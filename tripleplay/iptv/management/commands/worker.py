import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from tripleplay.core.heartbeat import Heartbeat
from tripleplay.core.scheduler import registered_loops, run_due, run_loops, worker_jobs
from tripleplay.iptv.worker import RetryPolicy, Worker


class Command(BaseCommand):
    help = "Deliver provisioning commands to the IPTV platforms and run the periodic jobs (until SIGTERM)."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=4, help="concurrent platform calls in this process")
        parser.add_argument("--batch-size", type=int, default=50, help="subscribers claimed per transaction")
        parser.add_argument("--lease-seconds", type=int, default=120,
                            help="how long a claim lasts if this worker dies (then another takes over)")
        parser.add_argument("--poll-seconds", type=float, default=0.5, help="sleep when the queue is empty")
        parser.add_argument("--retry-base-seconds", type=float, default=2.0, help="first retry delay (doubles)")
        parser.add_argument("--retry-cap-seconds", type=float, default=600.0, help="longest retry delay")
        parser.add_argument("--until-idle", action="store_true", help="exit when nothing is queued (batch use)")
        only = parser.add_mutually_exclusive_group()
        only.add_argument("--no-jobs", action="store_true",
                          help="provisioning and the other outboxes (Disconnect-Requests, webhooks), no periodic jobs")
        only.add_argument("--jobs-only", action="store_true",
                          help="periodic jobs and the other outboxes, no provisioning (a long invoice run never "
                               "stalls delivery)")
        parser.add_argument("--name", help="worker name in leases (default host:pid:random)")

    def handle(self, *args, **o):
        worker = Worker(name=o["name"], batch_size=o["batch_size"], threads=o["threads"],
                        lease_seconds=o["lease_seconds"], poll_seconds=o["poll_seconds"],
                        retry=RetryPolicy(base_seconds=o["retry_base_seconds"], cap_seconds=o["retry_cap_seconds"]))
        jobs = [] if o["no_jobs"] else worker_jobs()
        loops = registered_loops()  # other outboxes (Disconnect-Requests, webhooks): every worker, between batches

        def stop(signum, frame):
            self.stderr.write(f"worker {worker.name}: signal {signum}, finishing the current batch ...")
            worker.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        delivery = "no provisioning" if o["jobs_only"] else f"{o['threads']} thread(s), batch {o['batch_size']}"
        self.stdout.write(f"worker {worker.name}: {delivery}; jobs: {', '.join(j.name for j in jobs) or 'none'}; "
                          f"loops: {', '.join(lp.name for lp in loops) or 'none'}")
        self.stdout.flush()

        heartbeat = Heartbeat(worker.name, runs_jobs=bool(jobs),
                              every_seconds=settings.TRIPLEPLAY_WORKER_HEARTBEAT_SECONDS)
        heartbeat.start()

        def between_batches(done: int):
            heartbeat.beat()
            run_loops(loops)
            if jobs:
                run_due(jobs, worker.name)
            if done:
                self.stdout.write(f"delivered {done} (total {worker.processed})")
                self.stdout.flush()

        try:
            if o["jobs_only"]:
                # No claims: the same loop of heartbeat, outboxes and due jobs, paced by --poll-seconds.
                while not worker.stop_event.is_set():
                    between_batches(0)
                    if o["until_idle"]:
                        break
                    worker.stop_event.wait(o["poll_seconds"])
            else:
                worker.run(until_idle=o["until_idle"], on_batch=between_batches)
        finally:
            heartbeat.stop()
            for loop in loops:
                loop.close()
        self.stdout.write(f"worker {worker.name}: stopped after {worker.processed} subscriber updates")
