// lwmic — the lwmi command-line client.
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>

#include "base/strings.h"
#include "cim/schema.h"
#include "cli/exit_status.h"
#include "cli/output.h"
#include "cli/stop_signals.h"
#include "cli/subscription_command.h"
#include "cli/wmic_args.h"
#include "event/event_query.h"
#include "event/terminate_target.h"
#include "lwmi/fanout.h"
#include "lwmi/services.h"
#include "wql/parser.h"

namespace {

using namespace lwmi;
using namespace lwmi::cli;
using lwmi::event::terminate_refusal;
using lwmi::event::terminate_target;
using lwmi::event::TerminateTarget;

struct Globals {
  std::string format = "table";
  std::string node;
  std::string user;
  std::string password;
  std::string password_file;
  std::string ca;
  std::string socket;
  std::string config;
  std::string namespace_path;  ///< --namespace; "" = wherever the class named is
  bool embedded = false;
  bool dry_run = false;
  bool system_properties = false;
  std::vector<std::string> privileges;
  double connect_timeout = 10;  ///< seconds; 0 = no limit
  double timeout = 60;          ///< seconds per request; 0 = no limit
  size_t throttle = 256;        ///< hosts at once
};

int millis(double seconds) {
  return seconds <= 0 ? 0 : std::max(1, static_cast<int>(seconds * 1000 + 0.5));
}

// An error as lwmic shows it: its message may quote a process name or come from a server, so it
// is shown as display_text() shows untrusted text.
std::string error_text(const Error& e) {
  Error shown = e;
  shown.message = display_text(e.message);
  return shown.to_string();
}

// What Terminate did, with every untrusted part (pid, name, the method's notes) as lwmic shows
// untrusted text.
std::string terminate_outcome_shown(TerminateTarget target, MethodResult result) {
  target.pid = display_text(target.pid);
  target.name = display_text(target.name);
  for (auto& n : result.notes) n = display_text(n);
  return lwmi::event::terminate_outcome(target, result);
}

// Prints `lwmic: error: NAME (0x…): message`, and the input with a caret under the position.
void print_error(const Error& e, std::string_view input = {}) {
  std::cerr << "lwmic: error: " << error_text(e) << '\n';
  if (e.position && !input.empty() && *e.position <= input.size()) {
    std::cerr << "  " << input << '\n' << "  " << std::string(*e.position, ' ') << "^\n";
  }
}

int status_for(const Error& e) {
  // Connection, authentication and certificate failures (liblwmi's remote transport).
  switch (classify(e)) {
    case HostOutcome::kUnreachable:
    case HostOutcome::kRefused:
    case HostOutcome::kTimedOut:
      return kExitConnection;
    default:
      return kExitWbemError;
  }
}

// Reads a password from the terminal with echo off; nullopt when there is no terminal.
std::optional<std::string> prompt_password(const std::string& user, const std::string& node) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  termios old{};
  bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // The prompt once echo is off (and typed-ahead input dropped), as getpass does: what is
  // typed after it is never shown.
  std::cerr << ("Password for " + user + "@" + node + ": ") << std::flush;  // one write
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (!ok) return std::nullopt;
  return line;
}

// Name=Value arguments (in-parameters of call, properties of create) as string values, converted
// by the service to the declared types; a repeated name is an array. False (the error said)
// for an argument without a name.
bool parse_assignments(const std::vector<std::string>& args, Parameters* out) {
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "lwmic: error: parameter '" << a << "' is not Name=Value\n";
      return false;
    }
    out->push_back({a.substr(0, eq), Value::string(a.substr(eq + 1))});
  }
  return true;
}

Result<std::unique_ptr<Services>> open(const Globals& g) {
  ConnectOptions o;
  o.node = g.node.empty() ? "." : g.node;
  o.user = g.user;
  o.password = g.password;
  o.config_path = g.config;
  o.namespace_path = g.namespace_path;
  o.socket = g.socket;
  o.ca_file = g.ca;
  o.embedded_only = g.embedded;
  o.connect_timeout_ms = millis(g.connect_timeout);
  o.operation_timeout_ms = millis(g.timeout);
  auto s = Locator::connect(o);
  if (!s.ok()) return s;
  for (const auto& note : (*s)->notes()) std::cerr << "lwmic: note: " << display_text(note) << '\n';
  for (const auto& name : g.privileges) {
    auto r = (*s)->privileges().enable(name);
    if (!r.ok()) {
      if (r.error().code == WbemStatus::kPrivilegeNotHeld) {
        std::cerr << "lwmic: warning: " << display_text(r.error().message) << '\n';
      } else {
        return r.take_error();
      }
    }
  }
  if ((*s)->embedded() && ::geteuid() != 0)
    std::cerr << "lwmic: note: no lwmid reachable; running embedded with your own rights, so "
                 "other users' processes show less\n";
  return s;
}

int emit_stream(InstanceStream& stream, const Globals& g, const std::vector<std::string>& cols) {
  OutputOptions oo;
  oo.format = *parse_format(g.format);
  oo.system_properties = g.system_properties;
  auto f = make_formatter(oo, std::cout);
  f->begin(cols);
  Instance inst;
  size_t n = 0;
  while (stream.next(&inst)) {
    f->add(inst);
    ++n;
  }
  f->end();
  if (stream.error()) {
    print_error(*stream.error());
    return status_for(*stream.error());
  }
  if (n == 0) std::cerr << "No instance(s) available.\n";
  return kExitOk;
}

/// A method's out-parameters as an instance (ReturnValue first), as WMI returns them.
Instance method_result_instance(const MethodResult& r) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = "__PARAMETERS";
  PropertyDecl rvp;
  rvp.name = "ReturnValue";
  rvp.type = CimType::kUint32;
  cls->properties.push_back(rvp);
  for (const auto& [n, v] : r.out) {
    PropertyDecl p;
    p.name = n;
    p.type = v.type();
    p.is_array = v.is_array();
    cls->properties.push_back(p);
  }
  Instance out(cls);
  out.set(0, Value::uint32(r.return_value));
  for (size_t i = 0; i < r.out.size(); ++i) out.set(i + 1, r.out[i].second);
  return out;
}

// Prints the out-parameters.
int print_method_result(const MethodResult& r, const Globals& g) {
  Instance out = method_result_instance(r);
  OutputOptions oo;
  oo.format = *parse_format(g.format);
  if (oo.format == Format::kTable) oo.format = Format::kList;  // one instance reads best as a list
  auto f = make_formatter(oo, std::cout);
  f->begin({});
  f->add(out);
  f->end();
  if (r.return_value != 0)
    std::cerr << "lwmic: method returned " << r.return_value << " ("
              << return_value_text(r.return_value) << ")\n";
  return r.return_value == 0 ? kExitOk : kExitMethodFailed;
}

// In-parameters for `decl`: Name=Value, or positional in declaration order (wmic style).
// Prints a usage error and returns false when there are too many.
bool method_in_params(const MethodDecl& decl, const std::vector<std::string>& args,
                      Parameters* in) {
  size_t next = 0;
  std::vector<const ParameterDecl*> ins;
  for (const auto& p : decl.parameters)
    if (p.in) ins.push_back(&p);
  for (const auto& a : args) {
    auto eq = a.find('=');
    bool named = eq != std::string::npos && eq > 0 &&
                 decl.parameter(a.substr(0, a.find('.') < eq ? a.find('.') : eq));
    if (named) {
      in->push_back({a.substr(0, eq), Value::string(a.substr(eq + 1))});
    } else {
      if (next >= ins.size()) {
        std::cerr << "lwmic: error: " << decl.name << " takes " << ins.size()
                  << " in-parameter(s); '" << a << "' is one too many\n";
        return false;
      }
      if (a.empty()) {  // wmic's empty positional argument: not given
        ++next;
        continue;
      }
      in->push_back({ins[next++]->name, Value::string(a)});
    }
  }
  return true;
}

