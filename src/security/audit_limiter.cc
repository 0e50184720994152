// security/audit_limiter.cc — see audit_limiter.h.
#include "security/audit_limiter.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace lwmi::security {
namespace {

std::string identity(const Caller& caller, const AuditRecord& record) {
  Caller c = caller;
  c.peer.clear();
  const std::string line = AuditLog::format(c, record, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(line.data(), line.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string clip(const std::string& s) {
  if (s.size() <= AuditRepeatLimiter::kMaxSampleField) return s;
  return s.substr(0, AuditRepeatLimiter::kMaxSampleField) + "…";
}

}  // namespace

void AuditRepeatLimiter::close_front(std::vector<Summary>* out) {
  auto it = windows_.find(order_.front().second);
  order_.pop_front();
  if (it == windows_.end()) return;
  Window& w = it->second;
  if (w.counted > 0) {
    Summary s{std::move(w.caller), std::move(w.sample)};
    s.record.repeated = w.counted;
    out->push_back(std::move(s));
  }
  windows_.erase(it);
}

bool AuditRepeatLimiter::admit(const Caller& caller, const AuditRecord& record, TimePoint now,
                               std::vector<Summary>* due) {
  while (!order_.empty() && order_.front().first <= now) close_front(due);
  std::string key = identity(caller, record);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    while (windows_.size() >= kMaxKeys) close_front(due);
    Window w;
    w.end = now + kWindow;
    w.written = 1;
    order_.emplace_back(w.end, key);
    windows_.emplace(std::move(key), std::move(w));
    return true;
  }
  Window& w = it->second;
  if (w.written < kBurst) {
    ++w.written;
    return true;
  }
  if (w.counted == 0) {
    // The sample for the summary: this caller's latest peer, params and detail clipped.
    w.caller = caller;
    w.sample = record;
    w.sample.params = clip(record.params);
    w.sample.detail = clip(record.detail);
  } else {
    w.caller.peer = caller.peer;
  }
  ++w.counted;
  ++suppressed_;
  return false;
}

std::vector<AuditRepeatLimiter::Summary> AuditRepeatLimiter::flush(TimePoint now) {
  std::vector<Summary> out;
  while (!order_.empty() && order_.front().first <= now) close_front(&out);
  return out;
}

std::vector<AuditRepeatLimiter::Summary> AuditRepeatLimiter::flush_all() {
  std::vector<Summary> out;
  while (!order_.empty()) close_front(&out);
  return out;
}

}  // namespace lwmi::security
