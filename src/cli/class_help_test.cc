#include "cli/class_help.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cim/schema.h"

namespace lwmi::cli {
namespace {

std::string described(const ClassDecl& cls, size_t width = 100) {
  std::ostringstream out;
  describe_class(cls, out, {width});
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// The first line containing `what`, "" when none does.
std::string line_with(const std::string& text, const std::string& what) {
  for (const auto& l : lines_of(text))
    if (l.find(what) != std::string::npos) return l;
  return {};
}

/// Characters shown (UTF-8 code points).
size_t width_of(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::shared_ptr<const ClassDecl> win32_process() {
  return cim::Schema::builtin().find("Win32_Process");
}

TEST(ClassHelp, Win32ProcessHeaderAndHierarchy) {
  auto text = described(*win32_process(), 140);
  auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "Class:       Win32_Process");
  EXPECT_EQ(lines[1],
            "Superclass:  CIM_Process (Win32_Process : CIM_Process : CIM_LogicalElement : "
            "CIM_ManagedSystemElement)");
  EXPECT_EQ(lines[2], "Namespace:   root\\cimv2");
  EXPECT_EQ(lines[3], "Description: A process on the operating system.");
  EXPECT_NE(text.find("\nProperties (45):\n"), std::string::npos);
  EXPECT_NE(text.find("\nMethods (7):\n"), std::string::npos);
}

TEST(ClassHelp, PropertiesShowTypeUnitsAccessAndDescriptionInColumns) {
  auto text = described(*win32_process(), 140);
  // Columns start where the header's do.
  std::string head = line_with(text, "  Name ");
  ASSERT_FALSE(head.empty()) << text;
  size_t type_col = head.find("Type"), units_col = head.find("Units"),
         access_col = head.find("Access"), desc_col = head.find("Description");
  std::string kernel = line_with(text, "  KernelModeTime ");
  EXPECT_EQ(kernel.find("uint64"), type_col) << kernel;
  EXPECT_EQ(kernel.find("100 nanoseconds"), units_col) << kernel;
  EXPECT_EQ(kernel.find("read"), access_col) << kernel;
  EXPECT_EQ(kernel.find("Time in kernel mode."), desc_col) << kernel;
  std::string handle = line_with(text, "  Handle ");
  EXPECT_EQ(handle.find("key, read"), access_col) << handle;
  // Privileges and enumerated values follow the description (wrapped in its column).
  auto exe = text.find("  ExecutablePath ");
  ASSERT_NE(exe, std::string::npos);
  auto after = text.substr(exe, text.find("  ExecutionState ") - exe);
  EXPECT_NE(after.find("[privilege:"), std::string::npos) << after;
  EXPECT_NE(after.find("SeDebugPrivilege]"), std::string::npos) << after;
  auto state = text.substr(text.find("  ExecutionState "));
  state = state.substr(0, state.find("  Handle "));
  EXPECT_NE(state.find("Values:"), std::string::npos) << state;
  EXPECT_NE(
      state.find("\n" + std::string(desc_col, ' ') + "0=Unknown, 1=Other, 2=Ready, 3=Running"),
      std::string::npos)
      << state;
}

TEST(ClassHelp, LinesStayWithinTheWidth) {
  for (size_t width : {80, 100, 140}) {
    auto text = described(*win32_process(), width);
    for (const auto& l : lines_of(text)) EXPECT_LE(width_of(l), width) << width << ": " << l;
    // Narrow terminals put each description under its row.
    if (width == 80) {
      EXPECT_EQ(line_with(text, "  KernelModeTime ").find("Time in kernel mode."),
                std::string::npos);
      EXPECT_NE(text.find("\n      Time in kernel mode.\n"), std::string::npos);
    }
  }
}

TEST(ClassHelp, MethodsShowParametersAndReturnCodes) {
  auto text = described(*win32_process());
  EXPECT_NE(text.find("  Create  [static]\n      Creates a new process.\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("      in     ProcessStartupInformation  Win32_ProcessStartup\n"),
            std::string::npos);
  EXPECT_NE(text.find("      out    ProcessId                  uint32\n"), std::string::npos);
  auto term = text.find("  Terminate  [privilege: SeDebugPrivilege]\n");
  ASSERT_NE(term, std::string::npos);
  EXPECT_EQ(text.substr(term, 360).substr(0, text.substr(term).find("  GetOwner\n")),
            "  Terminate  [privilege: SeDebugPrivilege]\n"
            "      Terminates the process and all of its threads.\n"
            "      in     Reason  uint32\n"
            "      returns uint32:\n"
            "        0   Successful completion\n"
            "        2   Access denied\n"
            "        3   Insufficient privilege\n"
            "        8   Unknown failure\n"
            "        9   Path not found\n"
            "        21  Invalid parameter\n"
            "        ..  Other\n");
  EXPECT_NE(text.find("Values: 64=Idle, 16384=Below normal, 32=Normal"), std::string::npos);
}

TEST(ClassHelp, SectionsAsWmicGetAndCallHelpShowThem) {
  std::ostringstream get, call;
  ClassHelpOptions props_only;
  props_only.methods = false;
  describe_class(*win32_process(), get, props_only);
  EXPECT_NE(get.str().find("Properties (45):"), std::string::npos);
  EXPECT_EQ(get.str().find("Methods"), std::string::npos);
  ClassHelpOptions methods_only;
  methods_only.properties = false;
  describe_class(*win32_process(), call, methods_only);
  EXPECT_EQ(call.str().find("Properties"), std::string::npos);
  EXPECT_NE(call.str().find("\nMethods (7):\n  Create  [static]\n"), std::string::npos)
      << call.str();
  EXPECT_EQ(call.str().rfind("Class:       Win32_Process\n", 0), 0u);
}

TEST(ClassHelp, ReturnCodesFallBackToTheSpecsTableForWin32Process) {
  // A server whose schema predates the ValueMap qualifiers.
  ClassDecl old = *win32_process();
  for (auto& m : old.methods) m.qualifiers.clear();
  auto codes = return_codes(old, *old.method("Terminate"));
  std::vector<std::string> numbers;
  for (const auto& [code, meaning] : codes) numbers.push_back(code);
  EXPECT_EQ(numbers, (std::vector<std::string>{"0", "2", "3", "8", "9", "21"}));
  EXPECT_EQ(codes[1].second, "Access denied");
  // Another class without them: none made up.
  auto startup = cim::Schema::builtin().find("__EventFilter");
  ClassDecl other = *startup;
  MethodDecl m;
  m.name = "M";
  EXPECT_TRUE(return_codes(other, m).empty());
}

// A class from a server is untrusted text: it can neither add lines nor reach the terminal as a
// control sequence.
TEST(ClassHelp, UntrustedTextIsShownNotObeyed) {
  auto schema = cim::Schema::load({R"({"namespace": "root\\cimv2", "classes": [
      {"name": "Evil\u001b[2J", "description": "line one\nFAKE: line\u0007",
       "properties": [{"name": "P\r", "type": "string", "units": "u\u001b]0;t\u0007",
                       "description": "d\nInjected  uint32"}],
       "methods": [{"name": "M", "description": "x\u009b1m",
                    "qualifiers": {"ValueMap": ["0"], "Values": ["ok\nfake 2 line"]},
                    "parameters": [{"name": "A\n", "type": "uint32", "in": true}]}]}]})"});
  ASSERT_TRUE(schema.ok()) << schema.error().to_string();
  auto text = described(*schema->classes().front());
  for (char c : text) {
    EXPECT_NE(c, '\x1b');
    EXPECT_NE(c, '\x07');
    EXPECT_NE(c, '\r');
  }
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos);  // C1 CSI
  for (const auto& l : lines_of(text)) {
    EXPECT_NE(l.rfind("FAKE", 0), 0u) << l;
    EXPECT_NE(l.rfind("Injected", 0), 0u) << l;
    EXPECT_NE(l.rfind("fake", 0), 0u) << l;
  }
  EXPECT_NE(text.find("$'Evil\\x1b[2J'"), std::string::npos) << text;
  EXPECT_NE(text.find("$'ok\\nfake 2 line'"), std::string::npos) << text;
  std::ostringstream list;
  list_classes(schema->classes(), list);
  EXPECT_EQ(lines_of(list.str()).size(), 2u) << list.str();
  EXPECT_EQ(list.str().find('\x1b'), std::string::npos);
}

TEST(ClassHelp, ListClassesOneLineEachAligned) {
  std::vector<std::shared_ptr<const ClassDecl>> classes;
  for (const char* n : {"CIM_Process", "Win32_Process", "Win32_ProcessStartTrace"})
    classes.push_back(cim::Schema::builtin().find(n));
  std::ostringstream out;
  list_classes(classes, out, {200});
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  EXPECT_EQ(lines[0].rfind("Class                    Superclass          Description", 0), 0u)
      << out.str();
  EXPECT_EQ(
      lines[2].rfind(
          "Win32_Process            CIM_Process         A process on the operating system.", 0),
      0u)
      << out.str();
  for (const auto& l : lines) EXPECT_EQ(l.find(". ", 0), std::string::npos) << l;  // one sentence
  std::ostringstream none;
  list_classes({}, none);
  EXPECT_EQ(none.str(), "");
}

}  // namespace
}  // namespace lwmi::cli
