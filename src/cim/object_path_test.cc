#include "lwmi/object_path.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lwmi {
namespace {

// ---- accepted forms ---------------------------------------------------------------------------

struct Key {
  std::string name;
  Value value;
};

struct Accepted {
  std::string text;
  std::string server;
  std::string ns;
  std::string class_name;
  std::vector<Key> keys;
  bool singleton = false;
};

Value S(const char* s) {
  return Value::string(s);
}
Value I(int64_t v) {
  return Value::sint64(v);
}

TEST(ObjectPath, AcceptedForms) {
  const std::vector<Accepted> cases = {
      {"Win32_Process.Handle=\"3168\"", "", "", "Win32_Process", {{"Handle", S("3168")}}},
      {"Win32_Process.Handle='3168'", "", "", "Win32_Process", {{"Handle", S("3168")}}},
      {"Win32_Process=\"3168\"", "", "", "Win32_Process", {{"", S("3168")}}},
      {"Win32_Process.Handle=3168", "", "", "Win32_Process", {{"Handle", I(3168)}}},
      {"Win32_Process.Handle=-5", "", "", "Win32_Process", {{"Handle", I(-5)}}},
      {"Win32_Process.Handle=007", "", "", "Win32_Process", {{"Handle", I(7)}}},
      {"C.K=9223372036854775807", "", "", "C", {{"K", I(INT64_MAX)}}},
      {"C.K=9223372036854775808", "", "", "C", {{"K", Value::uint64(9223372036854775808ULL)}}},
      {"C.K=18446744073709551615", "", "", "C", {{"K", Value::uint64(UINT64_MAX)}}},
      {"C.K=-9223372036854775808", "", "", "C", {{"K", I(INT64_MIN)}}},
      {"C.K=-0", "", "", "C", {{"K", I(0)}}},
      {"C.K=TRUE", "", "", "C", {{"K", Value::boolean(true)}}},
      {"C.K=false", "", "", "C", {{"K", Value::boolean(false)}}},
      {"{Win32_Process='1234'}", "", "", "Win32_Process", {{"", S("1234")}}},
      {"{Win32_Process.Handle=\"1\"}", "", "", "Win32_Process", {{"Handle", S("1")}}},
      {"Class=@", "", "", "Class", {}, true},
      {"Class.A=33,B=\"AAA\"", "", "", "Class", {{"A", I(33)}, {"B", S("AAA")}}},
      {"Win32_Process.Handle=\"3168\",CreationDate=\"20261127062200.123456+000\"",
       "",
       "",
       "Win32_Process",
       {{"Handle", S("3168")}, {"CreationDate", S("20261127062200.123456+000")}}},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle=\"3168\"",
       ".",
       "root\\cimv2",
       "Win32_Process",
       {{"Handle", S("3168")}}},
      {"\\\\JOHN-PC\\root\\cimv2:Win32_Process.Handle=\"3236\"",
       "JOHN-PC",
       "root\\cimv2",
       "Win32_Process",
       {{"Handle", S("3236")}}},
      {"//host/root/cimv2:Win32_Process.Handle=\"3168\"",
       "host",
       "root\\cimv2",
       "Win32_Process",
       {{"Handle", S("3168")}}},
      {"//db.example.com/root/cimv2", "db.example.com", "root\\cimv2", "", {}},
      {"\\\\Admin\\root\\cimv2:Win32_LogicalDisk", "Admin", "root\\cimv2", "Win32_LogicalDisk", {}},
      {"\\\\.\\root\\cimv2", ".", "root\\cimv2", "", {}},
      {"\\\\.\\root", ".", "root", "", {}},
      {"\\\\.", ".", "", "", {}},
      {"\\\\.:Win32_Process", ".", "", "Win32_Process", {}},
      {"root\\cimv2:Win32_Process", "", "root\\cimv2", "Win32_Process", {}},
      {"root\\cimv2", "", "root\\cimv2", "", {}},
      {"root:__Namespace.Name=\"cimv2\"", "", "root", "__Namespace", {{"Name", S("cimv2")}}},
      {"{\\\\.\\root\\cimv2:Win32_Process='1'}",
       ".",
       "root\\cimv2",
       "Win32_Process",
       {{"", S("1")}}},
      {"Win32_LogicalDisk", "", "", "Win32_LogicalDisk", {}},
      {"winmgmts:", ".", "root\\cimv2", "", {}},
      {"WINMGMTS:", ".", "root\\cimv2", "", {}},
      {"winmgmts:{impersonationLevel=impersonate}", ".", "root\\cimv2", "", {}},
      {"winmgmts:{impersonationLevel=impersonate,(Debug)}!\\\\.\\root\\cimv2:Win32_Process."
       "Handle='0'",
       ".",
       "root\\cimv2",
       "Win32_Process",
       {{"Handle", S("0")}}},
      {"WinMgmts:{impersonationLevel=impersonate,(Debug,!Security)}!//./root/cimv2",
       ".",
       "root\\cimv2",
       "",
       {}},
      {"winmgmts:{}!Win32_Process=1", ".", "root\\cimv2", "Win32_Process", {{"", I(1)}}},
      {"winmgmts:\\\\server\\root\\default", "server", "root\\default", "", {}},
      {"winmgmts://server", "server", "root\\cimv2", "", {}},
      {"winmgmts:root\\default:StdRegProv", ".", "root\\default", "StdRegProv", {}},
      {"winmgmts:Win32_Process.Handle=\"42\"",
       ".",
       "root\\cimv2",
       "Win32_Process",
       {{"Handle", S("42")}}},
      {"winmgmts:{impersonationLevel=impersonate}!{Win32_Process='7'}",
       ".",
       "root\\cimv2",
       "Win32_Process",
       {{"", S("7")}}},
  };
  for (const Accepted& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ObjectPath::parse(c.text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const ObjectPath& p = *r;
    EXPECT_EQ(p.server, c.server);
    EXPECT_EQ(p.namespace_path, c.ns);
    EXPECT_EQ(p.class_name, c.class_name);
    EXPECT_EQ(p.singleton, c.singleton);
    ASSERT_EQ(p.keys.size(), c.keys.size());
    for (size_t i = 0; i < c.keys.size(); ++i) {
      EXPECT_EQ(p.keys[i].name, c.keys[i].name);
      EXPECT_EQ(p.keys[i].value.type(), c.keys[i].value.type()) << i;
      EXPECT_TRUE(p.keys[i].value == c.keys[i].value) << i << ": " << p.keys[i].value.to_text();
    }
  }
}

TEST(ObjectPath, Kinds) {
  auto ns = ObjectPath::parse("\\\\.\\root\\cimv2");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->is_namespace_path());
  EXPECT_FALSE(ns->is_class_path());
  EXPECT_FALSE(ns->is_instance_path());

