#pragma once
// A job's own share of a shared machine with known figures, for the tests of what shows it (exporter,
// report): CPU 40 of 100 J and DRAM 8 of 20 J by its CPU time; gpu0 225 of 300 J (75%) by its SM utilisation;
// gpu1's 200 J not split (MIG).

#include "meter/attribution.hpp"

namespace joulecast::test {

inline meter::AttributedEnergy attributed_example() {
    meter::AttributedEnergy a;
    a.measurable = true;
    a.method = "CPU time share";
    a.cpu_j = 40;
    a.dram_j = 8;
    a.gross_cpu_j = 100;
    a.gross_dram_j = 20;
    meter::AttributedGpu shared, mig;
    shared.device = "gpu0";
    shared.gross_j = 300;
    shared.attributed_j = 225;
    shared.method = "per-process SM utilisation";
    mig.device = "gpu1";
    mig.gross_j = 200;
    mig.reason = "unmeasurable: MIG";
    a.gpus = {shared, mig};
    a.gpu_j = 225;
    a.gross_gpu_j = 500;
    a.gpu_reason = "gpu1 unmeasurable: MIG";
    return a;
}

}  // namespace joulecast::test
