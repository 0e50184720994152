#include "event/event_query.h"

#include <cmath>

#include "base/strings.h"
#include "cim/schema.h"
#include "wql/parser.h"

namespace lwmi::event {
namespace {

constexpr const char* kPrevious = "PreviousInstance";
constexpr const char* kTarget = "TargetInstance";

Error at(WbemStatus code, const wql::Location& loc, const std::string& what) {
  return Error{code, "invalid query at column " + std::to_string(loc.offset + 1) + ": " + what,
               loc.offset};
}

bool is_embedded_isa(const wql::Expr& e) {
  return e.kind == wql::Expr::Kind::kIsa && e.prop.path.size() == 1 &&
         (base::iequals(e.prop.path[0], kTarget) || base::iequals(e.prop.path[0], kPrevious));
}

// Win32_Process's properties, then the same again named "PreviousInstance.<name>".
std::shared_ptr<const ClassDecl> combined_class(const ClassDecl& process) {
  static const std::shared_ptr<const ClassDecl> combined = [&] {
    auto c = std::make_shared<ClassDecl>(process);
    const size_t n = process.properties.size();
    for (size_t i = 0; i < n; ++i) {
      PropertyDecl p = process.properties[i];
      p.name = std::string(kPrevious) + "." + p.name;
      p.key = false;
      c->properties.push_back(std::move(p));
    }
    return std::shared_ptr<const ClassDecl>(std::move(c));
  }();
  return combined;
}

struct Rewriter {
  const ClassDecl& event_cls;
  const ClassDecl& process;
  std::string isa;
  std::vector<std::string> used;  ///< Win32_Process property names the condition reads

