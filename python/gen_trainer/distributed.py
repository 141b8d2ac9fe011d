"""gen_trainer.distributed — data-parallel training across processes started by torchrun.

Has no runtime/ counterpart (the TypeScript programs run in one process); it exists so that a
run on N processes sees the same global batches, in the same order, as a run in one process:
each optimizer step's global batch (runtime/sampler.ts's order) is split into N contiguous
shares, each process computes the loss sum and gradients of its share, and ``all_sum`` adds them
up, so every process applies the same update as the single-process program.

``Distributed.from_environment(device="auto")`` reads torchrun's RANK, LOCAL_RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT. Without them (or with WORLD_SIZE 1) it is one process: rank 0,
world size 1, no process group, and every collective is the identity. With WORLD_SIZE > 1 it
calls torch.distributed.init_process_group (env://) with backend "nccl" when the device is CUDA,
else "gloo". ``device`` is cuda:LOCAL_RANK when CUDA is available (``device="auto"`` or
``"cuda"``), else the CPU; ``device="cpu"`` forces the CPU, and ``"cuda"`` without CUDA is a UserError.

Sharding (``shard``): a global batch of n indices on N processes is cut into N consecutive
slices; with q = n // N and m = n % N, slice r is ``indices[r*q + min(r, m) : (r+1)*q + min(r+1, m)]``:
the first m ranks take q+1 indices, the others q, and together they are the batch in its order.
A short last batch of an epoch splits the same way; when it has fewer than N indices, the last
ranks get an empty list, and must still take part in every collective (all_sum of zero loss and
zero gradients), so that the collectives of all ranks match.
"""
from __future__ import annotations

import contextlib
import datetime
import os
from typing import Any, List, Optional, Sequence

import torch

from .run import UserError

ENVIRONMENT = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _int_variable(name: str, default: Optional[int] = None) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        if default is None:
            raise UserError(f"{name} is not set; start the program with torchrun (or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT).")
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f'{name} must be a non-negative integer, got "{text}".') from None
    if value < 0:
        raise UserError(f'{name} must be a non-negative integer, got "{text}".')
    return value


def shard_slice(n: int, rank: int, world_size: int) -> slice:
    """The slice of a batch of ``n`` that rank ``rank`` of ``world_size`` takes (see the module docstring)."""
    q, m = divmod(n, world_size)
    return slice(rank * q + min(rank, m), (rank + 1) * q + min(rank + 1, m))


class Distributed:
    """This process's place in the run: ``rank``, ``local_rank``, ``world_size``, ``is_main``,
    ``device``, ``backend`` (None in one process)."""

    def __init__(self, rank: int = 0, local_rank: int = 0, world_size: int = 1, device: Optional[torch.device] = None, backend: Optional[str] = None):
        self.rank = rank
        self.local_rank = local_rank
        self.world_size = world_size
        self.device = device if device is not None else torch.device("cpu")
        self.backend = backend

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def initialized(self) -> bool:
        """Whether this process is in a process group (WORLD_SIZE > 1)."""
        return self.backend is not None

    @classmethod
    def from_environment(cls, device: str = "auto", timeout: Optional[datetime.timedelta] = None) -> "Distributed":
        """Reads torchrun's variables; ``device``: the --device flag (auto, cpu or cuda)."""
        if device not in ("auto", "cpu", "cuda"):
            raise UserError(f'--device must be one of auto, cpu, cuda, got "{device}".')
        cuda = torch.cuda.is_available()
        if device == "cuda" and not cuda:
            raise UserError("--device cuda: CUDA is not available to torch here (torch.cuda.is_available() is False); use --device cpu or auto.")
        world_size = _int_variable("WORLD_SIZE", 1)
        if world_size < 1:
            raise UserError(f'WORLD_SIZE must be at least 1, got "{os.environ.get("WORLD_SIZE")}".')
        rank = _int_variable("RANK", None if world_size > 1 else 0)
        local_rank = _int_variable("LOCAL_RANK", rank)
        if rank >= world_size:
            raise UserError(f"RANK {rank} is not below WORLD_SIZE {world_size}.")
        use_cuda = cuda and device != "cpu"
        if use_cuda:
            if local_rank >= torch.cuda.device_count():
                raise UserError(f"LOCAL_RANK {local_rank} has no GPU: this machine has {torch.cuda.device_count()}.")
            chosen = torch.device("cuda", local_rank)
            torch.cuda.set_device(chosen)
        else:
            chosen = torch.device("cpu")
        if world_size == 1:
            return cls(rank=0, local_rank=local_rank, world_size=1, device=chosen, backend=None)
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(name):
                raise UserError(f"{name} is not set but WORLD_SIZE is {world_size}; start the program with torchrun.")
        import torch.distributed as dist

        backend = "nccl" if use_cuda else "gloo"
        options = {} if timeout is None else {"timeout": timeout}
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size, **options)
        return cls(rank=rank, local_rank=local_rank, world_size=world_size, device=chosen, backend=backend)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module the training step calls: DistributedDataParallel in a process group (its
        backward all-reduces the gradients, averaged over ranks), else the model itself."""
        if self.backend is None:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.local_rank] if self.device.type == "cuda" else None)

    def gradient_sync(self, train_model: torch.nn.Module, sync: bool):
        """A context for one micro-batch's backward: DDP's no_sync() when ``sync`` is False (the
        gradients accumulate locally and are all-reduced after the last micro-batch), else nothing."""
        if sync or self.backend is None:
            return contextlib.nullcontext()
        return train_model.no_sync()

    def describe(self) -> str:
        """The device and ranks, for the run's first line: "cpu", "cuda:0", "2 ranks (gloo) on cpu"."""
        return str(self.device) if self.backend is None else f"{self.world_size} ranks ({self.backend}) on {self.device.type}"

    def shard(self, indices: Sequence[int]) -> List[int]:
        """This rank's contiguous share of a global batch (see the module docstring)."""
        return list(indices[shard_slice(len(indices), self.rank, self.world_size)])

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sums ``tensor`` over all ranks, in place (all_reduce SUM); returns it. Identity in one process."""
        if self.backend is None:
            return tensor
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (any picklable value), on every rank. Identity in one process."""
        if self.backend is None:
            return obj
        import torch.distributed as dist

        box = [obj if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Waits until every rank got here."""
        if self.backend is None:
            return
        import torch.distributed as dist

        if self.backend == "nccl":
            dist.barrier(device_ids=[self.local_rank])
        else:
            dist.barrier()

    def close(self) -> None:
        """Leaves the process group (destroy_process_group); nothing in one process."""
        if self.backend is None:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        self.backend = None
