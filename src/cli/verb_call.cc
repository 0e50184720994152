// call, delete, and wmic's alias form (process …, path CLASS …): methods on one instance, on
// every result of a query, or static (Create).
#include <atomic>
#include <iostream>
#include <mutex>

#include "base/strings.h"
#include "cim/schema.h"
#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/verb_parts.h"
#include "cli/verbs.h"
#include "cli/wmic_args.h"
#include "cli/wmic_sets.h"

namespace lwmi::cli {
namespace {

// In-parameters for `decl`: Name=Value, or positional in declaration order (wmic style).
// Says why and returns nullopt when there are too many.
std::optional<Parameters> method_in_params(const MethodDecl& decl,
                                           const std::vector<std::string>& args) {
  Parameters in;
  size_t next = 0;
  std::vector<const ParameterDecl*> ins;
  for (const auto& p : decl.parameters)
    if (p.in) ins.push_back(&p);
  for (const auto& a : args) {
    auto eq = a.find('=');
    bool named = eq != std::string::npos && eq > 0 &&
                 decl.parameter(a.substr(0, a.find('.') < eq ? a.find('.') : eq));
    if (named) {
      in.push_back({a.substr(0, eq), Value::string(a.substr(eq + 1))});
    } else {
      if (next >= ins.size()) {
        std::cerr << "lwmic: error: " << decl.name << " takes " << ins.size()
                  << " in-parameter(s); '" << display_text(a) << "' is one too many\n";
        return std::nullopt;
      }
      if (a.empty()) {  // wmic's empty positional argument: not given
        ++next;
        continue;
      }
      in.push_back({ins[next++]->name, Value::string(a)});
    }
  }
  return in;
}

// The row run_call_each shows per target: Handle, Name, then ReturnValue and the
// out-parameters (or, for --dry-run, the CommandLine and what is expected).
std::shared_ptr<ClassDecl> call_row_class(const MethodDecl& decl, bool dry_run) {
  auto rcls = std::make_shared<ClassDecl>();
  rcls->name = "__PARAMETERS";
  auto add = [&](const std::string& n, CimType t) {
    PropertyDecl p;
    p.name = n;
    p.type = t;
    rcls->properties.push_back(p);
  };
  add("Handle", CimType::kString);
  add("Name", CimType::kString);
  if (dry_run) {
    add("CommandLine", CimType::kString);
    add("Expected", CimType::kString);
  } else {
    add("ReturnValue", CimType::kUint32);
    for (const auto& p : decl.parameters)
      if (p.out) add(p.name, p.type);
  }
  return rcls;
}

// A note about process `pid`, naming it unless it already does ("process 12 (x) is protected").
std::string about_process(const std::string& pid, const std::string& note) {
  return note.rfind("process " + pid, 0) == 0 ? note : "process " + pid + ": " + note;
}

// --dry-run: what `decl` would return on `target`, asked of the service (its own checks; nothing
// is done), as the row shows it ("would end", "refused: ReturnValue 2 (Access denied)", "gone",
// "error", or NULL where the service cannot say) and as counted.
struct Expected {
  enum class Kind { kUnknown, kSucceeds, kFails };
  Kind kind = Kind::kUnknown;
  Value shown = Value::null(CimType::kString);
};

// `why` gets the service's notes (the reason for a refusal).
Expected expected_outcome(Services& svc, const Instance& target, const MethodDecl& decl,
                          const Parameters& in, std::vector<std::string>* why) {
  using K = Expected::Kind;
  auto r = svc.exec_method_what_if(target.identity().to_string(), decl.name, in);
  if (!r.ok()) {
    if (r.error().code == WbemStatus::kNotSupported) return {};
    if (r.error().code == WbemStatus::kNotFound) return {K::kFails, Value::string("gone")};
    why->push_back(error_text(r.error()));
    return {K::kFails, Value::string("error")};
  }
  *why = r->notes;
  if (r->return_value == 0)
    return {K::kSucceeds, Value::string(decl.name == "Terminate" ? "would end" : "would return 0")};
  return {K::kFails, Value::string("refused: ReturnValue " + std::to_string(r->return_value) +
                                   " (" + return_value_text(r->return_value) + ")")};
}

/// Writes whole lines on stdout from several hosts' workers.
void say_on_stdout(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cout << line << std::flush;
}

/// A method (or delete) on one object path, on each host.
int run_method(const Invocation& inv, bool is_delete, const std::string& path,
               const std::string& method, const Parameters& in) {
  const GlobalOptions& g = inv.g;
  HostJob job;
  job.input = path;
  job.one_as_list = true;  // one instance reads best as a list
  if (g.dry_run) {
    job.say_when_empty = false;
    job.op = [&, many = g.many()](HostContext& h) -> Result<void> {
      Services& svc = h.services();
      auto target = svc.get_object(path, {"ProcessId", "Name"});
      // A static method is called on its class, which is no instance.
      if (!target.ok() && !(!is_delete && target.error().code == WbemStatus::kInvalidObjectPath))
        return target.take_error();
      std::string line = many ? display_text(h.node()) + ": " : std::string();
      line += "would call " + method + " on " + path;
      if (target.ok())
        line += " (" + display_text(target->get("Name")->to_text()) + ", pid " +
                display_text(target->get("ProcessId")->to_text()) + ")";
      // What it would return, where the service can say (Terminate).
      if (auto w = svc.exec_method_what_if(path, method, in); w.ok()) {
        line += ": expected ReturnValue " + std::to_string(w->return_value) + " (" +
                return_value_text(w->return_value) + ")";
        for (const auto& n : w->notes) line += ", " + display_text(n);
      }
      say_on_stdout(line + "; nothing was done\n");
      return {};
    };
    return run_on_hosts(g, job);
  }
  auto last_return = std::make_shared<std::atomic<uint32_t>>(0);
  job.op = [&, is_delete, last_return, many = g.many()](HostContext& h) -> Result<void> {
    auto r =
        is_delete ? h.services().delete_instance(path) : h.services().exec_method(path, method, in);
    if (!r.ok()) return r.take_error();
    for (const auto& n : r->notes) h.note(n);
    ++h.tally.calls;
    if (is_delete) {
      ++h.tally.returned_zero;
      if (many) h.note("instance deletion successful");
      return {};
    }
    *last_return = r->return_value;
    ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
    h.emit(out_parameters(*r));
    return {};
  };
  job.say_when_empty = false;
  job.summary = [is_delete, last_return](const HostTally& t, bool many) -> std::string {
    if (many)
      return std::to_string(t.returned_zero) + " call(s) returned 0, " +
             std::to_string(t.returned_nonzero) + " returned non-zero";
    if (is_delete) return "Instance deletion successful.";
    if (t.returned_nonzero)
      return "lwmic: method returned " + std::to_string(last_return->load()) + " (" +
             return_value_text(*last_return) + ")";
    return "";
  };
  return run_on_hosts(g, job);
}

// wmic's alias form read into what to do: a query to show, a method to call on each match, or
// Create.
struct AliasPlan {
  enum class Kind { kShow, kCallEach, kCreate };
  Kind kind = Kind::kShow;
  std::string wql;                   ///< kCallEach
  std::string where;                 ///< kShow: the condition ("" for all)
  std::vector<std::string> columns;  ///< kShow: the properties asked for (empty: all)
  std::optional<Format> format;      ///< kShow: how wmic shows the list set
  std::string method;                ///< kCallEach
  std::vector<std::string> args;     ///< kCallEach: in-parameters as given
  Parameters create_in;              ///< kCreate
};

// Reads the alias words (of `process`, or of `path CLASS`: `cls`); says why and returns
// nullopt when they make no sense.
std::optional<AliasPlan> plan_alias(const std::vector<std::string>& words, const std::string& cls) {
  size_t i = 0;
  std::string where;
  if (i < words.size() && base::iequals(words[i], "where")) {
    if (i + 1 >= words.size()) {
      std::cerr << "lwmic: error: 'where' needs a condition, e.g. where \"name='sleep'\"\n";
      return std::nullopt;
    }
    where = words[i + 1];
    i += 2;
  }
  std::string verb = i < words.size() ? base::to_lower(words[i++]) : "list";
  std::vector<std::string> rest(words.begin() + static_cast<long>(i), words.end());
  auto query = [&](const std::string& props) {
    std::string q = "SELECT " + props + " FROM " + cls;
    if (!where.empty()) q += " WHERE " + where;
    return q;
  };
  AliasPlan plan;
  plan.where = where;
  if (verb == "get") {
    plan.columns = property_list(rest);
    return plan;
  }
  const bool processes = base::iequals(cls, "Win32_Process");
  if (verb == "list") {
    // wmic's property sets: list brief, list full (Name=Value blocks), list memory…
    std::string set = rest.empty() ? "full" : rest[0];
    auto props = wmic_list_set(cls, set);
    if (!props) {
      std::string names;
      for (const auto& n : wmic_list_set_names(cls)) names += (names.empty() ? "" : ", ") + n;
      std::cerr << "lwmic: error: list takes a property set (" << names << "), not '"
                << display_text(set) << "'\n";
      return std::nullopt;
    }
    if (base::iequals(set, "full")) props->clear();  // every property the instance has
    plan.columns = std::move(*props);
    plan.format = wmic_list_format(set);
    return plan;
  }
  if ((verb == "call" || verb == "delete") && !processes) {
    std::cerr << "lwmic: error: path " << display_text(cls) << " " << verb
              << ": lwmic calls the methods of Win32_Process (path Win32_Process, or process); "
                 "for other classes use get or list\n";
    return std::nullopt;
  }
  if (verb == "call" || verb == "delete") {
    if (verb == "call" && rest.empty()) {
      std::cerr << "lwmic: error: call needs a method name, e.g. call terminate\n";
      return std::nullopt;
    }
    plan.method = verb == "delete" ? "Terminate" : rest[0];
    if (verb == "call")
      plan.args = split_wmic_arguments(std::vector<std::string>(rest.begin() + 1, rest.end()));
    if (base::iequals(plan.method, "create")) {
      // Static: no where clause; called once on the class.
      plan.kind = AliasPlan::Kind::kCreate;
      const char* names[] = {"CommandLine", "CurrentDirectory"};
      const auto& args = plan.args;
      for (size_t k = 0; k < args.size(); ++k) {
        auto eq = args[k].find('=');
        if (eq != std::string::npos && eq > 0 && args[k].compare(0, 11, "CommandLine") != 0 &&
            args[k].find(' ') > eq)
          plan.create_in.push_back({args[k].substr(0, eq), Value::string(args[k].substr(eq + 1))});
        else if (k < 2 && !args[k].empty())  // (an empty one, as in `"x",,`, is not given)
          plan.create_in.push_back({names[k], Value::string(args[k])});
        else if (k >= 2 && !args[k].empty()) {
          std::cerr << "lwmic: error: call create takes CommandLine and CurrentDirectory in "
                       "order; '"
                    << display_text(args[k]) << "' is one too many\n";
          return std::nullopt;
        }
      }
      return plan;
    }
    plan.kind = AliasPlan::Kind::kCallEach;
    plan.wql = query("Handle,Name,CommandLine");
    return plan;
  }
  std::cerr << "lwmic: error: unknown verb '" << display_text(verb)
            << "' after process (use get, list, call or delete)\n";
  return std::nullopt;
}

}  // namespace

std::optional<Parameters> parse_assignments(const std::vector<std::string>& args) {
  Parameters out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "lwmic: error: parameter '" << display_text(a) << "' is not Name=Value\n";
      return std::nullopt;
    }
    out.push_back({a.substr(0, eq), Value::string(a.substr(eq + 1))});
  }
  return out;
}

