#include "security/audit.h"
#include "base/mutex.h"

#include "os/descriptors.h"
#include "security/audit_limiter.h"

#include <fcntl.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lwmi::security {
namespace {

// logfmt value: bare when safe, else double-quoted with \ and " escaped; control chars as \xHH.
std::string q(const std::string& v) {
  bool bare = !v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) bare = false;
  if (bare) return v;
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < ' ' || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string AuditLog::format(const Caller& c, const AuditRecord& r, int64_t unix_us) {
  time_t secs = static_cast<time_t>(unix_us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(unix_us % 1000000));
  std::string line = std::string("time=") + ts + " action=" + q(r.action) +
                     " result=" + q(r.result) + " caller.uid=" + std::to_string(c.uid) +
                     " caller.user=" + q(c.user.empty() ? std::to_string(c.uid) : c.user) +
                     " peer=" + q(c.peer) + " mode=" + (c.embedded ? "embedded" : "daemon") +
                     " privileges=";
  std::string privs;
  for (Privilege p : {Privilege::kDebug, Privilege::kIncreaseBasePriority})
    if (c.can(p)) privs += (privs.empty() ? "" : ",") + std::string(privilege_name(p));
  line += privs.empty() ? "none" : privs;
  if (c.pid_ns) line += " caller.pidns=" + std::to_string(c.pid_ns->inode);
  if (r.target) {
    line += " target.pid=" + std::to_string(r.target->pid) + " target.start=" + q(r.target->start) +
            " target.name=" + q(r.target->name) +
            " target.uid=" + (r.target->uid ? std::to_string(*r.target->uid) : std::string("-"));
  }
  line += " params=" + q(r.params);
  if (!r.detail.empty()) line += " detail=" + q(r.detail);
  if (r.repeated > 0) line += " repeated=" + std::to_string(r.repeated);
  return line;
}

AuditLog::AuditLog(config::AuditConfig config) : config_(std::move(config)) {}

AuditLog::~AuditLog() {
  std::vector<AuditRepeatLimiter::Summary> due;
  {
    base::MutexLock lock(limit_mu_);
    if (limiter_) due = limiter_->flush_all();
  }
  for (const auto& s : due) (void)write_line(s.caller, s.record);
}

void AuditLog::limit_repeats() {
  base::MutexLock lock(limit_mu_);
  if (!limiter_) limiter_ = std::make_unique<AuditRepeatLimiter>();
}

uint64_t AuditLog::repeats_counted() const {
  base::MutexLock lock(limit_mu_);
  return limiter_ ? limiter_->suppressed() : 0;
}

void AuditLog::flush() {
  std::vector<AuditRepeatLimiter::Summary> due;
  {
    base::MutexLock lock(limit_mu_);
    if (limiter_) due = limiter_->flush(std::chrono::steady_clock::now());
  }
  for (const auto& s : due) (void)write_line(s.caller, s.record);
}

std::string AuditLog::record(const Caller& caller, const AuditRecord& r) {
  std::vector<AuditRepeatLimiter::Summary> due;
  bool write = true;
  {
    base::MutexLock lock(limit_mu_);
    if (limiter_) write = limiter_->admit(caller, r, std::chrono::steady_clock::now(), &due);
  }
  std::string problem;
  for (const auto& s : due)
    if (std::string p = write_line(s.caller, s.record); !p.empty()) problem = p;
  if (write)
    if (std::string p = write_line(caller, r); !p.empty()) problem = p;
  return problem;
}

void AuditLog::tell_once() {
  base::MutexLock lock(mu_);
  tell_once_ = true;
}

void AuditLog::set_journal_socket(std::string path) {
  base::MutexLock lock(mu_);
  journal_socket_ = std::move(path);
}

std::string AuditLog::write_line(const Caller& caller, const AuditRecord& r) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string line =
      format(caller, r, static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000);
  base::MutexLock lock(mu_);
  // Each configured destination either takes the line or says why not. A journal that is not
  // running is no problem when the file took the line (e.g. lwmid in a container); a file that
  // did not take it always is, as is a line nothing took.
  bool in_journal = false, in_file = false;
  std::string journal_why, file_why;
  if (config_.journal) {
    // sd_journal_send() succeeds silently when no journald listens: look for its socket first.
    if (::access(journal_socket_.c_str(), F_OK) != 0) {
      journal_why = "no systemd journal is running";
    } else {
      int e = sd_journal_send("MESSAGE=%s", line.c_str(), "SYSLOG_IDENTIFIER=lwmi-audit",
                              "PRIORITY=5", "LWMI_ACTION=%s", r.action.c_str(), "LWMI_RESULT=%s",
                              r.result.c_str(), nullptr);
      if (e < 0)
        journal_why = std::string("the journal refused it (") + std::strerror(-e) + ")";
      else
        in_journal = true;
    }
  }
  if (!config_.file.empty()) {
    os::Fd fd(::open(config_.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!fd) {
      file_why = config_.file + ": " + std::strerror(errno);
    } else {
      std::string l = line + "\n";
      // O_APPEND: one write keeps the line whole.
      ssize_t n = ::write(fd.get(), l.data(), l.size());
      if (n == static_cast<ssize_t>(l.size()))
        in_file = true;
      else
        file_why = config_.file + ": not written whole";
    }
  }
  const bool configured = config_.journal || !config_.file.empty();
  const bool kept = in_journal || in_file;
  if (!configured || (kept && file_why.empty())) return "";  // "" and "" = audit turned off
  // Why nothing took the line: the file's reason, else the journal's and the missing file.
  std::string why = !file_why.empty()
                        ? file_why + (journal_why.empty() ? "" : ", and " + journal_why)
                        : journal_why + " and no [audit] file is configured";
  if (tell_once_) {
    // The caller of this run hears it once, briefly; its lines are whole wherever they go.
    if (told_) return "";
    told_ = true;
    return kept ? "audit records of this run go to the journal only: " + file_why
                : "audit records of this run are not kept: " + why;
  }
  if (kept) return "audit line not written to " + file_why;
  // A line nothing took is handed back whole, for lwmid's log.
  return (file_why.empty() ? why : "audit line not written to " + why) + "; audit line: " + line;
}

}  // namespace lwmi::security