  auto cls = ObjectPath::parse("root\\cimv2:Win32_Process");
  ASSERT_TRUE(cls.ok());
  EXPECT_FALSE(cls->is_namespace_path());
  EXPECT_TRUE(cls->is_class_path());
  EXPECT_FALSE(cls->is_instance_path());

  auto inst = ObjectPath::parse("Win32_Process.Handle=1");
  ASSERT_TRUE(inst.ok());
  EXPECT_TRUE(inst->is_instance_path());
  EXPECT_FALSE(inst->is_class_path());

  auto single = ObjectPath::parse("Config=@");
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(single->is_instance_path());
  EXPECT_TRUE(single->keys.empty());
}

TEST(ObjectPath, QuotedValueEscapes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(Win32_Directory.Name="C:\\")", "C:\\"},
      {R"(C.K="say \"hi\"")", "say \"hi\""},
      {R"(C.K='it\'s')", "it's"},
      {R"(C.K='say "hi"')", "say \"hi\""},
      {R"(C.K="it's")", "it's"},
      {R"(C.K="\a\b")", "ab"},        // any other escaped character stands for itself
      {"C.K=\"a b\tc\"", "a b\tc"},   // whitespace inside quotes is kept
      {R"(C.K="100%20")", "100%20"},  // URL escapes are not decoded
      {R"(C.K="")", ""},
      {R"(C.K="x,y=z}{.:@")", "x,y=z}{.:@"},
      {"C.K=\"caf\xC3\xA9\"", "caf\xC3\xA9"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = ObjectPath::parse(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->keys.size(), 1u);
    EXPECT_EQ(r->keys[0].value.type(), CimType::kString);
    EXPECT_EQ(r->keys[0].value.as_string(), want);
  }
}