// The row call_each prints per target: Handle, Name, then ReturnValue and the out-parameters
// (or, for --dry-run, the CommandLine).
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

// A WQL SELECT given where a path is expected (call / delete on each result).
bool is_query_text(std::string_view s) {
  s = base::trim(s);
  return s.size() > 7 && base::iequals(s.substr(0, 7), "select ");
}

// An identifier such as Win32_ProcessStartTrace (a class name, not a query).
bool is_class_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// --properties as a SELECT list ("" when every property is asked for).
std::string props_list_text(const std::string& props) {
  std::string out;
  for (const auto& p : property_list({props})) out += (out.empty() ? "" : ",") + p;
  return out;
}

// A note about process `pid`, naming it unless it already does ("process 12 (x) is protected").
std::string about_process(const std::string& pid, const std::string& note) {
  return note.rfind("process " + pid, 0) == 0 ? note : "process " + pid + ": " + note;
}

// --dry-run: what `decl` would return on `target`, asked of the service (its own checks; nothing
// is done): "would end", "refused: ReturnValue 2 (Access denied)", or NULL where the service
// cannot say. `why` gets its notes (the reason for a refusal).
Value expected_outcome(Services& svc, const Instance& target, const MethodDecl& decl,
                       const Parameters& in, std::vector<std::string>* why) {
  auto r = svc.exec_method_what_if(target.identity().to_string(), decl.name, in);
  if (!r.ok()) {
    if (r.error().code == WbemStatus::kNotSupported) return Value::null(CimType::kString);
    if (r.error().code == WbemStatus::kNotFound) return Value::string("gone");
    why->push_back(error_text(r.error()));
    return Value::string("error");
  }
  *why = r->notes;
  if (r->return_value == 0)
    return Value::string(decl.name == "Terminate" ? "would end" : "would return 0");
  return Value::string("refused: ReturnValue " + std::to_string(r->return_value) + " (" +
                       return_value_text(r->return_value) + ")");
}

const MethodDecl* process_method(Services& svc, const std::string& method) {
  auto cls = svc.get_class("Win32_Process");
  const MethodDecl* decl = cls.ok() ? (*cls)->method(method) : nullptr;
  if (!decl)
    print_error(Error{WbemStatus::kInvalidMethod, "Win32_Process has no method '" + method + "'"});
  return decl;
}

// Calls `method` on every instance of `stream`, printing one row per target and a summary.
int call_each(Services& svc, InstanceStream& stream, const std::string& method,
              const std::vector<std::string>& args, const Globals& g, bool dry_run) {
  const MethodDecl* decl = process_method(svc, method);
  if (!decl) return kExitWbemError;
  Parameters in;
  if (!method_in_params(*decl, args, &in)) return kExitUsage;
  auto rcls = call_row_class(*decl, dry_run);
  OutputOptions oo;
  oo.format = *parse_format(g.format);
  auto f = make_formatter(oo, std::cout);
  f->begin({});
  size_t n = 0, ok = 0, failed = 0, gone = 0, errors = 0;
  size_t would = 0, would_not = 0;
  Instance target;
  while (stream.next(&target)) {
    ++n;
    Instance row(rcls);
    row.set(0, Value::string(target.identity().key("Handle")->value.to_text()));
    auto name = target.get("Name");
    row.set(1, name ? *name : Value::null(CimType::kString));
    row.set_server(target.server());
    if (dry_run) {
      auto cl = target.get("CommandLine");
      row.set(2, cl ? *cl : Value::null(CimType::kString));
      std::vector<std::string> why;
      Value expected = expected_outcome(svc, target, *decl, in, &why);
      if (!expected.is_null()) ++(expected.as_string().rfind("would", 0) == 0 ? would : would_not);
      row.set(3, expected);
      for (const auto& note : why)
        std::cerr << "lwmic: note: " << display_text(about_process(row.at(0).to_text(), note))
                  << '\n';
      f->add(row);
      continue;
    }
    auto r = svc.exec_method(target, method, in);
    if (!r.ok()) {
      if (r.error().code == WbemStatus::kNotFound) {
        ++gone;
        std::cerr << "lwmic: note: process " << display_text(row.at(0).to_text())
                  << " was gone before the call (its pid is not touched if reused)\n";
      } else {
        ++errors;
        print_error(r.error());
      }
      continue;
    }
    for (const auto& note : r->notes)
      std::cerr << "lwmic: note: process " << display_text(row.at(0).to_text()) << ": "
                << display_text(note) << '\n';
    row.set(2, Value::uint32(r->return_value));
    for (const auto& [pn, pv] : r->out) row.set(pn, pv);
    (r->return_value == 0 ? ok : failed)++;
    f->add(row);
  }
  f->end();
  if (stream.error()) {
    print_error(*stream.error());
    return kExitWbemError;
  }
  if (n == 0) {
    std::cerr << "No instance(s) available.\n";
    return kExitOk;
  }
  if (dry_run) {
    std::cerr << "lwmic: --dry-run: would call " << decl->name << " on " << n << " process(es)";
    if (would + would_not)
      std::cerr << " (" << would << " expected to succeed, " << would_not
                << " expected to be refused)";
    std::cerr << "; nothing was done\n";
    return kExitOk;
  }
  std::cerr << "lwmic: " << decl->name << ": " << n << " matched, " << ok << " returned 0, "
            << failed << " returned non-zero, " << gone << " gone before the call";
  if (errors) std::cerr << ", " << errors << " failed with an error";
  std::cerr << '\n';
  if (errors) return kExitWbemError;
  return failed ? kExitMethodFailed : kExitOk;
}

