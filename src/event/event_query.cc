#include "event/event_query.h"

#include "base/strings.h"
#include "cim/schema.h"
#include "wql/parser.h"

namespace lwmi::event {
namespace {

Error at(WbemStatus code, const wql::Location& loc, const std::string& what) {
  return Error{code, "invalid query at column " + std::to_string(loc.offset + 1) + ": " + what,
               loc.offset};
}

bool is_target_isa(const wql::Expr& e) {
  return e.kind == wql::Expr::Kind::kIsa && e.prop.path.size() == 1 &&
         base::iequals(e.prop.path[0], "TargetInstance");
}

// Copies the condition without the `TargetInstance ISA …` conjuncts, with TargetInstance.X
// rewritten to X. Sets *isa to the class named by ISA.
Result<wql::ExprPtr> rewrite(const wql::Expr& e, bool top_and, std::string* isa) {
  using K = wql::Expr::Kind;
  if (is_target_isa(e)) {
    if (!top_and)
      return at(WbemStatus::kInvalidQuery, e.loc,
                "TargetInstance ISA must be ANDed with the rest of the condition");
    *isa = e.literal.text;
    return wql::ExprPtr();
  }
  auto out = std::make_unique<wql::Expr>();
  out->kind = e.kind;
  out->op = e.op;
  out->literal = e.literal;
  out->negated = e.negated;
  out->loc = e.loc;
  if (e.kind == K::kAnd || e.kind == K::kOr || e.kind == K::kNot) {
    bool and_chain = top_and && e.kind == K::kAnd;
    auto l = rewrite(*e.left, and_chain, isa);
    if (!l.ok()) return l.take_error();
    wql::ExprPtr r;
    if (e.right) {
      auto rr = rewrite(*e.right, and_chain, isa);
      if (!rr.ok()) return rr.take_error();
      r = std::move(*rr);
    }
    if (e.kind == K::kAnd) {
      if (!*l) return std::move(r);
      if (!r) return std::move(*l);
    }
    out->left = std::move(*l);
    out->right = std::move(r);
    return out;
  }
  const auto& path = e.prop.path;
  if (path.size() < 2 || !base::iequals(path[0], "TargetInstance"))
    return at(WbemStatus::kInvalidQuery, e.prop.loc,
              "conditions of a process event query name TargetInstance's properties, e.g. "
              "TargetInstance.Name; '" +
                  e.prop.text() + "' is not one");
  out->prop = e.prop;
  out->prop.path.erase(out->prop.path.begin());
  return out;
}

}  // namespace

Result<EventQuery> compile_event_query(std::string_view text) {
  auto parsed = wql::parse(text);
  if (!parsed.ok()) return parsed.take_error();
  if (parsed->kind != wql::Query::Kind::kSelect)
    return Error{WbemStatus::kNotEventClass, "an event query is a SELECT on an event class", 0};
  const wql::SelectQuery& s = parsed->select;
  const auto& schema = cim::Schema::builtin();
  auto cls = schema.find(s.class_name);
  if (!cls)
    return at(WbemStatus::kInvalidClass, s.class_loc,
              "no class named '" + s.class_name + "' in root\\cimv2");
  if (!cls->is_a("__Event"))
    return at(WbemStatus::kNotEventClass, s.class_loc,
              cls->name +
                  " is not an event class (use an __Instance…Event class, or a data "
                  "query for instances)");
  EventQuery q;
  q.event_class = cls;
  if (base::iequals(cls->name, "__InstanceCreationEvent")) {
    q.creation = true;
  } else if (base::iequals(cls->name, "__InstanceDeletionEvent")) {
    q.deletion = true;
  } else if (base::iequals(cls->name, "__InstanceOperationEvent")) {
    q.creation = q.deletion = true;
  } else {
    return at(WbemStatus::kNotSupported, s.class_loc,
              cls->name + " is not delivered yet (creation and deletion events are)");
  }
  if (s.group_within)
    return at(WbemStatus::kNotSupported, s.group_loc, "GROUP WITHIN is not supported yet");
  if (s.within) {
    if (*s.within < 0.1)
      return at(WbemStatus::kInvalidQuery, s.within_loc,
                "WITHIN " + std::to_string(*s.within) + " is below the 0.1 s minimum");
    q.within = s.within;
  }
  if (!s.select_all)
    for (const auto& p : s.properties)
      if (!cls->property(p.path[0]))
        return at(WbemStatus::kInvalidQuery, p.loc,
                  "class " + cls->name + " has no property '" + p.path[0] + "'");
  std::string isa;
  wql::ExprPtr where;
  if (s.where) {
    auto r = rewrite(*s.where, true, &isa);
    if (!r.ok()) return r.take_error();
    where = std::move(*r);
  }
  auto process = schema.find("Win32_Process");
  if (isa.empty() || !process->is_a(isa))
    return at(WbemStatus::kInvalidQuery, s.class_loc,
              "lwmi delivers instance events for processes: the WHERE clause must include "
              "TargetInstance ISA 'Win32_Process'");
  wql::Query data;
  data.select.select_all = true;
  data.select.class_name = process->name;
  data.select.where = std::move(where);
  auto compiled = wql::compile(data, process, process);
  if (!compiled.ok()) return compiled.take_error();
  q.filter = std::make_shared<wql::CompiledQuery>(std::move(*compiled));
  return q;
}

}  // namespace lwmi::event
