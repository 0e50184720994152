#include "provider/process/command_line.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "provider/process/proc_parse.h"

namespace lwmi::provider::process {
namespace {

using Argv = std::vector<std::string>;

struct Case {
  std::string input;
  std::optional<Argv> expected;
};

void check(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE("command line: [" + c.input + "]");
    auto got = parse_windows_command_line(c.input);
    ASSERT_EQ(got.has_value(), c.expected.has_value());
    if (got) {
      EXPECT_EQ(*got, *c.expected);
    }
  }
}

// The examples of Microsoft's "Parsing C++ command-line arguments" table (arguments after a
// program name, since argv[0] follows its own rule).
TEST(WindowsCommandLine, MicrosoftDocumentationExamples) {
  check({
      {R"(x "abc" d e)", Argv{"x", "abc", "d", "e"}},
      {R"(x a\\b d"e f"g h)", Argv{"x", R"(a\\b)", "de fg", "h"}},
      {R"(x a\\\"b c d)", Argv{"x", R"(a\"b)", "c", "d"}},
      {R"(x a\\\\"b c" d e)", Argv{"x", R"(a\\b c)", "d", "e"}},
      // Post-2008 rule: inside quotes "" is a literal quote and quoting goes on, so this one
      // ends inside quotes (unterminated: rejected)…
      {R"(x a"b"" c d)", std::nullopt},
      // …and, closed, is one argument.
      {R"(x a"b"" c d")", Argv{"x", R"(ab" c d)"}},
  });
}

// The same examples as whole command lines: argv[0] comes out the same where it holds no
// backslash before a quote.
TEST(WindowsCommandLine, DocumentationExamplesAsWholeLines) {
  check({
      {R"("abc" d e)", Argv{"abc", "d", "e"}},
      {R"(a\\b d"e f"g h)", Argv{R"(a\\b)", "de fg", "h"}},
      // argv[0] takes no escapes: \" is a backslash and an opening quote, never closed.
      {R"(a\\\"b c d)", std::nullopt},
      {R"(a\\\"b c" d)", Argv{R"(a\\\b c)", "d"}},
  });
}

TEST(WindowsCommandLine, ProgramNameRule) {
  check({
      {R"("C:\Program Files\x.exe" arg)", Argv{R"(C:\Program Files\x.exe)", "arg"}},
      {R"(C:\dir\x.exe "a b")", Argv{R"(C:\dir\x.exe)", "a b"}},
      {R"(C:\dir\ x)", Argv{R"(C:\dir\)", "x"}},
      {R"("C:\dir\\" x)", Argv{R"(C:\dir\\)", "x"}},
      {R"("C:\dir\" x)", Argv{R"(C:\dir\)", "x"}},
      {R"("a b"c d)", Argv{"a bc", "d"}},
      {R"(C:\"Program Files"\x.exe)", Argv{R"(C:\Program Files\x.exe)"}},
      {R"("" a)", Argv{"", "a"}},
      {"/usr/bin/sleep 30", Argv{"/usr/bin/sleep", "30"}},
      {"notepad.exe", Argv{"notepad.exe"}},
  });
}

TEST(WindowsCommandLine, WhitespaceAndTabs) {
  check({
      {"x\ta\t\tb", Argv{"x", "a", "b"}},
      {"x\t\"a\tb\"", Argv{"x", "a\tb"}},
      {"\"a\tb\"\tc", Argv{"a\tb", "c"}},
      {"   x   a   b   ", Argv{"x", "a", "b"}},
      {"\t x \t", Argv{"x"}},
      {"x a\nb", Argv{"x", "a\nb"}},  // only space and tab separate
  });
}

TEST(WindowsCommandLine, EmptyAndQuotedArguments) {
  check({
      {R"(x "")", Argv{"x", ""}},
      {R"(x "" "")", Argv{"x", "", ""}},
      {R"(x "" a)", Argv{"x", "", "a"}},
      {R"(x """")", Argv{"x", "\""}},
      {R"(x """""")", Argv{"x", "\"\""}},
      {R"(x a""b)", Argv{"x", "ab"}},
      {R"(x "a"b"c")", Argv{"x", "abc"}},
      {R"(x \"a\")", Argv{"x", R"("a")"}},
      {R"(x "\"")", Argv{"x", "\""}},
  });
}

TEST(WindowsCommandLine, BackslashesNotBeforeAQuoteAreLiteral) {
  check({
      {R"(x \\server\share)", Argv{"x", R"(\\server\share)"}},
      {R"(x a\)", Argv{"x", R"(a\)"}},
      {R"(x a\\)", Argv{"x", R"(a\\)"}},
      {R"(x "a\\")", Argv{"x", R"(a\)"}},
      {R"(x "a\\\"")", Argv{"x", R"(a\")"}},
      {R"(x \\\\")", std::nullopt},
      {R"(x \\\\"" y)", Argv{"x", R"(\\)", "y"}},
  });
}

TEST(WindowsCommandLine, Errors) {
  check({
      {"", std::nullopt},
      {" ", std::nullopt},
      {" \t \t", std::nullopt},
      {R"("unterminated)", std::nullopt},
      {R"("unterminated program" x "arg)", std::nullopt},
      {R"(x "a b)", std::nullopt},
      {R"(x a"b)", std::nullopt},
      {R"(x """)", std::nullopt},
  });
}

TEST(WindowsCommandLine, RoundTripsJoinWindowsCommandLine) {
  // argv[0] has no quotes and no trailing backslash when it needs quoting: join does not
  // follow the program-name rule for those.
  const std::vector<Argv> vectors = {
      {"x"},
      {"x", ""},
      {"x", "", ""},
      {"C:\\Program Files\\x.exe", "a b"},
      {"C:\\dir\\x.exe", "C:\\dir\\"},
      {"/usr/bin/sleep", "30"},
      {"a\\b", "\\"},
      {"x", "a\"b", "\"", "\"\"", "\\\"", "x\\\\\"y"},
      {"x", "a\\ b\\", "ends with quote\"", "\\\\server\\share"},
      {"x", "tab\there", "new\nline", "vt\vx", "multiple   spaces"},
      {"x", " ", "\t", "a\\\\", "\\\\\""},
      {"x", "--opt=\"quoted value\"", "50%", "^&|<>"},
  };
  for (const Argv& argv : vectors) {
    std::string line = join_windows_command_line(argv);
    SCOPED_TRACE("joined: [" + line + "]");
    auto back = parse_windows_command_line(line);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, argv);
  }
}

}  // namespace
}  // namespace lwmi::provider::process