TEST(ObjectPath, KeyLookup) {
  auto r = ObjectPath::parse("Class.A=33,B=\"AAA\"");
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->key("a"), nullptr);
  EXPECT_EQ(r->key("a")->value.as_i64(), 33);
  ASSERT_NE(r->key("B"), nullptr);
  EXPECT_EQ(r->key("b")->value.as_string(), "AAA");
  EXPECT_EQ(r->key("C"), nullptr);

  auto unnamed = ObjectPath::parse("Win32_Process=\"3168\"");
  ASSERT_TRUE(unnamed.ok());
  ASSERT_NE(unnamed->key("Handle"), nullptr);
  EXPECT_EQ(unnamed->key("anything")->value.as_string(), "3168");

  auto cls = ObjectPath::parse("Win32_Process");
  ASSERT_TRUE(cls.ok());
  EXPECT_EQ(cls->key("Handle"), nullptr);
}

// ---- formatting and round trips ---------------------------------------------------------------

TEST(ObjectPath, Relative) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Win32_Process.Handle='3168'", "Win32_Process.Handle=\"3168\""},
      {"Win32_Process.Handle=3168", "Win32_Process.Handle=3168"},
      {"Win32_Process.Handle=-03", "Win32_Process.Handle=-3"},
      {"{Win32_Process='1234'}", "Win32_Process=\"1234\""},
      {"Class=@", "Class=@"},
      {"Class.A=33,B='AAA'", "Class.A=33,B=\"AAA\""},
      {"Class.B='AAA',A=33", "Class.B=\"AAA\",A=33"},  // stored order is kept
      {"C.K=true", "C.K=TRUE"},
      {"C.K=False", "C.K=FALSE"},
      {"C.K=18446744073709551615", "C.K=18446744073709551615"},
      {R"(C.K='a\'b"c\\d')", R"(C.K="a'b\"c\\d")"},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle=\"1\"", "Win32_Process.Handle=\"1\""},
      {"root\\cimv2:Win32_Process", "Win32_Process"},
      {"\\\\.\\root\\cimv2", ""},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = ObjectPath::parse(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->relative(), want);
  }
}

TEST(ObjectPath, ToString) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Win32_Process.Handle=3168", "Win32_Process.Handle=3168"},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle='1'",
       "\\\\.\\root\\cimv2:Win32_Process.Handle=\"1\""},
      {"//host/root/cimv2:Win32_Process.Handle=\"1\"",
       "\\\\host\\root\\cimv2:Win32_Process.Handle=\"1\""},
      {"\\\\.\\root\\cimv2", "\\\\.\\root\\cimv2"},
      {"//host/root", "\\\\host\\root"},
      {"\\\\host", "\\\\host"},
      {"\\\\host:Win32_Process", "\\\\host:Win32_Process"},
      {"root\\cimv2:Win32_Process", "root\\cimv2:Win32_Process"},
      {"root\\cimv2", "root\\cimv2"},
      {"root:Win32_Process=@", "root:Win32_Process=@"},
      {"winmgmts:", "\\\\.\\root\\cimv2"},
      {"winmgmts:{impersonationLevel=impersonate,(Debug)}!\\\\.\\root\\cimv2:Win32_Process."
       "Handle='0'",
       "\\\\.\\root\\cimv2:Win32_Process.Handle=\"0\""},
      {"winmgmts:Win32_Process", "\\\\.\\root\\cimv2:Win32_Process"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = ObjectPath::parse(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->to_string(), want);
  }
}

