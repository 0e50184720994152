// event/event_query.h — compiles a WQL event query for process events.
//
// Intrinsic events on Win32_Process:
//   SELECT * FROM __InstanceCreationEvent | __InstanceDeletionEvent | __InstanceModificationEvent
//          | __InstanceOperationEvent [WITHIN s] WHERE TargetInstance ISA 'Win32_Process'
//          [AND TargetInstance.Name = 'x' AND PreviousInstance.Priority = 8 …]
// Creation and deletion are served by a kernel event source, so WITHIN is optional for them.
// Modification events can only be found by polling: __InstanceModificationEvent and
// __InstanceOperationEvent (which includes them) need WITHIN, else
// WBEMESS_E_REGISTRATION_TOO_PRECISE. WITHIN is at least 0.1 s. The WHERE clause must say
// `TargetInstance ISA` a process class; the rest is a condition on TargetInstance's and (for
// modifications) PreviousInstance's properties.
// Extrinsic events: SELECT … FROM Win32_ProcessStartTrace | Win32_ProcessStopTrace |
//   Win32_ProcessTrace [WHERE ProcessName = 'x' …] — no WITHIN needed.
// Either kind may add GROUP WITHIN n [BY prop, …] [HAVING NumberOfEvents op k]: one
// __AggregateEvent per group, n seconds after its first event.
// Thread safety: the result is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/result.h"
#include "provider/provider.h"
#include "wql/compiler.h"

namespace lwmi::event {

struct EventQuery {
  std::shared_ptr<const ClassDecl> event_class;  ///< the class in FROM
  bool creation = false;                         ///< deliver __InstanceCreationEvent
  bool deletion = false;                         ///< deliver __InstanceDeletionEvent
  bool modification = false;                     ///< deliver __InstanceModificationEvent
  bool start_trace = false;                      ///< deliver Win32_ProcessStartTrace
  bool stop_trace = false;                       ///< deliver Win32_ProcessStopTrace
  bool blocked_trace = false;                    ///< deliver LWMI_ProcessBlockedTrace
  std::optional<double> within;
  /// Intrinsic queries: the condition on TargetInstance and PreviousInstance, compiled on a
  /// class whose first properties are Win32_Process's (TargetInstance) followed by the same
  /// again named "PreviousInstance.<name>". Extrinsic queries: the condition on the trace
  /// class in FROM (its properties by name). No WHERE: every event.
  std::shared_ptr<wql::CompiledQuery> filter;
  /// The Win32_Process properties a modification is looked for in (the SELECT list's and the
  /// WHERE clause's, with the identity; all for SELECT *).
  provider::PropertySet watched;
  /// GROUP WITHIN seconds, BY paths (e.g. {"TargetInstance","Name"}), HAVING.
  std::optional<uint32_t> group_within;
  std::vector<std::vector<std::string>> group_by;
  std::optional<wql::CompareOp> having_op;
  uint32_t having_value = 0;

  bool intrinsic() const { return creation || deletion || modification; }
  /// The number of Win32_Process properties (the filter's PreviousInstance part starts here).
  size_t target_count = 0;
};

Result<EventQuery> compile_event_query(std::string_view wql);

/// True when `count` passes HAVING NumberOfEvents (true without HAVING).
bool having_passes(const EventQuery& q, uint32_t count);

}  // namespace lwmi::event
