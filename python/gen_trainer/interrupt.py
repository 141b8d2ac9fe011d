"""python/gen_trainer/interrupt.py — CTRL-C (SIGINT) and SIGTERM in a program that saves checkpoints.

Mirrors runtime/interrupt.ts: the first signal only raises a flag; the loop finishes the step it
is in, saves a checkpoint, says how to resume, and exits with 130. A second signal exits at once
(the newest complete checkpoint still resumes). Under torchrun a signal may reach one rank only,
so the loop asks whether any rank got one (one small all-reduce per step, only in programs that
can resume).
"""
import os
import shlex
import signal
import sys

import torch


class Interrupt:
    def __init__(self):
        self.requested = False

    def requested_anywhere(self, dist):
        if dist.world_size == 1:
            return self.requested
        return bool(dist.all_sum(torch.tensor(float(self.requested), device=dist.device)).item() > 0)


def watch_for_interrupt():
    interrupt = Interrupt()

    def on_signal(number, _frame):
        if interrupt.requested:
            sys.exit(130)
        interrupt.requested = True
        sys.stderr.write(f"\n{signal.Signals(number).name}: finishing this step and saving a checkpoint (again to quit now)\n")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return interrupt


def resume_command():
    """The command line that resumes this run: the same program and flags, plus --resume."""
    args = sys.argv[1:]
    kept = [a for i, a in enumerate(args) if a != "--resume" and not a.startswith("--resume=") and not (i > 0 and args[i - 1] == "--resume" and not a.startswith("--"))]
    script = os.path.relpath(sys.argv[0])
    launcher = "torchrun --nproc_per_node " + os.environ["WORLD_SIZE"] if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "python"
    return " ".join([launcher, shlex.quote(script), *(shlex.quote(a) for a in kept), "--resume"])
