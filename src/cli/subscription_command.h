// cli/subscription_command.h — `lwmic subscription add|list|show|remove`: a permanent event
// subscription in one go, as a Windows admin deploys "terminate Download.exe whenever it
// starts": an __EventFilter, a consumer and their __FilterToConsumerBinding, all named NAME, made
// (or removed) together through any Services (lwmid over its socket or WS-Management).
// Thread safety: one call at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "cli/output.h"
#include "lwmi/result.h"
#include "lwmi/services.h"

namespace lwmi::cli {

struct SubscriptionArgs {
  std::string action;  ///< add, list, show, remove
  std::string name;
  std::string query;                  ///< add: the filter's WQL event query
  std::optional<uint32_t> terminate;  ///< add --terminate REASON
  std::string log;                    ///< add --log FILE (with --text TEMPLATE)
  std::string text;
  std::string run;  ///< add --run PROGRAM (with --args TEMPLATE)
  std::string args;
  uint32_t kill_timeout = 0;           ///< add --kill-timeout SECONDS
  std::optional<std::string> journal;  ///< add --journal MESSAGE-TEMPLATE
  std::string journal_text;            ///< (what --journal gave, before it is known given)
};

/// The consumer class `add` makes for `a` (exactly one of --terminate, --log, --run, --journal),
/// or WBEM_E_INVALID_PARAMETER saying which to give.
Result<std::string> consumer_class_for(const SubscriptionArgs& a);

/// Runs the action, printing what it made or found on `out`. `add` undoes what it made when a
/// later step is refused (the error says which, with its WBEM code).
Result<void> run_subscription(Services& svc, const SubscriptionArgs& a, const OutputOptions& oo,
                              std::ostream& out);

}  // namespace lwmi::cli
