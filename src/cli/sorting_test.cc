#include "cli/sorting.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cim/schema.h"

namespace lwmi::cli {
namespace {

Instance proc(const std::string& handle, std::optional<std::string> name,
              std::optional<uint64_t> ws, std::optional<std::string> created = std::nullopt) {
  Instance i(cim::Schema::builtin().find("Win32_Process"));
  i.set("Handle", Value::string(handle));
  i.set("Name", name ? Value::string(*name) : Value::null(CimType::kString));
  i.set("WorkingSetSize", ws ? Value::uint64(*ws) : Value::null(CimType::kUint64));
  if (created) i.set("CreationDate", Value::datetime(*created));
  i.set_server("h1");
  return i;
}

/// A Formatter that records the handles it was given, and whether end() was reached.
class Recorder : public Formatter {
 public:
  explicit Recorder(std::vector<std::string>* seen) : seen_(seen) {}
  void begin(const std::vector<std::string>&) override {}
  void add(const Instance& i) override { seen_->push_back(i.get("Handle")->to_text()); }
  void end() override { seen_->push_back("end"); }

 private:
  std::vector<std::string>* seen_;
};

std::vector<std::string> run(const std::string& sort, std::optional<size_t> limit,
                             const std::vector<Instance>& in) {
  std::vector<std::string> seen;
  SortSpec spec;
  if (!sort.empty()) spec.keys = parse_sort_keys(sort).value();
  spec.limit = limit;
  auto f = make_sorting_formatter(std::make_unique<Recorder>(&seen), spec);
  f->begin({});
  for (const auto& i : in) f->add(i);
  f->end();
  return seen;
}

using V = std::vector<std::string>;

TEST(Sorting, ParsesKeysAndDirections) {
  auto k = parse_sort_keys("WorkingSetSize:DESC, Name ,ProcessId:asc");
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(k->size(), 3u);
  EXPECT_EQ((*k)[0].property, "WorkingSetSize");
  EXPECT_TRUE((*k)[0].descending);
  EXPECT_EQ((*k)[1].property, "Name");
  EXPECT_FALSE((*k)[1].descending);
  EXPECT_FALSE((*k)[2].descending);
  auto bad = parse_sort_keys("Name:down");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, WbemStatus::kInvalidParameter);
  EXPECT_NE(bad.error().message.find("'down'"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(parse_sort_keys("Name,,Handle").ok());
  EXPECT_FALSE(parse_sort_keys(":desc").ok());
}

TEST(Sorting, UnknownPropertyIsAPreciseError) {
  const auto& cls = *cim::Schema::builtin().find("Win32_Process");
  SortSpec spec{parse_sort_keys("workingsetsize:desc,__path").value(), std::nullopt};
  ASSERT_TRUE(validate_sort(spec, cls).ok());
  EXPECT_EQ(spec.keys[0].property, "WorkingSetSize") << "spelled as the schema does";
  EXPECT_EQ(spec.keys[1].property, "__PATH");
  SortSpec bad{parse_sort_keys("Name,WorkingSet").value(), std::nullopt};
  auto r = validate_sort(bad, cls);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidProperty);
  EXPECT_EQ(r.error().message,
            "cannot sort by 'WorkingSet': class Win32_Process has no such property");
}

TEST(Sorting, NumbersSortNumericallyNotAsText) {
  std::vector<Instance> in = {proc("1", "a", 9), proc("2", "b", 10), proc("3", "c", 100),
                              proc("4", "d", 18446744073709551615ull)};
  EXPECT_EQ(run("WorkingSetSize", {}, in), (V{"1", "2", "3", "4", "end"}));
  EXPECT_EQ(run("WorkingSetSize:desc", {}, in), (V{"4", "3", "2", "1", "end"}));
}

TEST(Sorting, StringsIgnoreCaseAndTiesKeepArrivalOrder) {
  std::vector<Instance> in = {proc("1", "beta", 1), proc("2", "Alpha", 1), proc("3", "alpha", 1),
                              proc("4", "ALPHA", 1)};
  EXPECT_EQ(run("Name", {}, in), (V{"2", "3", "4", "1", "end"}));
  EXPECT_EQ(run("Name:desc", {}, in), (V{"1", "2", "3", "4", "end"}));
}

TEST(Sorting, NullsSortLastInBothDirections) {
  std::vector<Instance> in = {proc("1", std::nullopt, 5), proc("2", "b", std::nullopt),
                              proc("3", "a", 7)};
  EXPECT_EQ(run("WorkingSetSize", {}, in), (V{"1", "3", "2", "end"}));
  EXPECT_EQ(run("WorkingSetSize:desc", {}, in), (V{"3", "1", "2", "end"}));
  EXPECT_EQ(run("Name:desc", {}, in), (V{"2", "3", "1", "end"}));
  // A property the projection left out counts as NULL.
  EXPECT_EQ(run("CommandLine,Handle:desc", {}, in), (V{"3", "2", "1", "end"}));
}

TEST(Sorting, DatetimeSortsChronologicallyAcrossTimeZones) {
  // 10:00 at +120 is 08:00 UTC: earlier than 09:00 at +000 though its text sorts later.
  std::vector<Instance> in = {proc("1", "a", 1, "20261207090000.000000+000"),
                              proc("2", "b", 1, "20261207100000.000000+120"),
                              proc("3", "c", 1, "20261206235959.000000+000")};
  EXPECT_EQ(run("CreationDate", {}, in), (V{"3", "2", "1", "end"}));
}

TEST(Sorting, SecondKeyBreaksTies) {
  std::vector<Instance> in = {proc("1", "x", 2), proc("2", "y", 1), proc("3", "x", 1)};
  EXPECT_EQ(run("Name,WorkingSetSize", {}, in), (V{"3", "1", "2", "end"}));
  EXPECT_EQ(run("Name:desc,WorkingSetSize:desc", {}, in), (V{"2", "1", "3", "end"}));
}

TEST(Sorting, LimitAppliesAfterSorting) {
  std::vector<Instance> in;
  for (int i = 0; i < 200; ++i) in.push_back(proc(std::to_string(i), "p", (i * 37) % 200));
  // The three largest working sets, whatever the order they came in (and past the trimming the
  // formatter does to keep its buffer bounded).
  auto top = run("WorkingSetSize:desc", 3, in);
  std::vector<std::string> want;
  for (uint64_t ws : {199, 198, 197})
    for (int i = 0; i < 200; ++i)
      if (static_cast<uint64_t>((i * 37) % 200) == ws) want.push_back(std::to_string(i));
  want.push_back("end");
  EXPECT_EQ(top, want);
  EXPECT_EQ(run("WorkingSetSize", 0, in), (V{"end"}));
}

TEST(Sorting, LimitWithoutSortStreams) {
  std::vector<std::string> seen;
  auto f = make_sorting_formatter(std::make_unique<Recorder>(&seen), SortSpec{{}, 2});
  f->begin({});
  EXPECT_TRUE(f->wants_more());
  f->add(proc("1", "a", 1));
  EXPECT_EQ(seen, (V{"1"})) << "passed on at once, not buffered";
  f->add(proc("2", "b", 1));
  EXPECT_FALSE(f->wants_more());
  f->add(proc("3", "c", 1));
  f->end();
  EXPECT_EQ(seen, (V{"1", "2", "end"}));
}

TEST(Sorting, NeitherSortNorLimitReturnsTheFormatterItself) {
  std::vector<std::string> seen;
  auto inner = std::make_unique<Recorder>(&seen);
  Formatter* raw = inner.get();
  EXPECT_EQ(make_sorting_formatter(std::move(inner), SortSpec{}).get(), raw);
}

TEST(Sorting, QueryFetchesTheSortProperties) {
  SortSpec spec{parse_sort_keys("WorkingSetSize:desc,name").value(), std::nullopt};
  EXPECT_EQ(with_sort_properties({"Name", "ProcessId"}, spec),
            (V{"Name", "ProcessId", "WorkingSetSize"}));
  EXPECT_EQ(with_sort_properties({}, spec), V{});
}

TEST(Sorting, WorksWithTheRealFormatters) {
  std::ostringstream out;
  OutputOptions o;
  SortSpec spec{parse_sort_keys("WorkingSetSize:desc").value(), 2};
  auto f = make_sorting_formatter(make_formatter(o, out), spec);
  f->begin({"Name", "WorkingSetSize"});
  f->add(proc("1", "small", 1));
  f->add(proc("2", "large", 300));
  f->add(proc("3", "medium", 20));
  f->end();
  EXPECT_EQ(out.str(),
            "Name    WorkingSetSize\n"
            "large   300\n"
            "medium  20\n");
}

}  // namespace
}  // namespace lwmi::cli
