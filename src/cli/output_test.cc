#include "cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cim/schema.h"

namespace lwmi::cli {

static Instance sample(const std::string& handle, const std::string& name, uint64_t ws) {
  Instance i(cim::Schema::builtin().find("Win32_Process"));
  i.set("Handle", Value::string(handle));
  i.set("Name", Value::string(name));
  i.set("WorkingSetSize", Value::uint64(ws));
  i.set("CommandLine", Value::null(CimType::kString));
  i.set_server("h1");
  return i;
}

static std::string render(Format f, const std::vector<std::string>& cols, bool sys = false) {
  std::ostringstream out;
  OutputOptions o;
  o.format = f;
  o.system_properties = sys;
  auto fm = make_formatter(o, out);
  fm->begin(cols);
  fm->add(sample("1", "init", 4096));
  fm->add(sample("22", "a,\"b\"", 18446744073709551615ull));
  fm->end();
  return out.str();
}

TEST(Output, TableAlignsColumns) {
  EXPECT_EQ(render(Format::kTable, {"Handle", "Name"}),
            "Handle  Name\n"
            "1       init\n"
            "22      a,\"b\"\n");
}

TEST(Output, CsvHasNodeColumnAndQuotes) {
  EXPECT_EQ(render(Format::kCsv, {"Name", "WorkingSetSize"}),
            "Node,Name,WorkingSetSize\r\n"
            "h1,init,4096\r\n"
            "h1,\"a,\"\"b\"\"\",18446744073709551615\r\n");
}

TEST(Output, ListIsNameEqualsValue) {
  EXPECT_EQ(render(Format::kList, {"Handle", "CommandLine"}),
            "\n\nHandle=1\nCommandLine=\n\n\nHandle=22\nCommandLine=\n\n\n");
}

TEST(Output, JsonLinesWithTypesAndNull) {
  std::string s = render(Format::kJson, {});
  auto nl = s.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(
      s.substr(0, nl),
      R"({"__CLASS":"Win32_Process","__SERVER":"h1","__PATH":"\\\\h1\\root\\cimv2:Win32_Process.Handle=\"1\"","CommandLine":null,"Handle":"1","Name":"init","WorkingSetSize":4096})");
  EXPECT_NE(s.find("\"WorkingSetSize\":18446744073709551615"), std::string::npos)
      << "uint64 stays a JSON number";
}

TEST(Output, JsonSystemPropertiesOnRequest) {
  std::string s = render(Format::kJson, {}, true);
  EXPECT_NE(s.find("\"__GENUS\":2"), std::string::npos);
  EXPECT_NE(
      s.find(R"("__DERIVATION":["CIM_Process","CIM_LogicalElement","CIM_ManagedSystemElement"])"),
      std::string::npos);
}

TEST(Output, FormatNames) {
  EXPECT_EQ(parse_format("CSV"), Format::kCsv);
  EXPECT_EQ(parse_format("htable"), std::nullopt);
}

}  // namespace lwmi::cli
