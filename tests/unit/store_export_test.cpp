// Exports of stored runs: CSV per run, CSV per reading, and JSON documents with their traces.

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "core/text.hpp"
#include "meter/run_json.hpp"
#include "store/export.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::store {

using core::CsvTable;
using core::parse_csv;
using core::split;

using sensors::Channel;
using sensors::Quantity;

using meter::RunResult;
using meter::to_json;

namespace {

using test::TempDir;

struct Fixture {
    TempDir dir;
    RunStore store{dir.str() + "/runs.db"};

    Fixture() {
        Channel c;
        c.name = "gpu0.power";
        c.domain = "gpu";
        c.device = "gpu0";
        c.quantity = Quantity::power;
        RunResult r;
        r.id = "9900000000000001";
        r.name = "with, comma";
        r.command = {"python3", "train.py"};
        r.started_at = "2026-11-26T10:00:00Z";
        r.tags = {{"a", "1"}, {"b", "2"}};
        store.begin_run(r, {{"scripted", c}}, 0, getpid());
        store.append_readings(r.id, {{0, 0, 10.0}, {500'000'000, 0, 20.0}, {1'000'000'000, 0, 30.0}}, 0);
        r.duration_s = 1;
        r.energy.total_j = 20;
        r.energy.domain_j = {{"gpu", 20}};
        r.energy.measured_j = 20;
        store.finish_run(r, to_json(r));
    }
};

TEST(StoreExport, RunsCsvHasOneRowPerRunWithKeyColumns) {
    Fixture f;
    std::ostringstream out;
    write_runs_csv(out, f.store.list());
    const CsvTable table = parse_csv(out.str());
    ASSERT_EQ(table.rows.size(), 1u);
    EXPECT_EQ(table.header, split(runs_csv_header, ','));
    const auto& row = table.rows.front();
    EXPECT_EQ(row[table.column("id")], "9900000000000001");
    EXPECT_EQ(row[table.column("name")], "with, comma");
    EXPECT_EQ(row[table.column("status")], "completed");
    EXPECT_EQ(row[table.column("energy_j")], "20");
    EXPECT_EQ(row[table.column("gpu_j")], "20");
    EXPECT_EQ(row[table.column("exit_code")], "0");
    EXPECT_EQ(row[table.column("co2e_g")], "");  // unknown: empty, not zero
    EXPECT_EQ(row[table.column("finished")], "1");
    EXPECT_EQ(row[table.column("command")], "python3 train.py");
    EXPECT_EQ(row[table.column("tags")], "a=1;b=2");
}

TEST(StoreExport, ReadingsCsvHasOneRowPerReading) {
    Fixture f;
    std::ostringstream out;
    write_readings_csv(out, f.store, f.store.list());
    const CsvTable table = parse_csv(out.str());
    ASSERT_EQ(table.rows.size(), 3u);
    EXPECT_EQ(table.header, split(readings_csv_header, ','));
    EXPECT_EQ(table.rows[1][table.column("run_id")], "9900000000000001");
    EXPECT_EQ(table.rows[1][table.column("t_s")], "0.500000000");
    EXPECT_EQ(table.rows[1][table.column("channel")], "gpu0.power");
    EXPECT_EQ(table.rows[1][table.column("unit")], "W");
    EXPECT_EQ(table.rows[1][table.column("value")], "20");
}

TEST(StoreExport, JsonIsAnArrayOfResultDocumentsWithOptionalTraces) {
    Fixture f;
    auto plain = export_json(f.store, f.store.list(), false);
    ASSERT_EQ(plain.size(), 1u);
    EXPECT_EQ(plain[0].at("schema"), "joulecast.run/2");
    EXPECT_FALSE(plain[0].contains("trace"));
    auto full = export_json(f.store, f.store.list(), true);
    const auto& trace = full[0].at("trace");
    EXPECT_EQ(trace.at("channels")[0].at("name"), "gpu0.power");
    ASSERT_EQ(trace.at("readings").size(), 3u);
    EXPECT_DOUBLE_EQ(trace.at("readings")[2][0].get<double>(), 1.0);
    EXPECT_EQ(trace.at("readings")[2][1], 0);
    EXPECT_DOUBLE_EQ(trace.at("readings")[2][2].get<double>(), 30.0);
    EXPECT_EQ(summary_json(f.store.list()[0]).at("energy_j").at("total"), 20.0);
}

}  // namespace
}  // namespace joulecast::store
