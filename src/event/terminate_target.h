// event/terminate_target.h — what `lwmic watch --terminate` ends: the process each event names,
// by its pid and its start time, so that a reused pid is never hit (DESIGN decision 4).
//
// Creation and modification events name it by their TargetInstance's identity (Handle and
// CreationDate); a Win32_ProcessStartTrace by ProcessID and ProcessCreationDate. Queries that
// deliver events about processes that have ended (deletions, stop traces) or stand for several
// (GROUP WITHIN's __AggregateEvent) are refused before subscribing.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lwmi/instance.h"
#include "lwmi/method.h"
#include "lwmi/result.h"

namespace lwmi::event {

/// Why --terminate cannot be used with the event query `wql`; "" when it can, and "" when the
/// query does not compile (the subscription then reports its error, with its WBEM code).
std::string terminate_refusal(std::string_view wql);

/// The process an event names.
struct TerminateTarget {
  std::string path;  ///< Win32_Process.Handle="<pid>",CreationDate="<start>"
  std::string pid;
  std::string name;  ///< its Name / ProcessName, "NULL" when unknown
};

/// The process `event` names, or why it cannot be ended safely: WBEM_E_NOT_FOUND when the
/// event has no start time for it (it ended before it could be read), WBEM_E_INVALID_PARAMETER
/// for an event of a class --terminate does not act on, or one without the process's pid.
Result<TerminateTarget> terminate_target(const Instance& event);

/// What Terminate did to `target`, for a person: "terminated process N (name): ReturnValue 0",
/// or "did not end
/// process N (name): ReturnValue 2 (Access denied): " and why — the method's own explanation
/// when it gave one (its notes), else what the code means here and what would change it.
std::string terminate_outcome(const TerminateTarget& target, const MethodResult& result);

}  // namespace lwmi::event