TEST(ObjectPath, FormatsConstructedPaths) {
  ObjectPath p;
  p.class_name = "Win32_Process";
  p.keys.push_back({"Handle", Value::uint32(42)});
  EXPECT_EQ(p.relative(), "Win32_Process.Handle=42");
  p.keys[0].value = Value::datetime("20261127062200.123456+000");
  EXPECT_EQ(p.relative(), "Win32_Process.Handle=\"20261127062200.123456+000\"");
  p.keys[0].value = Value::null(CimType::kString);
  EXPECT_EQ(p.relative(), "Win32_Process.Handle=\"\"");
  p.server = "srv";
  p.namespace_path = "root\\cimv2";
  p.keys[0].value = Value::string("1");
  EXPECT_EQ(p.to_string(), "\\\\srv\\root\\cimv2:Win32_Process.Handle=\"1\"");
  p.server.clear();
  EXPECT_EQ(p.to_string(), "root\\cimv2:Win32_Process.Handle=\"1\"");
  p.namespace_path.clear();
  EXPECT_EQ(p.to_string(), "Win32_Process.Handle=\"1\"");
}

TEST(ObjectPath, RoundTrip) {
  const std::vector<std::string> cases = {
      "Win32_Process.Handle=\"3168\"",
      "Win32_Process.Handle='3168'",
      "Win32_Process=\"3168\"",
      "Win32_Process.Handle=3168",
      "Win32_Process.Handle=-9223372036854775808",
      "C.K=18446744073709551615",
      "{Win32_Process='1234'}",
      "Class=@",
      "Class.A=33,B=\"AAA\"",
      "Win32_Process.Handle=\"3168\",CreationDate=\"20261127062200.123456+000\"",
      R"(Win32_Directory.Name="C:\\")",
      R"(C.K='\'\"\\x%41')",
      "C.K=TRUE,L=false",
      "\\\\.\\root\\cimv2:Win32_Process.Handle=\"3168\"",
      "//host/root/cimv2:Win32_Process.Handle=\"3168\"",
      "root\\cimv2:Win32_Process",
      "\\\\.\\root\\cimv2",
      "winmgmts:{impersonationLevel=impersonate,(Debug)}!\\\\.\\root\\cimv2:Win32_Process.Handle="
      "'0'",
  };
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    auto first = ObjectPath::parse(text);
    ASSERT_TRUE(first.ok()) << first.error().message;
    if (!first->is_namespace_path()) {
      std::string rel = first->relative();
      auto again = ObjectPath::parse(rel);
      ASSERT_TRUE(again.ok()) << rel << ": " << again.error().message;
      EXPECT_TRUE(same_path(*first, *again)) << rel;
      EXPECT_EQ(again->relative(), rel);
      ASSERT_EQ(again->keys.size(), first->keys.size());
      for (size_t i = 0; i < first->keys.size(); ++i)
        EXPECT_TRUE(again->keys[i].value == first->keys[i].value) << i;
    }
    std::string full = first->to_string();
    auto full_again = ObjectPath::parse(full);
    ASSERT_TRUE(full_again.ok()) << full << ": " << full_again.error().message;
    EXPECT_TRUE(same_path(*first, *full_again));
    EXPECT_EQ(full_again->server, first->server);
    EXPECT_EQ(full_again->namespace_path, first->namespace_path);
    EXPECT_EQ(full_again->to_string(), full);
  }
}

// ---- same_path --------------------------------------------------------------------------------

