#pragma once
// The part that every vendor GPU sensor (NVML, ROCm SMI) shares: per-GPU channels named "<device>.<suffix>"
// in domain "gpu", each bound to one GPU and one vendor reading ("source"), and a read that stops calling the
// library for a GPU once it is lost. The vendor sensor keeps what differs: its library, how it enumerates,
// and how it reads one source.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// `Gpu` has `GpuInfo info` and `bool lost`; `Source` is the vendor's enum of readings.
template <typename Gpu, typename Source>
class GpuChannels {
public:
    /// The channels found for one GPU while probing it, before it is known to answer.
    class Found {
    public:
        explicit Found(std::string device) : m_device(std::move(device)) {}
        /// Adds "<device>.<suffix>": a counter for energy, a gauge otherwise.
        void add(Source source, const char* suffix, Quantity quantity, std::chrono::milliseconds min_period) {
            Channel channel;
            channel.name = m_device + "." + suffix;
            channel.domain = "gpu";
            channel.device = m_device;
            channel.quantity = quantity;
            channel.behaviour = quantity == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
            channel.min_period = min_period;
            m_channels.emplace_back(source, std::move(channel));
        }

    private:
        friend class GpuChannels;
        std::string m_device;
        std::vector<std::pair<Source, Channel>> m_channels;
    };

    void clear() {
        m_gpus.clear();
        m_channels.clear();
        m_bindings.clear();
        m_unmeasured.clear();
    }
    /// A GPU that gives neither energy nor power: `why` names it and says what failed.
    void add_unmeasured(std::string why) { m_unmeasured.push_back(std::move(why)); }
    /// The run's warning for each unmeasured GPU: left out of the GPU figure, not a 0 J reading of it.
    void unmeasured_warnings(std::vector<std::string>& out) const {
        for (const auto& gpu : m_unmeasured)
            out.push_back(gpu +
                          ": its energy is NOT MEASURED and left out of the GPU figure (which is not a 0 J "
                          "reading of it)");
    }
    /// Keeps a GPU that answered, with the channels found for it; its GpuInfo takes their device name.
    void add(Gpu gpu, Found found) {
        const std::size_t slot = m_gpus.size();
        gpu.info.device = found.m_device;
        m_gpus.push_back(std::move(gpu));
        for (auto& [source, channel] : found.m_channels) {
            m_channels.push_back(std::move(channel));
            m_bindings.push_back({slot, source});
        }
    }

    /// Reads channel `channel` with `read_source(Gpu&, Source, double&)`. A lost GPU answers `lost` without
    /// another library call.
    template <typename ReadSource>
    ReadStatus read(std::size_t channel, double& value, ReadSource&& read_source) {
        if (channel >= m_bindings.size()) return ReadStatus::error;
        const Binding& binding = m_bindings[channel];
        Gpu& gpu = m_gpus[binding.gpu];
        if (gpu.lost) return ReadStatus::lost;
        const ReadStatus status = read_source(gpu, binding.source, value);
        if (status == ReadStatus::lost) gpu.lost = true;
        return status;
    }

    bool empty() const { return m_gpus.empty(); }
    const std::vector<Gpu>& gpus() const { return m_gpus; }
    const std::vector<Channel>& channels() const { return m_channels; }
    std::vector<GpuInfo> infos() const {
        std::vector<GpuInfo> out;
        out.reserve(m_gpus.size());
        for (const auto& gpu : m_gpus) out.push_back(gpu.info);
        return out;
    }

private:
    struct Binding {
        std::size_t gpu = 0;  ///< index into m_gpus
        Source source{};
    };
    std::vector<Gpu> m_gpus;
    std::vector<Channel> m_channels;
    std::vector<Binding> m_bindings;        ///< parallel to m_channels
    std::vector<std::string> m_unmeasured;  ///< GPUs with neither energy nor power, with the reason
};

}  // namespace joulecast::sensors
