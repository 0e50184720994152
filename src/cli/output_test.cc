#include "cli/output.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <memory>
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
  EXPECT_EQ(parse_format("htable"), Format::kHtable);
  EXPECT_EQ(parse_format("HTABLE.XSL"), Format::kHtable);
  EXPECT_EQ(parse_format("Xml"), Format::kXml);
  EXPECT_EQ(parse_format("RAWXML"), Format::kRawXml);
  EXPECT_EQ(parse_format("hform"), std::nullopt);
  EXPECT_EQ(parse_format(".xsl"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// htable, xml, rawxml: parsed back with libxml2, which refuses any ill-formed document.

namespace {

struct XmlDoc {
  explicit XmlDoc(const std::string& text, int options = 0)
      : doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, "UTF-8",
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | options)) {}
  ~XmlDoc() { xmlFreeDoc(doc); }
  XmlDoc(const XmlDoc&) = delete;
  XmlDoc& operator=(const XmlDoc&) = delete;

  /// The string value of an XPath expression ("" when it selects nothing).
  std::string str(const char* xpath) const {
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
    std::string out;
    if (r) {
      xmlChar* s = xmlXPathCastToString(r);
      out = reinterpret_cast<const char*>(s);
      xmlFree(s);
      xmlXPathFreeObject(r);
    }
    xmlXPathFreeContext(ctx);
    return out;
  }
  double num(const char* xpath) const {
    return std::stod(str((std::string("count(") + xpath + ")").c_str()));
  }

  xmlDocPtr doc;
};

std::string render_with(const OutputOptions& o, const std::vector<std::string>& cols,
                        const std::vector<Instance>& insts) {
  std::ostringstream out;
  auto fm = make_formatter(o, out);
  fm->begin(cols);
  for (const auto& i : insts) fm->add(i);
  fm->end();
  return out.str();
}

OutputOptions xml_options(Format f) {
  OutputOptions o;
  o.format = f;
  o.command_line = "lwmic process list brief /format:xml";
  o.issued_from = "admin-box";
  o.start_time = "12-07-2026T23:10:00";
  return o;
}

// Every kind of text a process can be named with that XML cannot hold as is: markup, a CDATA
// terminator, a C0 control, invalid UTF-8 (stray bytes, an encoded surrogate).
const std::string kHostileName = "a<b&c]]>\x01\"d'\xff\xfe\xed\xa0\x80";
const std::string kReplacement = "\xef\xbf\xbd";

}  // namespace

TEST(Output, XmlIsWmicsCommandDocument) {
  auto o = xml_options(Format::kXml);
  std::string s = render_with(o, {}, {sample("1", "init", 4096), sample("22", "sshd", 8192)});
  XmlDoc x(s);
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.str("/COMMAND/@SEQUENCENUM"), "1");
  EXPECT_EQ(x.str("/COMMAND/@ISSUEDFROM"), "admin-box");
  EXPECT_EQ(x.str("/COMMAND/@STARTTIME"), "12-07-2026T23:10:00");
  EXPECT_EQ(x.str("/COMMAND/REQUEST/COMMANDLINE"), "lwmic process list brief /format:xml");
  EXPECT_EQ(x.str("/COMMAND/RESULTS/@NODE"), "h1");
  EXPECT_EQ(x.num("/COMMAND/RESULTS/CIM/INSTANCE"), 2);
  EXPECT_EQ(x.str("//INSTANCE[1]/@CLASSNAME"), "Win32_Process");
  EXPECT_EQ(x.str("//INSTANCE[2]/PROPERTY[@NAME='Name']/VALUE"), "sshd");
  EXPECT_EQ(x.str("//INSTANCE[2]/PROPERTY[@NAME='WorkingSetSize']/@TYPE"), "uint64");
  EXPECT_EQ(x.str("//INSTANCE[2]/PROPERTY[@NAME='WorkingSetSize']/VALUE"), "8192");
  EXPECT_EQ(x.str("//INSTANCE[1]/PROPERTY[@NAME='Name']/@CLASSORIGIN"), "CIM_ManagedSystemElement");
  EXPECT_EQ(x.str("//INSTANCE[1]/PROPERTY[@NAME='Name']/@PROPAGATED"), "true");
  // NULL: the property is there, without a VALUE.
  EXPECT_EQ(x.num("//INSTANCE[1]/PROPERTY[@NAME='CommandLine']"), 1);
  EXPECT_EQ(x.num("//INSTANCE[1]/PROPERTY[@NAME='CommandLine']/VALUE"), 0);
  EXPECT_EQ(x.str("//INSTANCE[1]/PROPERTY[@NAME='CommandLine']/@TYPE"), "string");
}

