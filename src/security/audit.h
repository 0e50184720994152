// security/audit.h — the audit log: one line per state-changing call or refusal.
//
// Lines go to the systemd journal (when enabled) and to a file (when configured), in logfmt:
//   time=2026-11-27T06:22:00.123456Z action=Terminate result=0 caller.uid=1000 caller.user=alice
//   peer=local mode=embedded target.pid=4242 target.start=20261127062133.130000+000
//   target.name=sleep target.uid=1000 params="Reason=5" detail="…"
// record() never blocks for long and reports a line it could not write (never silently lost).
// Thread safety: record() is safe to call concurrently.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "security/caller.h"

namespace lwmi::security {

struct AuditTarget {
  int32_t pid = 0;
  std::string start;  ///< CreationDate
  std::string name;
  std::optional<uint32_t> uid;
};

struct AuditRecord {
  std::string action;  ///< "Terminate", "DeleteInstance", "SetPriority", "Create"…
  std::string result;  ///< "0", "2", "WBEM_E_NOT_FOUND"…
  std::string params;
  std::string detail;
  std::optional<AuditTarget> target;
};

class AuditLog {
 public:
  explicit AuditLog(config::AuditConfig config) : config_(std::move(config)) {}
  /// Writes one line; returns "" or a message saying where it could not be written.
  std::string record(const Caller& caller, const AuditRecord& record);
  /// The logfmt line for a record (without the trailing newline).
  static std::string format(const Caller& caller, const AuditRecord& record, int64_t unix_us);

 private:
  config::AuditConfig config_;
  std::mutex mu_;
};

}  // namespace lwmi::security
