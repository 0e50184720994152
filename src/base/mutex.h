// base/mutex.h — a std::mutex that clang's thread-safety analysis can see, and its scoped lock.
//
// libstdc++'s std::mutex and std::lock_guard carry no capability attributes, so a member marked
// GUARDED_BY(a std::mutex) cannot be checked. Mutex is a std::mutex with the attributes;
// MutexLock is std::unique_lock over it (a scoped capability). A condition variable stays a
// std::condition_variable: MutexLock::wait*() hand it the underlying unique_lock, so waiting
// costs what it did. The analysis treats the mutex as held across a wait (it is, on return),
// so a predicate that reads guarded members is written as a loop in the caller, not a lambda
// (a lambda is a separate function to the analysis, which cannot know the lock is held in it).
// Thread safety: as std::mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace lwmi::base {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  /// For a scope that gives the mutex up for a while (a call that must run unlocked).
  void unlock() RELEASE() { lock_.unlock(); }
  void lock() ACQUIRE() { lock_.lock(); }

  /// cv.wait(), wait_for(), wait_until() on the mutex: released while waiting, held on return.
  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  template <class Rep, class Period>
  std::cv_status wait_for(std::condition_variable& cv,
                          const std::chrono::duration<Rep, Period>& d) {
    return cv.wait_for(lock_, d);
  }
  template <class Clock, class Duration>
  std::cv_status wait_until(std::condition_variable& cv,
                            const std::chrono::time_point<Clock, Duration>& t) {
    return cv.wait_until(lock_, t);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace lwmi::base
