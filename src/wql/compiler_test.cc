#include "wql/compiler.h"

#include <gtest/gtest.h>

#include <map>

#include "cim/schema.h"
#include "wql/parser.h"

namespace lwmi::wql {

class CompilerTest : public ::testing::Test {
 protected:
  std::shared_ptr<const ClassDecl> proc_ = cim::Schema::builtin().find("Win32_Process");

  Result<CompiledQuery> compile_text(const std::string& text,
                                     std::shared_ptr<const ClassDecl> queried = nullptr) {
    auto q = parse(text);
    if (!q.ok()) return q.take_error();
    if (!queried) queried = cim::Schema::builtin().find(q->select.class_name);
    return compile(*q, queried ? queried : proc_, proc_);
  }

  // A row given as name -> value; absent properties are NULL.
  bool row_matches(const std::string& text, const std::map<std::string, Value>& row) {
    auto q = compile_text(text);
    EXPECT_TRUE(q.ok()) << text << ": " << (q.ok() ? "" : q.error().to_string());
    if (!q.ok()) return false;
    return matches(*q, [&](size_t i) {
      if (i == kClassProperty) return Value::string("Win32_Process");
      auto it = row.find(proc_->properties[i].name);
      return it == row.end() ? Value::null(proc_->properties[i].type) : it->second;
    });
  }
  std::map<std::string, Value> sleep_row() {
    return {{"Name", Value::string("sleep")},
            {"ProcessId", Value::uint32(1234)},
            {"Handle", Value::string("1234")},
            {"WorkingSetSize", Value::uint64(3ull << 30)},
            {"CommandLine", Value::string("sleep 1000")},
            {"ParentProcessId", Value::uint32(1)},
            {"CreationDate", Value::datetime("20261127120000.000000+060")}};
  }
};

TEST_F(CompilerTest, SeedQueryAndComparisons) {
  auto r = sleep_row();
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE Name = 'SLEEP'", r));
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE Name = 'Diagnose.exe'", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE WorkingSetSize > 2147483648", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE 2147483648 < WorkingSetSize", r));
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE WorkingSetSize <= 2147483648", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE ProcessId = '1234'", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE ProcessId > -1", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE ProcessId < 1234.5", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE Handle = 1234", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE CommandLine LIKE '%1000'", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE Name NOT LIKE 'x%'", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE NOT Name LIKE 'x%'", r));
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE __CLASS = 'win32_process'", r));
  EXPECT_TRUE(row_matches(
      "SELECT * FROM Win32_Process WHERE (Name = 'a' OR Name = 'sleep') AND ParentProcessId = 1",
      r));
}