bool is_query_text(std::string_view s) {
  s = base::trim(s);
  return s.size() > 7 && base::iequals(s.substr(0, 7), "select ");
}

int run_call_each(const Invocation& inv, const std::string& wql, const std::string& method,
                  const std::vector<std::string>& args) {
  const GlobalOptions& g = inv.g;
  // What to call, checked once here rather than failing the same way on every host.
  auto cls = cim::Schema::builtin().find("Win32_Process");
  const MethodDecl* decl = cls ? cls->method(method) : nullptr;
  if (!decl) {
    print_error(Error{WbemStatus::kInvalidMethod, "Win32_Process has no method '" + method + "'"});
    return kExitWbemError;
  }
  auto in = method_in_params(*decl, args);
  if (!in) return kExitUsage;
  if (!query_parses(wql)) return kExitWbemError;
  auto rcls = call_row_class(*decl, g.dry_run);
  struct Counts {
    std::atomic<size_t> would{0}, would_not{0}, errors{0};
  };
  auto counts = std::make_shared<Counts>();
  HostJob job;
  job.input = wql;
  job.op = [&, counts, dry_run = g.dry_run](HostContext& h) -> Result<void> {
    auto stream = h.services().exec_query(wql);
    if (!stream.ok()) return stream.take_error();
    Instance target;
    while ((*stream)->next(&target)) {
      Instance row(rcls);
      std::string pid = target.identity().key("Handle")->value.to_text();
      row.set(0, Value::string(pid));
      auto name = target.get("Name");
      row.set(1, name ? *name : Value::null(CimType::kString));
      row.set_server(target.server());
      if (dry_run) {
        auto cl = target.get("CommandLine");
        row.set(2, cl ? *cl : Value::null(CimType::kString));
        std::vector<std::string> why;
        Expected expected = expected_outcome(h.services(), target, *decl, *in, &why);
        if (expected.kind != Expected::Kind::kUnknown)
          ++(expected.kind == Expected::Kind::kSucceeds ? counts->would : counts->would_not);
        row.set(3, expected.shown);
        for (const auto& note : why) h.note(about_process(pid, note));
        h.emit(std::move(row));
        continue;
      }
      ++h.tally.calls;
      auto r = h.services().exec_method(target, decl->name, *in);
      if (!r.ok()) {
        if (r.error().code == WbemStatus::kNotFound) {
          ++h.tally.gone;
          h.note("process " + pid + " was gone before the call (its pid is not touched if reused)");
        } else {
          ++counts->errors;
          Error e = r.take_error();
          e.message = about_process(pid, e.message);
          h.error(std::move(e));
        }
        continue;
      }
      for (const auto& note : r->notes) h.note(about_process(pid, note));
      row.set(2, Value::uint32(r->return_value));
      for (const auto& [pn, pv] : r->out) row.set(pn, pv);
      ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
      h.emit(std::move(row));
    }
    if ((*stream)->error()) return *(*stream)->error();
    return {};
  };
  job.summary = [counts, name = decl->name, dry_run = g.dry_run](const HostTally& t,
                                                                 bool many) -> std::string {
    std::string s;
    if (dry_run) {
      s = std::string(many ? "" : "lwmic: ") + "--dry-run: would call " + name + " on " +
          std::to_string(t.instances) + " process(es)";
      if (!many && counts->would + counts->would_not)
        s += " (" + std::to_string(counts->would) + " expected to succeed, " +
             std::to_string(counts->would_not) + " expected to be refused)";
      return s + "; nothing was done";
    }
    s = std::string(many ? "" : "lwmic: ") + name + ": " + std::to_string(t.calls) + " matched, " +
        std::to_string(t.returned_zero) + " returned 0, " + std::to_string(t.returned_nonzero) +
        " returned non-zero, " + std::to_string(t.gone) + " gone before the call";
    if (!many && counts->errors)
      s += ", " + std::to_string(counts->errors) + " failed with an error";
    if (many && name == "Terminate")
      s += "; " + std::to_string(t.returned_zero) + " process(es) ended";
    return s;
  };
  return run_on_hosts(g, job);
}

