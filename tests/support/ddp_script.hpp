#pragma once
// A real DDP training job for the torchrun tests (Debian's python3-torch, gloo on the CPU): every rank marks
// one train phase of three epochs through the Python client, rank r with (r + 1) * 100 samples per epoch, so
// that a merged job's samples are known (3 epochs x 300 samples over two ranks).

#include <string>

namespace joulecast::test {

/// Without torch: rank r (from $RANK) marks `epochs` epochs of (r + 1) * 100 samples, `sleep_s` apart, inside
/// one train phase, through the Python client.
inline std::string rank_marks_script(int epochs, double sleep_s) {
    return "import os, time, joulecast\n"
           "rank = int(os.environ[\"RANK\"])\n"
           "with joulecast.phase(\"train\") as p:\n"
           "    for n in range(" +
           std::to_string(epochs) +
           "):\n"
           "        time.sleep(" +
           std::to_string(sleep_s) +
           ")\n"
           "        joulecast.epoch(samples=(rank + 1) * 100, n=n)\n"
           "    p.samples = " +
           std::to_string(epochs) + " * (rank + 1) * 100\n";
}

inline constexpr const char* ddp_training_script = R"(
import os, time, joulecast, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = DDP(torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
def train_step():
    # DDP needs the same number of steps on every rank (each backward all-reduces); the batches differ.
    for _ in range(40):
        x = torch.randn((rank + 1) * 20, 8)
        loss = model(x).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    time.sleep(0.1)  # an epoch long enough to tell from a 0-s duplicate on a fast machine
with joulecast.phase("train") as p:
    for n in range(3):
        train_step()
        dist.barrier()
        joulecast.epoch(samples=(rank + 1) * 100, n=n)
    p.samples = 3 * (rank + 1) * 100
dist.destroy_process_group()
)";

}  // namespace joulecast::test
