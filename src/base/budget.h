// base/budget.h — a request's time budget, carried by the thread that serves it.
//
// lwmid serves each request synchronously on one worker thread. The endpoint installs a Budget
// for the request (Budget::Scope); the loops a caller can make long — the rows of a query, a
// LIKE match over a long text — ask Budget::spent() as they go, stop when it says so, and the
// query ends with the budget's error (WBEM_E_QUOTA_VIOLATION naming the limit and the setting
// that sets it). A worker is thus held for at most about the limit, whatever the query. On a
// thread with no budget (embedded mode, the event engine) spent() is always false.
// A limit on wall-clock time bounds the request's CPU time too: it runs on one thread.
// Thread safety: a Budget belongs to the thread that installed it.
#pragma once

#include <chrono>
#include <string>

#include "lwmi/result.h"

namespace lwmi::base {

class Budget {
 public:
  /// `limit` from now; `setting` names where the limit comes from, for the error message
  /// ("[requests] time_limit_ms").
  Budget(std::chrono::milliseconds limit, std::string setting);

  /// Whether the limit has passed (once true, stays true).
  bool exhausted() const;
  /// WBEM_E_QUOTA_VIOLATION: the request ran past its limit.
  Error error() const;

  /// Makes `budget` the calling thread's for the scope's lifetime (the previous one after).
  class Scope {
   public:
    explicit Scope(const Budget* budget);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const Budget* previous_;
  };

  /// The calling thread's budget, or nullptr.
  static const Budget* current();
  /// True when the calling thread serves a request whose budget is spent.
  static bool spent() {
    const Budget* b = current();
    return b && b->exhausted();
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds limit_;
  std::string setting_;
  mutable bool spent_ = false;
};

}  // namespace lwmi::base
