#include "wql/compiler.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "base/strings.h"
#include "lwmi/instance.h"

namespace lwmi::wql {

const char* op_text(CompareOp op) {
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

namespace {

Error at(WbemStatus code, const Location& loc, const std::string& what) {
  return Error{code, "invalid query at column " + std::to_string(loc.offset + 1) + ": " + what,
               loc.offset};
}

// ISO "yyyy-mm-dd[ HH:MM:SS]" in local time, as WQL also accepts; nullopt otherwise.
std::optional<DateTime> parse_iso(const std::string& s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  char tail;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &tail);
  if (n != 3 && n != 6) return std::nullopt;
  if (n == 3 && s.size() != 10) return std::nullopt;
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1) || tm.tm_mday != d || tm.tm_mon != mo - 1) return std::nullopt;
  return DateTime::from_unix_micros_local(static_cast<int64_t>(t) * 1000000);
}

class Compiler {
 public:
  Compiler(std::shared_ptr<const ClassDecl> q, std::shared_ptr<const ClassDecl> c)
      : queried_(std::move(q)), concrete_(std::move(c)) {}

  Result<std::unique_ptr<Condition>> cond(const Expr& e) {
    auto out = std::make_unique<Condition>();
    out->kind = e.kind;
    out->negated = e.negated;
    switch (e.kind) {
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr: {
        auto l = cond(*e.left);
        if (!l.ok()) return l.take_error();
        auto r = cond(*e.right);
        if (!r.ok()) return r.take_error();
        out->left = std::move(*l);
        out->right = std::move(*r);
        return out;
      }
      case Expr::Kind::kNot: {
        auto l = cond(*e.left);
        if (!l.ok()) return l.take_error();
        out->left = std::move(*l);
        return out;
      }
      default:
        break;
    }
    // A predicate on one property.
    const PropertyRef& ref = e.prop;
    if (ref.path.size() > 1) {
      const PropertyDecl* head = queried_->property(ref.path[0]);
      if (!head)
        return at(WbemStatus::kInvalidQuery, ref.loc,
                  "class " + queried_->name + " has no property '" + ref.path[0] + "'");
      return at(
          WbemStatus::kPropertyNotAnObject, ref.loc,
          "'" + head->name + "' is not an embedded object: '" + ref.text() + "' names nothing");
    }
    const std::string& name = ref.path[0];
    if (base::iequals(name, "__CLASS")) {
      out->property = kClassProperty;
      out->type = CimType::kString;
    } else {
      // A system property only where the class declares it (meta_class's __SUPERCLASS, __THIS).
      if (name.size() > 2 && name[0] == '_' && name[1] == '_' && !queried_->property(name))
        return at(WbemStatus::kInvalidQuery, ref.loc,
                  "system property '" + name + "' cannot be tested in WHERE (only __CLASS)");
      const PropertyDecl* p = queried_->property(name);
      auto idx = concrete_->property_index(name);
      if (!p || !idx)
        return at(WbemStatus::kInvalidQuery, ref.loc,
                  "class " + queried_->name + " has no property '" + name + "'");
      out->property = *idx;
      out->type = p->type;
      if (p->is_array)
        return at(WbemStatus::kInvalidQuery, ref.loc,
                  "'" + p->name + "' is an array: WQL cannot query array properties");
    }
    const Literal& lit = e.literal;
    switch (e.kind) {
      case Expr::Kind::kIsNull:
        return out;
      case Expr::Kind::kIsa:
        if (out->type != CimType::kObject)
          return at(WbemStatus::kInvalidQuery, e.loc,
                    "ISA tests the class of an embedded object; '" + name + "' is a " +
                        std::string(cim_type_name(out->type)));
        if (lit.kind != Literal::Kind::kString)
          return at(WbemStatus::kInvalidQuery, lit.loc, "ISA takes a class name as a string");
        out->constant = Value::string(lit.text);
        return out;
      case Expr::Kind::kLike: {
        if (!is_textual(out->type))
          return at(WbemStatus::kInvalidOperator, e.loc,
                    "LIKE needs a string property; '" + name + "' is a " +
                        std::string(cim_type_name(out->type)));
        if (lit.kind != Literal::Kind::kString)
          return at(WbemStatus::kInvalidQuery, lit.loc, "LIKE takes a string pattern");
        std::string err;
        out->like = LikePattern::compile(lit.text, &err);
        if (!out->like) return at(WbemStatus::kInvalidQuery, lit.loc, err);
        return out;
      }
      default:
        break;
    }
    // A comparison.
    out->op = e.op;
    if (lit.kind == Literal::Kind::kNull)
      return at(
          WbemStatus::kInvalidQuery, lit.loc,
          std::string("'") + op_text(e.op) + " NULL' is never true: use IS NULL or IS NOT NULL");
    const CimType t = out->type;
    if (t == CimType::kBoolean && e.op != CompareOp::kEq && e.op != CompareOp::kNe)
      return at(WbemStatus::kInvalidOperator, e.loc,
                std::string("operator ") + op_text(e.op) + " is not valid for the boolean '" +
                    name + "' (use = or <>)");
    auto bad_constant = [&](const std::string& why) {
      return at(WbemStatus::kInvalidQuery, lit.loc,
                "'" + lit.text + "' is not a valid " + std::string(cim_type_name(t)) + " for " +
                    name + (why.empty() ? "" : ": " + why));
    };
    if (is_integer(t) || is_real(t)) {
      switch (lit.kind) {
        case Literal::Kind::kInteger:
          out->constant =
              lit.is_unsigned ? Value::uint64(lit.uinteger) : Value::sint64(lit.integer);
          break;
        case Literal::Kind::kReal:
          out->constant = Value::real64(lit.real);
          break;
        case Literal::Kind::kBoolean:
          out->constant = Value::sint64(lit.boolean ? 1 : 0);
          break;
        case Literal::Kind::kString: {
          std::string s(base::trim(lit.text));
          if (auto i = base::parse_i64(s)) {
            out->constant = Value::sint64(*i);
          } else if (auto u = base::parse_u64(s)) {
            out->constant = Value::uint64(*u);
          } else if (auto d = Value::from_text(CimType::kReal64, s); d && is_real(t)) {
            out->constant = *d;
          } else {
            return bad_constant("");
          }
          break;
        }
        default:
          return bad_constant("");
      }
    } else if (t == CimType::kBoolean) {
      if (lit.kind == Literal::Kind::kBoolean)
        out->constant = Value::boolean(lit.boolean);
      else if (lit.kind == Literal::Kind::kInteger)
        out->constant = Value::boolean(lit.integer != 0);
      else if (auto b = Value::from_text(CimType::kBoolean, lit.text))
        out->constant = *b;
      else
        return bad_constant("");
    } else if (t == CimType::kDatetime) {
      if (lit.kind != Literal::Kind::kString) return bad_constant("a DATETIME is a quoted string");
      auto dt = DateTime::parse(lit.text);
      if (dt.ok()) {
        if (dt->has_wildcards())
          return bad_constant("'*' fields are not allowed in a WHERE clause");
        out->when = *dt;
      } else if (auto iso = parse_iso(lit.text)) {
        out->when = *iso;
      } else {
        return bad_constant("use yyyymmddHHMMSS.mmmmmm+UUU or yyyy-mm-dd[ HH:MM:SS]");
      }
    } else {
      // string, char16, reference: compare as text.
      out->constant = Value::string(
          lit.kind == Literal::Kind::kBoolean ? (lit.boolean ? "TRUE" : "FALSE") : lit.text);
    }
    return out;
  }