// wmic's alias form: process [where COND] [get PROPS | list [brief|full] | call M [args] | delete]
// read into what to do: a query to show, a method to call on each match, or Create.
struct AliasPlan {
  enum class Kind { kShow, kCallEach, kCreate };
  Kind kind = Kind::kShow;
  std::string wql;                   ///< kShow, kCallEach
  std::vector<std::string> columns;  ///< kShow: the properties asked for (empty: all)
  std::string method;                ///< kCallEach
  std::vector<std::string> args;     ///< kCallEach: in-parameters as given
  Parameters create_in;              ///< kCreate
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads the alias words (of `process`, or of `path CLASS`: `cls`); prints a usage error and
// returns nullopt when they make no sense.
std::optional<AliasPlan> plan_alias(const std::vector<std::string>& words,
                                    const std::string& cls = "Win32_Process") {
  size_t i = 0;
  std::string where;
  if (i < words.size() && lower(words[i]) == "where") {
    if (i + 1 >= words.size()) {
      std::cerr << "lwmic: error: 'where' needs a condition, e.g. where \"name='sleep'\"\n";
      return std::nullopt;
    }
    where = words[i + 1];
    i += 2;
  }
  std::string verb = i < words.size() ? lower(words[i++]) : "list";
  std::vector<std::string> rest(words.begin() + static_cast<long>(i), words.end());
  auto query = [&](const std::string& props) {
    std::string q = "SELECT " + props + " FROM " + cls;
    if (!where.empty()) q += " WHERE " + where;
    return q;
  };
  AliasPlan plan;
  auto show = [&](std::vector<std::string> props) {
    std::string list;
    for (const auto& p : props) list += (list.empty() ? "" : ",") + p;
    plan.wql = query(list.empty() ? "*" : list);
    plan.columns = std::move(props);
    return plan;
  };
  if (verb == "get") return show(property_list(rest));
  const bool processes = base::iequals(cls, "Win32_Process");
  if (verb == "list") {
    std::string mode = rest.empty() ? "full" : lower(rest[0]);
    std::vector<std::string> props;
    if (mode == "brief" && processes)
      props = {"HandleCount", "Name", "Priority", "ProcessId", "ThreadCount", "WorkingSetSize"};
    else if (mode != "full") {
      std::cerr << "lwmic: error: list takes brief or full, not '" << rest[0] << "'\n";
      return std::nullopt;
    }
    return show(props);
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
    if (lower(plan.method) == "create") {
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
  std::cerr << "lwmic: error: unknown verb '" << verb
            << "' after process (use get, list, call or delete)\n";
  return std::nullopt;
}

int run_alias(Services& svc, const AliasPlan& plan, const Globals& g) {
  auto open_query = [&](const std::string& q) -> Result<std::unique_ptr<InstanceStream>> {
    auto s = svc.exec_query(q);
    // Positions refer to the generated query: show it with the caret.
    if (!s.ok()) print_error(s.error(), q);
    return s;
  };
  switch (plan.kind) {
    case AliasPlan::Kind::kShow: {
      auto s = open_query(plan.wql);
      if (!s.ok()) return status_for(s.error());
      return emit_stream(**s, g, plan.columns);
    }
    case AliasPlan::Kind::kCreate: {
      auto r = svc.exec_method("Win32_Process", "Create", plan.create_in);
      if (!r.ok()) {
        print_error(r.error());
        return status_for(r.error());
      }
      for (const auto& n : r->notes) std::cerr << "lwmic: note: " << display_text(n) << '\n';
      return print_method_result(*r, g);
    }
    case AliasPlan::Kind::kCallEach: {
      auto s = open_query(plan.wql);
      if (!s.ok()) return status_for(s.error());
      return call_each(svc, **s, plan.method, plan.args, g, g.dry_run);
    }
  }
  return kExitUsage;
}

// ---------------------------------------------------------------------------------------------
// Fan-out: one verb on many hosts (--node h1,h2,… or --node @FILE).

/// What the command line asked for, for every host.
struct Command {
  enum class Verb { kGet, kCall, kDelete, kQuery, kList, kAlias };
  Verb verb = Verb::kQuery;
  std::string path, method, wql, cls;
  std::vector<std::string> properties;
  Parameters in;  ///< kCall
  AliasPlan alias;
};

/// The progress line on a terminal, and output that must not tear it.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  /// Before anything else is written to the terminal.
  void clear() {
    if (enabled_ && shown_) {
      std::cerr << "\r\033[K" << std::flush;
      shown_ = false;
    }
  }
  void show(size_t done, size_t total, size_t failed, size_t ended) {
    if (!enabled_) return;
    std::cerr << "\r\033[Klwmic: " << done << "/" << total << " hosts done, " << failed
              << " not ok";
    if (ended) std::cerr << ", " << ended << " process(es) ended";
    std::cerr << std::flush;
    shown_ = true;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

int exit_status_for(HostOutcome worst) {
  switch (worst) {
    case HostOutcome::kOk:
      return kExitOk;
    case HostOutcome::kMethodFailed:
      return kExitMethodFailed;
    case HostOutcome::kFailed:
      return kExitWbemError;
    case HostOutcome::kTimedOut:
    case HostOutcome::kUnreachable:
    case HostOutcome::kRefused:
      return kExitConnection;
  }
  return kExitWbemError;
}

/// Calls `method` on each instance the query finds on this host; a row per target.
Result<void> host_call_each(HostContext& h, const std::string& wql, const MethodDecl& decl,
                            const Parameters& in, const std::shared_ptr<ClassDecl>& rcls,
                            bool dry_run) {
  auto stream = h.services().exec_query(wql);
  if (!stream.ok()) return stream.take_error();
  Instance target;
  while ((*stream)->next(&target)) {
    Instance row(rcls);
    row.set(0, Value::string(target.identity().key("Handle")->value.to_text()));
    auto name = target.get("Name");
    row.set(1, name ? *name : Value::null(CimType::kString));
    if (dry_run) {
      auto cl = target.get("CommandLine");
      row.set(2, cl ? *cl : Value::null(CimType::kString));
      std::vector<std::string> why;
      row.set(3, expected_outcome(h.services(), target, decl, in, &why));
      for (const auto& note : why) h.note(about_process(row.at(0).to_text(), note));
      h.emit(std::move(row));
      continue;
    }
    ++h.tally.calls;
    auto r = h.services().exec_method(target, decl.name, in);
    if (!r.ok()) {
      if (r.error().code == WbemStatus::kNotFound) {
        ++h.tally.gone;
        h.note("process " + row.at(0).to_text() +
               " was gone before the call (its pid is not touched if reused)");
      } else {
        Error e = r.take_error();
        e.message = "process " + row.at(0).to_text() + ": " + e.message;
        h.error(std::move(e));
      }
      continue;
    }
    for (const auto& note : r->notes) h.note("process " + row.at(0).to_text() + ": " + note);
    row.set(2, Value::uint32(r->return_value));
    for (const auto& [pn, pv] : r->out) row.set(pn, pv);
    ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
    h.emit(std::move(row));
  }
  if ((*stream)->error()) return *(*stream)->error();
  return {};
}

Result<void> host_stream(HostContext& h, Result<std::unique_ptr<InstanceStream>> stream) {
  if (!stream.ok()) return stream.take_error();
  Instance inst;
  while ((*stream)->next(&inst)) h.emit(std::move(inst));
  if ((*stream)->error()) return *(*stream)->error();
  return {};
}

Result<void> host_method(HostContext& h, Result<MethodResult> r) {
  if (!r.ok()) return r.take_error();
  for (const auto& n : r->notes) h.note(n);
  ++h.tally.calls;
  ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
  h.emit(method_result_instance(*r));
  return {};
}

int run_fanout_command(const std::vector<std::string>& nodes, const Command& cmd,
                       const Globals& g) {
  // What to call, checked once here rather than failing the same way on every host.
  const MethodDecl* decl = nullptr;
  Parameters call_in;
  std::shared_ptr<ClassDecl> rcls;
  bool call_each =
      cmd.verb == Command::Verb::kAlias && cmd.alias.kind == AliasPlan::Kind::kCallEach;
  std::string wql =
      cmd.verb == Command::Verb::kQuery ? cmd.wql
      : cmd.verb == Command::Verb::kAlias && cmd.alias.kind != AliasPlan::Kind::kCreate
          ? cmd.alias.wql
          : std::string();
  if (!wql.empty()) {
    if (auto parsed = wql::parse(wql); !parsed.ok()) {
      print_error(parsed.error(), wql);
      return kExitWbemError;
    }
  }
  if (call_each) {
    auto cls = cim::Schema::builtin().find("Win32_Process");
    decl = cls ? cls->method(cmd.alias.method) : nullptr;
    if (!decl) {
      print_error(Error{WbemStatus::kInvalidMethod,
                        "Win32_Process has no method '" + cmd.alias.method + "'"});
      return kExitWbemError;
    }
    if (!method_in_params(*decl, cmd.alias.args, &call_in)) return kExitUsage;
    rcls = call_row_class(*decl, g.dry_run);
  }
  bool state_changing =
      cmd.verb == Command::Verb::kCall || cmd.verb == Command::Verb::kDelete ||
      (cmd.verb == Command::Verb::kAlias && cmd.alias.kind == AliasPlan::Kind::kCreate);
  if (g.dry_run && state_changing) {
    for (const auto& n : nodes)
      std::cout << display_text(n) << ": would call "
                << (cmd.verb == Command::Verb::kDelete ? "Terminate"
                    : cmd.verb == Command::Verb::kCall ? cmd.method
                                                       : "Create")
                << " on " << (cmd.verb == Command::Verb::kAlias ? "Win32_Process" : cmd.path)
                << "; nothing was done\n";
    return kExitOk;
  }

  HostOperation op = [&](HostContext& h) -> Result<void> {
    Services& svc = h.services();
    switch (cmd.verb) {
      case Command::Verb::kGet: {
        auto inst = svc.get_object(cmd.path, cmd.properties);
        if (!inst.ok()) return inst.take_error();
        h.emit(std::move(*inst));
        return {};
      }
      case Command::Verb::kCall:
        return host_method(h, svc.exec_method(cmd.path, cmd.method, cmd.in));
      case Command::Verb::kDelete: {
        auto r = svc.delete_instance(cmd.path);
        if (!r.ok()) return r.take_error();
        ++h.tally.calls;
        ++h.tally.returned_zero;
        h.note("instance deletion successful");
        return {};
      }
      case Command::Verb::kQuery:
        return host_stream(h, svc.exec_query(cmd.wql));
      case Command::Verb::kList:
        return host_stream(h, svc.enumerate_instances(cmd.cls, cmd.properties));
      case Command::Verb::kAlias:
        switch (cmd.alias.kind) {
          case AliasPlan::Kind::kShow:
            return host_stream(h, svc.exec_query(cmd.alias.wql));
          case AliasPlan::Kind::kCreate:
            return host_method(h, svc.exec_method("Win32_Process", "Create", cmd.alias.create_in));
          case AliasPlan::Kind::kCallEach:
            return host_call_each(h, cmd.alias.wql, *decl, call_in, rcls, g.dry_run);
        }
    }
    return {};
  };

  OutputOptions oo;
  oo.format = *parse_format(g.format);
  oo.system_properties = g.system_properties;
  oo.node_column = true;
  auto f = make_formatter(oo, std::cout);
  std::vector<std::string> cols = cmd.verb == Command::Verb::kQuery   ? std::vector<std::string>{}
                                  : cmd.verb == Command::Verb::kAlias ? cmd.alias.columns
                                                                      : cmd.properties;
  if (cmd.verb == Command::Verb::kQuery)
    if (auto parsed = wql::parse(cmd.wql); parsed.ok() && !parsed->select.select_all)
      for (const auto& p : parsed->select.properties)
        if (p.path[0].rfind("__", 0) != 0) cols.push_back(p.text());
  f->begin(cols);
  bool streams = oo.format != Format::kTable;  // the table waits for its widths
  Progress progress(::isatty(STDERR_FILENO) && oo.format != Format::kJson);
  size_t not_ok = 0, ended = 0;

  FanoutOptions fo;
  fo.connect.user = g.user;
  fo.connect.password = g.password;
  fo.connect.ca_file = g.ca;
  fo.connect.config_path = g.config;
  fo.connect.namespace_path = g.namespace_path;
  fo.connect.socket = g.socket;
  fo.connect.connect_timeout_ms = millis(g.connect_timeout);
  fo.connect.operation_timeout_ms = millis(g.timeout);
  fo.throttle = g.throttle;
  fo.privileges = g.privileges;
  FanoutCallbacks cb;
  cb.on_instance = [&](const std::string&, const Instance& inst) {
    if (streams) progress.clear();
    f->add(inst);
    if (streams) std::cout.flush();
  };
  cb.on_error = [&](const std::string& node, const Error& e) {
    progress.clear();
    std::cerr << "lwmic: " << display_text(node) << ": error: " << error_text(e) << '\n';
  };
  cb.on_host = [&](const HostReport& r, size_t done, size_t total) {
    progress.clear();
    std::string node = display_text(r.node);
    for (const auto& n : r.notes)
      std::cerr << "lwmic: " << node << ": note: " << display_text(n) << '\n';
    if (r.outcome != HostOutcome::kOk && r.outcome != HostOutcome::kMethodFailed) {
      ++not_ok;
      std::cerr << "lwmic: " << node << ": " << outcome_name(r.outcome) << ": "
                << (r.error ? error_text(*r.error) : std::string()) << '\n';
    } else if (r.outcome == HostOutcome::kMethodFailed) {
      std::cerr << "lwmic: " << node << ": " << r.tally.returned_nonzero
                << " call(s) returned non-zero\n";
    }
    if (call_each || cmd.verb == Command::Verb::kCall || cmd.verb == Command::Verb::kDelete)
      ended += r.tally.returned_zero;
    progress.show(done, total, not_ok, ended);
  };
  auto summary = run_fanout(nodes, fo, op, cb);
  progress.clear();
  f->end();

  // The summary: what happened to each host, counted.
  auto t = summary.total();
  std::cerr << "lwmic: " << nodes.size() << " host(s): "
            << summary.count(HostOutcome::kOk) + summary.count(HostOutcome::kMethodFailed)
            << " ok, " << summary.count(HostOutcome::kFailed) << " failed, "
            << summary.count(HostOutcome::kUnreachable) << " unreachable, "
            << summary.count(HostOutcome::kRefused) << " refused, "
            << summary.count(HostOutcome::kTimedOut) << " timed out";
  if (call_each && g.dry_run) {
    std::cerr << "; --dry-run: would call " << decl->name << " on " << t.instances
              << " process(es); nothing was done";
  } else if (call_each) {
    std::string m = decl->name;
    std::cerr << "; " << m << ": " << t.calls << " matched, " << t.returned_zero << " returned 0, "
              << t.returned_nonzero << " returned non-zero, " << t.gone << " gone before the call";
    if (m == "Terminate") std::cerr << "; " << t.returned_zero << " process(es) ended";
  } else if (cmd.verb == Command::Verb::kCall || cmd.verb == Command::Verb::kDelete) {
    std::cerr << "; " << t.returned_zero << " call(s) returned 0, " << t.returned_nonzero
              << " returned non-zero";
  }
  std::cerr << '\n';
  if (t.instances == 0 && !(cmd.verb == Command::Verb::kDelete) &&
      summary.worst() <= HostOutcome::kMethodFailed)
    std::cerr << "No instance(s) available.\n";
  return exit_status_for(summary.worst());
}

struct WatchArgs {
  std::string wql;
  bool terminate = false;
  uint32_t reason = 0;
  size_t count = 0;    ///< stop after this many events from all hosts (0: never)
  double timeout = 0;  ///< stop after this many seconds (0: never)
};

// watch on several hosts: a subscription on each, events from all as they come (tagged with
// their host), each host's Terminate on its own processes. Every host is worked on at once
// (a subscription holds its worker for the whole watch, so --throttle does not apply).
int run_fanout_watch(const std::vector<std::string>& nodes, const WatchArgs& w, const Globals& g,
                     StopSignals& signals) {
  if (auto q = event::compile_event_query(w.wql); !q.ok()) {
    print_error(q.error(), w.wql);
    return kExitWbemError;
  }
  OutputOptions oo;
  oo.format = *parse_format(g.format);
  if (oo.format == Format::kTable) oo.format = Format::kList;  // streams; a table would buffer
  oo.node_column = true;
  auto f = make_formatter(oo, std::cout);
  f->begin({});
  std::mutex mu;                  // guards `settled` and the "watching" line
  std::set<std::string> settled;  // hosts subscribed, or failed before subscribing
  auto settle = [&](const std::string& node) {
    std::lock_guard<std::mutex> lock(mu);
    if (settled.insert(node).second && settled.size() == nodes.size())
      std::cerr << "lwmic: watching " << nodes.size() << " host(s) (Ctrl-C to stop)" << std::endl;
  };
  std::atomic<size_t> events{0};
  std::atomic<bool> stop{false};
  // Every host's loop looks at `stop` at least twice a second and then unsubscribes.
  signals.on_stop([&] { stop = true; });
  std::atomic<bool> broken_pipe{false};
  auto start = std::chrono::steady_clock::now();
  HostOperation op = [&](HostContext& h) -> Result<void> {
    auto stream = h.services().exec_notification_query(w.wql);
    if (!stream.ok()) return stream.take_error();
    settle(h.node());
    for (;;) {
      // Wake at least twice a second to see whether another host ended the watch.
      int wait = 500;
      if (w.timeout > 0) {
        double left =
            w.timeout -
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (left <= 0) break;
        wait = std::min(wait, static_cast<int>(left * 1000) + 1);
      }
      if (stop) break;
      Instance ev;
      auto got = (*stream)->next(&ev, wait);
      if (!got.ok()) return got.take_error();
      if (!*got) continue;
      if (stop) break;
      std::optional<Result<TerminateTarget>> target;
      if (w.terminate) target = terminate_target(ev);
      h.emit(std::move(ev));
      if (target && !target->ok()) {
        if (target->error().code == WbemStatus::kNotFound)
          h.note(target->error().message);
        else
          h.error(target->take_error());
      } else if (target) {
        ++h.tally.calls;
        auto r = h.services().exec_method((*target)->path, "Terminate",
                                          {{"Reason", Value::uint32(w.reason)}});
        const std::string& pid = (*target)->pid;
        if (!r.ok()) {
          Error e = r.take_error();
          e.message = "process " + pid + ": " + e.message;
          h.error(std::move(e));
        } else {
          ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
          h.note(terminate_outcome_shown(**target, *r));
        }
      }
      if (w.count && ++events >= w.count) stop = true;
    }
    if ((*stream)->dropped())
      h.note(std::to_string((*stream)->dropped()) +
             " event(s) were dropped by the server because they came faster than they were "
             "pulled (WBEM_E_QUEUE_OVERFLOW)");
    return {};
  };
  FanoutOptions fo;
  fo.connect.user = g.user;
  fo.connect.password = g.password;
  fo.connect.ca_file = g.ca;
  fo.connect.config_path = g.config;
  fo.connect.namespace_path = g.namespace_path;
  fo.connect.socket = g.socket;
  fo.connect.connect_timeout_ms = millis(g.connect_timeout);
  fo.connect.operation_timeout_ms = millis(g.timeout);
  fo.throttle = nodes.size();
  fo.privileges = g.privileges;
  FanoutCallbacks cb;
  cb.on_instance = [&](const std::string&, const Instance& inst) {
    f->add(inst);
    std::cout.flush();
    if (!std::cout) broken_pipe = stop = true;  // the reader went away: end the watch cleanly
  };
  cb.on_error = [&](const std::string& node, const Error& e) {
    std::cerr << "lwmic: " << display_text(node) << ": error: " << error_text(e) << '\n';
  };
  cb.on_host = [&](const HostReport& r, size_t, size_t) {
    std::string node = display_text(r.node);
    for (const auto& n : r.notes) std::cerr << "lwmic: " << node << ": " << display_text(n) << '\n';
    if (r.outcome != HostOutcome::kOk && r.outcome != HostOutcome::kMethodFailed) {
      std::cerr << "lwmic: " << node << ": " << outcome_name(r.outcome) << ": "
                << (r.error ? error_text(*r.error) : std::string()) << '\n';
    }
    settle(r.node);  // no-op for a host that subscribed
  };
  auto summary = run_fanout(nodes, fo, op, cb);
  signals.on_stop({});
  f->end();
  if (broken_pipe) StopSignals::end_as(SIGPIPE);
  auto t = summary.total();
  std::cerr << "lwmic: " << nodes.size() << " host(s): "
            << summary.count(HostOutcome::kOk) + summary.count(HostOutcome::kMethodFailed)
            << " ok, " << summary.count(HostOutcome::kFailed) << " failed, "
            << summary.count(HostOutcome::kUnreachable) << " unreachable, "
            << summary.count(HostOutcome::kRefused) << " refused, "
            << summary.count(HostOutcome::kTimedOut) << " timed out; " << t.instances
            << " event(s)";
  if (w.terminate) std::cerr << "; " << t.returned_zero << " process(es) ended";
  std::cerr << '\n';
  signals.end_as_received();  // every subscription has ended
  return exit_status_for(summary.worst());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  std::vector<std::string> switch_notes;
  auto args = translate_wmic_switches(raw, &switch_notes);
  for (const auto& n : switch_notes) std::cerr << "lwmic: note: " << display_text(n) << '\n';

  CLI::App app{"lwmic: query and manage processes the WMI way (Win32_Process) on Linux"};
  // Verbs in any case, as wmic takes them: PROCESS, Process, List…
  app.ignore_case();
  app.set_version_flag("--version", "lwmic 0.1.0");
  app.fallthrough();
  app.require_subcommand(1);
  Globals g;
  std::string output_file, append_file;
  app.add_option("--output", output_file,
                 "Write the output to this file (wmic's /output:FILE; STDOUT: the terminal)");
  app.add_option("--append", append_file, "Append the output to this file (wmic's /append:FILE)");
  app.add_option("--format", g.format, "Output format: table, csv, list, json")
      ->check(CLI::IsMember({"table", "csv", "list", "json"}, CLI::ignore_case));
  app.add_option("--node", g.node,
                 "Host(s) to manage: HOST[:PORT] or URL, a comma-separated list, or @FILE (one "
                 "a line, # comments) (default: this host)");
  app.add_option("--throttle", g.throttle, "With several hosts: how many at once (default 256)")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_option("--connect-timeout", g.connect_timeout,
                 "Seconds to wait for a host's connection (default 10; 0 = no limit)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--timeout", g.timeout,
                 "Seconds to wait for each answer of a host (default 60; 0 = no limit)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--user", g.user, "User name for a remote host");
  app.add_option("--password", g.password, "Password (prefer --password-file or LWMI_PASSWORD)");
  app.add_option("--password-file", g.password_file, "File holding the password");
  app.add_option("--ca", g.ca, "CA certificate to trust for remote hosts");
  app.add_option("--socket", g.socket, "lwmid's Unix socket");
  app.add_option("--config", g.config, "Configuration file (default /etc/lwmi/lwmid.conf)");
  app.add_option("--namespace", g.namespace_path,
                 "Namespace of the classes named: root\\cimv2 or root\\subscription (default: "
                 "wherever the class is)");
  app.add_flag("--embedded", g.embedded, "Run the engine in this process, even if lwmid runs");
  app.add_flag("--dry-run", g.dry_run, "Show what a state-changing call would do, do nothing");
  app.add_flag("--system-properties", g.system_properties,
               "Show every system property (__GENUS, __DERIVATION…) in JSON");
  app.add_option("--enable-privilege", g.privileges,
                 "Enable a privilege the account holds (e.g. SeDebugPrivilege)");

  std::string path, cls, props;
  auto* get = app.add_subcommand("get", "Show one instance by object path");
  get->add_option("path", path, "Object path, e.g. Win32_Process.Handle=\"1234\"")->required();
  get->add_option("--properties", props, "Comma-separated properties to show");
  std::string method;
  std::vector<std::string> call_args;
  auto* call = app.add_subcommand("call", "Call a method: call PATH METHOD [Name=Value...]");
  call->add_option("path", path, "Object path (the class for a static method such as Create)")
      ->required();
  call->add_option("method", method, "Method name, e.g. Terminate")->required();
  call->add_option("params", call_args,
                   "In-parameters as Name=Value (Param.Prop=Value for embedded objects)");
  auto* del = app.add_subcommand("delete", "Delete an instance (for a process: Terminate)");
  del->add_option("path", path, "Object path")->required();
  std::vector<std::string> create_args;
  auto* create = app.add_subcommand(
      "create",
      "Create an instance: create CLASS Name=Value... (e.g. create __EventFilter Name=x "
      "Query=\"SELECT …\"); prints its path");
  create->add_option("class", cls, "Class name, e.g. __EventFilter")->required();
  create->add_option("properties", create_args,
                     "Properties as Name=Value, keys included (repeat a name for an array)");
  SubscriptionArgs sub;
  std::string sub_terminate;
  auto* subscription = app.add_subcommand(
      "subscription",
      "Permanent event subscriptions (run by lwmid): add NAME --query WQL (--terminate REASON | "
      "--log FILE [--text T] | --run PROGRAM [--args T] | --journal T), list, show NAME, "
      "remove NAME");
  subscription->add_option("action", sub.action, "add, list, show or remove")
      ->required()
      ->check(CLI::IsMember({"add", "list", "show", "remove"}));
  subscription->add_option("name", sub.name, "The subscription's name (filter, consumer)");
  subscription->add_option("--query", sub.query, "add: the WQL event query");
  subscription->add_option("--terminate", sub_terminate,
                           "add: end each process the query names, with this Reason");
  subscription->add_option("--log", sub.log, "add: append a line per event to this file");
  subscription->add_option("--text", sub.text, "add --log: the line's template");
  subscription->add_option("--run", sub.run, "add: run this program per event");
  subscription->add_option("--args", sub.args, "add --run: its CommandLineTemplate");
  subscription->add_option("--kill-timeout", sub.kill_timeout, "add --run: seconds");
  auto* sub_journal =
      subscription->add_option("--journal", sub.journal_text, "add: a journal entry per event");
  std::string wql;
  auto* query = app.add_subcommand("query", "Run a WQL query: query \"SELECT … FROM … WHERE …\"");
  query->add_option("wql", wql, "The query")->required();
  std::string watch_wql;
  bool watch_terminate = false;
  uint32_t watch_reason = 0;
  size_t watch_count = 0;
  double watch_timeout = 0;
  auto* watch = app.add_subcommand(
      "watch",
      "Deliver events as they happen: watch \"SELECT * FROM __InstanceCreationEvent "
      "WHERE TargetInstance ISA 'Win32_Process' …\"");
  watch->add_option("wql", watch_wql, "The event query")->required();
  watch->add_flag("--terminate", watch_terminate,
                  "End each process an event names, as it comes (creation, modification and "
                  "Win32_ProcessStartTrace events; by pid and start time)");
  watch->add_option("--reason", watch_reason, "Terminate's Reason (default 0)");
  bool watch_no_guard = false, watch_guard_own_session = false;
  watch->add_flag("--no-guard", watch_no_guard,
                  "With --terminate: never ask for kernel rules; end each process from user "
                  "space after it started");
  watch->add_flag("--guard-own-session", watch_guard_own_session,
                  "With --terminate: kernel rules also block programs started in this session "
                  "(by default your own session is spared, so a rule cannot lock you out)");
  watch->add_option("--count", watch_count, "Stop after this many events (default: never)");
  watch->add_option("--timeout", watch_timeout, "Stop after this many seconds (default: never)");
  bool watch_stats = false;
  watch->add_flag("--stats", watch_stats,
                  "At the end, print the event source's state (LWMI_EventSource) on stderr");
  std::vector<std::string> alias_words;
  auto* process = app.add_subcommand(
      "process", "wmic's alias for Win32_Process: process [where COND] get|list|call|delete …");
  process->add_option("words", alias_words,
                      "where \"COND\" get a,b | list [brief|full] | "
                      "call METHOD [ARGS] | delete");
  process->allow_extras();
  std::vector<std::string> path_words;
  auto* path_verb = app.add_subcommand(
      "path", "wmic's path: path CLASS [where COND] get a,b | list | call METHOD [ARGS] | delete");
  path_verb->add_option("words", path_words, "CLASS, then as for process");
  path_verb->allow_extras();
  auto* list = app.add_subcommand("list", "Show every instance of a class");
  list->add_option("class", cls, "Class name, e.g. Win32_Process")->required();
  list->add_option("--properties", props, "Comma-separated properties to show");
  std::string list_filter;
  list->add_option("--filter", list_filter,
                   "A WQL condition, as Get-CimInstance -Filter: --filter \"Name='sshd'\"");

  try {
    std::vector<std::string> rev(args.rbegin(), args.rend());
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "lwmic: error: " << e.what() << "\nRun 'lwmic --help' for usage.\n";
    return kExitUsage;
  }
  // wmic's /output: and /append: (STDOUT is the terminal, as in wmic).
  for (const auto& [file, mode] : {std::pair{&output_file, "we"}, std::pair{&append_file, "ae"}}) {
    if (file->empty() || base::iequals(*file, "STDOUT")) continue;
    if (base::iequals(*file, "CLIPBOARD")) {
      std::cerr << "lwmic: error: there is no clipboard here: name a file\n";
      return kExitUsage;
    }
    std::cout.flush();
    if (!std::freopen(file->c_str(), mode, stdout)) {
      std::cerr << "lwmic: error: cannot write " << display_text(*file) << ": "
                << std::strerror(errno) << '\n';
      return kExitUsage;
    }
  }
  if (!g.password_file.empty() && g.password.empty()) {
    std::ifstream in(g.password_file);
    if (!in || !std::getline(in, g.password)) {
      std::cerr << "lwmic: error: cannot read the password from " << g.password_file << '\n';
      return kExitUsage;
    }
    if (!g.password.empty() && g.password.back() == '\r') g.password.pop_back();
  }
  // The variable is a password for the user named with --user; without one, nothing needs it
  // (a local command must not fail with WBEM_E_LOCAL_CREDENTIALS because it is exported).
  if (const char* env = std::getenv("LWMI_PASSWORD"); env && g.password.empty() && !g.user.empty())
    g.password = env;
  // Several hosts: "h1,h2", "@FILE" (or a mix).
  std::vector<std::string> nodes;
  bool fanout = g.node.find(',') != std::string::npos || g.node.rfind("@", 0) == 0;
  if (fanout) {
    auto parsed = parse_host_list(g.node);
    if (!parsed.ok()) {
      std::cerr << "lwmic: error: " << parsed.error().message << '\n';
      return kExitUsage;
    }
    nodes = std::move(*parsed);
  }
  // A class name alone means every event of it, as Get-CimInstance / Register-CimIndicationEvent
  // take a class: watch Win32_ProcessStartTrace.
  if (watch->parsed() && is_class_name(watch_wql)) watch_wql = "SELECT * FROM " + watch_wql;
  // list --filter is a query on the class.
  std::string list_query;
  if (list->parsed() && !list_filter.empty())
    list_query = "SELECT " + (props_list_text(props).empty() ? "*" : props_list_text(props)) +
                 " FROM " + cls + " WHERE " + list_filter;
  // Before any prompt or connection: --terminate on events about ended processes.
  if (watch->parsed() && watch_terminate) {
    if (std::string why = terminate_refusal(watch_wql); !why.empty()) {
      std::cerr << "lwmic: error: " << why << '\n';
      return kExitUsage;
    }
  }
  if (!g.user.empty() && g.password.empty()) {
    // Asked once, for every host.
    std::string where = g.node.empty() ? std::string("localhost")
                        : fanout       ? std::to_string(nodes.size()) + " host(s)"
                                       : g.node;
    if (auto pw = prompt_password(g.user, where)) g.password = *pw;
  }
  auto props_list = property_list({props});
  // A method on every result of a query, as Invoke-CimMethod -Query does:
  // call "SELECT * FROM Win32_Process WHERE …" Terminate Reason=1 (or delete "SELECT …").
  std::optional<AliasPlan> query_call;
  if ((call->parsed() || del->parsed()) && is_query_text(path)) {
    AliasPlan plan;
    plan.kind = AliasPlan::Kind::kCallEach;
    plan.wql = path;
    plan.method = del->parsed() ? "Terminate" : method;
    plan.args = call_args;
    query_call = std::move(plan);
  }
  // The alias words of `process …` or `path CLASS …`.
  auto alias_plan = [&]() -> std::optional<AliasPlan> {
    if (path_verb->parsed()) {
      for (const auto& x : path_verb->remaining()) path_words.push_back(x);
      if (path_words.empty()) {
        std::cerr << "lwmic: error: path needs a class, e.g. path Win32_Process where "
                     "\"name='sleep'\" get ProcessId\n";
        return std::nullopt;
      }
      return plan_alias(std::vector<std::string>(path_words.begin() + 1, path_words.end()),
                        path_words[0]);
    }
    for (const auto& x : process->remaining()) alias_words.push_back(x);
    return plan_alias(alias_words);
  };
  // A watch holds a subscription on each host until it unsubscribes: Ctrl-C, SIGTERM and SIGHUP
  // end it through an unsubscribe (taken before any thread starts: threads inherit the mask),
  // and a reader that goes away (a broken pipe) is noticed rather than fatal.
  std::optional<StopSignals> signals;
  if (watch->parsed()) {
    signals.emplace();
    std::signal(SIGPIPE, SIG_IGN);
  }

  if (fanout && (create->parsed() || subscription->parsed())) {
    std::cerr << "lwmic: error: " << (create->parsed() ? "create" : "subscription")
              << " takes one host: name it with --node HOST\n";
    return kExitUsage;
  }
  if (fanout) {
    Command cmd;
    if (get->parsed()) {
      cmd.verb = Command::Verb::kGet;
      cmd.path = path;
      cmd.properties = props_list;
    } else if (query_call) {
      cmd.verb = Command::Verb::kAlias;
      cmd.alias = *query_call;
    } else if (call->parsed() || del->parsed()) {
      cmd.verb = del->parsed() ? Command::Verb::kDelete : Command::Verb::kCall;
      cmd.path = path;
      cmd.method = method;
      if (!parse_assignments(call_args, &cmd.in)) return kExitUsage;
    } else if (query->parsed()) {
      cmd.verb = Command::Verb::kQuery;
      cmd.wql = wql;
    } else if (list->parsed() && !list_query.empty()) {
      cmd.verb = Command::Verb::kQuery;
      cmd.wql = list_query;
    } else if (list->parsed()) {
      cmd.verb = Command::Verb::kList;
      cmd.cls = cls;
      cmd.properties = props_list;
    } else if (process->parsed() || path_verb->parsed()) {
      auto plan = alias_plan();
      if (!plan) return kExitUsage;
      cmd.verb = Command::Verb::kAlias;
      cmd.alias = std::move(*plan);
    } else if (watch->parsed()) {
      WatchArgs w;
      w.wql = watch_wql;
      w.terminate = watch_terminate;
      w.reason = watch_reason;
      w.count = watch_count;
      w.timeout = watch_timeout;
      return run_fanout_watch(nodes, w, g, *signals);
    } else {
      return kExitUsage;
    }
    return run_fanout_command(nodes, cmd, g);
  }

  auto services = open(g);
  if (!services.ok()) {
    print_error(services.error());
    return services.error().code == WbemStatus::kInvalidParameter &&
                   services.error().message.find("privilege") != std::string::npos
               ? kExitUsage
               : status_for(services.error());
  }
  Services& svc = **services;

  if (get->parsed()) {
    auto inst = svc.get_object(path, props_list);
    if (!inst.ok()) {
      print_error(inst.error(), path);
      return status_for(inst.error());
    }
    OutputOptions oo;
    oo.format = *parse_format(g.format);
    oo.system_properties = g.system_properties;
    auto f = make_formatter(oo, std::cout);
    f->begin(props_list);
    f->add(*inst);
    f->end();
    return kExitOk;
  }
  if (query_call) return run_alias(svc, *query_call, g);
  if (call->parsed() || del->parsed()) {
    Parameters in;
    if (!parse_assignments(call_args, &in)) return kExitUsage;
    std::string m = del->parsed() ? "Terminate" : method;
    if (g.dry_run) {
      auto target = svc.get_object(path, {"ProcessId", "Name"});
      if (!target.ok() &&
          !(call->parsed() && target.error().code == WbemStatus::kInvalidObjectPath)) {
        print_error(target.error(), path);
        return kExitWbemError;
      }
      std::cout << "would call " << m << " on " << path;
      if (target.ok())
        std::cout << " (" << display_text(target->get("Name")->to_text()) << ", pid "
                  << display_text(target->get("ProcessId")->to_text()) << ")";
      // What it would return, where the service can say (Terminate).
      if (auto w = svc.exec_method_what_if(path, m, in); w.ok()) {
        std::cout << ": expected ReturnValue " << w->return_value << " ("
                  << return_value_text(w->return_value) << ")";
        for (const auto& n : w->notes) std::cout << ", " << display_text(n);
      }
      std::cout << "; nothing was done\n";
      return kExitOk;
    }
    auto r = del->parsed() ? svc.delete_instance(path) : svc.exec_method(path, method, in);
    if (!r.ok()) {
      print_error(r.error(), path);
      return status_for(r.error());
    }
    for (const auto& n : r->notes) std::cerr << "lwmic: note: " << display_text(n) << '\n';
    if (del->parsed()) {
      std::cerr << "Instance deletion successful.\n";
      return kExitOk;
    }
    return print_method_result(*r, g);
  }
  if (subscription->parsed()) {
    if (sub_journal->count()) sub.journal = sub.journal_text;
    if (!sub_terminate.empty()) {
      auto reason = Value::from_text(CimType::kUint32, sub_terminate);
      if (!reason) {
        std::cerr << "lwmic: error: --terminate takes a Reason from 0 to 4294967295\n";
        return kExitUsage;
      }
      sub.terminate = static_cast<uint32_t>(reason->as_u64());
    }
    if (svc.embedded()) {
      std::cerr << "lwmic: error: permanent subscriptions are kept and run by lwmid: start it, "
                   "or name it with --socket or --node\n";
      return kExitUsage;
    }
    OutputOptions oo;
    oo.format = *parse_format(g.format);
    oo.system_properties = g.system_properties;
    if (auto r = run_subscription(svc, sub, oo, std::cout); !r.ok()) {
      print_error(r.error(), sub.query);
      return r.error().code == WbemStatus::kInvalidParameter && sub.action == "add" &&
                     !consumer_class_for(sub).ok()
                 ? kExitUsage
                 : status_for(r.error());
    }
    return kExitOk;
  }
  if (create->parsed()) {
    Parameters props;
    if (!parse_assignments(create_args, &props)) return kExitUsage;
    if (g.dry_run) {
      if (auto c = svc.get_class(cls); !c.ok()) {
        print_error(c.error());
        return status_for(c.error());
      }
      std::cout << "would create an instance of " << display_text(cls) << " with " << props.size()
                << " propert" << (props.size() == 1 ? "y" : "ies") << "; nothing was done\n";
      return kExitOk;
    }
    auto made = svc.create_instance(cls, props);
    if (!made.ok()) {
      print_error(made.error());
      return status_for(made.error());
    }
    std::cout << display_text(made->to_string()) << '\n';
    return kExitOk;
  }
  if (query->parsed()) {
    auto stream = svc.exec_query(wql);
    if (!stream.ok()) {
      print_error(stream.error(), wql);
      return status_for(stream.error());
    }
    std::vector<std::string> cols;  // the SELECT list's order, when there is one
    if (auto parsed = wql::parse(wql); parsed.ok() && !parsed->select.select_all)
      for (const auto& p : parsed->select.properties)
        if (p.path[0].rfind("__", 0) != 0) cols.push_back(p.text());
    return emit_stream(**stream, g, cols);
  }
  if (watch->parsed()) {
    std::atomic<bool> stop{false};
    signals->on_stop([&] { stop = true; });  // a signal while subscribing: unsubscribe at once
    NotificationOptions notify;
    // --terminate asks for the exec guard: where the kernel can decide the filter, a matching
    // program is killed at its exec, before its first instruction.
    notify.guard = watch_terminate && !watch_no_guard;
    notify.guard_own_session = watch_guard_own_session;
    auto stream = svc.exec_notification_query(watch_wql, notify);
    if (!stream.ok()) {
      print_error(stream.error(), watch_wql);
      signals->on_stop({});
      signals->end_as_received();
      return kExitWbemError;
    }
    EventStream* events = stream->get();
    signals->on_stop([&stop, events] {
      stop = true;
      events->interrupt();  // next() returns at once; the loop ends and the stream unsubscribes
    });
    // Subscribed: from here on no process start is missed.
    if (notify.guard) {
      GuardStatus gs = (*stream)->guard_status();
      if (gs.active)
        std::cerr << "lwmic: kernel guard on: " << display_text(gs.summary)
                  << " is killed at its exec, before its first instruction\n";
      else
        std::cerr << "lwmic: kernel guard not used ("
                  << display_text(gs.requested ? gs.refusal
                                               : "the server did not answer the request")
                  << "): each matching process is ended after it starts\n";
    }
    std::cerr << "lwmic: watching (Ctrl-C to stop)" << std::endl;
    OutputOptions oo;
    oo.format = *parse_format(g.format);
    if (oo.format == Format::kTable) oo.format = Format::kList;  // streams; a table would buffer
    auto f = make_formatter(oo, std::cout);
    f->begin({});
    auto start = std::chrono::steady_clock::now();
    size_t n = 0;
    int status = kExitOk;
    bool broken_pipe = false;
    while (!stop) {
      int wait = -1;
      if (watch_timeout > 0) {
        double left =
            watch_timeout -
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (left <= 0) break;
        wait = static_cast<int>(left * 1000) + 1;
      }
      Instance ev;
      auto got = (*stream)->next(&ev, wait);
      if (!got.ok()) {
        print_error(got.error());
        status = kExitWbemError;
        break;
      }
      if (!*got) continue;
      ++n;
      f->add(ev);
      std::cout.flush();
      if (!std::cout) {  // the reader went away: end the watch cleanly
        broken_pipe = true;
        break;
      }
      if (watch_terminate && ev.class_name() == "LWMI_ProcessBlockedTrace") {
        // The kernel ended it at its exec: nothing is left to terminate.
        auto pid = ev.get("ProcessID");
        auto name = ev.get("ProcessName");
        std::cerr << "lwmic: blocked process "
                  << (pid && !pid->is_null() ? display_text(pid->to_text()) : std::string("?"))
                  << " ("
                  << (name && !name->is_null() ? display_text(name->to_text())
                                               : std::string("name not visible"))
                  << ") at its exec, before its first instruction (kernel guard)\n";
      } else if (watch_terminate) {
        // The process by its pid and start time: a reused pid is never hit.
        auto target = terminate_target(ev);
        if (!target.ok()) {
          if (target.error().code == WbemStatus::kNotFound) {
            std::cerr << "lwmic: note: " << display_text(target.error().message) << '\n';
          } else {
            print_error(target.error());
            status = kExitWbemError;
          }
        } else {
          auto r =
              svc.exec_method(target->path, "Terminate", {{"Reason", Value::uint32(watch_reason)}});
          if (!r.ok()) {
            std::cerr << "lwmic: process " << display_text(target->pid) << ": "
                      << error_text(r.error()) << '\n';
          } else {
            if (r->return_value == 0)  // (a refusal's explanation is in the outcome line)
              for (const auto& note : r->notes)
                std::cerr << "lwmic: note: " << display_text(note) << '\n';
            std::cerr << "lwmic: " << terminate_outcome_shown(*target, *r) << '\n';
            if (r->return_value != 0 && status == kExitOk) status = kExitMethodFailed;
          }
        }
      }
      if (watch_count && n >= watch_count) break;
    }
    signals->on_stop([&stop] { stop = true; });  // the stream's last uses follow
    f->end();
    if ((*stream)->dropped())
      std::cerr << "lwmic: warning: " << (*stream)->dropped()
                << " event(s) were dropped by the server because they came faster than they "
                   "were pulled (WBEM_E_QUEUE_OVERFLOW)\n";
    if ((*stream)->lost())
      std::cerr << "lwmic: note: " << (*stream)->lost()
                << " kernel event(s) were lost; /proc was rescanned so none was missed\n";
    if (watch_stats) {
      auto print_source = [](const Instance& src) {
        std::cerr << "lwmic: event source:";
        for (const auto& [name, value] : src.properties())
          std::cerr << ' ' << display_text(name) << '='
                    << (value.is_null() ? "NULL" : display_text(value.to_text()));
        std::cerr << '\n';
      };
      if (auto state = (*stream)->source_state()) {
        print_source(*state);  // FallbackReason: why a preferred source was not used
      } else if (auto sources = svc.enumerate_instances("LWMI_EventSource"); sources.ok()) {
        // Through lwmid: its process-wide sources (the one in use has Active > 0).
        Instance src;
        while ((*sources)->next(&src)) print_source(src);
      } else {
        std::cerr << "lwmic: note: this connection does not report its event source\n";
      }
    }
    stream->reset();       // unsubscribes
    signals->on_stop({});  // `stop` ends with this block; a signal from here on ends lwmic
    if (broken_pipe) StopSignals::end_as(SIGPIPE);
    signals->end_as_received();
    return status;
  }
  if (process->parsed() || path_verb->parsed()) {
    auto plan = alias_plan();
    if (!plan) return kExitUsage;
    return run_alias(svc, *plan, g);
  }
  if (list->parsed() && !list_query.empty()) {
    auto stream = svc.exec_query(list_query);
    if (!stream.ok()) {
      print_error(stream.error(), list_query);
      return status_for(stream.error());
    }
    return emit_stream(**stream, g, props_list);
  }
  if (list->parsed()) {
    auto stream = svc.enumerate_instances(cls, props_list);
    if (!stream.ok()) {
      print_error(stream.error());
      return kExitWbemError;
    }
    return emit_stream(**stream, g, props_list);
  }
  return kExitUsage;
}
