// class: a class described (Get-CimClass, wmic's get /?), or a namespace's classes, from the
// host's schema (locally, or over WS-Man GetClass and the meta_class query).
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

#include "cli/class_help.h"
#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/hosts.h"
#include "cli/verbs.h"

namespace lwmi::cli {

size_t terminal_width() {
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 100;
}

int run_class(const Invocation& inv) {
  if (inv.g.many()) {
    std::cerr << "lwmic: error: class takes one host: name it with --node HOST\n";
    return kExitUsage;
  }
  int status = kExitOk;
  auto svc = open_one_host(inv.g, &status);
  if (!svc) return status;
  ClassHelpOptions options;
  options.width = terminal_width();
  if (inv.a.cls.empty()) {
    auto classes = svc->enumerate_classes(inv.g.namespace_path);
    if (!classes.ok()) {
      print_error(classes.error());
      return status_for(classes.error());
    }
    list_classes(*classes, std::cout, options);
    return kExitOk;
  }
  auto cls = svc->get_class(inv.a.cls);
  if (!cls.ok()) {
    print_error(cls.error());
    return status_for(cls.error());
  }
  describe_class(**cls, std::cout, options);
  return kExitOk;
}

}  // namespace lwmi::cli