 private:
  std::shared_ptr<const ClassDecl> queried_;
  std::shared_ptr<const ClassDecl> concrete_;
};

// Pins a pid when an AND chain contains Handle = 'N' or ProcessId = N.
void find_pin(const Condition* c, const ClassDecl& cls, std::optional<uint32_t>* pid) {
  if (!c) return;
  if (c->kind == Expr::Kind::kAnd) {
    find_pin(c->left.get(), cls, pid);
    find_pin(c->right.get(), cls, pid);
    return;
  }
  if (c->kind != Expr::Kind::kCompare || c->op != CompareOp::kEq) return;
  if (c->property >= cls.properties.size()) return;
  const std::string& n = cls.properties[c->property].name;
  uint32_t value = 0;  // matches nothing
  if (base::iequals(n, "Handle")) {
    if (auto v = base::parse_u64(c->constant.as_string()); v && *v <= UINT32_MAX)
      value = static_cast<uint32_t>(*v);
  } else if (base::iequals(n, "ProcessId")) {
    if (c->constant.type() == CimType::kReal64) return;
    int64_t v = c->constant.as_i64();
    if (c->constant.type() == CimType::kUint64 && c->constant.as_u64() > UINT32_MAX) v = -1;
    if (v > 0 && v <= static_cast<int64_t>(UINT32_MAX)) value = static_cast<uint32_t>(v);
  } else {
    return;
  }
  if (pid->has_value() && **pid != value) value = 0;  // two different pins: nothing matches
  *pid = value;
}

Truth from_bool(bool b) {
  return b ? Truth::kTrue : Truth::kFalse;
}

Truth compare_result(int cmp, CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return from_bool(cmp == 0);
    case CompareOp::kNe:
      return from_bool(cmp != 0);
    case CompareOp::kLt:
      return from_bool(cmp < 0);
    case CompareOp::kGt:
      return from_bool(cmp > 0);
    case CompareOp::kLe:
      return from_bool(cmp <= 0);
    case CompareOp::kGe:
      return from_bool(cmp >= 0);
  }
  return Truth::kUnknown;
}