  // Copies the condition without the `TargetInstance ISA …` conjuncts, with TargetInstance.X
  // rewritten to X and PreviousInstance.X to "PreviousInstance.X".
  Result<wql::ExprPtr> rewrite(const wql::Expr& e, bool top_and) {
    using K = wql::Expr::Kind;
    if (is_embedded_isa(e)) {
      if (!top_and)
        return at(WbemStatus::kInvalidQuery, e.loc,
                  e.prop.path[0] + " ISA must be ANDed with the rest of the condition");
      if (base::iequals(e.prop.path[0], kPrevious) && !event_cls.property(kPrevious))
        return at(WbemStatus::kInvalidQuery, e.prop.loc,
                  "class " + event_cls.name + " has no property 'PreviousInstance'");
      if (base::iequals(e.prop.path[0], kTarget) || isa.empty()) isa = e.literal.text;
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
      auto l = rewrite(*e.left, and_chain);
      if (!l.ok()) return l.take_error();
      wql::ExprPtr r;
      if (e.right) {
        auto rr = rewrite(*e.right, and_chain);
        if (!rr.ok()) return rr.take_error();
        r = std::move(*rr);
      }
      if (e.kind == K::kAnd) {
        if (!*l) return r;
        if (!r) return std::move(*l);
      }
      out->left = std::move(*l);
      out->right = std::move(r);
      return out;
    }
    const auto& path = e.prop.path;
    const bool target = !path.empty() && base::iequals(path[0], kTarget);
    const bool previous = !path.empty() && base::iequals(path[0], kPrevious);
    if (previous && !event_cls.property(kPrevious))
      return at(WbemStatus::kInvalidQuery, e.prop.loc,
                "class " + event_cls.name +
                    " has no property 'PreviousInstance' (only modification events have one)");
    if ((target || previous) && path.size() == 1)
      return at(WbemStatus::kInvalidQuery, e.prop.loc,
                "'" + path[0] + "' is an embedded object: compare one of its properties, e.g. " +
                    path[0] + ".Name");
    if (path.size() < 2 || !(target || previous)) {
      if (path.size() >= 2 && event_cls.property(path[0]))
        return at(
            WbemStatus::kPropertyNotAnObject, e.prop.loc,
            "'" + path[0] + "' is not an embedded object: '" + e.prop.text() + "' names nothing");
      return at(WbemStatus::kInvalidQuery, e.prop.loc,
                "conditions of a process event query name TargetInstance's properties, e.g. "
                "TargetInstance.Name; '" +
                    e.prop.text() + "' is not one");
    }
    if (path.size() == 2 && process.property(path[1])) used.push_back(path[1]);
    out->prop = e.prop;
    out->prop.path.erase(out->prop.path.begin());
    if (previous && out->prop.path.size() == 1) {
      out->prop.path[0] = std::string(kPrevious) + "." + out->prop.path[0];
    } else if (previous) {
      return at(
          WbemStatus::kPropertyNotAnObject, e.prop.loc,
          "'" + path[1] + "' is not an embedded object: '" + e.prop.text() + "' names nothing");
    }
    return out;
  }
};

// Checks a GROUP BY path against the event class (and Win32_Process inside the embedded ones).
Result<std::vector<std::string>> group_path(const ClassDecl& cls, const ClassDecl& process,
                                            const wql::PropertyRef& ref) {
  const PropertyDecl* head = cls.property(ref.path[0]);
  if (!head)
    return at(WbemStatus::kInvalidQuery, ref.loc,
              "class " + cls.name + " has no property '" + ref.path[0] + "' to group by");
  std::vector<std::string> out{head->name};
  if (head->type == CimType::kObject) {
    if (ref.path.size() == 1)
      return at(WbemStatus::kAggregatingByObject, ref.loc,
                "cannot group by the embedded object " + head->name +
                    ": name one of its "
                    "properties, e.g. " +
                    head->name + ".Name");
    const PropertyDecl* inner = process.property(ref.path[1]);
    if (!inner)
      return at(WbemStatus::kInvalidQuery, ref.loc,
                "class " + process.name + " has no property '" + ref.path[1] + "'");
    if (ref.path.size() > 2)
      return at(
          WbemStatus::kPropertyNotAnObject, ref.loc,
          "'" + inner->name + "' is not an embedded object: '" + ref.text() + "' names nothing");
    out.push_back(inner->name);
    return out;
  }
  if (ref.path.size() > 1)
    return at(WbemStatus::kPropertyNotAnObject, ref.loc,
              "'" + head->name + "' is not an embedded object: '" + ref.text() + "' names nothing");
  return out;
}

}  // namespace

bool having_passes(const EventQuery& q, uint32_t n) {
  if (!q.having_op) return true;
  const uint32_t v = q.having_value;
  switch (*q.having_op) {
    case wql::CompareOp::kEq:
      return n == v;
    case wql::CompareOp::kNe:
      return n != v;
    case wql::CompareOp::kLt:
      return n < v;
    case wql::CompareOp::kGt:
      return n > v;
    case wql::CompareOp::kLe:
      return n <= v;
    case wql::CompareOp::kGe:
      return n >= v;
  }
  return false;
}

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
                  " is not an event class (use an __Instance…Event class, a "
                  "Win32_Process…Trace class, or a data query for instances)");
  EventQuery q;
  q.event_class = cls;
  const std::string& n = cls->name;
  if (base::iequals(n, "__InstanceCreationEvent")) {
    q.creation = true;
  } else if (base::iequals(n, "__InstanceDeletionEvent")) {
    q.deletion = true;
  } else if (base::iequals(n, "__InstanceModificationEvent")) {
    q.modification = true;
  } else if (base::iequals(n, "__InstanceOperationEvent")) {
    q.creation = q.deletion = q.modification = true;
  } else if (base::iequals(n, "Win32_ProcessStartTrace")) {
    q.start_trace = true;
  } else if (base::iequals(n, "Win32_ProcessStopTrace")) {
    q.stop_trace = true;
  } else if (base::iequals(n, "Win32_ProcessTrace")) {
    q.start_trace = q.stop_trace = q.blocked_trace = true;
  } else if (base::iequals(n, "LWMI_ProcessBlockedTrace")) {
    q.blocked_trace = true;
  } else {
    return at(WbemStatus::kNotSupported, s.class_loc,
              cls->name +
                  " is not delivered: lwmi delivers __InstanceCreationEvent, "
                  "__InstanceDeletionEvent, __InstanceModificationEvent, "
                  "__InstanceOperationEvent, Win32_ProcessStartTrace/StopTrace/Trace and "
                  "LWMI_ProcessBlockedTrace");
  }
  if (s.within) {
    // At most a year, like GROUP WITHIN: a larger interval overflows the poll timers.
    if (!std::isfinite(*s.within) || *s.within > 86400.0 * 365)
      return at(
          WbemStatus::kInvalidQuery, s.within_loc,
          "WITHIN " + std::to_string(*s.within) + " is above the 31536000 s (one year) maximum");
    if (!(*s.within >= 0.1))
      return at(WbemStatus::kInvalidQuery, s.within_loc,
                "WITHIN " + std::to_string(*s.within) + " is below the 0.1 s minimum");
    q.within = s.within;
  } else if (q.modification) {
    return at(WbemStatus::kRegistrationTooPrecise, s.class_loc,
              "a WITHIN clause was not used in this query: " + cls->name +
                  " includes modification events, which only polling can find (add e.g. "
                  "WITHIN 1; creation and deletion events need none)");
  }
  if (s.group_within) {
    double g = *s.group_within;
    if (!(g >= 1) || g != std::floor(g) || g > 86400.0 * 365)
      return at(WbemStatus::kInvalidQuery, s.group_loc,
                "GROUP WITHIN takes a whole number of seconds, at least 1 (not " +
                    std::to_string(g) + ")");
    q.group_within = static_cast<uint32_t>(g);
    q.having_op = s.having_op;
    q.having_value = s.having_value;
  }
  auto process = schema.find("Win32_Process");
  q.target_count = process->properties.size();
  for (const auto& ref : s.group_by) {
    auto p = group_path(*cls, *process, ref);
    if (!p.ok()) return p.take_error();
    q.group_by.push_back(std::move(*p));
  }

  // The SELECT list: names of the event class, or of Win32_Process inside an embedded object.
  std::vector<std::string> watched{"Handle", "ProcessId", "CreationDate"};
  bool watch_all = s.select_all;
  if (!s.select_all)
    for (const auto& p : s.properties) {
      if (p.path[0].rfind("__", 0) == 0) continue;
      const PropertyDecl* head = cls->property(p.path[0]);
      if (!head)
        return at(WbemStatus::kInvalidQuery, p.loc,
                  "class " + cls->name + " has no property '" + p.path[0] + "'");
      if (p.path.size() > 1 && head->type != CimType::kObject)
        return at(
            WbemStatus::kPropertyNotAnObject, p.loc,
            "'" + head->name + "' is not an embedded object: '" + p.text() + "' names nothing");
      if (head->type == CimType::kObject && p.path.size() == 1) watch_all = true;
      if (head->type == CimType::kObject && p.path.size() > 1) {
        const PropertyDecl* inner = process->property(p.path[1]);
        if (!inner)
          return at(WbemStatus::kInvalidQuery, p.loc,
                    "class " + process->name + " has no property '" + p.path[1] + "'");
        if (p.path.size() > 2)
          return at(
              WbemStatus::kPropertyNotAnObject, p.loc,
              "'" + inner->name + "' is not an embedded object: '" + p.text() + "' names nothing");
        watched.push_back(inner->name);
      }
    }

  if (!q.intrinsic()) {
    // Extrinsic: the condition is on the trace class itself.
    wql::Query data;
    data.select.select_all = true;
    data.select.class_name = cls->name;
    if (s.where) {
      // The parser's tree is moved into the data query; the event parts are already read.
      data.select.where = std::move(parsed->select.where);
    }
    auto compiled = wql::compile(data, cls, cls);
    if (!compiled.ok()) return compiled.take_error();
    q.filter = std::make_shared<wql::CompiledQuery>(std::move(*compiled));
    return q;
  }

  Rewriter rw{*cls, *process, {}, {}};
  wql::ExprPtr where;
  if (s.where) {
    auto r = rw.rewrite(*s.where, true);
    if (!r.ok()) return r.take_error();
    where = std::move(*r);
  }
  if (rw.isa.empty() || !process->is_a(rw.isa))
    return at(WbemStatus::kInvalidQuery, s.class_loc,
              "lwmi delivers instance events for processes: the WHERE clause must include "
              "TargetInstance ISA 'Win32_Process'");
  auto combined = combined_class(*process);
  wql::Query data;
  data.select.select_all = true;
  data.select.class_name = process->name;
  data.select.where = std::move(where);
  auto compiled = wql::compile(data, combined, combined);
  if (!compiled.ok()) return compiled.take_error();
  q.filter = std::make_shared<wql::CompiledQuery>(std::move(*compiled));
  for (auto& u : rw.used) watched.push_back(u);
  if (!watch_all) {
    auto set = provider::PropertySet::of(*process, watched);
    if (!set.ok()) return set.take_error();
    q.watched = std::move(*set);
  }
  return q;
}

}  // namespace lwmi::event