int run_alias(const Invocation& inv, const std::vector<std::string>& words,
              const std::string& cls) {
  auto plan = plan_alias(words, cls);
  if (!plan) return kExitUsage;
  switch (plan->kind) {
    case AliasPlan::Kind::kShow:
      return run_show(inv.g, cls, plan->where, plan->columns, plan->format);
    case AliasPlan::Kind::kCreate:
      return run_method(inv, false, "Win32_Process", "Create", plan->create_in);
    case AliasPlan::Kind::kCallEach:
      return run_call_each(inv, plan->wql, plan->method, plan->args);
  }
  return kExitUsage;
}

int run_call(const Invocation& inv) {
  // A method on every result of a query, as Invoke-CimMethod -Query does.
  if (is_query_text(inv.a.path)) return run_call_each(inv, inv.a.path, inv.a.method, inv.a.params);
  auto in = parse_assignments(inv.a.params);
  if (!in) return kExitUsage;
  return run_method(inv, false, inv.a.path, inv.a.method, *in);
}

int run_delete(const Invocation& inv) {
  if (is_query_text(inv.a.path)) return run_call_each(inv, inv.a.path, "Terminate", {});
  return run_method(inv, true, inv.a.path, "Terminate", {});
}

namespace {

/// wmic enables every privilege the account holds unless told /privileges:disable; its alias
/// form does the same here. (The generic verbs and the API enable only what is named.)
Invocation as_wmic(const Invocation& inv) {
  Invocation out = inv;
  if (!out.g.enable_held) out.g.enable_held = true;
  return out;
}

}  // namespace

int run_process(const Invocation& inv) {
  return run_alias(as_wmic(inv), inv.a.words, "Win32_Process");
}

int run_path(const Invocation& given) {
  Invocation inv = as_wmic(given);
  const auto& w = inv.a.words;
  if (w.empty()) {
    std::cerr << "lwmic: error: path needs a class, e.g. path Win32_Process where "
                 "\"name='sleep'\" get ProcessId\n";
    return kExitUsage;
  }
  return run_alias(inv, std::vector<std::string>(w.begin() + 1, w.end()), w[0]);
}

}  // namespace lwmi::cli
