// permanent/model.h — WMI's permanent event subscriptions as plain values: an __EventFilter (a
// WQL event query), a consumer (what to do with each event) and a __FilterToConsumerBinding
// between them, all in namespace root\subscription, each named by its key as WMI names it.
//
// Where an object came from is part of it: the store (made over WS-Man or by lwmic, persisted
// in the state directory) or a file in subscriptions.d (read-only through the API: edit the
// file). The classes' property names are WMI's; lwmi's own consumer classes are LWMI_*.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lwmi/result.h"
#include "lwmi/value.h"

namespace lwmi::permanent {

inline constexpr std::string_view kNamespace = "root\\subscription";

/// Where an object is defined: `file` empty for the store; else a subscriptions.d file and the
/// line and column of its table.
struct Origin {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  bool from_file() const { return !file.empty(); }
  /// "the store" or "FILE:LINE:COL".
  std::string describe() const;
};

/// __EventFilter.
struct EventFilter {
  std::string name;                             ///< key
  std::string query;                            ///< a WQL event query
  std::string query_language = "WQL";           ///< only WQL
  std::string event_namespace = "root\\cimv2";  ///< where its events come from (root\cimv2)
  std::string creator;                          ///< the account that made it ("" for files)
  Origin origin;
};

/// CommandLineEventConsumer: runs ExecutablePath (never through a shell) with the arguments of
/// CommandLineTemplate, each %Property% value substituted inside one argument only; the event as
/// JSON on stdin; as [subscriptions] command_user; killed after KillTimeout seconds (0: never,
/// capped by [subscriptions] command_timeout).
struct CommandLineConsumer {
  std::string executable_path;
  std::string command_line_template;
  std::string working_directory;
  uint32_t kill_timeout = 0;
};

/// LogFileEventConsumer: appends Text (expanded) and a newline to Filename, which must lie under
/// [subscriptions] log_directory; rotated to Filename.1 when it would exceed MaximumFileSize.
struct LogFileConsumer {
  std::string filename;
  std::string text;
  uint64_t maximum_file_size = 65535;  ///< WMI's default; 0: no limit
  bool is_unicode = false;             ///< accepted for WMI's sake; lwmi writes UTF-8
};

/// LWMI_JournalEventConsumer, the analogue of NTEventLogEventConsumer: one journal entry per
/// event, MESSAGE = InsertionStringTemplates expanded and joined with a space,
/// SYSLOG_IDENTIFIER = SourceName, PRIORITY from EventType (WMI's: 1 error, 2 warning,
/// 4 information, 8 audit success, 16 audit failure), LWMI_EVENT_ID = EventID.
struct JournalConsumer {
  std::string source_name = "lwmi";
  uint32_t event_id = 0;
  uint32_t event_type = 4;
  std::vector<std::string> insertion_string_templates;
};

/// LWMI_TerminateProcessEventConsumer: ends the process the event names (TargetInstance of an
/// instance event, or a process trace's ProcessID and start time), by pid and start time; a
/// kernel-decidable filter becomes an exec-guard rule and the program never runs.
struct TerminateConsumer {
  uint32_t reason = 0;
};

using ConsumerSpec =
    std::variant<CommandLineConsumer, LogFileConsumer, JournalConsumer, TerminateConsumer>;

struct Consumer {
  std::string name;  ///< key (with the class)
  ConsumerSpec spec;
  std::string creator;
  Origin origin;
  /// Its class: CommandLineEventConsumer, LogFileEventConsumer, LWMI_JournalEventConsumer or
  /// LWMI_TerminateProcessEventConsumer.
  std::string_view class_name() const;
};

/// The consumer classes, by their CIM name (case-insensitive): the spec's index; nullopt if not.
std::optional<size_t> consumer_kind(std::string_view class_name);

/// A reference to a consumer: its class and Name.
struct ConsumerRef {
  std::string class_name;
  std::string name;
  /// `Class.Name="…"` (the relative path; quotes and backslashes escaped).
  std::string path() const;
  bool operator==(const ConsumerRef& o) const;  ///< class and name case-insensitively
};

/// __FilterToConsumerBinding: keys Filter and Consumer (object paths).
struct Binding {
  std::string filter;  ///< the filter's Name
  ConsumerRef consumer;
  std::string creator;
  Origin origin;
  /// `__EventFilter.Name="…"`.
  std::string filter_path() const;
  /// The binding's own relative path: __FilterToConsumerBinding.Consumer="…",Filter="…".
  std::string path() const;
};

/// Everything defined, from one origin or all.
struct Definitions {
  std::vector<EventFilter> filters;
  std::vector<Consumer> consumers;
  std::vector<Binding> bindings;
};

/// A class's properties by WMI name, as CIM values of the schema's types (instances, the store
/// file and subscriptions.d all go through these). Consumer: Name and its kind's properties;
/// Binding: Filter and Consumer as references (relative paths).
using Properties = std::vector<std::pair<std::string, Value>>;
Properties properties_of(const EventFilter& filter);
Properties properties_of(const Consumer& consumer);
Properties properties_of(const Binding& binding);

/// Builds a definition from properties (names case-insensitive; a value converted to the
/// property's type where it can be, e.g. "7" or 7 for a uint32; NULL leaves the default).
/// Errors: WBEM_E_INVALID_PROPERTY for a property the class does not have (naming it),
/// WBEM_E_TYPE_MISMATCH for a value of the wrong type, WBEM_E_INVALID_PARAMETER for a required
/// one missing or empty (Name, Query, ExecutablePath, Filename, Filter, Consumer) or a
/// QueryLanguage other than WQL; WBEM_E_INVALID_CLASS for an unknown consumer class. The
/// message names the property; callers add where it was (file:line:col, the request).
Result<EventFilter> filter_from(const Properties& props);
Result<Consumer> consumer_from(std::string_view class_name, const Properties& props);
Result<Binding> binding_from(const Properties& props);

/// A filter path (`__EventFilter.Name="x"`, with or without namespace, or the bare name "x"):
/// the filter's name.
Result<std::string> filter_name_from_path(std::string_view path);
/// A consumer path (`LogFileEventConsumer.Name="y"`): its class (as declared) and name.
Result<ConsumerRef> consumer_ref_from_path(std::string_view path);

}  // namespace lwmi::permanent
