// The default study's grid, compiled in so that `joulecast study` needs no data files. The same text as
// examples/grids/default.toml (StudyGrid.DefaultGridMatchesExampleFile checks it): edit both together.

#include "study/grid.hpp"

namespace joulecast::study {

std::string_view default_grid_text() {
    return R"toml(# The default study of `joulecast study` (run without a grid file). This file is compiled into joulecast
# (src/study/default_grid.cpp holds the same text; a test checks that they match).
#
# Four architectures (fully connected, a classic CNN, depthwise-separable convolutions, MBConv with
# squeeze-excitation) x three batch sizes, one epoch each on Fashion-MNIST subsets (Debian package
# dataset-fashion-mnist), sized to finish within 10 minutes on a 2-core machine. vit and the ResNets cost
# 5 to 10 times more CPU per sample than these here (libtorch on CPU), which is why they are left out.
#
# Every configuration learns (accuracy >= 0.5, docs/study.md "Why the default study learns"): Adam at 0.003,
# and at least 12 steps: 3,072 samples at batch 32 and 128, 12 x 512 = 6,144 at batch 512. Energy per
# sample stays comparable: it is always E_tr / samples trained.

[study]
name = "default"
repeats = 1
order = "random"
seed = 1
cooldown = "2s"

[grid]
models = ["lenet", "mlp", "mobilenet", "efficientnetb0"]
batch_sizes = [32, 128, 512]
epochs = 1
learning_rates = 0.003
optimizer = "adam"
dataset = "fashion-mnist"
train_samples = 3072
min_steps = 12
test_samples = 1024
)toml";
}

}  // namespace joulecast::study
