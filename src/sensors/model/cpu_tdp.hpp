#pragma once
// CPU thermal design power (TDP) lookup by model name, in the project's tables (data/cpu_tdp.csv and
// data/cpu_tdp_cores.csv, compiled into the binary; see data/SOURCES.md).
//
// Names are compared after normalise_cpu_name(): "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" and the table's
// "Intel Xeon Gold 6248" both become "intel xeon gold 6248". The best match is an exact normalised match;
// otherwise the longest table name found inside the model name as whole words. Table names without a digit
// ("Intel Xeon") never match, and a bare number ("3280") matches only exactly, so a generic string such as
// "AMD EPYC" or "Intel(R) Xeon(R) CPU @ 2.20GHz" finds nothing rather than a wrong part.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace joulecast {

/// Lower case; drops "(R)", "(TM)" and any other parenthesised remark, "®", "™", everything from "@" on (the
/// clock), the words "cpu" and "processor", "N-Core" words such as "64-core", clock words such as "2.80GHz";
/// collapses spaces.
std::string normalise_cpu_name(std::string_view name);

struct CpuTdpMatch {
    double tdp_w = 0;  ///< thermal design power of one package, in watts
    std::optional<unsigned>
        cores;           ///< physical cores of one package, from cpu_tdp_cores.csv when listed there
    std::string name;    ///< the table's name, as written there (trimmed)
    std::string table;   ///< "cpu_tdp.csv" or "cpu_tdp_cores.csv": where tdp_w came from
    bool exact = false;  ///< the whole normalised model name matched, not a part of it
};

class CpuTdpTables {
  public:
    /// Parses two tables in the formats of data/cpu_tdp.csv (name,tdp_w) and data/cpu_tdp_cores.csv
    /// (Name,Cores,TDP). Rows with a missing or non-positive number are ignored. The first row of a
    /// normalised name wins.
    CpuTdpTables(std::string_view tdp_csv, std::string_view tdp_cores_csv);

    /// The tables compiled into the binary.
    static CpuTdpTables builtin();

    /// Best match for a model name as /proc/cpuinfo's "model name" gives it; nullopt when nothing fits.
    /// Ties between the tables go to cpu_tdp.csv (the larger table); the core count is then taken from
    /// cpu_tdp_cores.csv under the same normalised name when it is there.
    std::optional<CpuTdpMatch> find(std::string_view model_name) const;

    /// Median of TDP / cores over the rows of cpu_tdp_cores.csv, in watts per core; 0 for an empty table.
    double median_watts_per_core() const { return m_median_watts_per_core; }
    /// Number of rows that median was taken over.
    std::size_t cores_rows() const { return m_cores_rows; }

  private:
    struct Entry {
        std::string name;
        double tdp_w = 0;
        std::optional<unsigned> cores;
    };
    using Index = std::unordered_map<std::string, Entry>;  // normalised name -> first row of that name

    Index m_tdp;
    Index m_cores;
    double m_median_watts_per_core = 0;
    std::size_t m_cores_rows = 0;
};

}  // namespace joulecast
