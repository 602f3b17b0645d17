#pragma once
// CPU thermal design power (TDP) lookup by model name, in the project's tables (data/cpu_tdp.csv and
// data/cpu_tdp_cores.csv, compiled into the binary; see data/SOURCES.md).
//
// Names are compared after normalise_cpu_name(): "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" and the table's
// "Intel Xeon Gold 6248" both become "intel xeon gold 6248". The best match is an exact normalised match;
// otherwise the longest table name found inside the model name as whole words. Table names without a digit
// ("Intel Xeon") never match, and a bare number ("3280") matches only exactly, so a generic string such as
// "AMD EPYC" or "Intel(R) Xeon(R) CPU @ 2.20GHz" finds nothing rather than a wrong part.
//
// Cost: a lookup runs at every start of joulecast, so find() does not index the tables (8,600 rows). It
// parses only the rows whose text holds, case-insensitively, a word of the model name that has a digit (any
// match needs one), found by substring search; a model name without such a word ("AMD EPYC") costs nothing.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace joulecast::sensors {

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
    /// Two tables in the formats of data/cpu_tdp.csv (name,tdp_w) and data/cpu_tdp_cores.csv
    /// (Name,Cores,TDP), copied as text; rows are parsed when a lookup needs them. Rows with a missing or
    /// non-positive number are ignored. The first row of a normalised name wins.
    CpuTdpTables(std::string_view tdp_csv, std::string_view tdp_cores_csv);

    /// The tables compiled into the binary (not copied).
    static CpuTdpTables builtin();

    /// Best match for a model name as /proc/cpuinfo's "model name" gives it; nullopt when nothing fits.
    /// Ties between the tables go to cpu_tdp.csv (the larger table); the core count is then taken from
    /// cpu_tdp_cores.csv under the same normalised name when it is there.
    std::optional<CpuTdpMatch> find(std::string_view model_name) const;

    /// Median of TDP / cores over the rows of cpu_tdp_cores.csv, in watts per core; 0 for an empty table.
    /// Parses the whole table at each call: for the built-in tables, cpu_default_watts_per_cpu
    /// (sensors/model/cpu_model.hpp) holds the result.
    double median_watts_per_core() const;
    /// Number of rows that median is taken over (parses the whole table too).
    std::size_t cores_rows() const;

private:
    CpuTdpTables() = default;
    std::string_view tdp_csv() const;
    std::string_view cores_csv() const;

    bool m_builtin = false;  ///< the tables compiled into the binary (static, not copied)
    std::string m_tdp_csv;   ///< otherwise the texts given to the constructor
    std::string m_cores_csv;
};

}  // namespace joulecast::sensors
