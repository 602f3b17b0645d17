#!/usr/bin/env python3
"""examples/pytorch/train.py's calibration schedule, run under the real joulecast binary, and the torchvision
models' sizes. Usage: train_windows_test.py JOULECAST_BINARY. Exit 77 (skipped) where no Python on this machine
has torch and torchvision ($JOULECAST_TORCH_PYTHON, this interpreter, /usr/bin/python3 are tried)."""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TRAIN = os.path.join(ROOT, "examples", "pytorch", "train.py")


def torch_python():
    for candidate in (os.environ.get("JOULECAST_TORCH_PYTHON"), sys.executable, "/usr/bin/python3"):
        if candidate and os.path.exists(candidate) and subprocess.run(
                [candidate, "-c", "import torch, torchvision"], capture_output=True).returncode == 0:
            return candidate
    return None


def check(condition, what):
    if not condition:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


# The torchvision models at 3x32x32 with 10 classes: params and MACs computed here independently of train.py.
SIZES = r'''
import json, sys
sys.argv = ["train.py"]
sys.path.insert(0, sys.argv[0])
import importlib.util
spec = importlib.util.spec_from_file_location("train", TRAIN)
train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)
import torch
out = {}
for name in ["tv_resnet50", "tv_vit_small", "tv_mobilenet_v3_large", "tv_shufflenet_v2", "tv_efficientnet_b0",
             "tv_densenet121"]:
    model = train.MODELS[name]((3, 32, 32), 10)
    out[name] = [sum(p.numel() for p in model.parameters())] + list(train.count_macs(model, (3, 32, 32), "cpu"))
print(json.dumps(out))
'''


def main():
    binary = sys.argv[1]
    python = torch_python()
    if python is None:
        print("skipped: no Python with torch and torchvision")
        return 77
    env = dict(os.environ, OMP_NUM_THREADS="1")

    # 1. Sizes of the torchvision models.
    done = subprocess.run([python, "-c", SIZES.replace("TRAIN", repr(TRAIN))], capture_output=True, text=True,
                          env=env, timeout=120)
    check(done.returncode == 0, "model sizes: " + done.stderr[-2000:])
    sizes = json.loads(done.stdout)
    # ResNet-50 with 1000 classes has 25,557,032 parameters; 10 classes drop 2048 x 990 weights and 990 biases.
    check(sizes["tv_resnet50"][0] == 25557032 - 2048 * 990 - 990, "tv_resnet50 params %s" % sizes["tv_resnet50"])
    # ViT: patch 4 on 32x32 -> 64 patches + class token = 65 tokens of 384; 6 blocks of QKV (3d^2), output
    # projection (d^2), MLP (2 x d x 1536) per token and the two attention products (2 T^2 d); the patch conv and
    # the head.
    t, d = 65, 384
    vit_macs = 6 * (t * (4 * d * d + 2 * d * 1536) + 2 * t * t * d) + 64 * d * 3 * 16 + d * 10
    check(sizes["tv_vit_small"][1] == vit_macs,
          "tv_vit_small MACs %s, expected %d" % (sizes["tv_vit_small"], vit_macs))
    check(sizes["tv_vit_small"][3] == 6 * 6 + 2, "tv_vit_small MAC layers %s" % sizes["tv_vit_small"])
    for name, (params, macs, activations, layers) in sizes.items():
        check(params > 0 and macs > params and activations > 0 and layers > 10, "%s sizes %s" % (name, sizes[name]))

    # 2. The schedule under joulecast: a warmup phase, three train windows of equal samples, each an epoch.
    with tempfile.TemporaryDirectory() as tmp:
        result_path = os.path.join(tmp, "run.json")
        run = subprocess.run(
            [binary, "run", "--db", os.path.join(tmp, "runs.db"), "--json", result_path, "--",
             python, TRAIN, "--model", "lenet", "--batch-size", "16", "--windows", "3", "--warmup-seconds", "0.3",
             "--window-seconds", "0.2", "--train-samples", "256", "--test-samples", "32", "--threads", "1"],
            capture_output=True, text=True, env=env, timeout=120)
        check(run.returncode == 0, "joulecast run: " + run.stderr[-3000:])
        with open(result_path) as f:
            result = json.load(f)
    phases = result["phases"]
    check([p["name"] for p in phases] == ["warmup", "train", "train", "train", "infer"],
          "phases %s" % [p["name"] for p in phases])
    meta = result["meta"]
    steps, warmup_steps = int(meta["window_steps"]), int(meta["warmup_steps"])
    check(meta["windows"] == "3" and meta["epochs"] == "3" and steps >= 1 and warmup_steps >= 2, "meta %s" % meta)
    check(phases[0]["samples"] == 16 * warmup_steps, "warm-up samples %s" % phases[0])
    for p in phases[1:4]:
        check(p["samples"] == 16 * steps, "window samples %s, %d steps" % (p, steps))
        check(p["energy_j"]["total"] > 0 and p["end_s"] > p["start_s"], "window energy and duration %s" % p)
        check(p["start_s"] >= phases[0]["end_s"], "windows after the warm-up")
    epochs = result["epochs"]
    check([e["n"] for e in epochs] == [1, 2, 3], "epochs %s" % epochs)
    for e, p in zip(epochs, phases[1:4]):
        check(e["samples"] == 16 * steps and e["energy_j"]["total"] > 0 and e["end_s"] > e["start_s"],
              "epoch %s" % e)
        check(abs(e["end_s"] - p["end_s"]) < 0.05, "epoch %d ends with its window" % e["n"])
    # Training energy is the windows' alone: the warm-up is not a training phase.
    windows_j = sum(p["energy_j"]["total"] for p in phases[1:4])
    check(abs(result["training_energy_j"] - windows_j) <= 1e-6 * windows_j + 1e-9,
          "training energy %s vs windows %s" % (result["training_energy_j"], windows_j))
    print("ok: %d steps per window, warm-up %d steps" % (steps, warmup_steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
