// template_test.cc — references, lookup through embedded objects, escaping in lines and the
// Windows argument rules: a value never changes the shape of what it is put into.
#include "permanent/template.h"

#include <gtest/gtest.h>

#include <memory>

#include "cim/schema.h"

namespace lwmi::permanent {
namespace {

using Args = std::vector<std::string>;

std::shared_ptr<Instance> process(const std::string& name, uint32_t pid) {
  auto p = std::make_shared<Instance>(cim::Schema::builtin().find("Win32_Process"));
  p->set("Handle", Value::string(std::to_string(pid)));
  p->set("Name", Value::string(name));
  p->set("ProcessId", Value::uint32(pid));
  p->set("CreationDate", Value::datetime("20261207203000.123456+000"));
  return p;
}

Instance creation_event(const std::string& name, uint32_t pid = 4242) {
  Instance e(cim::Schema::builtin().find("__InstanceCreationEvent"));
  e.set("TargetInstance", Value::object(process(name, pid)));
  e.set("TIME_CREATED", Value::uint64(134096778001234567ull));
  return e;
}

TEST(Template, ReferencesAreReplacedCaseInsensitively) {
  Instance e = creation_event("sleep");
  auto line = expand_line(
      "%__CLASS%: %targetinstance.NAME% (%TargetInstance.ProcessId%) at %TIME_CREATED%, 100%% "
      "%TargetInstance.CreationDate%",
      e);
  ASSERT_TRUE(line.ok()) << line.error().to_string();
  EXPECT_EQ(*line,
            "__InstanceCreationEvent: sleep (4242) at 134096778001234567, 100% "
            "20261207203000.123456+000");
}

TEST(Template, NullAbsentAndNonObjectPathsGiveEmptyText) {
  Instance e = creation_event("sleep");
  // PreviousInstance is not a property of a creation event; CommandLine is not set; Name is
  // not an object.
  auto line = expand_line(
      "[%PreviousInstance.Name%][%TargetInstance.CommandLine%][%TargetInstance.Name.X%][%Nope%]",
      e);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "[][][][]");
}

TEST(Template, BooleansAndArraysAsLwmicPrintsThem) {
  Instance e(cim::Schema::builtin().find("__InstanceModificationEvent"));
  auto prev = process("old", 7);
  e.set("PreviousInstance", Value::object(prev));
  e.set("SECURITY_DESCRIPTOR", Value::array(CimType::kUint8, {Value::uint8(1), Value::uint8(2)}));
  auto line = expand_line("%PreviousInstance.Name% %SECURITY_DESCRIPTOR%", e);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "old {1,2}");
  EXPECT_EQ(Value::boolean(true).to_text(), "TRUE");
}

TEST(Template, ControlCharactersInValuesAreEscapedTheTemplatesOwnAreKept) {
  Instance e = creation_event("evil\nFAKE LINE\r\t\x1b[31m\\x\x7f\xc2\x9b\xe2\x80\xa8ok");
  auto line = expand_line("started:\t%TargetInstance.Name%", e);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line,
            "started:\tevil\\nFAKE LINE\\r\\t\\x1b[31m\\\\x\\x7f\\xc2\\x9b\\xe2\\x80\\xa8ok");
  EXPECT_EQ(line->find('\n'), std::string::npos);
  // Printable UTF-8 stays as it is.
  auto utf8 = expand_line("%TargetInstance.Name%", creation_event("caf\xc3\xa9"));
  EXPECT_EQ(*utf8, "caf\xc3\xa9");
}

TEST(Template, CheckRefusesUnclosedAndBadNamesWithTheOffset) {
  EXPECT_TRUE(check_template("").ok());
  EXPECT_TRUE(check_template("plain %% text %A.b_1% %_x%").ok());
  struct Case {
    const char* tmpl;
    size_t position;
  } cases[] = {{"abc %Name", 4}, {"%A% %", 4}, {"%1abc%", 1}, {"%A..B%", 3},
               {"%A.%", 3},      {"%A B%", 2}, {"x %.A%", 3}, {"%A\"%", 2}};
  for (const Case& c : cases) {
    auto r = check_template(c.tmpl);
    ASSERT_FALSE(r.ok()) << c.tmpl;
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter) << c.tmpl;
    ASSERT_TRUE(r.error().position.has_value()) << c.tmpl;
    EXPECT_EQ(*r.error().position, c.position) << c.tmpl;
  }
  Instance e = creation_event("x");
  EXPECT_FALSE(expand_line("%Name", e).ok());
  EXPECT_FALSE(expand_arguments("a \"%Name\"", e).ok());
}

TEST(Template, ArgumentsSplitByWindowsRules) {
  Instance e = creation_event("x");
  struct Case {
    const char* tmpl;
    Args args;
  } cases[] = {
      {"", {}},
      {"   \t ", {}},
      {"a b\tc", {"a", "b", "c"}},
      {"\"a b\" c", {"a b", "c"}},
      {"\"\"", {""}},
      {"a\"b c\"d", {"ab cd"}},
      {"a\\\\b", {"a\\\\b"}},        // backslashes not before a quote are literal
      {"a\\\"b", {"a\"b"}},          // 2n+1 backslashes + quote: n and a literal quote
      {"a\\\\\"b c\"", {"a\\b c"}},  // 2n backslashes + quote: n and quoting
      {"a\\\\\\\"b", {"a\\\"b"}},    // 3 backslashes + quote
      {"\"a\"\"b\"", {"a\"b"}},      // "" inside quotes: a literal quote
      {"\"a\"\"\"b\"", {"a\"b"}},    // Wine/Windows: a third quote
      {"100%% done", {"100%", "done"}},
  };
  for (const Case& c : cases) {
    auto r = expand_arguments(c.tmpl, e);
    ASSERT_TRUE(r.ok()) << c.tmpl << ": " << r.error().to_string();
    EXPECT_EQ(*r, c.args) << c.tmpl;
  }
}

TEST(Template, AValueStaysInsideItsOneArgument) {
  const std::string hostile = "a b \"c d\" $(touch /tmp/x) `id` ; rm -rf / \n--evil\\\" \t%%x";
  Instance e = creation_event(hostile, 99);
  auto r = expand_arguments(
      "--name %TargetInstance.Name% \"--quoted=%TargetInstance.Name%\" "
      "pre%TargetInstance.Name%post "
      "--pid=%TargetInstance.ProcessId%",
      e);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r,
            (Args{"--name", hostile, "--quoted=" + hostile, "pre" + hostile + "post", "--pid=99"}));
  // An empty value leaves its argument (empty), it does not remove it.
  auto empty = expand_arguments("%TargetInstance.CommandLine% x", e);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, (Args{"", "x"}));
}

}  // namespace
}  // namespace lwmi::permanent
