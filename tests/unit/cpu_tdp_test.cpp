#include "sensors/model/cpu_tdp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/data_tables.hpp"
#include "core/text.hpp"
#include "sensors/model/cpu_model.hpp"

namespace joulecast::sensors {

using core::CsvTable;
using core::parse_csv;
using core::parse_double;
using core::parse_int;
using core::split;
using core::to_lower;
using core::trim;

namespace {

/// The lookup as it was before find() learnt to parse only the rows it needs: both tables parsed and indexed
/// by normalised name up front. The oracle for the equivalence tests below.
class IndexedTables {
public:
    IndexedTables(std::string_view tdp_csv, std::string_view cores_csv) {
        index(tdp_csv, "name", "tdp_w", nullptr, m_tdp);
        index(cores_csv, "Name", "TDP", "Cores", m_cores);
    }

    std::optional<CpuTdpMatch> find(std::string_view model_name) const {
        const std::string normalised = normalise_cpu_name(model_name);
        const auto words = split(normalised, ' ');
        if (normalised.empty()) return std::nullopt;
        auto digit = [](std::string_view t) {
            return std::any_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
        };
        auto letter = [](std::string_view t) {
            return std::any_of(t.begin(), t.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
        };
        std::optional<CpuTdpMatch> best;
        std::tuple<bool, std::size_t, bool> best_rank{};
        for (std::size_t count = words.size(); count >= 1; --count) {
            for (std::size_t from = 0; from + count <= words.size(); ++from) {
                std::string part;
                for (std::size_t i = from; i < from + count; ++i) part += (i > from ? " " : "") + words[i];
                const bool exact = count == words.size();
                if (!digit(part) || (!exact && count == 1 && !letter(part))) continue;
                for (bool main_table : {true, false}) {
                    const auto& index = main_table ? m_tdp : m_cores;
                    auto hit = index.find(part);
                    if (hit == index.end()) continue;
                    std::tuple<bool, std::size_t, bool> rank{exact, part.size(), main_table};
                    if (best && rank <= best_rank) continue;
                    best_rank = rank;
                    best = hit->second;
                    best->table = main_table ? "cpu_tdp.csv" : "cpu_tdp_cores.csv";
                    best->exact = exact;
                    if (main_table) {
                        auto with_cores = m_cores.find(part);
                        if (with_cores != m_cores.end()) best->cores = with_cores->second.cores;
                    }
                }
            }
        }
        return best;
    }

private:
    using Index = std::unordered_map<std::string, CpuTdpMatch>;
    static void index(std::string_view csv, const char* name_column, const char* watts_column,
                      const char* cores_column, Index& out) {
        const CsvTable table = parse_csv(csv);
        const int n = table.column(name_column), w = table.column(watts_column);
        const int c = cores_column ? table.column(cores_column) : 0;
        if (n < 0 || w < 0 || c < 0) return;
        for (const auto& row : table.rows) {
            auto watts = parse_double(row[static_cast<std::size_t>(w)]);
            const std::string name(trim(row[static_cast<std::size_t>(n)]));
            if (!watts || *watts <= 0 || name.empty()) continue;
            CpuTdpMatch entry{*watts, std::nullopt, name, "", false};
            if (cores_column) {
                auto count = parse_int(row[static_cast<std::size_t>(c)]);
                if (count && *count > 0 && *count < 100000) entry.cores = static_cast<unsigned>(*count);
            }
            out.try_emplace(normalise_cpu_name(name), entry);
        }
    }
    Index m_tdp, m_cores;
};

void expect_same(const std::optional<CpuTdpMatch>& got, const std::optional<CpuTdpMatch>& want,
                 const std::string& model) {
    ASSERT_EQ(got.has_value(), want.has_value()) << model;
    if (!got) return;
    EXPECT_EQ(got->name, want->name) << model;
    EXPECT_EQ(got->tdp_w, want->tdp_w) << model;
    EXPECT_EQ(got->cores, want->cores) << model;
    EXPECT_EQ(got->table, want->table) << model;
    EXPECT_EQ(got->exact, want->exact) << model;
}

TEST(CpuTdp, NormalisesProcCpuinfoNames) {
    EXPECT_EQ(normalise_cpu_name("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"), "intel xeon gold 6248");
    EXPECT_EQ(normalise_cpu_name("AMD EPYC 7763 64-Core Processor"), "amd epyc 7763");
    EXPECT_EQ(normalise_cpu_name("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"), "intel core i7-8700");
    EXPECT_EQ(normalise_cpu_name("  Intel  Xeon   Gold 6248 "), "intel xeon gold 6248");
    EXPECT_EQ(normalise_cpu_name("AMD Ryzen 3 4300G (OEM Only)"), "amd ryzen 3 4300g");
    EXPECT_EQ(normalise_cpu_name("Intel\xC2\xAE Xeon\xC2\xAE Platinum 8480+"), "intel xeon platinum 8480+");
    EXPECT_EQ(normalise_cpu_name("Intel Xeon 2.80GHz"), "intel xeon");
    EXPECT_EQ(normalise_cpu_name("AMD EPYC"), "amd epyc");
}

TEST(CpuTdp, FindsServerPartsInTheBuiltinTables) {
    const auto tables = CpuTdpTables::builtin();

    auto gold = tables.find("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    ASSERT_TRUE(gold);
    EXPECT_DOUBLE_EQ(gold->tdp_w, 150.0);
    ASSERT_TRUE(gold->cores);
    EXPECT_EQ(*gold->cores, 20u);
    EXPECT_EQ(gold->name, "Intel Xeon Gold 6248");
    EXPECT_EQ(gold->table, "cpu_tdp.csv");
    EXPECT_TRUE(gold->exact);

    // The R part is a different chip; "6248" inside "6248r" is not a whole word.
    auto gold_r = tables.find("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz");
    ASSERT_TRUE(gold_r);
    EXPECT_DOUBLE_EQ(gold_r->tdp_w, 205.0);
    EXPECT_EQ(gold_r->cores.value_or(0), 24u);

    auto epyc = tables.find("AMD EPYC 7763 64-Core Processor");
    ASSERT_TRUE(epyc);
    EXPECT_DOUBLE_EQ(epyc->tdp_w, 280.0);
    EXPECT_EQ(epyc->cores.value_or(0), 64u);
    EXPECT_EQ(epyc->name, "AMD EPYC 7763");

    // "v4" must not be lost to the shorter "Intel Xeon E5-2690".
    auto broadwell = tables.find("Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz");
    ASSERT_TRUE(broadwell);
    EXPECT_EQ(broadwell->name, "Intel Xeon E5-2690 v4");
    EXPECT_EQ(broadwell->cores.value_or(0), 14u);
}

TEST(CpuTdp, FindsDesktopAndLaptopParts) {
    const auto tables = CpuTdpTables::builtin();
    auto desktop = tables.find("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz");
    ASSERT_TRUE(desktop);
    EXPECT_DOUBLE_EQ(desktop->tdp_w, 95.0);
    EXPECT_EQ(desktop->cores.value_or(0), 8u);

    // Longer strings than the table's: found as a run of whole words.
    auto laptop = tables.find("12th Gen Intel(R) Core(TM) i7-12700H");
    ASSERT_TRUE(laptop);
    EXPECT_EQ(laptop->name, "Intel Core i7-12700H");
    EXPECT_DOUBLE_EQ(laptop->tdp_w, 45.0);
    EXPECT_FALSE(laptop->exact);

    auto ryzen = tables.find("AMD Ryzen 7 5800H with Radeon Graphics");
    ASSERT_TRUE(ryzen);
    EXPECT_EQ(ryzen->name, "AMD Ryzen 7 5800H");  // not "5800HS"
    EXPECT_DOUBLE_EQ(ryzen->tdp_w, 45.0);

    // Only cpu_tdp_cores.csv has the "APU" spelling, and it is the longer match.
    auto apu = tables.find("AMD A10-4600M APU with Radeon(tm) HD Graphics");
    ASSERT_TRUE(apu);
    EXPECT_EQ(apu->name, "AMD A10-4600M APU");
    EXPECT_EQ(apu->table, "cpu_tdp_cores.csv");
    EXPECT_DOUBLE_EQ(apu->tdp_w, 35.0);
    EXPECT_EQ(apu->cores.value_or(0), 2u);
}

TEST(CpuTdp, GenericNamesFindNothing) {
    const auto tables = CpuTdpTables::builtin();
    EXPECT_FALSE(tables.find("AMD EPYC"));  // this development machine's model name
    EXPECT_FALSE(tables.find("Intel(R) Xeon(R) CPU @ 2.20GHz"));
    EXPECT_FALSE(tables.find("Intel Xeon"));
    EXPECT_FALSE(tables.find(""));
    EXPECT_FALSE(tables.find("QEMU Virtual CPU version 2.5+"));
}

TEST(CpuTdp, BareNumbersMatchOnlyExactly) {
    const CpuTdpTables tables("name,tdp_w\n3280,65\nFoo Chip 9000,10\n", "Name,Cores,TDP\n");
    EXPECT_FALSE(tables.find("Acme Turbo 3280 Processor"));
    auto exact = tables.find("3280");
    ASSERT_TRUE(exact);
    EXPECT_DOUBLE_EQ(exact->tdp_w, 65.0);
    auto contained = tables.find("Foo(R) Chip(TM) 9000 Extra Edition");
    ASSERT_TRUE(contained);
    EXPECT_DOUBLE_EQ(contained->tdp_w, 10.0);
    EXPECT_FALSE(contained->exact);
    EXPECT_FALSE(contained->cores);
}

TEST(CpuTdp, BadRowsAreIgnoredAndTheMedianPerCoreIsComputed) {
    const CpuTdpTables tables("name,tdp_w\nGood 1,10\nBad 2,27.29.5\nZero 3,0\n",
                              "Name,Cores,TDP\nA 1,2,10\nB 2,3,30\nC 3,2,40\nBad 4,x,40\n");
    EXPECT_TRUE(tables.find("Good 1"));
    EXPECT_FALSE(tables.find("Bad 2"));
    EXPECT_FALSE(tables.find("Zero 3"));
    EXPECT_EQ(tables.cores_rows(), 3u);
    EXPECT_DOUBLE_EQ(tables.median_watts_per_core(), 10.0);  // of 5, 10, 20
    auto no_cores = tables.find("Bad 4");
    ASSERT_TRUE(no_cores);
    EXPECT_FALSE(no_cores->cores);
}

TEST(CpuTdp, FindsWhatAFullIndexFinds) {
    // Names from both tables, as /proc/cpuinfo might dress them, and generic ones: the row-filtered lookup
    // must pick the same row as indexing every row does.
    const auto tables = CpuTdpTables::builtin();
    const IndexedTables oracle(core::data::cpu_tdp, core::data::cpu_tdp_cores);
    std::vector<std::string> models = {"AMD EPYC",
                                       "Intel(R) Xeon(R) CPU @ 2.20GHz",
                                       "12th Gen Intel(R) Core(TM)",
                                       "AMD Ryzen 9 7950X3D 16-Core Processor",
                                       "65",
                                       "3280",
                                       "i7",
                                       "Intel(R) Core(TM) I7-8700 CPU @ 3.20GHz",
                                       "INTEL XEON GOLD 6248"};
    std::size_t rows = 0;
    for (std::string_view csv : {core::data::cpu_tdp, core::data::cpu_tdp_cores}) {
        const CsvTable table = parse_csv(csv);
        for (std::size_t i = 0; i < table.rows.size(); i += 23, ++rows) {
            const std::string& name = table.rows[i][0];
            models.push_back(name);
            models.push_back("Genuine " + name + " CPU @ 3.00GHz");
            models.push_back(to_lower(name) + " 8-Core Processor with Graphics");
        }
    }
    EXPECT_GT(rows, 300u);
    std::size_t found = 0;
    for (const auto& model : models) {
        auto got = tables.find(model);
        expect_same(got, oracle.find(model), model);
        found += got ? 1 : 0;
    }
    EXPECT_GT(found, models.size() / 2);  // the names mostly match, so the comparison says something
}

TEST(CpuTdp, FilteredRowsKeepCsvQuotingCaseAndFirstRowRules) {
    // Quoted names with commas and doubled quotes, a quoted name spanning two lines, CRLF ends, blank lines,
    // upper case, and two rows with the same normalised name (the first wins).
    const std::string tdp =
        "\r\nname,tdp_w\r\n"
        "\"Acme X-100, rev \"\"B\"\"\",11\r\n"
        "\r\n"
        "\"Acme Multi\nLine Z9\",12\r\n"
        "ACME TURBO 7000,13\r\n"
        "Acme(R) Turbo 7000,14\r\n"
        "Acme Lone\"Quote 55,15\r\n"
        "Foo X\"9 Max,17\r\n"
        "Other 7000x,16";
    const std::string cores = "Name,Cores,TDP\nAcme Turbo 7000,8,90\nAcme Solo 42,,20\n";
    const CpuTdpTables tables(tdp, cores);
    const IndexedTables oracle(tdp, cores);
    for (std::string model : {"Acme X-100 rev \"B\"", "Acme X-100", "acme multi line z9", "Acme Turbo 7000",
                              "Acme(TM) TURBO 7000 @ 4GHz", "Acme Lone\"Quote 55", "Other 7000X", "7000",
                              "Acme Solo 42", "Acme Turbo", "Acme Multi", "Foo X\"9 Max"})
        expect_same(tables.find(model), oracle.find(model), model);

    auto turbo = tables.find("Acme(TM) TURBO 7000 @ 4GHz");
    ASSERT_TRUE(turbo);
    EXPECT_EQ(turbo->name, "ACME TURBO 7000");  // the first of two rows that normalise alike
    EXPECT_DOUBLE_EQ(turbo->tdp_w, 13.0);
    EXPECT_EQ(turbo->cores.value_or(0), 8u);
    auto multi = tables.find("Acme Multi Line Z9");
    ASSERT_TRUE(multi);
    EXPECT_DOUBLE_EQ(multi->tdp_w, 12.0);
    auto quoted = tables.find("Acme X-100 rev \"B\"");
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->name, "Acme X-100, rev \"B\"");
    EXPECT_DOUBLE_EQ(quoted->tdp_w, 11.0);
    auto quote_in_word = tables.find("Foo X\"9 Max");  // a word with a quote: every row is read
    ASSERT_TRUE(quote_in_word);
    EXPECT_DOUBLE_EQ(quote_in_word->tdp_w, 17.0);
    auto solo = tables.find("Acme Solo 42");
    ASSERT_TRUE(solo);
    EXPECT_EQ(solo->table, "cpu_tdp_cores.csv");
    EXPECT_FALSE(solo->cores);
}

TEST(CpuTdp, TablesWithoutTheirColumnsFindNothing) {
    const CpuTdpTables no_header("", "");
    EXPECT_FALSE(no_header.find("Foo 9000"));
    EXPECT_EQ(no_header.cores_rows(), 0u);
    EXPECT_DOUBLE_EQ(no_header.median_watts_per_core(), 0.0);
    const CpuTdpTables wrong_columns("model,watts\nFoo 9000,10\n", "Name,TDP\nFoo 9000,10\n");
    EXPECT_FALSE(wrong_columns.find("Foo 9000"));
    const CpuTdpTables header_only("name,tdp_w", "Name,Cores,TDP\n");
    EXPECT_FALSE(header_only.find("name"));
}

TEST(CpuTdp, BuiltinMedianWattsPerCore) {
    // The per-core default of the CPU model; pinned so that a table update is noticed and documented.
    const auto tables = CpuTdpTables::builtin();
    EXPECT_EQ(tables.cores_rows(), 3735u);
    EXPECT_NEAR(tables.median_watts_per_core(), 13.3333, 1e-3);
    // The CPU model uses the constant, so that probing never parses the table: it must be this median,
    // exactly.
    EXPECT_EQ(tables.median_watts_per_core(), cpu_default_watts_per_cpu);
}

}  // namespace
}  // namespace joulecast::sensors
