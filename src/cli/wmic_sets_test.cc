#include "cli/wmic_sets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "base/strings.h"
#include "cim/schema.h"

namespace lwmi::cli {
namespace {

using V = std::vector<std::string>;

TEST(WmicSets, ProcessBriefIsWmicsColumns) {
  EXPECT_EQ(wmic_list_set("process", "brief"),
            (V{"HandleCount", "Name", "Priority", "ProcessId", "ThreadCount", "WorkingSetSize"}));
  EXPECT_EQ(wmic_list_set("PROCESS", "BRIEF"), wmic_list_set("Win32_Process", "brief"));
  EXPECT_EQ(wmic_list_set("process", "io"),
            (V{"Name", "ProcessId", "ReadOperationCount", "ReadTransferCount",
               "WriteOperationCount", "WriteTransferCount"}));
  EXPECT_EQ(wmic_list_set("process", "status"), (V{"Name", "ProcessId", "Status"}));
  EXPECT_EQ(wmic_list_set("process", "instance"), (V{"__PATH"}));
}

TEST(WmicSets, EverySetNamesRealPropertiesInWmicsOrder) {
  const auto& cls = *cim::Schema::builtin().find("Win32_Process");
  for (const auto& name : wmic_list_set_names("process")) {
    auto set = wmic_list_set("process", name);
    ASSERT_TRUE(set) << name;
    EXPECT_FALSE(set->empty()) << name;
    for (const auto& p : *set)
      EXPECT_TRUE(cls.property(p) || p.rfind("__", 0) == 0) << name << ": " << p;
    EXPECT_TRUE(std::is_sorted(set->begin(), set->end(), [](const auto& a, const auto& b) {
      return base::icompare(a, b) < 0;
    })) << name;
  }
}

TEST(WmicSets, FullIsEveryPropertyAlphabetically) {
  const auto& cls = *cim::Schema::builtin().find("Win32_Process");
  auto full = wmic_list_set("process", "full");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->size(), cls.properties.size());
  // Case-insensitive order, as wmic prints it: CreationDate before CSCreationClassName.
  auto pos = [&](const char* n) {
    return std::find(full->begin(), full->end(), n) - full->begin();
  };
  EXPECT_LT(pos("Caption"), pos("CommandLine"));
  EXPECT_LT(pos("CreationDate"), pos("CSCreationClassName"));
  EXPECT_LT(pos("CSName"), pos("Description"));
  EXPECT_EQ(wmic_list_format("FULL"), Format::kList);
  EXPECT_EQ(wmic_list_format("brief"), Format::kTable);
}

TEST(WmicSets, UnknownSetsAndClasses) {
  EXPECT_EQ(wmic_list_set("process", "everything"), std::nullopt);
  EXPECT_EQ(wmic_list_set_names("process"),
            (V{"brief", "full", "instance", "io", "memory", "statistics", "status", "system"}));
  EXPECT_EQ(wmic_list_set("NoSuchClass", "full"), std::nullopt);
  EXPECT_EQ(wmic_list_set_names("NoSuchClass"), V{});
  // Another class has the generic sets only.
  EXPECT_EQ(wmic_list_set("__InstanceCreationEvent", "brief"), std::nullopt);
  EXPECT_TRUE(wmic_list_set("__InstanceCreationEvent", "full"));
  EXPECT_EQ(wmic_list_set_names("__InstanceCreationEvent"), (V{"full", "instance", "system"}));
}

// `list full` as wmic prints it: Name=Value lines in alphabetical order, two blank lines before
// each instance and after the last.
TEST(WmicSets, ListFullRendersNameValueBlocks) {
  Instance a(cim::Schema::builtin().find("Win32_Process"));
  a.set("Handle", Value::string("1"));
  a.set("Name", Value::string("init"));
  a.set("CSName", Value::string("h1"));
  a.set("CreationDate", Value::datetime("20261207090000.000000+000"));
  Instance b = a;
  b.set("Handle", Value::string("2"));
  std::ostringstream out;
  OutputOptions o;
  o.format = wmic_list_format("full");
  auto f = make_formatter(o, out);
  f->begin(*wmic_list_set("process", "full"));
  f->add(a);
  f->add(b);
  f->end();
  std::string s = out.str();
  EXPECT_EQ(s.substr(0, 2), "\n\n");
  EXPECT_NE(s.find("CreationDate=20261207090000.000000+000\nCSCreationClassName=\nCSName=h1\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("WriteTransferCount=\n\n\nCaption="), std::string::npos) << s;
  EXPECT_EQ(s.substr(s.size() - 4), "=\n\n\n") << "two blank lines after the last";
  const auto& cls = *cim::Schema::builtin().find("Win32_Process");
  size_t lines = std::count(s.begin(), s.end(), '\n');
  EXPECT_EQ(lines, 2 * cls.properties.size() + 6);
}

}  // namespace
}  // namespace lwmi::cli
