// cli/event_rows.h — an event as one row of table and list output.
//
// An intrinsic event (__InstanceCreationEvent, …Deletion…, …Modification…) holds the process in
// TargetInstance, an embedded object that table and list could only show as its path. Its row
// is flat: __CLASS (the event class), TIME_CREATED, then TargetInstance.<Name> for the
// properties the query SELECTed (SELECT TargetInstance.Name, … FROM …), or for SELECT * a short
// default set (ProcessId, Name, ParentProcessId, CommandLine). A modification also shows each
// property that changed, as TargetInstance.<Name> and PreviousInstance.<Name>. A trace
// (Win32_ProcessStartTrace, …StopTrace, LWMI_ProcessBlockedTrace) is flat already: its row is
// __CLASS, TIME_CREATED and the properties SELECTed, or for SELECT * all of them but the byte
// arrays Sid and SECURITY_DESCRIPTOR. An __AggregateEvent shows NumberOfEvents and its
// Representative's row, each column prefixed "Representative.".
// CSV and JSON keep the event as it came (JSON nests TargetInstance).
// Thread safety: the functions are pure; a Formatter belongs to one thread.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"
#include "lwmi/instance.h"

namespace lwmi::cli {

/// The columns an event row shows, read from the event query's SELECT list. Empty: defaults.
struct EventColumns {
  std::vector<std::string> target;  ///< TargetInstance.X (or PreviousInstance.X) selected: X
  std::vector<std::string> flat;    ///< properties of the event class itself selected
};

/// The SELECT list of `wql` (SELECT * or a text that does not parse: the defaults).
EventColumns event_columns(std::string_view wql);

/// `event` as table and list output show it (see above); an instance that is not an event is
/// returned as it is. The row keeps the event's server (Node) and namespace.
Instance event_row(const Instance& event, const EventColumns& columns = {});

/// A formatter for a watch of `wql`: table and list show each event as event_row() makes it,
/// csv and json as it came.
std::unique_ptr<Formatter> make_event_formatter(const OutputOptions& options, std::ostream& out,
                                                std::string_view wql);

}  // namespace lwmi::cli