TEST(ObjectPath, SamePath) {
  struct Case {
    std::string a, b;
    bool same;
  };
  const std::vector<Case> cases = {
      {"Win32_Process.Handle=\"3168\"", "win32_process.handle='3168'", true},
      {"Win32_Process.Handle=\"3168\"", "Win32_Process.Handle=3168", true},
      {"Win32_Process.Handle=\"3168\"", "Win32_Process=\"3168\"", true},
      {"Win32_Process=3168", "Win32_Process.Handle='3168'", true},
      {"Win32_Process.Handle=\"3168\"", "Win32_Process.Handle=\"3169\"", false},
      {"Win32_Process.Handle=\"3168\"", "Win32_Thread.Handle=\"3168\"", false},
      {"Win32_Process.Handle=\"3168\"", "Win32_Process.Other=\"3168\"", false},
      {"Class.A=33,B=\"AAA\"", "Class.B=\"aaa\",A=33", true},
      {"Class.A=33,B=\"AAA\"", "Class.A=33", false},
      {"Class.A=33,B=\"AAA\"", "Class.A=34,B=\"AAA\"", false},
      {"Class.A=33,B=\"AAA\"", "Class.A=33,C=\"AAA\"", false},
      {"C.K=7", "C.K=007", true},
      {"C.K=-1", "C.K=18446744073709551615", false},
      {"C.K=\"-0\"", "C.K=0", true},
      {"C.K=\"abc\"", "C.K=0", false},
      {"C.K=TRUE", "C.K=true", true},
      {"C.K=TRUE", "C.K=FALSE", false},
      {"Class=@", "class=@", true},
      {"Class=@", "Class", false},
      {"Class", "Class.A=1", false},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle=1", "\\\\.\\ROOT\\CIMV2:Win32_Process.Handle=1",
       true},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle=1", "\\\\.\\root\\default:Win32_Process.Handle=1",
       false},
      {"\\\\.\\root\\cimv2:Win32_Process.Handle=1", "Win32_Process.Handle=1", true},
      {"\\\\a\\root\\cimv2:Win32_Process.Handle=1", "\\\\b\\root\\cimv2:Win32_Process.Handle=1",
       true},  // servers are not compared
      {"\\\\.\\root\\cimv2", "\\\\.\\Root\\CimV2", true},
      {"\\\\.\\root\\cimv2", "\\\\.\\root", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.a + " vs " + c.b);
    auto a = ObjectPath::parse(c.a);
    auto b = ObjectPath::parse(c.b);
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(same_path(*a, *b), c.same);
    EXPECT_EQ(same_path(*b, *a), c.same);
  }
}

// ---- errors -----------------------------------------------------------------------------------

struct Rejected {
  std::string text;
  size_t position;
  std::string message;  // the whole message
};

