#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>

#include "base/strings.h"
#include "cim/schema.h"
#include "cli/class_help.h"
#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/verbs.h"
#include "cli/wmic_args.h"
#include "lwmi/fanout.h"

namespace lwmi::cli {
namespace {

/// One verb: its name, what it does, its own arguments, and the function that runs it.
struct VerbDecl {
  const char* name;
  const char* help;
  void (*arguments)(CLI::App* verb, VerbArgs& a);
  VerbRun run;
};

// The verbs, in the order `lwmic --help` lists them.
const VerbDecl kVerbs[] = {
    {"get", "Show one instance by object path",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("path", a.path, "Object path, e.g. Win32_Process.Handle=\"1234\"")->required();
       v->add_option("--properties", a.props, "Comma-separated properties to show");
     },
     run_get},
    {"list", "Show every instance of a class",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("class", a.cls, "Class name, e.g. Win32_Process")->required();
       v->add_option("--properties", a.props, "Comma-separated properties to show");
       v->add_option("--filter", a.filter,
                     "A WQL condition, as Get-CimInstance -Filter: --filter \"Name='sshd'\"");
     },
     run_list},
    {"query", "Run a WQL query: query \"SELECT … FROM … WHERE …\"",
     [](CLI::App* v, VerbArgs& a) { v->add_option("wql", a.wql, "The query")->required(); },
     run_query},
    {"call",
     "Call a method: call PATH METHOD [Name=Value...], or on every result of a query: call "
     "\"SELECT …\" METHOD [Name=Value...]",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("path", a.path,
                     "Object path (the class for a static method such as Create), or a query")
           ->required();
       v->add_option("method", a.method, "Method name, e.g. Terminate")->required();
       v->add_option("params", a.params,
                     "In-parameters as Name=Value (Param.Prop=Value for embedded objects)");
     },
     run_call},
    {"delete", "Delete an instance (for a process: Terminate), or every result of a query",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("path", a.path, "Object path, or a query")->required();
     },
     run_delete},
    {"create",
     "Create an instance: create CLASS Name=Value... (e.g. create __EventFilter Name=x "
     "Query=\"SELECT …\"); prints its path",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("class", a.cls, "Class name, e.g. __EventFilter")->required();
       v->add_option("properties", a.params,
                     "Properties as Name=Value, keys included (repeat a name for an array)");
     },
     run_create},
    {"watch",
     "Deliver events as they happen: watch \"SELECT * FROM __InstanceCreationEvent "
     "WHERE TargetInstance ISA 'Win32_Process' …\", or watch CLASS",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("wql", a.wql, "The event query, or an event class")->required();
       v->add_flag("--terminate", a.terminate,
                   "End each process an event names, as it comes (creation, modification and "
                   "Win32_ProcessStartTrace events; by pid and start time)");
       v->add_option("--reason", a.reason, "Terminate's Reason (default 0)");
       v->add_flag("--no-guard", a.no_guard,
                   "With --terminate: never ask for kernel rules; end each process from user "
                   "space after it started");
       v->add_flag("--guard-own-session", a.guard_own_session,
                   "With --terminate: kernel rules also block programs started in this session "
                   "(by default your own session is spared, so a rule cannot lock you out)");
       v->add_option("--count", a.count, "Stop after this many events (default: never)");
       v->add_option("--timeout", a.seconds, "Stop after this many seconds (default: never)");
       v->add_flag("--stats", a.stats,
                   "At the end, print the event source's state (LWMI_EventSource) on stderr");
     },
     run_watch},
    {"process", "wmic's alias for Win32_Process: process [where COND] get|list|call|delete …",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("words", a.words,
                     "where \"COND\" get a,b | list [brief|full] | call METHOD [ARGS] | delete");
       v->allow_extras();
     },
     run_process},
    {"path", "wmic's path: path CLASS [where COND] get a,b | list | call METHOD [ARGS] | delete",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("words", a.words, "CLASS, then as for process");
       v->allow_extras();
     },
     run_path},
    {"class",
     "Describe a class as Get-CimClass does (properties with types and units, methods with "
     "parameters and return codes): class NAME; or list a namespace's classes: class "
     "[--namespace NS]",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("name", a.cls, "Class name, e.g. Win32_Process (none: every class)");
     },
     run_class},
    {"help", "Show the options of lwmic, or of a verb: help [VERB]",
     [](CLI::App* v, VerbArgs& a) { v->add_option("verb", a.words, "A verb, e.g. process"); },
     nullptr},
    {"subscription",
     "Permanent event subscriptions (run by lwmid): add NAME --query WQL (--terminate REASON | "
     "--log FILE [--text T] | --run PROGRAM [--args T] | --journal T), list, show NAME, "
     "remove NAME",
     [](CLI::App* v, VerbArgs& a) {
       v->add_option("action", a.sub.action, "add, list, show or remove")
           ->required()
           ->check(CLI::IsMember({"add", "list", "show", "remove"}));
       v->add_option("name", a.sub.name, "The subscription's name (filter, consumer)");
       v->add_option("--query", a.sub.query, "add: the WQL event query");
       v->add_option("--terminate", a.sub_terminate,
                     "add: end each process the query names, with this Reason");
       v->add_option("--log", a.sub.log, "add: append a line per event to this file");
       v->add_option("--text", a.sub.text, "add --log: the line's template");
       v->add_option("--run", a.sub.run, "add: run this program per event");
       v->add_option("--args", a.sub.args, "add --run: its CommandLineTemplate");
       v->add_option("--kill-timeout", a.sub.kill_timeout, "add --run: seconds");
       v->add_option("--journal", a.sub.journal_text, "add: a journal entry per event");
     },
     run_subscription},
};

