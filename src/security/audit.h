// security/audit.h — the audit log: one line per state-changing call or refusal.
//
// Lines go to the systemd journal (when enabled) and to a file (when configured), in logfmt:
//   time=2026-11-27T06:22:00.123456Z action=Terminate result=0 caller.uid=1000 caller.user=alice
//   peer=local mode=embedded target.pid=4242 target.start=20261127062133.130000+000
//   target.name=sleep target.uid=1000 params="Reason=5" detail="…"
// record() never blocks for long and reports a line it could not write (never silently lost):
// lwmid logs each such report, the line included. With tell_once() (lwmic in embedded mode, whose
// caller is the one to tell) one short report per AuditLog says where the lines of the run go
// instead, or that nothing keeps them, rather than one long report per line.
// With limit_repeats() (lwmid), identical lines of one caller are limited (AuditRepeatLimiter):
// the excess is counted and written as one summary line carrying `repeated=N`.
// Thread safety: record() is safe to call concurrently.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/mutex.h"
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
  /// On a summary line: how many identical lines were not written (AuditRepeatLimiter).
  uint64_t repeated = 0;
};

class AuditRepeatLimiter;

class AuditLog {
 public:
  explicit AuditLog(config::AuditConfig config);
  ~AuditLog();  ///< writes the summaries still pending
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  /// Writes one line; returns "" or a message saying where it could not be written.
  std::string record(const Caller& caller, const AuditRecord& record);
  /// From now on record() reports a problem only once: the first one, as a short notice that
  /// speaks for the rest of the run ("audit records of this run …"); later ones return "".
  void tell_once();
  /// Where the journal's socket is looked for (tests point it elsewhere).
  void set_journal_socket(std::string path);
  /// From now on identical lines of a caller are limited (see audit_limiter.h).
  void limit_repeats();
  /// Writes the summaries of repeat windows that have ended (lwmid calls it every second).
  void flush();
  /// Lines counted into summaries instead of written, since the start.
  uint64_t repeats_counted() const;
  /// The logfmt line for a record (without the trailing newline).
  static std::string format(const Caller& caller, const AuditRecord& record, int64_t unix_us);

 private:
  std::string write_line(const Caller& caller, const AuditRecord& record);

  config::AuditConfig config_;
  std::string journal_socket_ = "/run/systemd/journal/socket";
  base::Mutex mu_;  // serialises writes; guards the two below
  bool tell_once_ GUARDED_BY(mu_) = false;
  bool told_ GUARDED_BY(mu_) = false;
  mutable base::Mutex limit_mu_;
  std::unique_ptr<AuditRepeatLimiter> limiter_ GUARDED_BY(limit_mu_);
};

}  // namespace lwmi::security