TEST(Output, XmlGroupsResultsByNodeAndProjects) {
  auto o = xml_options(Format::kXml);
  Instance b = sample("7", "cron", 1);
  b.set_server("h2");
  std::string s = render_with(o, {"name", "Handle"}, {sample("1", "init", 4096), b});
  XmlDoc x(s);
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.num("/COMMAND/RESULTS"), 2);
  EXPECT_EQ(x.str("/COMMAND/RESULTS[2]/@NODE"), "h2");
  EXPECT_EQ(x.str("/COMMAND/RESULTS[2]/CIM/INSTANCE/PROPERTY[1]/@NAME"), "Name");
  EXPECT_EQ(x.num("/COMMAND/RESULTS[2]/CIM/INSTANCE/PROPERTY"), 2);
}

TEST(Output, XmlWithoutInstancesIsStillADocument) {
  std::string s = render_with(xml_options(Format::kXml), {}, {});
  XmlDoc x(s);
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.num("/COMMAND/REQUEST"), 1);
  EXPECT_EQ(x.num("//RESULTS"), 0);
}

TEST(Output, RawXmlIsOneInstancePerLine) {
  std::string s = render_with(xml_options(Format::kRawXml), {},
                              {sample("1", "init", 4096), sample("2", "kthreadd", 0)});
  std::istringstream lines(s);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    XmlDoc x(line);
    ASSERT_NE(x.doc, nullptr) << line;
    EXPECT_EQ(x.str("/INSTANCE/@CLASSNAME"), "Win32_Process");
    EXPECT_EQ(x.str("/INSTANCE/PROPERTY[@NAME='Handle']/VALUE"), n == 0 ? "1" : "2");
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(Output, CimXmlArraysDatetimeAndEmbeddedObjects) {
  auto process = std::make_shared<Instance>(sample("42", "x<y", 1));
  process->set("CreationDate", Value::datetime("20261207231000.123456+060"));
  Instance ev(cim::Schema::builtin().find("__InstanceCreationEvent"));
  ASSERT_TRUE(ev.set("TargetInstance", Value::object(process)));
  ev.set_server("h1");
  std::string s = render_with(xml_options(Format::kRawXml), {}, {ev});
  XmlDoc x(s);
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.str("/INSTANCE/PROPERTY[@NAME='TargetInstance']/@EmbeddedObject"), "instance");
  EXPECT_EQ(x.str("/INSTANCE/PROPERTY[@NAME='TargetInstance']/@TYPE"), "string");
  // The embedded instance is CIM-XML text inside VALUE, itself well-formed once unescaped.
  XmlDoc inner(x.str("/INSTANCE/PROPERTY[@NAME='TargetInstance']/VALUE"));
  ASSERT_NE(inner.doc, nullptr) << s;
  EXPECT_EQ(inner.str("/INSTANCE/PROPERTY[@NAME='Name']/VALUE"), "x<y");
  EXPECT_EQ(inner.str("/INSTANCE/PROPERTY[@NAME='CreationDate']/@TYPE"), "datetime");
  EXPECT_EQ(inner.str("/INSTANCE/PROPERTY[@NAME='CreationDate']/VALUE"),
            "20261207231000.123456+060");

  // An array: PROPERTY.ARRAY with a VALUE.ARRAY, one VALUE per element; NULL has none.
  Instance stop(cim::Schema::builtin().find("Win32_Process"));
  const PropertyDecl* arr = nullptr;
  for (const auto& c : cim::Schema::builtin().classes())
    for (const auto& p : c->properties)
      if (p.is_array && p.type == CimType::kString && !arr) {
        arr = &p;
        stop = Instance(c);
      }
  ASSERT_NE(arr, nullptr) << "the schema has a string array property";
  stop.set(arr->name,
           Value::array(CimType::kString, {Value::string("A=1"), Value::string("B=<2>")}));
  XmlDoc a(render_with(xml_options(Format::kRawXml), {}, {stop}));
  ASSERT_NE(a.doc, nullptr);
  std::string base = "/INSTANCE/PROPERTY.ARRAY[@NAME='" + arr->name + "']";
  EXPECT_EQ(a.num((base + "/VALUE.ARRAY/VALUE").c_str()), 2);
  EXPECT_EQ(a.str((base + "/VALUE.ARRAY/VALUE[2]").c_str()), "B=<2>");
}