void add_global_options(CLI::App& app, GlobalOptions& g, std::string* output_file,
                        std::string* append_file) {
  app.add_option("--output", *output_file,
                 "Write the output to this file (wmic's /output:FILE; STDOUT: the terminal)");
  app.add_option("--append", *append_file, "Append the output to this file (wmic's /append:FILE)");
  app.add_option("--format", g.format,
                 "Output format: table, list, csv, json (JSON Lines), or wmic's htable, xml, "
                 "rawxml")
      ->check([](const std::string& s) {
        return parse_format(s)
                   ? std::string()
                   : "unknown format '" + s + "': table, list, csv, json, htable, xml or rawxml";
      });
  app.add_option("--sort", g.sort,
                 "Sort the results: Prop[:asc|:desc][,Prop…], e.g. --sort WorkingSetSize:desc");
  app.add_option("--first,--limit", g.first, "Show at most this many results (after --sort)")
      ->check(CLI::Range(size_t{0}, std::numeric_limits<size_t>::max()));
  app.add_option("--every", g.every,
                 "Show a listing again every this many seconds (wmic's /every:N), until Ctrl-C "
                 "or --repeat")
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--repeat", g.repeat, "With --every: this many times (wmic's /repeat:N)")
      ->check(CLI::Range(size_t{1}, std::numeric_limits<size_t>::max()));
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
  app.add_option_function<std::string>(
         "--privileges", [&g](const std::string& v) { g.enable_held = base::iequals(v, "enable"); },
         "wmic's /privileges: enable (every privilege the account holds; the default of "
         "process and path) or disable (only --enable-privilege)")
      ->check(CLI::IsMember({"enable", "disable"}, CLI::ignore_case));
}

/// wmic's /output: and /append: (STDOUT is the terminal, as in wmic). False when said why not.
bool redirect_output(const std::string& output_file, const std::string& append_file) {
  for (const auto& [file, mode] : {std::pair{&output_file, "we"}, std::pair{&append_file, "ae"}}) {
    if (file->empty() || base::iequals(*file, "STDOUT")) continue;
    if (base::iequals(*file, "CLIPBOARD")) {
      std::cerr << "lwmic: error: there is no clipboard here: name a file\n";
      return false;
    }
    std::cout.flush();
    if (!std::freopen(file->c_str(), mode, stdout)) {
      std::cerr << "lwmic: error: cannot write " << display_text(*file) << ": "
                << std::strerror(errno) << '\n';
      return false;
    }
  }
  return true;
}

/// The password and the hosts, once the options are read. False when said why not.
bool finish_global_options(GlobalOptions& g) {
  if (!g.password_file.empty() && g.password.empty()) {
    std::ifstream in(g.password_file);
    if (!in || !std::getline(in, g.password)) {
      std::cerr << "lwmic: error: cannot read the password from " << display_text(g.password_file)
                << '\n';
      return false;
    }
    if (!g.password.empty() && g.password.back() == '\r') g.password.pop_back();
  }
  // The variable is a password for the user named with --user; without one, nothing needs it
  // (a local command must not fail with WBEM_E_LOCAL_CREDENTIALS because it is exported).
  if (const char* env = std::getenv("LWMI_PASSWORD"); env && g.password.empty() && !g.user.empty())
    g.password = env;
  // Several hosts: "h1,h2", "@FILE" (or a mix).
  if (g.node.find(',') != std::string::npos || g.node.rfind("@", 0) == 0) {
    auto parsed = parse_host_list(g.node);
    if (!parsed.ok()) {
      std::cerr << "lwmic: error: " << display_text(parsed.error().message) << '\n';
      return false;
    }
    g.nodes = std::move(*parsed);
  }
  return true;
}

/// wmic's /? at each level (`lwmic /?`, `lwmic process /?`, `lwmic process get /?`; also -?
/// and /?:full) is the help verb on the words before it: `help`, `help process`, `help process
/// get`.
std::vector<std::string> wmic_help_as_verb(const std::vector<std::string>& args) {
  auto is_help = [](const std::string& a) {
    return a == "-?" || a == "/?" || base::iequals(a, "/?:full") || base::iequals(a, "/?:brief");
  };
  auto q = std::find_if(args.begin(), args.end(), is_help);
  if (q == args.end()) return args;
  auto verb = std::find_if(args.begin(), q, [](const std::string& a) {
    return std::any_of(std::begin(kVerbs), std::end(kVerbs),
                       [&](const VerbDecl& v) { return base::iequals(a, v.name); });
  });
  std::vector<std::string> out(args.begin(), verb);
  out.emplace_back("help");
  out.insert(out.end(), verb, q);
  return out;
}

/// `help [VERB]`: lwmic's usage, or the verb's.
int show_help(CLI::App& app, const std::vector<std::string>& topic) {
  if (topic.empty()) {  // (app.help() would show the help verb's, the one parsed)
    std::cout << app.get_formatter()->make_help(&app, "lwmic", CLI::AppFormatMode::Normal);
    return kExitOk;
  }
  // wmic's `process get /?` lists the properties, `process call /?` the methods (of the class
  // of `path CLASS`), from this build's schema.
  bool alias = base::iequals(topic[0], "process") || base::iequals(topic[0], "path");
  if (alias && topic.size() >= 2) {
    size_t i = 1;
    std::string cls = "Win32_Process";
    if (base::iequals(topic[0], "path")) cls = topic[i++];
    if (i < topic.size() && base::iequals(topic[i], "where")) i += 2;
    std::string verb = i < topic.size() ? base::to_lower(topic[i]) : "";
    if (verb == "get" || verb == "list" || verb == "call" || verb.empty()) {
      auto decl = cim::Schema::builtin().find(cls);
      if (!decl) {
        print_error(Error{WbemStatus::kInvalidClass, "no class '" + cls + "'"});
        return kExitWbemError;
      }
      ClassHelpOptions options;
      options.width = terminal_width();
      options.properties = verb != "call";
      options.methods = verb != "get" && verb != "list";
      describe_class(*decl, std::cout, options);
      return kExitOk;
    }
  }
  for (const auto& v : kVerbs) {
    if (!base::iequals(topic[0], v.name)) continue;
    std::cout << app.get_subcommand(v.name)->help("lwmic");
    return kExitOk;
  }
  std::string names;
  for (const auto& v : kVerbs) names += std::string(names.empty() ? "" : ", ") + v.name;
  std::cerr << "lwmic: error: no verb '" << display_text(topic[0]) << "' (lwmic has " << names
            << ")\n";
  return kExitUsage;
}

}  // namespace

