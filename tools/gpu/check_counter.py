"""GPU check for `joulecast run`: ~10 s of bf16 matrix products inside a phase, with the NVML energy counter read
through pynvml right before the phase begins and right after it ends. joulecast's energy for the phase must
agree with the counter's difference.

    joulecast run --json out.json -- python3 tools/gpu/check_counter.py --seconds 10

Prints one JSON line with the counter's energy and the load's wall time.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import joulecast  # noqa: E402
import pynvml  # noqa: E402
import torch  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=10.0)
p.add_argument("--gpu", type=int, default=0)
a = p.parse_args()

pynvml.nvmlInit()
handle = pynvml.nvmlDeviceGetHandleByIndex(a.gpu)
device = torch.device(f"cuda:{a.gpu}")
x = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
torch.cuda.synchronize()
time.sleep(1.0)  # an idle second before the load, so that the trace shows the step

e0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
joulecast.begin("matmul")
t0 = time.monotonic()
steps = 0
while time.monotonic() - t0 < a.seconds:
    for _ in range(10):
        x @ x
    torch.cuda.synchronize()
    steps += 10
t1 = time.monotonic()
joulecast.end("matmul", samples=steps)
e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
time.sleep(1.0)  # and an idle second after it
print(json.dumps({"steps": steps, "seconds": t1 - t0, "counter_energy_j": (e1 - e0) / 1e3,
                  "mean_power_w": (e1 - e0) / 1e3 / (t1 - t0)}))