TEST(ObjectPath, Errors) {
  const std::vector<Rejected> cases = {
      // empty
      {"", 0, "invalid object path at column 1: empty path"},
      // whitespace
      {"Win32_Process.Handle = 1", 20,
       "invalid object path at column 21: unexpected character ' ' (whitespace is not allowed in "
       "object paths)"},
      {" Win32_Process", 0,
       "invalid object path at column 1: unexpected character ' ' (whitespace is not allowed in "
       "object paths)"},
      {"Win32_Process.Handle=1\n", 22,
       "invalid object path at column 23: unexpected character '\\n' (whitespace is not allowed "
       "in object paths)"},
      {"winmgmts:{impersonationLevel = impersonate}", 28,
       "invalid object path at column 29: unexpected character ' ' (whitespace is not allowed in "
       "object paths)"},
      // missing '=' / value
      {"Win32_Process.Handle", 20,
       "invalid object path at column 21: expected '=' after key name 'Handle' but found end of "
       "path"},
      {"Win32_Process.Handle:1", 20,
       "invalid object path at column 21: expected '=' after key name 'Handle' but found ':'"},
      {"Win32_Process.Handle=", 21,
       "invalid object path at column 22: expected a value for key 'Handle' after '=' but found "
       "end of path"},
      {"Class.A=,B=1", 8,
       "invalid object path at column 9: expected a value for key 'A' after '=' but found ','"},
      {"Win32_Process=", 14,
       "invalid object path at column 15: expected a key value or '@' after '=' but found end of "
       "path"},
      // empty names
      {"Win32_Process.", 14,
       "invalid object path at column 15: expected a key name after '.' but found end of path"},
      {"Win32_Process.=1", 14,
       "invalid object path at column 15: expected a key name after '.' but found '='"},
      {"Class.A=1,", 10,
       "invalid object path at column 11: expected a key name after ',' but found end of path"},
      {".Handle=1", 0,
       "invalid object path at column 1: expected a class name, namespace or server path but "
       "found '.'"},
      {"1Class", 0,
       "invalid object path at column 1: expected a class name, namespace or server path but "
       "found '1'"},
      {"\\\\.\\root\\cimv2:", 15,
       "invalid object path at column 16: expected a class name after ':' but found end of path"},
      {"\\\\.\\root\\cimv2:.A=1", 15,
       "invalid object path at column 16: expected a class name after ':' but found '.'"},
      {"Class.1A=1", 6,
       "invalid object path at column 7: expected a key name after '.' but found '1'"},
      // bad characters in names
      {"Win32-Process.Handle=1", 5,
       "invalid object path at column 6: expected '.', '=' or end of path after class name "
       "'Win32' but found '-'"},
      {"Class.A-B=1", 7,
       "invalid object path at column 8: expected '=' after key name 'A' but found '-'"},
      {"Cl\xC3\xA4ss", 2,
       "invalid object path at column 3: expected '.', '=' or end of path after class name 'Cl' "
       "but found byte 0xC3"},
      // trailing characters
      {"Win32_Process.Handle=\"1\"x", 24,
       "invalid object path at column 25: expected ',' or end of path after the value of key "
       "'Handle' but found 'x'"},
      {"Win32_Process.Handle=1}", 22,
       "invalid object path at column 23: expected ',' or end of path after the value of key "
       "'Handle' but found '}'"},
      {"Class=@x", 7,
       "invalid object path at column 8: expected end of path after '@' but found 'x'"},
      {"Class=\"1\"x", 9,
       "invalid object path at column 10: expected end of path after the key value but found 'x'"},
      {"{Win32_Process='1'}x", 19,
       "invalid object path at column 20: expected end of path after '}' but found 'x'"},
      // unterminated quotes
      {"Win32_Process.Handle=\"3168", 26,
       "invalid object path at column 27: unterminated quoted value starting at column 22 "
       "(expected a closing '\"')"},
      {"Win32_Process.Handle='3168\\'", 28,
       "invalid object path at column 29: unterminated quoted value starting at column 22 "
       "(expected a closing \"'\")"},
      {"Win32_Process.Handle=\"a'", 24,
       "invalid object path at column 25: unterminated quoted value starting at column 22 "
       "(expected a closing '\"')"},
      // duplicate keys
      {"Win32_Process.Handle=1,handle=2", 23,
       "invalid object path at column 24: duplicate key 'handle'"},
      {"Class.A=1,B=2,A=3", 14, "invalid object path at column 15: duplicate key 'A'"},
      // unnamed key mixed with named keys
      {"Class=\"1\",B=2", 9,
       "invalid object path at column 10: an unnamed key (Class=value) cannot be combined with "
       "other keys; name every key (Class.Key=value,...)"},
      // singleton misuse
      {"Class.A=@", 8,
       "invalid object path at column 9: '@' is only allowed for a singleton (Class=@), not as "
       "the value of key 'A'"},
      // bare values
      {"Win32_Process.Handle=abc", 21,
       "invalid object path at column 22: unquoted value 'abc': string values must be quoted "
       "(\"...\" or '...'); bare values may only be decimal integers, TRUE or FALSE"},
      {"C.K=12a", 6,
       "invalid object path at column 7: unexpected character 'a' in integer value (integers are "
       "decimal digits only; quote string values)"},
      {"C.K=0x1F", 4,
       "invalid object path at column 5: hexadecimal integers are not allowed in object paths "
       "(use decimal)"},
      {"C.K=1.5", 5,
       "invalid object path at column 6: unexpected character '.' in integer value (real numbers "
       "are not allowed as key values)"},
      {"C.K=-", 5,
       "invalid object path at column 6: expected a digit after '-' but found end of path"},
      {"C.K=+1", 4,
       "invalid object path at column 5: expected a value for key 'K' after '=' but found '+'"},
      {"C.K=18446744073709551616", 4,
       "invalid object path at column 5: integer value '18446744073709551616' is out of range "
       "(-9223372036854775808 to 18446744073709551615)"},
      {"C.K=-9223372036854775809", 4,
       "invalid object path at column 5: integer value '-9223372036854775809' is out of range "
       "(-9223372036854775808 to 18446744073709551615)"},
      // names too long
      {"C" + std::string(255, 'x'), 0,
       "invalid object path at column 1: class name is longer than 255 characters (256)"},
      {"C.K" + std::string(255, 'x') + "=1", 2,
       "invalid object path at column 3: key name is longer than 255 characters (256)"},
      {"\\\\.\\" + std::string(256, 'n'), 4,
       "invalid object path at column 5: namespace name is longer than 255 characters (256)"},
      {"\\\\" + std::string(256, 's'), 2,
       "invalid object path at column 3: server name is longer than 255 characters (256)"},
      // namespaces and servers
      {"\\root\\cimv2:C", 1,
       "invalid object path at column 2: expected '\\' after '\\' (a server path starts with "
       "\\\\server) but found 'r'"},
      {"\\\\\\root", 2,
       "invalid object path at column 3: expected a server name after '\\\\' but found '\\'"},
      {"\\\\.\\", 4,
       "invalid object path at column 5: expected a namespace name after '\\' but found end of "
       "path"},
      {"\\\\.\\root\\\\cimv2", 9,
       "invalid object path at column 10: expected a namespace name after '\\' but found '\\'"},
      {"\\\\.\\root\\cimv2/x", 14,
       "invalid object path at column 15: expected '\\', ':' or end of path after namespace name "
       "'cimv2' but found '/'"},
      {"//./root\\cimv2", 8,
       "invalid object path at column 9: expected '/', ':' or end of path after namespace name "
       "'root' but found '\\'"},
      {"\\\\a b", 3,
       "invalid object path at column 4: unexpected character ' ' (whitespace is not allowed in "
       "object paths)"},
      {"\\\\a*b", 3,
       "invalid object path at column 4: expected '\\', ':' or end of path after server name 'a' "
       "but found '*'"},
      {"root\\cimv2:", 11,
       "invalid object path at column 12: expected a class name after ':' but found end of path"},
      {"root\\1x", 5,
       "invalid object path at column 6: expected a namespace name after '\\' but found '1'"},
      // braces
      {"{}", 1,
       "invalid object path at column 2: expected a class name, namespace or server path but "
       "found '}'"},
      {"{Win32_Process='1'", 18,
       "invalid object path at column 19: expected '}' to close the '{' at column 1 but found "
       "end of path"},
      {"{Win32_Process.Handle=1,x}", 25,
       "invalid object path at column 26: expected '=' after key name 'x' but found '}'"},
      {"{Class=@", 8,
       "invalid object path at column 9: expected '}' to close the '{' at column 1 but found end "
       "of path"},
      // moniker
      {"winmgmts:{impersonationLevel=impersonate", 40,
       "invalid object path at column 41: unterminated security settings starting at column 10 "
       "(expected '}')"},
      {"winmgmts:{(Debug}!Win32_Process", 16,
       "invalid object path at column 17: expected ')' to close the privilege list but found '}'"},
      {"winmgmts:{Debug)}", 15,
       "invalid object path at column 16: unmatched ')' in the security settings"},
      {"winmgmts:{a{b}}", 11,
       "invalid object path at column 12: unexpected '{' inside the security settings"},
      {"winmgmts:{impersonationLevel=impersonate}Win32_Process", 41,
       "invalid object path at column 42: expected '!' after the security settings but found "
       "'W'"},
      {"winmgmts:{impersonationLevel=impersonate}!", 42,
       "invalid object path at column 43: expected an object path after '!' but found end of "
       "path"},
      {"winmgmts:winmgmts:Win32_Process", 9,
       "invalid object path at column 10: the moniker prefix 'winmgmts:' is only allowed at the "
       "start of the path"},
      {"{winmgmts:Win32_Process}", 1,
       "invalid object path at column 2: the moniker prefix 'winmgmts:' is only allowed at the "
       "start of the path"},
  };
  for (const Rejected& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ObjectPath::parse(c.text);
    ASSERT_FALSE(r.ok()) << "parsed as " << r->to_string();
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidObjectPath);
    EXPECT_EQ(r.error().message, c.message);
    ASSERT_TRUE(r.error().position.has_value());
    EXPECT_EQ(*r.error().position, c.position);
  }
}

TEST(ObjectPath, ErrorToString) {
  auto r = ObjectPath::parse("Win32_Process.Handle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "WBEM_E_INVALID_OBJECT_PATH (0x8004103A): invalid object path at column 21: expected "
            "'=' after key name 'Handle' but found end of path");
}

}  // namespace
}  // namespace lwmi