int compare_numbers(const Value& a, const Value& b) {
  if (is_real(a.type()) || is_real(b.type())) {
    double x = a.as_real(), y = b.as_real();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  __int128 x = is_unsigned_integer(a.type()) ? static_cast<__int128>(a.as_u64())
                                             : static_cast<__int128>(a.as_i64());
  __int128 y = is_unsigned_integer(b.type()) ? static_cast<__int128>(b.as_u64())
                                             : static_cast<__int128>(b.as_i64());
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace

Result<CompiledQuery> compile(const Query& query, std::shared_ptr<const ClassDecl> queried,
                              std::shared_ptr<const ClassDecl> concrete) {
  const SelectQuery& s = query.select;
  if (s.within || s.group_within)
    return at(WbemStatus::kInvalidQuery, s.within ? s.within_loc : s.group_loc,
              "WITHIN and GROUP belong to event queries (use watch / ExecNotificationQuery)");
  CompiledQuery q;
  q.queried = queried;
  q.concrete = concrete;
  q.select_all = s.select_all;
  for (const auto& ref : s.properties) {
    const std::string& name = ref.path[0];
    if (ref.path.size() > 1) {
      const PropertyDecl* head = queried->property(name);
      if (!head)
        return at(WbemStatus::kInvalidQuery, ref.loc,
                  "class " + queried->name + " has no property '" + name + "'");
      return at(
          WbemStatus::kPropertyNotAnObject, ref.loc,
          "'" + head->name + "' is not an embedded object: '" + ref.text() + "' names nothing");
    }
    if (name.size() > 2 && name[0] == '_' && name[1] == '_') continue;  // system: always there
    const PropertyDecl* p = queried->property(name);
    if (!p || !concrete->property(name))
      return at(WbemStatus::kInvalidQuery, ref.loc,
                "class " + queried->name + " has no property '" + name + "'");
    q.select.push_back(p->name);
  }
  if (s.where) {
    Compiler c(queried, concrete);
    auto w = c.cond(*s.where);
    if (!w.ok()) return w.take_error();
    q.where = std::move(*w);
    find_pin(q.where.get(), *concrete, &q.only_pid);
  }
  return q;
}

Truth evaluate(const Condition& c, const PropertyReader& read) {
  switch (c.kind) {
    case Expr::Kind::kAnd: {
      Truth l = evaluate(*c.left, read);
      if (l == Truth::kFalse) return Truth::kFalse;
      Truth r = evaluate(*c.right, read);
      if (r == Truth::kFalse) return Truth::kFalse;
      return (l == Truth::kTrue && r == Truth::kTrue) ? Truth::kTrue : Truth::kUnknown;
    }
    case Expr::Kind::kOr: {
      Truth l = evaluate(*c.left, read);
      if (l == Truth::kTrue) return Truth::kTrue;
      Truth r = evaluate(*c.right, read);
      if (r == Truth::kTrue) return Truth::kTrue;
      return (l == Truth::kFalse && r == Truth::kFalse) ? Truth::kFalse : Truth::kUnknown;
    }
    case Expr::Kind::kNot: {
      Truth l = evaluate(*c.left, read);
      return l == Truth::kUnknown ? Truth::kUnknown : from_bool(l == Truth::kFalse);
    }
    case Expr::Kind::kIsNull: {
      bool null = read(c.property).is_null();
      return from_bool(c.negated ? !null : null);
    }
    case Expr::Kind::kLike: {
      Value v = read(c.property);
      if (v.is_null()) return Truth::kUnknown;
      bool m = c.like->matches(v.to_text());
      return from_bool(c.negated ? !m : m);
    }
    case Expr::Kind::kCompare: {
      Value v = read(c.property);
      if (v.is_null()) return Truth::kUnknown;
      if (c.when) {
        auto dt = DateTime::parse(v.to_text());
        if (!dt.ok()) return Truth::kUnknown;
        auto cmp = dt->compare(*c.when);
        if (!cmp) return Truth::kUnknown;
        return compare_result(*cmp, c.op);
      }
      if (c.type == CimType::kBoolean) {
        bool x = v.as_u64() != 0, y = c.constant.as_bool();
        return compare_result(x == y ? 0 : 1, c.op);
      }
      if (is_integer(c.type) || is_real(c.type))
        return compare_result(compare_numbers(v, c.constant), c.op);
      return compare_result(base::icompare(v.to_text(), c.constant.as_string()), c.op);
    }
    case Expr::Kind::kIsa: {
      // The object's class is the class named or derives from it.
      Value v = read(c.property);
      if (v.is_null() || v.type() != CimType::kObject || !v.as_object() || !v.as_object()->valid())
        return Truth::kUnknown;
      return from_bool(v.as_object()->cls().is_a(c.constant.as_string()));
    }
  }
  return Truth::kUnknown;
}

bool matches(const CompiledQuery& q, const PropertyReader& read) {
  return !q.where || evaluate(*q.where, read) == Truth::kTrue;
}

}  // namespace lwmi::wql
