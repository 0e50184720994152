#include "cli/event_rows.h"

#include <array>

#include "base/strings.h"
#include "wql/parser.h"

namespace lwmi::cli {
namespace {

// What a Windows admin looks at first in a process event; the rest is a SELECT away.
constexpr std::array<std::string_view, 4> kDefaultTarget = {"ProcessId", "Name", "ParentProcessId",
                                                            "CommandLine"};
// A trace's identity first, as the TargetInstance defaults; the rest in the schema's order.
constexpr std::array<std::string_view, 3> kFlatFirst = {"ProcessID", "ProcessName",
                                                        "ParentProcessID"};
// Byte arrays that fill a line with {1,5,0,…} and say little to a reader; shown when SELECTed.
constexpr std::array<std::string_view, 2> kQuietFlat = {"Sid", "SECURITY_DESCRIPTOR"};

bool is_event(const ClassDecl& c) {
  return c.is_a("__Event") || c.is_a("__AggregateEvent");
}

bool contains(const std::vector<std::string>& names, std::string_view n) {
  for (const auto& x : names)
    if (base::iequals(x, n)) return true;
  return false;
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view n) {
  for (auto x : names)
    if (base::iequals(x, n)) return true;
  return false;
}

/// An embedded object's instance, or null (NULL value or another type).
const Instance* object_of(const Instance& inst, std::string_view name) {
  auto v = inst.get(name);
  if (!v || v->type() != CimType::kObject || v->is_array() || v->is_null()) return nullptr;
  return v->as_object().get();
}

/// The columns of one row, in order; a name seen twice keeps its first value.
class Row {
 public:
  void add(std::string name, const PropertyDecl* like, Value v) {
    if (contains(names_, name)) return;
    PropertyDecl d;
    if (like) d = *like;
    d.name = name;
    d.type = v.type();
    d.is_array = v.is_array();
    d.key = false;
    names_.push_back(name);
    decls_.push_back(std::move(d));
    values_.push_back(std::move(v));
  }
  /// A property of `inst` by any spelling, under `prefix` + its schema spelling; NULL when the
  /// class has it but the instance does not carry it (a projection); nothing when the class
  /// has no such property.
  void add_property(const std::string& prefix, const Instance& inst, std::string_view name) {
    const PropertyDecl* p = inst.cls().property(name);
    if (!p) return;
    auto v = inst.get(p->name);
    add(prefix + p->name, p, v ? *v : Value::null(p->type, p->is_array));
  }
  /// Every column of `row` under `prefix`.
  void add_row(const std::string& prefix, const Instance& row) {
    for (auto& [n, v] : row.properties()) add(prefix + n, row.cls().property(n), v);
  }
  Instance build(const Instance& event) {
    auto cls = std::make_shared<ClassDecl>();
    cls->name = event.class_name();
    cls->namespace_path = event.cls().namespace_path;
    cls->superclass = event.cls().superclass;
    cls->derivation = event.cls().derivation;
    cls->description = event.cls().description;
    cls->properties = std::move(decls_);
    Instance row(cls);
    for (size_t i = 0; i < values_.size(); ++i) row.set(i, std::move(values_[i]));
    row.set_server(event.server());
    row.set_namespace(event.namespace_path());
    return row;
  }

 private:
  std::vector<std::string> names_;
  std::vector<PropertyDecl> decls_;
  std::vector<Value> values_;
};

void add_target(Row& row, const Instance& event, const Instance& target,
                const EventColumns& columns) {
  if (columns.target.empty()) {
    for (auto n : kDefaultTarget) row.add_property("TargetInstance.", target, n);
  } else {
    for (const auto& n : columns.target) row.add_property("TargetInstance.", target, n);
  }
  // A modification: what changed, before and after.
  const Instance* previous = object_of(event, "PreviousInstance");
  if (!previous) return;
  for (const auto& [n, v] : target.properties()) {
    auto before = previous->get(n);
    if (!before || *before == v) continue;
    row.add_property("TargetInstance.", target, n);
    row.add_property("PreviousInstance.", *previous, n);
  }
}

}  // namespace

EventColumns event_columns(std::string_view wql) {
  EventColumns out;
  auto q = wql::parse(wql);
  if (!q.ok() || q->kind != wql::Query::Kind::kSelect || q->select.select_all) return out;
  for (const auto& p : q->select.properties) {
    if (p.path.empty()) continue;
    bool embedded =
        base::iequals(p.path[0], "TargetInstance") || base::iequals(p.path[0], "PreviousInstance");
    if (embedded && p.path.size() == 2) {
      if (!contains(out.target, p.path[1])) out.target.push_back(p.path[1]);
    } else if (!embedded && p.path.size() == 1) {
      if (!contains(out.flat, p.path[0])) out.flat.push_back(p.path[0]);
    }
    // TargetInstance alone: the whole object, shown by the default columns.
  }
  return out;
}

Instance event_row(const Instance& event, const EventColumns& columns) {
  if (!event.valid() || !is_event(event.cls())) return event;
  Row row;
  row.add("__CLASS", nullptr, Value::string(event.class_name()));
  row.add_property("", event, "TIME_CREATED");
  if (const Instance* target = object_of(event, "TargetInstance")) {
    add_target(row, event, *target, columns);
    return row.build(event);
  }
  if (!columns.flat.empty()) {
    for (const auto& n : columns.flat) {
      const Instance* inner = object_of(event, n);
      if (inner)
        row.add_row(event.cls().property(n)->name + ".", event_row(*inner, {}));
      else
        row.add_property("", event, n);
    }
    return row.build(event);
  }
  for (auto n : kFlatFirst)
    if (auto v = event.get(n)) row.add(event.cls().property(n)->name, event.cls().property(n), *v);
  for (const auto& [n, v] : event.properties()) {
    if (contains(kQuietFlat, n)) continue;
    if (v.type() == CimType::kObject && !v.is_array()) {
      // An __AggregateEvent's Representative: its own row, prefixed.
      if (const Instance* inner = object_of(event, n)) row.add_row(n + ".", event_row(*inner, {}));
      continue;
    }
    row.add(n, event.cls().property(n), v);
  }
  return row.build(event);
}

namespace {

class EventFormatter : public Formatter {
 public:
  EventFormatter(std::unique_ptr<Formatter> inner, EventColumns columns)
      : inner_(std::move(inner)), columns_(std::move(columns)) {}
  void begin(const std::vector<std::string>& columns) override { inner_->begin(columns); }
  void add(const Instance& instance) override { inner_->add(event_row(instance, columns_)); }
  void end() override { inner_->end(); }

 private:
  std::unique_ptr<Formatter> inner_;
  EventColumns columns_;
};

}  // namespace

std::unique_ptr<Formatter> make_event_formatter(const OutputOptions& options, std::ostream& out,
                                                std::string_view wql) {
  auto inner = make_formatter(options, out);
  if (options.format != Format::kTable && options.format != Format::kList) return inner;
  return std::make_unique<EventFormatter>(std::move(inner), event_columns(wql));
}

}  // namespace lwmi::cli
