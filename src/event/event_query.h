// event/event_query.h — compiles a WQL event query for process events.
//
//   SELECT * FROM __InstanceCreationEvent [WITHIN s] WHERE TargetInstance ISA 'Win32_Process'
//          [AND TargetInstance.Name = 'x' …]
// __InstanceCreationEvent, __InstanceDeletionEvent and __InstanceOperationEvent (both) are
// served by a kernel event source, so WITHIN is optional (when given it must be at least 0.1 s).
// The WHERE clause must say `TargetInstance ISA` a process class; the rest of it is a condition
// on TargetInstance's properties, compiled like a data query on Win32_Process.
// Thread safety: the result is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "lwmi/class_decl.h"
#include "lwmi/result.h"
#include "wql/compiler.h"

namespace lwmi::event {

struct EventQuery {
  std::shared_ptr<const ClassDecl> event_class;  ///< the class in FROM
  bool creation = false;                         ///< deliver __InstanceCreationEvent
  bool deletion = false;                         ///< deliver __InstanceDeletionEvent
  std::optional<double> within;
  /// The condition on TargetInstance, as a data query on Win32_Process (no WHERE: every process).
  std::shared_ptr<wql::CompiledQuery> filter;
};

Result<EventQuery> compile_event_query(std::string_view wql);

}  // namespace lwmi::event
