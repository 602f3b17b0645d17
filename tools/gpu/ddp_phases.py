#!/usr/bin/env python3
"""A small DistributedDataParallel job with phases, for `joulecast run -- torchrun ...` on a lent GPU machine.

    torchrun --standalone --nproc_per_node=N tools/gpu/ddp_phases.py --steps 200

Every rank: phase "warmup" (20 steps), then two epochs of --steps steps (a "train" phase and an epoch each,
samples = this rank's samples), then an "infer" phase; joulecast keeps each rank's view (docs/gpu-checks.md).
Backend nccl on CUDA, gloo on CPU (so it also runs here, on the CPU, for a check of the script itself).
"""

import argparse
import os
import sys
import time

try:
    import joulecast
except ImportError:  # running from a checkout: the client lives in <repo>/python
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import joulecast

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=2048)
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(rank)

    model = nn.Sequential(nn.Linear(args.width, args.width), nn.ReLU(), nn.Linear(args.width, args.width),
                          nn.ReLU(), nn.Linear(args.width, 10)).to(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.01)
    x = torch.randn(args.batch_size, args.width, device=device)
    y = torch.randint(0, 10, (args.batch_size,), device=device)
    joulecast.meta(model="ddp_mlp", world_size=world, batch_size=args.batch_size, width=args.width,
                   device=str(device))

    def steps(count):
        for _ in range(count):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(ddp(x), y).backward()
            optimizer.step()
        if cuda:
            torch.cuda.synchronize(device)

    with joulecast.phase("warmup", samples=20 * args.batch_size):
        steps(20)
    for epoch in (1, 2):
        start = time.monotonic()
        joulecast.begin("train", epoch=epoch)
        steps(args.steps)
        joulecast.epoch(n=epoch, samples=args.steps * args.batch_size)
        joulecast.end("train", samples=args.steps * args.batch_size)
        if rank == 0:
            print("epoch %d: %.2f s on %d ranks" % (epoch, time.monotonic() - start, world), file=sys.stderr)
    with joulecast.phase("infer", samples=args.steps * args.batch_size):
        with torch.no_grad():
            for _ in range(args.steps):
                ddp(x)
        if cuda:
            torch.cuda.synchronize(device)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
