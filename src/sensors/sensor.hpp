#pragma once
// The sensor interface: every source of power, energy or state describes itself (its channels, with unit and
// behaviour), says whether it can be used and why not, and yields values in SI units.
//
// Threading: probe() is called once, before sampling starts; read() is called only from the sampler thread.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joulecast::sensors {

/// What a channel measures. The unit follows from it (see unit_of).
enum class Quantity {
    energy,       ///< joules; always a monotone counter (cumulative since probe, wrap-arounds already undone)
    power,        ///< watts; a gauge
    utilisation,  ///< percent, 0..100; a gauge
    memory,       ///< bytes in use; a gauge
    clock,        ///< MHz; a gauge
    temperature,  ///< degrees Celsius; a gauge
    power_limit,  ///< watts; a gauge (read only)
};

/// How a channel's values behave over time (as GEOPM's signal behaviours).
enum class Behaviour {
    counter,  ///< monotone non-decreasing; differences between two readings are meaningful
    gauge,    ///< a level at the instant of reading
};

/// How an energy figure was obtained; carried by every energy number joulecast prints.
enum class Method {
    counter,     ///< difference of a hardware energy counter (NVML total energy, RAPL energy_uj)
    integrated,  ///< trapezoidal integration of measured power
    modelled,    ///< a model (e.g. TDP × utilisation), not a measurement
};

const char* unit_of(Quantity quantity);
const char* to_string(Quantity quantity);
const char* to_string(Behaviour behaviour);
const char* to_string(Method method);

struct Channel {
    std::string name;    ///< unique within its sensor, e.g. "gpu0.energy", "package-0.energy"
    std::string domain;  ///< energy domain: "gpu", "cpu", "dram", "psys", "core", "uncore"
    std::string device;  ///< device within the domain, e.g. "gpu0", "package-0"
    Quantity quantity = Quantity::power;
    Behaviour behaviour = Behaviour::gauge;
    /// Values come from a model rather than a sensor; every figure derived from them is labelled "modelled".
    bool modelled = false;
    /// Shortest time between two reads; 0 reads at every sampler tick. NVML's energy counter costs ~3.8 ms a
    /// read on an H100, so it asks for about 1 s.
    std::chrono::milliseconds min_period{0};
    /// Whether this channel's energy counts toward the domain totals. False for channels already contained in
    /// another one: RAPL core/uncore inside their package, psys when package zones are present.
    bool accounted = true;
};

/// Whether a sensor can be used on this machine; when not, a reason a user can act on.
struct Availability {
    bool available = false;
    std::string reason;  ///< empty when available; otherwise e.g. "needs root or read access to ..."
    static Availability yes() { return {true, {}}; }
    static Availability no(std::string why) { return {false, std::move(why)}; }
};

enum class ReadStatus {
    ok,
    unsupported,  ///< the device does not offer this value (not an error; the channel is dropped)
    error,        ///< a transient failure: counted and reported at the end
    lost,         ///< the device is gone (e.g. GPU fell off the bus); no further reads will succeed
};

/// A GPU as a sensor sees it, for the host description in results.
/// The device name of NVML's GPU `index` ("gpu0"): the nvml and job-gpu sensors name its channels so, and
/// results written before GPUs carried their device name knew only these.
inline std::string nvml_device_name(unsigned index) {
    return "gpu" + std::to_string(index);
}
/// The device name of ROCm SMI's GPU `index` ("amdgpu0"), as the rocm-smi and job-amdgpu sensors name it.
inline std::string rocm_device_name(unsigned index) {
    return "amdgpu" + std::to_string(index);
}

struct GpuInfo {
    unsigned index = 0;  ///< the vendor library's index
    std::string device;  ///< the name its channels carry: "gpu0" (NVML), "amdgpu1" (ROCm SMI)
    std::string name;
    std::string uuid;
    double power_limit_w = 0;  ///< enforced power limit; 0 when unknown
    bool mig = false;          ///< MIG mode on: the GPU's energy and power are the whole board's
    /// For a measured command (the job-gpu sensor): whether a process of the job held a compute context on
    /// it while it ran; none where NVML lists no processes.
    std::optional<bool> used{};
    std::vector<int> job_pids{};            ///< the job's processes seen on it
    std::vector<int> other_pids{};          ///< processes outside the job seen on it: the GPU is shared
    std::vector<unsigned> job_instances{};  ///< MIG GPU instance ids of the job's processes
};

class Sensor {
public:
    virtual ~Sensor() = default;

    /// Short stable identifier: "nvml", "rapl", "cpu-model", "dram-model", "replay".
    virtual std::string_view name() const = 0;

    /// Opens what the sensor needs and discovers its channels. Never throws for a missing device or library;
    /// returns the reason instead.
    virtual Availability probe() = 0;

    /// The channels found by a successful probe().
    virtual const std::vector<Channel>& channels() const = 0;

    /// Reads one channel, in SI units (see Quantity). Energy channels return joules accumulated since
    /// probe().
    virtual ReadStatus read(std::size_t channel, double& value) = 0;

    /// Human-readable notes for `joulecast sensors` (e.g. which TDP a model uses). Empty by default.
    virtual std::vector<std::string> notes() const { return {}; }

    /// GPUs this sensor sees (only NVML has any).
    virtual std::vector<GpuInfo> gpus() const { return {}; }

    /// Warnings for the result of a run whose readings lasted `ran_s` seconds, about what this sensor could
    /// not give it (a replayed trace shorter than the run). Empty by default.
    virtual std::vector<std::string> run_warnings(double ran_s) const {
        (void)ran_s;
        return {};
    }
};

}  // namespace joulecast::sensors
