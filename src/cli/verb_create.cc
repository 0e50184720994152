// create and subscription: instances made on one host (lwmid keeps them).
#include <iostream>

#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/subscription_command.h"
#include "cli/verb_parts.h"
#include "cli/verbs.h"

namespace lwmi::cli {
namespace {

/// These verbs make named instances: on several hosts at once that is a deployment, done one
/// host at a time so that each can be checked.
bool one_host_only(const Invocation& inv) {
  if (!inv.g.many()) return true;
  std::cerr << "lwmic: error: " << inv.verb << " takes one host: name it with --node HOST\n";
  return false;
}

}  // namespace

int run_create(const Invocation& inv) {
  if (!one_host_only(inv)) return kExitUsage;
  auto props = parse_assignments(inv.a.params);
  if (!props) return kExitUsage;
  int status = kExitOk;
  auto svc = open_one_host(inv.g, &status);
  if (!svc) return status;
  const std::string& cls = inv.a.cls;
  if (inv.g.dry_run) {
    if (auto c = svc->get_class(cls); !c.ok()) {
      print_error(c.error());
      return status_for(c.error());
    }
    std::cout << "would create an instance of " << display_text(cls) << " with " << props->size()
              << " propert" << (props->size() == 1 ? "y" : "ies") << "; nothing was done\n";
    return kExitOk;
  }
  auto made = svc->create_instance(cls, *props);
  if (!made.ok()) {
    print_error(made.error());
    return status_for(made.error());
  }
  std::cout << display_text(made->to_string()) << '\n';
  return kExitOk;
}

int run_subscription(const Invocation& inv) {
  if (!one_host_only(inv)) return kExitUsage;
  SubscriptionArgs sub = inv.a.sub;
  if (inv.a.sub_journal_given) sub.journal = sub.journal_text;
  if (!inv.a.sub_terminate.empty()) {
    auto reason = Value::from_text(CimType::kUint32, inv.a.sub_terminate);
    if (!reason) {
      std::cerr << "lwmic: error: --terminate takes a Reason from 0 to 4294967295\n";
      return kExitUsage;
    }
    sub.terminate = static_cast<uint32_t>(reason->as_u64());
  }
  int status = kExitOk;
  auto svc = open_one_host(inv.g, &status);
  if (!svc) return status;
  if (svc->embedded()) {
    std::cerr << "lwmic: error: permanent subscriptions are kept and run by lwmid: start it, "
                 "or name it with --socket or --node\n";
    return kExitUsage;
  }
  if (auto r = run_subscription(*svc, sub, inv.g.output(), std::cout); !r.ok()) {
    print_error(r.error(), sub.query);
    return r.error().code == WbemStatus::kInvalidParameter && sub.action == "add" &&
                   !consumer_class_for(sub).ok()
               ? kExitUsage
               : status_for(r.error());
  }
  return kExitOk;
}

}  // namespace lwmi::cli
