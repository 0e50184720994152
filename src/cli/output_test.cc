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

TEST(Output, DisplayTextLeavesPrintableTextAlone) {
  EXPECT_EQ(display_text("sleep 100"), "sleep 100");
  EXPECT_EQ(display_text(""), "");
  // Backslashes (object paths, Windows-style quoting) and UTF-8 need no quoting on their own.
  EXPECT_EQ(display_text(R"(\\h\root\cimv2:Win32_Process.Handle="1")"),
            R"(\\h\root\cimv2:Win32_Process.Handle="1")");
  EXPECT_EQ(display_text("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
}

TEST(Output, DisplayTextQuotesControlCharacters) {
  EXPECT_EQ(display_text("a\nName=systemd"), R"($'a\nName=systemd')");
  EXPECT_EQ(display_text("x\r\ty"), R"($'x\r\ty')");
  // A terminal escape (here: clear the screen) and DEL arrive as their bytes, written out.
  EXPECT_EQ(display_text("\x1b[2J\x7f"), R"($'\x1b[2J\x7f')");
  EXPECT_EQ(display_text(std::string("nul\0in", 6)), R"($'nul\x00in')");
  // Inside the quotes, backslash and quote are escaped so that the text decodes unambiguously.
  EXPECT_EQ(display_text("it's\\n\n"), R"($'it\'s\\n\n')");
  // C1 controls (U+009B is a CSI), line separators and bidirectional overrides, as UTF-8 bytes.
  EXPECT_EQ(display_text("a\xc2\x9b"
                         "1m"),
            R"($'a\xc2\x9b1m')");
  EXPECT_EQ(display_text("a\xe2\x80\xa8z"), R"($'a\xe2\x80\xa8z')");
  EXPECT_EQ(display_text("txt.\xe2\x80\xae"
                         "exe"),
            R"($'txt.\xe2\x80\xaeexe')");
  // Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate, a cut sequence.
  EXPECT_EQ(display_text("a\x80z"), R"($'a\x80z')");
  EXPECT_EQ(display_text("\xc0\xaf"), R"($'\xc0\xaf')");
  EXPECT_EQ(display_text("\xed\xa0\x80"), R"($'\xed\xa0\x80')");
  EXPECT_EQ(display_text("ok\xe2\x82"), R"($'ok\xe2\x82')");
}

TEST(Output, DisplayTextQuotesWhatLooksQuoted) {
  // Otherwise a process could be named like another one's quoted form.
  EXPECT_EQ(display_text("$'a\\nb'"), R"($'$\'a\\nb\'')");
  EXPECT_EQ(display_text("$x"), "$x");
}

// A process whose name and command line hold newlines, CR and an escape sequence: every format
// keeps it in its one row or record.
TEST(Output, HostileValuesCannotForgeRowsOrRecords) {
  Instance evil(cim::Schema::builtin().find("Win32_Process"));
  evil.set("Handle", Value::string("4242"));
  evil.set("Name", Value::string("x\nProcessId=1\nName=systemd\r\x1b]0;owned\x07"));
  evil.set("CommandLine", Value::string("1 systemd\n2 init"));
  evil.set_server("h\n1");
  for (Format f : {Format::kTable, Format::kList}) {
    for (bool node : {false, true}) {
      std::ostringstream out;
      OutputOptions o;
      o.format = f;
      o.node_column = node;
      auto fm = make_formatter(o, out);
      fm->begin({"Handle", "Name", "CommandLine"});
      fm->add(evil);
      fm->end();
      std::string s = out.str();
      EXPECT_EQ(s.find('\r'), std::string::npos) << s;
      EXPECT_EQ(s.find('\x1b'), std::string::npos) << s;
      EXPECT_EQ(s.find('\x07'), std::string::npos) << s;
      EXPECT_EQ(s.find("\nProcessId="), std::string::npos) << s;
      EXPECT_EQ(s.find("\nName=systemd"), std::string::npos) << s;
      EXPECT_EQ(s.find("\n2 init"), std::string::npos) << s;
      size_t lines = 0;
      for (char c : s) lines += c == '\n';
      if (f == Format::kTable) {
        EXPECT_EQ(lines, 2u) << s;  // the header and one row
      } else {
        EXPECT_EQ(lines, 3u + (node ? 1 : 0) + 4) << s;  // 3 properties (+ Node) and the blanks
        EXPECT_NE(s.find(R"(Name=$'x\nProcessId=1\nName=systemd\r\x1b]0;owned\x07')"),
                  std::string::npos)
            << s;
      }
    }
  }
  // CSV keeps the bytes, quoted by RFC 4180 (its readers need them exact).
  std::ostringstream csv;
  OutputOptions o;
  o.format = Format::kCsv;
  auto fm = make_formatter(o, csv);
  fm->begin({"CommandLine"});
  fm->add(evil);
  fm->end();
  EXPECT_EQ(csv.str(), "Node,CommandLine\r\n\"h\n1\",\"1 systemd\n2 init\"\r\n");
}

TEST(Output, FormatNames) {
  EXPECT_EQ(parse_format("CSV"), Format::kCsv);
  EXPECT_EQ(parse_format("htable"), std::nullopt);
}

// A class object (SELECT * FROM meta_class) has no values: the table shows the system
// properties that describe it, and JSON all of them.
TEST(Output, ClassObjectsShowTheirDescribingSystemProperties) {
  Instance c = Instance::class_object(cim::Schema::builtin().find("Win32_Process"));
  c.set_server("h1");
  std::ostringstream table;
  auto t = make_formatter({}, table);
  t->begin({});
  t->add(c);
  t->end();
  EXPECT_EQ(table.str(),
            "__CLASS        __SUPERCLASS  __DYNASTY                 __PROPERTY_COUNT\n"
            "Win32_Process  CIM_Process   CIM_ManagedSystemElement  45\n");
  std::ostringstream json;
  OutputOptions o;
  o.format = Format::kJson;
  auto j = make_formatter(o, json);
  j->begin({});
  j->add(c);
  j->end();
  EXPECT_NE(json.str().find("\"__GENUS\":1"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"__PATH\":\"\\\\\\\\h1\\\\root\\\\cimv2:Win32_Process\""),
            std::string::npos)
      << json.str();
}

}  // namespace lwmi::cli