OutputOptions GlobalOptions::output() const {
  OutputOptions oo;
  oo.format = parse_format(format).value_or(Format::kTable);
  oo.system_properties = system_properties;
  oo.command_line = command_line;
  return oo;
}

OutputOptions GlobalOptions::output(Format preferred) const {
  OutputOptions oo = output();
  if (!format_given) oo.format = preferred;
  return oo;
}

std::variant<Invocation, int> parse_command_line(const std::vector<std::string>& raw) {
  std::vector<std::string> switch_notes;
  auto args = translate_wmic_switches(raw, &switch_notes);
  for (const auto& n : switch_notes) print_note(n);
  args = wmic_help_as_verb(args);

  CLI::App app{"lwmic: query and manage processes the WMI way (Win32_Process) on Linux", "lwmic"};
  // Verbs in any case, as wmic takes them: PROCESS, Process, List…
  app.ignore_case();
  app.set_version_flag("--version", "lwmic 0.1.0");
  app.fallthrough();
  app.require_subcommand(1);
  Invocation inv;
  std::string output_file, append_file;
  add_global_options(app, inv.g, &output_file, &append_file);
  std::vector<std::pair<CLI::App*, const VerbDecl*>> verbs;
  for (const auto& v : kVerbs) {
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    v.arguments(sub, inv.a);
    verbs.emplace_back(sub, &v);
  }
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
    return int{kExitUsage};
  }
  for (const auto& [sub, decl] : verbs) {
    if (!sub->parsed()) continue;
    inv.verb = decl->name;
    inv.run = decl->run;
    // The words CLI11 left over are the alias's (process where "…" get a,b).
    for (const auto& x : sub->remaining()) inv.a.words.push_back(x);
    if (auto* journal = sub->get_option_no_throw("--journal"))
      inv.a.sub_journal_given = journal->count() > 0;
  }
  if (inv.verb == "help") return show_help(app, inv.a.words);
  if (!inv.run) return int{kExitUsage};
  if (inv.g.repeat && inv.g.every <= 0) {
    std::cerr << "lwmic: error: --repeat (wmic's /repeat:N) goes with --every SECONDS\n";
    return int{kExitUsage};
  }
  inv.g.format_given = app.get_option("--format")->count() > 0;
  inv.g.command_line = "lwmic";
  for (const auto& a : raw) inv.g.command_line += " " + a;
  if (!redirect_output(output_file, append_file)) return int{kExitUsage};
  if (!finish_global_options(inv.g)) return int{kExitUsage};
  return inv;
}

}  // namespace lwmi::cli
