// Tests for the WQL lexer and parser: accepted forms (checked through a compact dump of the
// tree), literal values, event and association queries, limits, and a golden table of errors
// that compares the whole message, the code and the position.
#include "wql/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lwmi::wql {
namespace {

std::string dump_op(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "<>";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string dump_literal(const Literal& l) {
  switch (l.kind) {
    case Literal::Kind::kString:
      return "'" + l.text + "'";
    case Literal::Kind::kInteger:
      return l.is_unsigned ? "u" + std::to_string(l.uinteger) : std::to_string(l.integer);
    case Literal::Kind::kReal:
      return "r" + l.text;
    case Literal::Kind::kBoolean:
      return l.boolean ? "TRUE" : "FALSE";
    case Literal::Kind::kNull:
      return "NULL";
  }
  return "?";
}

/// (AND l r) (OR l r) (NOT x) (= prop lit) (LIKE prop 'p') (NOT LIKE …) (IS [NOT] NULL prop)
/// (ISA prop 'C').
std::string dump(const Expr* e) {
  if (e == nullptr) return "null";
  switch (e->kind) {
    case Expr::Kind::kAnd:
      return "(AND " + dump(e->left.get()) + " " + dump(e->right.get()) + ")";
    case Expr::Kind::kOr:
      return "(OR " + dump(e->left.get()) + " " + dump(e->right.get()) + ")";
    case Expr::Kind::kNot:
      return "(NOT " + dump(e->left.get()) + ")";
    case Expr::Kind::kCompare:
      return "(" + dump_op(e->op) + " " + e->prop.text() + " " + dump_literal(e->literal) + ")";
    case Expr::Kind::kLike:
      return std::string(e->negated ? "(NOT LIKE " : "(LIKE ") + e->prop.text() + " " +
             dump_literal(e->literal) + ")";
    case Expr::Kind::kIsNull:
      return std::string(e->negated ? "(IS NOT NULL " : "(IS NULL ") + e->prop.text() + ")";
    case Expr::Kind::kIsa:
      return "(ISA " + e->prop.text() + " " + dump_literal(e->literal) + ")";
  }
  return "?";
}

std::string dump_select(const SelectQuery& q) {
  if (q.select_all) return "*";
  std::string out;
  for (const auto& p : q.properties) out += (out.empty() ? "" : ",") + p.text();
  return out;
}

Query parse_ok(std::string_view text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << text << "\n  -> " << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return Query{};
  return std::move(r).value();
}

struct Accepted {
  std::string query;
  std::string class_name;
  std::string select;
  std::string where;
};

TEST(ParserTest, AcceptedForms) {
  const std::string P = "SELECT * FROM Win32_Process WHERE ";
  const std::vector<Accepted> cases = {
      // The seed query and both quote styles.
      {"SELECT * FROM Win32_Process WHERE Name = 'Diagnose.exe'", "Win32_Process", "*",
       "(= Name 'Diagnose.exe')"},
      {"SELECT * FROM Win32_Process WHERE Name = \"notepad.exe\"", "Win32_Process", "*",
       "(= Name 'notepad.exe')"},
      {"SELECT * FROM Win32_Process", "Win32_Process", "*", "null"},
      // Keywords, class and property names in any case; case of names is preserved.
      {"select * from win32_process where name = 'x'", "win32_process", "*", "(= name 'x')"},
      {"SeLeCt Name, ProcessId FrOm Win32_Process WhErE ProcessId > 4", "Win32_Process",
       "Name,ProcessId", "(> ProcessId 4)"},
      // Whitespace is optional between tokens and may be any blank.
      {"SELECT*FROM Win32_Process WHERE ProcessId>=4", "Win32_Process", "*", "(>= ProcessId 4)"},
      {"\tSELECT\n*\r\nFROM  Win32_Process\fWHERE\vProcessId<>4 ", "Win32_Process", "*",
       "(<> ProcessId 4)"},
      // Every operator.
      {P + "ProcessId = 4", "Win32_Process", "*", "(= ProcessId 4)"},
      {P + "ProcessId <> 4", "Win32_Process", "*", "(<> ProcessId 4)"},
      {P + "ProcessId != 4", "Win32_Process", "*", "(<> ProcessId 4)"},
      {P + "ProcessId < 4", "Win32_Process", "*", "(< ProcessId 4)"},
      {P + "ProcessId > 4", "Win32_Process", "*", "(> ProcessId 4)"},
      {P + "ProcessId <= 4", "Win32_Process", "*", "(<= ProcessId 4)"},
      {P + "ProcessId >= 4", "Win32_Process", "*", "(>= ProcessId 4)"},
      // Constant on the left: normalised to property op' constant.
      {P + "5 < ProcessId", "Win32_Process", "*", "(> ProcessId 5)"},
      {P + "5 > ProcessId", "Win32_Process", "*", "(< ProcessId 5)"},
      {P + "5 <= ProcessId", "Win32_Process", "*", "(>= ProcessId 5)"},
      {P + "5 >= ProcessId", "Win32_Process", "*", "(<= ProcessId 5)"},
      {P + "5 = ProcessId", "Win32_Process", "*", "(= ProcessId 5)"},
      {P + "5 != ProcessId", "Win32_Process", "*", "(<> ProcessId 5)"},
      {P + "'x' = TargetInstance.Name", "Win32_Process", "*", "(= TargetInstance.Name 'x')"},
      {P + "NULL = Name", "Win32_Process", "*", "(= Name NULL)"},
      // Precedence: OR looser than AND, left-associative, parentheses, NOT.
      {P + "a = 1 OR b = 2 AND c = 3", "Win32_Process", "*", "(OR (= a 1) (AND (= b 2) (= c 3)))"},
      {P + "(a = 1 OR b = 2) AND c = 3", "Win32_Process", "*",
       "(AND (OR (= a 1) (= b 2)) (= c 3))"},
      {P + "a = 1 AND b = 2 AND c = 3", "Win32_Process", "*",
       "(AND (AND (= a 1) (= b 2)) (= c 3))"},
      {P + "a = 1 OR b = 2 OR c = 3", "Win32_Process", "*", "(OR (OR (= a 1) (= b 2)) (= c 3))"},
      {P + "NOT a = 1 AND b = 2", "Win32_Process", "*", "(AND (NOT (= a 1)) (= b 2))"},
      {P + "NOT (a = 1 OR b = 2)", "Win32_Process", "*", "(NOT (OR (= a 1) (= b 2)))"},
      {P + "NOT NOT a = 1", "Win32_Process", "*", "(NOT (NOT (= a 1)))"},
      {P + "((((a = 1))))", "Win32_Process", "*", "(= a 1)"},
      // LIKE, with brackets, and both negations.
      {P + "Name LIKE '%[_][_]%'", "Win32_Process", "*", "(LIKE Name '%[_][_]%')"},
      {P + "Name LIKE \"[a-f]%\"", "Win32_Process", "*", "(LIKE Name '[a-f]%')"},
      {P + "Name LIKE '[^abc]_[%][[]'", "Win32_Process", "*", "(LIKE Name '[^abc]_[%][[]')"},
      {P + "NOT Name LIKE 'note%'", "Win32_Process", "*", "(NOT (LIKE Name 'note%'))"},
      {P + "Name NOT LIKE 'note%'", "Win32_Process", "*", "(NOT LIKE Name 'note%')"},
      {P + "Name like 'a%' and not name like '%b'", "Win32_Process", "*",
       "(AND (LIKE Name 'a%') (NOT (LIKE name '%b')))"},
      // IS [NOT] NULL, ISNOT, = NULL.
      {P + "Description IS NULL", "Win32_Process", "*", "(IS NULL Description)"},
      {P + "Description IS NOT NULL", "Win32_Process", "*", "(IS NOT NULL Description)"},
      {P + "Description ISNOT NULL", "Win32_Process", "*", "(IS NOT NULL Description)"},
      {P + "Description is not null", "Win32_Process", "*", "(IS NOT NULL Description)"},
      {P + "Name = NULL", "Win32_Process", "*", "(= Name NULL)"},
      // Constants.
      {P + "Flag = TRUE", "Win32_Process", "*", "(= Flag TRUE)"},
      {P + "Flag <> false", "Win32_Process", "*", "(<> Flag FALSE)"},
      {P + "Priority = -5", "Win32_Process", "*", "(= Priority -5)"},
      {P + "Priority>-5", "Win32_Process", "*", "(> Priority -5)"},
      {P + "x = 1.5", "Win32_Process", "*", "(= x r1.5)"},
      {P + "x = 2.5e3", "Win32_Process", "*", "(= x r2.5e3)"},
      {P + "x = -1.0E-2", "Win32_Process", "*", "(= x r-1.0E-2)"},
      {P + "x = 1e3", "Win32_Process", "*", "(= x r1e3)"},
      {P + "ProcessId = '1234'", "Win32_Process", "*", "(= ProcessId '1234')"},
      {P + "x = 18446744073709551615", "Win32_Process", "*", "(= x u18446744073709551615)"},
      // String escapes.
      {P + "Name = 'Tim O\\'Brian'", "Win32_Process", "*", "(= Name 'Tim O'Brian')"},
      {P + "Caption = 'Fabrikam\\\\TimO'", "Win32_Process", "*", "(= Caption 'Fabrikam\\TimO')"},
      {P + "Name = \"say \\\"hi\\\"\"", "Win32_Process", "*", "(= Name 'say \"hi\"')"},
      {P + "Name = \"it's\"", "Win32_Process", "*", "(= Name 'it's')"},
      {P + "Name = ''", "Win32_Process", "*", "(= Name '')"},
      {P + "CommandLine LIKE '%\n%'", "Win32_Process", "*", "(LIKE CommandLine '%\n%')"},
      // System and embedded properties.
      {P + "__CLASS = 'Win32_Process'", "Win32_Process", "*", "(= __CLASS 'Win32_Process')"},
      {P + "TargetInstance . Name = 'x'", "Win32_Process", "*", "(= TargetInstance.Name 'x')"},
      {"SELECT TargetInstance.Name, TargetInstance.ProcessId FROM __InstanceCreationEvent",
       "__InstanceCreationEvent", "TargetInstance.Name,TargetInstance.ProcessId", "null"},
      // Event queries.
      {"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'",
       "__InstanceCreationEvent", "*", "(ISA TargetInstance 'Win32_Process')"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' "
       "AND TargetInstance.Name = 'notepad.exe'",
       "__InstanceCreationEvent", "*",
       "(AND (ISA TargetInstance 'Win32_Process') (= TargetInstance.Name 'notepad.exe'))"},
      {"select * from __instancedeletionevent within 0.5 where targetinstance isa "
       "\"win32_process\"",
       "__instancedeletionevent", "*", "(ISA targetinstance 'win32_process')"},
      {"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'Win32_Process' "
       "WITHIN 5",
       "__InstanceModificationEvent", "*", "(ISA TargetInstance 'Win32_Process')"},
      {"SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'bash'",
       "Win32_ProcessStartTrace", "*", "(= ProcessName 'bash')"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    Query q = parse_ok(c.query);
    EXPECT_EQ(q.kind, Query::Kind::kSelect);
    EXPECT_EQ(q.select.class_name, c.class_name);
    EXPECT_EQ(dump_select(q.select), c.select);
    EXPECT_EQ(dump(q.select.where.get()), c.where);
  }
}

TEST(ParserTest, SeedQueryShapeAndLocations) {
  const std::string text = "SELECT * FROM Win32_Process WHERE Name = 'Diagnose.exe'";
  Query q = parse_ok(text);
  EXPECT_EQ(q.kind, Query::Kind::kSelect);
  EXPECT_EQ(q.loc.offset, 0u);
  EXPECT_EQ(q.loc.length, text.size());
  const SelectQuery& s = q.select;
  EXPECT_TRUE(s.select_all);
  EXPECT_TRUE(s.properties.empty());
  EXPECT_EQ(s.class_name, "Win32_Process");
  EXPECT_EQ(s.class_loc.offset, 14u);
  EXPECT_EQ(s.class_loc.length, 13u);
  EXPECT_FALSE(s.within.has_value());
  EXPECT_FALSE(s.group_within.has_value());
  EXPECT_FALSE(s.having_op.has_value());
  ASSERT_NE(s.where, nullptr);
  const Expr& e = *s.where;
  EXPECT_EQ(e.kind, Expr::Kind::kCompare);
  EXPECT_EQ(e.op, CompareOp::kEq);
  EXPECT_FALSE(e.negated);
  EXPECT_EQ(e.prop.path, std::vector<std::string>{"Name"});
  EXPECT_EQ(e.prop.loc.offset, 34u);
  EXPECT_EQ(e.prop.loc.length, 4u);
  EXPECT_EQ(e.literal.kind, Literal::Kind::kString);
  EXPECT_EQ(e.literal.text, "Diagnose.exe");
  EXPECT_EQ(e.literal.loc.offset, 41u);
  EXPECT_EQ(e.literal.loc.length, 14u);
  EXPECT_EQ(e.loc.offset, 34u);
  EXPECT_EQ(e.loc.length, text.size() - 34);
}

TEST(ParserTest, OperatorLocations) {
  const std::string text = "SELECT * FROM A WHERE NOT a = 1 AND (b = 2 OR c.d IS NULL)";
  Query q = parse_ok(text);
  const Expr* e = q.select.where.get();
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->kind, Expr::Kind::kAnd);
  EXPECT_EQ(e->loc.offset, text.find("AND"));
  EXPECT_EQ(e->loc.length, 3u);
  EXPECT_EQ(e->left->kind, Expr::Kind::kNot);
  EXPECT_EQ(e->left->loc.offset, text.find("NOT"));
  EXPECT_EQ(e->left->right, nullptr);
  const Expr* is_null = e->right->right.get();
  EXPECT_EQ(is_null->kind, Expr::Kind::kIsNull);
  EXPECT_EQ(is_null->prop.path, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(is_null->prop.loc.offset, text.find("c.d"));
  EXPECT_EQ(is_null->prop.loc.length, 3u);
  EXPECT_EQ(is_null->loc.offset, text.find("c.d"));
  EXPECT_EQ(is_null->loc.length, std::string("c.d IS NULL").size());
}

TEST(ParserTest, MirroredComparisonKeepsTheLiteral) {
  Query q = parse_ok("SELECT * FROM Win32_Process WHERE 5 < ProcessId");
  const Expr& e = *q.select.where;
  EXPECT_EQ(e.kind, Expr::Kind::kCompare);
  EXPECT_EQ(e.op, CompareOp::kGt);
  EXPECT_EQ(e.prop.text(), "ProcessId");
  EXPECT_EQ(e.literal.kind, Literal::Kind::kInteger);
  EXPECT_EQ(e.literal.integer, 5);
  EXPECT_EQ(e.literal.loc.offset, 34u);
  EXPECT_EQ(e.loc.offset, 34u);
  EXPECT_EQ(e.loc.length, 13u);
}

const Literal& literal_of(const Query& q) {
  return q.select.where->literal;
}

TEST(ParserTest, IntegerLiterals) {
  const std::string P = "SELECT * FROM A WHERE x = ";
  {
    Query q = parse_ok(P + "9223372036854775807");
    const Literal& l = literal_of(q);
    EXPECT_EQ(l.kind, Literal::Kind::kInteger);
    EXPECT_FALSE(l.is_unsigned);
    EXPECT_EQ(l.integer, INT64_MAX);
    EXPECT_EQ(l.text, "9223372036854775807");
  }
  {
    Query q = parse_ok(P + "9223372036854775808");
    const Literal& l = literal_of(q);
    EXPECT_TRUE(l.is_unsigned);
    EXPECT_EQ(l.uinteger, 9223372036854775808ull);
  }
  {
    Query q = parse_ok(P + "18446744073709551615");
    EXPECT_TRUE(literal_of(q).is_unsigned);
    EXPECT_EQ(literal_of(q).uinteger, UINT64_MAX);
  }
  {
    Query q = parse_ok(P + "-9223372036854775808");
    EXPECT_FALSE(literal_of(q).is_unsigned);
    EXPECT_EQ(literal_of(q).integer, INT64_MIN);
    EXPECT_EQ(literal_of(q).text, "-9223372036854775808");
  }
  {
    Query q = parse_ok(P + "-0");
    EXPECT_EQ(literal_of(q).integer, 0);
  }
  {
    Query q = parse_ok(P + "007");
    EXPECT_EQ(literal_of(q).integer, 7);
    EXPECT_EQ(literal_of(q).text, "007");
  }
}

TEST(ParserTest, RealBooleanNullLiterals) {
  const std::string P = "SELECT * FROM A WHERE x = ";
  {
    Query q = parse_ok(P + "1.25");
    EXPECT_EQ(literal_of(q).kind, Literal::Kind::kReal);
    EXPECT_DOUBLE_EQ(literal_of(q).real, 1.25);
  }
  {
    Query q = parse_ok(P + "-2.5E+2");
    EXPECT_DOUBLE_EQ(literal_of(q).real, -250.0);
  }
  {
    Query q = parse_ok(P + "True");
    EXPECT_EQ(literal_of(q).kind, Literal::Kind::kBoolean);
    EXPECT_TRUE(literal_of(q).boolean);
    EXPECT_EQ(literal_of(q).text, "True");
  }
  {
    Query q = parse_ok(P + "FALSE");
    EXPECT_EQ(literal_of(q).kind, Literal::Kind::kBoolean);
    EXPECT_FALSE(literal_of(q).boolean);
  }
  {
    Query q = parse_ok(P + "null");
    EXPECT_EQ(literal_of(q).kind, Literal::Kind::kNull);
  }
}

TEST(ParserTest, EventQueryClauses) {
  const std::string text =
      "SELECT * FROM __InstanceCreationEvent WITHIN 2.5 WHERE TargetInstance ISA "
      "'Win32_Process' GROUP WITHIN 600 BY TargetInstance.Name, TargetInstance.SessionId "
      "HAVING NumberOfEvents >= 10";
  Query q = parse_ok(text);
  const SelectQuery& s = q.select;
  ASSERT_TRUE(s.within.has_value());
  EXPECT_DOUBLE_EQ(*s.within, 2.5);
  EXPECT_EQ(s.within_loc.offset, text.find("WITHIN 2.5"));
  EXPECT_EQ(s.within_loc.length, 10u);
  ASSERT_TRUE(s.group_within.has_value());
  EXPECT_DOUBLE_EQ(*s.group_within, 600);
  ASSERT_EQ(s.group_by.size(), 2u);
  EXPECT_EQ(s.group_by[0].text(), "TargetInstance.Name");
  EXPECT_EQ(s.group_by[1].text(), "TargetInstance.SessionId");
  ASSERT_TRUE(s.having_op.has_value());
  EXPECT_EQ(*s.having_op, CompareOp::kGe);
  EXPECT_EQ(s.having_value, 10u);
  EXPECT_EQ(s.group_loc.offset, text.find("GROUP"));
  EXPECT_EQ(s.group_loc.offset + s.group_loc.length, text.size());
  EXPECT_EQ(dump(s.where.get()), "(ISA TargetInstance 'Win32_Process')");
}

TEST(ParserTest, GroupWithoutByOrHaving) {
  Query q = parse_ok("select * from __InstanceDeletionEvent within 1 group within 10");
  EXPECT_DOUBLE_EQ(*q.select.within, 1);
  EXPECT_DOUBLE_EQ(*q.select.group_within, 10);
  EXPECT_TRUE(q.select.group_by.empty());
  EXPECT_FALSE(q.select.having_op.has_value());
  EXPECT_EQ(q.select.where, nullptr);

  Query h = parse_ok("SELECT * FROM E GROUP WITHIN 10 HAVING numberofevents > 4294967295");
  EXPECT_EQ(*h.select.having_op, CompareOp::kGt);
  EXPECT_EQ(h.select.having_value, 4294967295u);
}

TEST(ParserTest, AssociationQueries) {
  {
    Query q = parse_ok(
        "Associators of {Win32_Process='1234'} Where Resultclass = Win32_LogonSession "
        "Assocclass = Win32_SessionProcess");
    EXPECT_EQ(q.kind, Query::Kind::kAssociators);
    EXPECT_EQ(q.object_path, "Win32_Process='1234'");
  }
  {
    Query q = parse_ok("REFERENCES OF {Win32_Process.Handle=\"1\"}");
    EXPECT_EQ(q.kind, Query::Kind::kReferences);
    EXPECT_EQ(q.object_path, "Win32_Process.Handle=\"1\"");
  }
  {
    Query q = parse_ok("references of {Win32_Process.Handle='4'} where ClassDefsOnly KeysOnly");
    EXPECT_EQ(q.kind, Query::Kind::kReferences);
  }
  {
    // Braces inside quoted values and nested braces belong to the path.
    Query q = parse_ok(
        "ASSOCIATORS OF {winmgmts:{impersonationLevel=impersonate}!Win32_Process.Handle='}'} "
        "WHERE ResultRole = 'Antecedent'");
    EXPECT_EQ(q.object_path, "winmgmts:{impersonationLevel=impersonate}!Win32_Process.Handle='}'");
  }
}

TEST(ParserTest, LimitsThatAreStillAccepted) {
  // Exactly 1024 AND/OR operators.
  std::string text = "SELECT * FROM A WHERE a=1";
  for (int i = 0; i < 1024; ++i) text += (i % 2 == 0) ? " AND a=1" : " OR a=1";
  EXPECT_TRUE(parse(text).ok());
  // Exactly 128 levels of parentheses, and 128 NOTs.
  EXPECT_TRUE(
      parse("SELECT * FROM A WHERE " + std::string(128, '(') + "a=1" + std::string(128, ')')).ok());
  std::string nots;
  for (int i = 0; i < 128; ++i) nots += "NOT ";
  EXPECT_TRUE(parse("SELECT * FROM A WHERE " + nots + "a=1").ok());
  // 255-character names.
  EXPECT_TRUE(parse("SELECT " + std::string(255, 'p') + " FROM " + std::string(255, 'C')).ok());
  // A query of exactly 64 KiB.
  std::string big = "SELECT * FROM A WHERE a = '";
  big += std::string(kMaxQueryLength - big.size() - 1, 'x') + "'";
  ASSERT_EQ(big.size(), kMaxQueryLength);
  EXPECT_TRUE(parse(big).ok());
}

TEST(ParserTest, CheckLanguage) {
  EXPECT_TRUE(check_language("WQL").ok());
  EXPECT_TRUE(check_language("wql").ok());
  auto r = check_language("SQL");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidQueryType);
  EXPECT_EQ(r.error().message, "query language 'SQL' is not supported: use WQL");
  EXPECT_FALSE(check_language("").ok());
  EXPECT_FALSE(check_language("WQL ").ok());
}

TEST(ParserTest, PropertyRefText) {
  PropertyRef p;
  p.path = {"TargetInstance", "Name"};
  EXPECT_EQ(p.text(), "TargetInstance.Name");
  EXPECT_EQ(PropertyRef{}.text(), "");
}

struct Rejected {
  std::string query;
  WbemStatus code;
  size_t position;
  std::string message;
};

constexpr WbemStatus kInvalid = WbemStatus::kInvalidQuery;
constexpr WbemStatus kQuota = WbemStatus::kQuotaViolation;

std::string and_chain(int operators) {
  std::string text = "SELECT * FROM A WHERE a=1";
  for (int i = 0; i < operators; ++i) text += " AND a=1";
  return text;
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ParserTest, Errors) {
  const std::string P = "SELECT * FROM Win32_Process WHERE ";  // 34 bytes
  const std::vector<Rejected> cases = {
      // Empty, statement start, select list, FROM.
      {"", kInvalid, 0, "invalid query at column 1: empty query"},
      {" \t\n ", kInvalid, 0, "invalid query at column 1: empty query"},
      {"DELETE FROM Win32_Process", kInvalid, 0,
       "invalid query at column 1: expected SELECT, ASSOCIATORS OF or REFERENCES OF but found "
       "'DELETE'"},
      {"SELECT", kInvalid, 6,
       "invalid query at column 7: expected a property name or '*' after SELECT but found end "
       "of query"},
      {"SELECT FROM Win32_Process", kInvalid, 7,
       "invalid query at column 8: expected a property name or '*' after SELECT but found "
       "'FROM'"},
      {"SELECT Name, FROM Win32_Process", kInvalid, 13,
       "invalid query at column 14: expected a property name after ',' but found 'FROM'"},
      {"SELECT TargetInstance. FROM E", kInvalid, 23,
       "invalid query at column 24: expected a property name after '.' but found 'FROM'"},
      {"SELECT * FORM Win32_Process", kInvalid, 9,
       "invalid query at column 10: expected FROM but found 'FORM'"},
      {"SELECT *, Name FROM Win32_Process", kInvalid, 8,
       "invalid query at column 9: expected FROM but found ','"},
      {"SELECT * FROM", kInvalid, 13,
       "invalid query at column 14: expected a class name after FROM but found end of query"},
      {"SELECT * FROM 'Win32_Process'", kInvalid, 14,
       "invalid query at column 15: expected a class name after FROM but found "
       "\"'Win32_Process'\""},
      {"SELECT * FROM Win32_Process xyz", kInvalid, 28,
       "invalid query at column 29: trailing text after the query: 'xyz'"},
      {"SELECT * FROM Win32_Process, Win32_Service", kInvalid, 27,
       "invalid query at column 28: trailing text after the query: ', Win32_Service'"},
      // Strings.
      {P + "Name = 'abc", kInvalid, 45,
       "invalid query at column 46: unterminated string starting at column 42"},
      {P + "Name = 'a\\", kInvalid, 44,
       "invalid query at column 45: unterminated string starting at column 42"},
      {P + "Caption = 'Fabrikam\\TimO'", kInvalid, 53,
       "invalid query at column 54: unknown escape '\\T' in string (only \\\\, \\\" and \\' are "
       "escapes)"},
      {P + "Name = 'a\\\x01'", kInvalid, 43,
       "invalid query at column 44: unknown escape '\\' followed by byte 0x01 in string (only "
       "\\\\, \\\" and \\' are escapes)"},
      // Characters and numbers.
      {P + "Name = 'a' # comment", kInvalid, 45,
       "invalid query at column 46: unexpected character '#'"},
      {P + "Name ! 'a'", kInvalid, 39,
       "invalid query at column 40: unexpected character '!' (not-equal is written '!=' or "
       "'<>')"},
      {"SELECT * FROM A }", kInvalid, 16,
       "invalid query at column 17: unexpected '}' without a matching '{'"},
      {P + "ProcessId = 18446744073709551616", kInvalid, 46,
       "invalid query at column 47: integer '18446744073709551616' is out of range"},
      {P + "ProcessId = -9223372036854775809", kInvalid, 46,
       "invalid query at column 47: integer '-9223372036854775809' is out of range"},
      {P + "x = 1e999", kInvalid, 38, "invalid query at column 39: number '1e999' is out of range"},
      {P + "ProcessId = 5abc", kInvalid, 46, "invalid query at column 47: invalid number '5abc'"},
      {P + "x = 1.", kInvalid, 38, "invalid query at column 39: invalid number '1.'"},
      {P + "x = 1e", kInvalid, 38, "invalid query at column 39: invalid number '1e'"},
      // Conditions.
      {"SELECT * FROM Win32_Process WHERE", kInvalid, 33,
       "invalid query at column 34: expected a condition after WHERE but found end of query"},
      {P + "()", kInvalid, 35,
       "invalid query at column 36: expected a condition after '(' but found ')'"},
      {P + "Name = 'a' OR", kInvalid, 47,
       "invalid query at column 48: expected a condition after OR but found end of query"},
      {P + "Name = 'a' AND NOT", kInvalid, 52,
       "invalid query at column 53: expected a condition after NOT but found end of query"},
      {P + "Name", kInvalid, 38,
       "invalid query at column 39: expected an operator after 'Name' but found end of query"},
      {P + "TargetInstance.Name 'x'", kInvalid, 54,
       "invalid query at column 55: expected an operator after 'TargetInstance.Name' but found "
       "\"'x'\""},
      {P + "Name = AND", kInvalid, 41,
       "invalid query at column 42: expected a constant after '=' but found 'AND'"},
      {P + "Name == 'a'", kInvalid, 40,
       "invalid query at column 41: expected a constant after '=' but found '='"},
      {P + "Name = 'a')", kInvalid, 44, "invalid query at column 45: unexpected ')'"},
      {P + "(Name = 'a'", kInvalid, 45,
       "invalid query at column 46: expected ')' to close the '(' at column 35 but found end of "
       "query"},
      {P + "Name = 'a' Handle = '1'", kInvalid, 45,
       "invalid query at column 46: trailing text after the query: \"Handle = '1'\""},
      {P + "Name = Caption", kInvalid, 41,
       "invalid query at column 42: property names cannot appear on both sides of '='"},
      {P + "Name <> Caption", kInvalid, 42,
       "invalid query at column 43: property names cannot appear on both sides of '<>'"},
      {P + "5 = 5", kInvalid, 38,
       "invalid query at column 39: expected a property name after '=' but found '5' (one side "
       "of a comparison must be a property)"},
      {P + "5 LIKE Name", kInvalid, 36,
       "invalid query at column 37: expected a comparison operator after '5' but found 'LIKE'"},
      {P + "'a' = (Name)", kInvalid, 40,
       "invalid query at column 41: expected a property name after '=' but found '('"},
      {"SELECT * FROM Win32_DiskDrive WHERE Partitions < (4 + 7 - 2)", kInvalid, 49,
       "invalid query at column 50: expected a constant after '<' but found '(' (WQL has no "
       "arithmetic)"},
      {P + "ProcessId = 4 + 7", kInvalid, 48,
       "invalid query at column 49: unexpected character '+' (WQL has no arithmetic)"},
      {P + "ProcessId = 4 * 2", kInvalid, 48,
       "invalid query at column 49: unexpected '*' after a constant (WQL has no arithmetic)"},
      {P + "ProcessId = 4 -2", kInvalid, 48,
       "invalid query at column 49: unexpected '-2' after a constant (WQL has no arithmetic)"},
      {P + "ProcessId = 4 - 2", kInvalid, 48,
       "invalid query at column 49: unexpected character '-' (WQL has no arithmetic)"},
      // LIKE, IS, ISA.
      {P + "Name LIKE 5", kInvalid, 44,
       "invalid query at column 45: expected a string pattern after LIKE but found '5'"},
      {P + "Name NOT = 'a'", kInvalid, 43,
       "invalid query at column 44: expected LIKE after NOT but found '='"},
      {"SELECT * FROM Win32_LogicalDisk WHERE DriveType IS 5", kInvalid, 51,
       "invalid query at column 52: expected NULL after IS but found '5' (IS takes only NULL)"},
      {"SELECT * FROM Win32_LogicalDisk WHERE FileSystem IS NOT \"NTFS\"", kInvalid, 56,
       "invalid query at column 57: expected NULL after IS NOT but found '\"NTFS\"' (IS NOT "
       "takes only NULL)"},
      {P + "Name ISNOT 'x'", kInvalid, 45,
       "invalid query at column 46: expected NULL after ISNOT but found \"'x'\" (ISNOT takes "
       "only NULL)"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA Win32_Process",
       kInvalid, 72,
       "invalid query at column 73: expected a class name in quotes after ISA but found "
       "'Win32_Process'"},
      // Event clauses.
      {"SELECT * FROM __InstanceCreationEvent WITHIN soon", kInvalid, 45,
       "invalid query at column 46: expected a number of seconds after WITHIN but found 'soon'"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 1 WITHIN 2", kInvalid, 47,
       "invalid query at column 48: WITHIN appears twice"},
      {"SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Name",
       WbemStatus::kMissingGroupWithin, 44,
       "invalid query at column 45: expected WITHIN after GROUP but found 'BY'"},
      {"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 10 BY", kInvalid, 56,
       "invalid query at column 57: expected a property name after BY but found end of query"},
      {"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 10 HAVING Count > 5", kInvalid, 61,
       "invalid query at column 62: expected NumberOfEvents after HAVING but found 'Count'"},
      {"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 10 HAVING NumberOfEvents > -1", kInvalid,
       78,
       "invalid query at column 79: expected an unsigned 32-bit integer after '>' but found "
       "'-1'"},
      {"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 10 HAVING NumberOfEvents > 4294967296",
       kInvalid, 78,
       "invalid query at column 79: expected an unsigned 32-bit integer after '>' but found "
       "'4294967296'"},
      {"SELECT * FROM E GROUP WITHIN 10 HAVING NumberOfEvents LIKE 5", kInvalid, 54,
       "invalid query at column 55: expected a comparison operator after NumberOfEvents but "
       "found 'LIKE'"},
      // Association queries.
      {"ASSOCIATORS {Win32_Process.Handle='1'}", kInvalid, 12,
       "invalid query at column 13: expected OF after ASSOCIATORS but found "
       "\"{Win32_Process.Handle='1'}\""},
      {"REFERENCES OF Win32_Process", kInvalid, 14,
       "invalid query at column 15: expected an object path in { } after OF but found "
       "'Win32_Process'"},
      {"ASSOCIATORS OF {Win32_Process.Handle='1'", kInvalid, 40,
       "invalid query at column 41: unterminated '{' starting at column 16 (expected '}' after "
       "the object path)"},
      {"ASSOCIATORS OF { }", kInvalid, 15, "invalid query at column 16: empty object path in { }"},
      {"REFERENCES OF {Win32_Process='1'} WHERE ResultClass = Win32_SessionProcess AND Role = x",
       kInvalid, 75,
       "invalid query at column 76: unexpected AND (association keywords are separated by "
       "spaces)"},
      {"REFERENCES OF {Win32_Process='1'} WHERE Role =", kInvalid, 46,
       "invalid query at column 47: expected a value for 'Role' after '=' but found end of "
       "query"},
      {"REFERENCES OF {Win32_Process='1'} WHERE", kInvalid, 39,
       "invalid query at column 40: expected an association keyword after WHERE but found end "
       "of query"},
      // Limits.
      {"SELECT * FROM " + std::string(256, 'C'), WbemStatus::kClassNameTooWide, 14,
       "invalid query at column 15: class name '" + std::string(40, 'C') +
           "...' is 256 characters long; the limit is 255"},
      {"SELECT " + std::string(256, 'p') + " FROM A", WbemStatus::kPropertyNameTooWide, 7,
       "invalid query at column 8: property name '" + std::string(40, 'p') +
           "...' is 256 characters long; the limit is 255"},
      {"SELECT * FROM A WHERE a." + std::string(300, 'p') + " = 1",
       WbemStatus::kPropertyNameTooWide, 24,
       "invalid query at column 25: property name '" + std::string(40, 'p') +
           "...' is 300 characters long; the limit is 255"},
      {and_chain(1025), kQuota, 25 + 1024 * 8 + 1,
       "invalid query at column 8219: more than 1024 AND/OR operators"},
      {"SELECT * FROM A WHERE " + std::string(129, '(') + "a=1" + std::string(129, ')'), kQuota,
       22 + 128, "invalid query at column 151: conditions nested deeper than 128 levels"},
      {"SELECT * FROM A WHERE " + repeat("NOT ", 129) + "a=1", kQuota, 22 + 128 * 4,
       "invalid query at column 535: conditions nested deeper than 128 levels"},
      {"SELECT * FROM A WHERE " + repeat("NOT (", 65) + "a=1" + std::string(65, ')'), kQuota,
       22 + 64 * 5, "invalid query at column 343: conditions nested deeper than 128 levels"},
      {"SELECT * FROM A WHERE a = '" + std::string(70000 - 28, 'x') + "'", kQuota, 65536,
       "query is 70000 bytes long; the limit is 65536"},
  };
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query.substr(0, 120));
    auto r = parse(c.query);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, c.message);
    EXPECT_EQ(r.error().code, c.code) << wbem_status_name(r.error().code);
    ASSERT_TRUE(r.error().position.has_value());
    EXPECT_EQ(*r.error().position, c.position);
  }
}

}  // namespace
}  // namespace lwmi::wql