TEST(Output, CimXmlReferencesAreInstanceNames) {
  const PropertyDecl* ref = nullptr;
  std::shared_ptr<const ClassDecl> cls;
  for (const auto& c : cim::Schema::builtin().classes())
    for (const auto& p : c->properties)
      if (p.type == CimType::kReference && !ref) ref = &p, cls = c;
  ASSERT_NE(ref, nullptr);
  Instance b(cls);
  b.set(ref->name, Value::reference(R"(__EventFilter.Name="f<1>")"));
  XmlDoc x(render_with(xml_options(Format::kRawXml), {}, {b}));
  ASSERT_NE(x.doc, nullptr);
  std::string base = "/INSTANCE/PROPERTY.REFERENCE[@NAME='" + ref->name + "']/VALUE.REFERENCE";
  EXPECT_EQ(x.str((base + "/INSTANCENAME/@CLASSNAME").c_str()), "__EventFilter");
  EXPECT_EQ(x.str((base + "/INSTANCENAME/KEYBINDING/@NAME").c_str()), "Name");
  EXPECT_EQ(x.str((base + "/INSTANCENAME/KEYBINDING/KEYVALUE").c_str()), "f<1>");
}

// A process named to break out of the markup: every XML-based format stays well-formed and
// carries the name with only the unrepresentable characters replaced.
TEST(Output, HostileNamesKeepXmlAndHtmlWellFormed) {
  Instance evil = sample("666", kHostileName, 1);
  evil.set("CommandLine", Value::string("</VALUE></PROPERTY><INSTANCE>\n<!--"));
  evil.set_server("h<1>&\x02");
  std::string want_name = "a<b&c]]>" + kReplacement + "\"d'" + kReplacement + kReplacement +
                          kReplacement + kReplacement + kReplacement;
  for (Format f : {Format::kXml, Format::kRawXml}) {
    std::string s = render_with(xml_options(f), {}, {evil});
    XmlDoc x(s);
    ASSERT_NE(x.doc, nullptr) << s;
    EXPECT_EQ(x.num("//INSTANCE"), 1) << s;
    EXPECT_EQ(x.str("//PROPERTY[@NAME='Name']/VALUE"), want_name);
    EXPECT_EQ(x.str("//PROPERTY[@NAME='CommandLine']/VALUE"),
              "</VALUE></PROPERTY><INSTANCE>\n<!--");
    EXPECT_EQ(s.find("\x01"), std::string::npos);
    EXPECT_EQ(s.find("\xff"), std::string::npos);
  }
  // htable parsed as XML (it is written as XHTML-compatible markup) and its cells compared.
  OutputOptions o = xml_options(Format::kHtable);
  o.command_line = "process list <brief>";
  std::string s = render_with(o, {"Name", "CommandLine"}, {evil});
  std::string body = s.substr(s.find("<html>"));
  XmlDoc x(body);
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.str("/html/head/title"), "process list <brief>");
  EXPECT_EQ(x.num("//tr"), 3) << s;  // the node header, the column header and the one row
  EXPECT_EQ(x.str("//tr[3]/td[2]"), want_name);
  EXPECT_EQ(x.str("//tr[3]/td[3]"), "</VALUE></PROPERTY><INSTANCE>\n<!--");
  EXPECT_EQ(s.find("<INSTANCE>"), std::string::npos);
}

TEST(Output, HtableHasANodeHeaderWithTheCount) {
  Instance b = sample("7", "cron", 1);
  b.set_server("h2");
  std::string s = render_with(xml_options(Format::kHtable), {"Handle", "Name"},
                              {sample("1", "init", 4096), b, sample("2", "kthreadd", 0)});
  XmlDoc x(s.substr(s.find("<html>")));
  ASSERT_NE(x.doc, nullptr) << s;
  EXPECT_EQ(x.num("//table"), 2);
  EXPECT_EQ(x.str("//table[1]/tr[1]/td"), "Node: h1 - 2 Instances");
  EXPECT_EQ(x.str("//table[1]/tr[1]/td/@colspan"), "3");
  EXPECT_EQ(x.str("//table[1]/tr[2]"), "NodeHandleName");
  EXPECT_EQ(x.str("//table[1]/tr[4]"), "h12kthreadd");
  EXPECT_EQ(x.str("//table[2]/tr[1]/td"), "Node: h2 - 1 Instance");
  EXPECT_EQ(render_with(xml_options(Format::kHtable), {}, {}), "") << "nothing, as table";
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