TEST_F(CompilerTest, ThreeValuedNullLogic) {
  auto r = sleep_row();  // ExecutablePath is NULL
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath = 'x'", r));
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath <> 'x'", r));
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE NOT ExecutablePath = 'x'", r))
      << "NOT unknown is unknown";
  EXPECT_TRUE(row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath IS NULL", r));
  EXPECT_FALSE(row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath IS NOT NULL", r));
  EXPECT_TRUE(
      row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath = 'x' OR Name = 'sleep'", r));
  EXPECT_FALSE(
      row_matches("SELECT * FROM Win32_Process WHERE ExecutablePath = 'x' AND Name = 'sleep'", r));
}

TEST_F(CompilerTest, DatetimeComparedInUtc) {
  auto r = sleep_row();  // 12:00 at +060 = 11:00 UTC
  EXPECT_TRUE(row_matches(
      "SELECT * FROM Win32_Process WHERE CreationDate = '20261127110000.000000+000'", r));
  EXPECT_TRUE(row_matches(
      "SELECT * FROM Win32_Process WHERE CreationDate > '20261127105959.000000+000'", r));
  EXPECT_FALSE(row_matches(
      "SELECT * FROM Win32_Process WHERE CreationDate < '20261127110000.000000+000'", r));
}

TEST_F(CompilerTest, PushdownHints) {
  auto q = compile_text("SELECT Name, ProcessId FROM Win32_Process WHERE Handle = '42'");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->only_pid, 42u);
  EXPECT_FALSE(q->select_all);
  EXPECT_EQ(q->select, (std::vector<std::string>{"Name", "ProcessId"}));
  q = compile_text("SELECT * FROM Win32_Process WHERE Name = 'x' AND ProcessId = 7");
  EXPECT_EQ(q->only_pid, 7u);
  q = compile_text("SELECT * FROM Win32_Process WHERE Name = 'x' OR ProcessId = 7");
  EXPECT_FALSE(q->only_pid.has_value()) << "an OR does not pin";
  q = compile_text("SELECT * FROM Win32_Process WHERE ProcessId = 7 AND Handle = '8'");
  EXPECT_EQ(q->only_pid, 0u) << "contradictory pins match nothing";
  q = compile_text("SELECT * FROM Win32_Process WHERE Handle = 'abc'");
  EXPECT_EQ(q->only_pid, 0u);
}

TEST_F(CompilerTest, Errors) {
  struct Case {
    std::string query;
    WbemStatus code;
    std::string message;
  } cases[] = {
      {"SELECT Nmae FROM Win32_Process", WbemStatus::kInvalidQuery,
       "invalid query at column 8: class Win32_Process has no property 'Nmae'"},
      {"SELECT * FROM Win32_Process WHERE Nmae = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 35: class Win32_Process has no property 'Nmae'"},
      {"SELECT * FROM CIM_Process WHERE ExecutablePath = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 33: class CIM_Process has no property 'ExecutablePath'"},
      {"SELECT * FROM Win32_Process WHERE ProcessId = 'abc'", WbemStatus::kInvalidQuery,
       "invalid query at column 47: 'abc' is not a valid uint32 for ProcessId"},
      {"SELECT * FROM Win32_Process WHERE ProcessId LIKE '1%'", WbemStatus::kInvalidOperator,
       "invalid query at column 35: LIKE needs a string property; 'ProcessId' is a uint32"},
      {"SELECT * FROM Win32_Process WHERE Name = NULL", WbemStatus::kInvalidQuery,
       "invalid query at column 42: '= NULL' is never true: use IS NULL or IS NOT NULL"},
      {"SELECT * FROM Win32_Process WHERE CreationDate > '2026*'", WbemStatus::kInvalidQuery,
       "invalid query at column 50: '2026*' is not a valid datetime for CreationDate: use "
       "yyyymmddHHMMSS.mmmmmm+UUU or yyyy-mm-dd[ HH:MM:SS]"},
      {"SELECT Name.Length FROM Win32_Process", WbemStatus::kPropertyNotAnObject,
       "invalid query at column 8: 'Name' is not an embedded object: 'Name.Length' names nothing"},
      {"SELECT * FROM Win32_Process WHERE Name ISA 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 35: ISA tests the class of an embedded object; 'Name' is a string"},
      {"SELECT * FROM Win32_Process WHERE __PATH = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 35: system property '__PATH' cannot be tested in WHERE (only "
       "__CLASS)"},
      {"SELECT * FROM Win32_Process WITHIN 5", WbemStatus::kInvalidQuery,
       "invalid query at column 29: WITHIN and GROUP belong to event queries (use watch / "
       "ExecNotificationQuery)"},
  };
  for (const auto& c : cases) {
    auto r = compile_text(c.query);
    ASSERT_FALSE(r.ok()) << c.query;
    EXPECT_EQ(r.error().code, c.code) << c.query;
    EXPECT_EQ(r.error().message, c.message) << c.query;
  }
}

TEST_F(CompilerTest, BooleanOperatorsAreLimited) {
  auto schema = cim::Schema::load(
      {R"({"classes":[{"name":"T","properties":[{"name":"Flag","type":"boolean"}]}]})"});
  ASSERT_TRUE(schema.ok());
  auto t = schema->find("T");
  auto q = parse("SELECT * FROM T WHERE Flag < TRUE");
  ASSERT_TRUE(q.ok());
  auto r = compile(*q, t, t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidOperator);
  EXPECT_EQ(r.error().message,
            "invalid query at column 23: operator < is not valid for the boolean 'Flag' (use = or "
            "<>)");
  q = parse("SELECT * FROM T WHERE Flag = TRUE");
  auto ok = compile(*q, t, t);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(matches(*ok, [](size_t) { return Value::boolean(true); }));
  EXPECT_FALSE(matches(*ok, [](size_t) { return Value::boolean(false); }));
}

}  // namespace lwmi::wql
