// net/connection_limiter.h — caps on lwmid's open connections, so that idle connections cannot
// use up its descriptors and lock every other client out.
//
// Each connection is counted under a key (the server uses "uid:N" for a Unix caller, "addr:A"
// for a TCP peer, every loopback address being one "addr:loopback") and in all. A connection is
// admitted while its key has fewer than max_per_key and the total is below max_total. A
// privileged connection (uid 0 on the Unix socket) has no per-key cap and may use kReserve more
// connections beyond max_total, so an administrator can still connect while ordinary callers
// hold every ordinary slot. A refused connection is counted (refused()).
// Thread safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/mutex.h"

namespace lwmi::net {

class ConnectionLimiter {
 public:
  /// Connections beyond max_total only a privileged caller may open.
  static constexpr size_t kReserve = 16;

  struct Limits {
    size_t max_total = 512;
    size_t max_per_key = 32;
  };

  /// One admitted connection: its slot is given back when the ticket is reset or destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&&) noexcept;
    Ticket& operator=(Ticket&&) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { reset(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void reset();

   private:
    friend class ConnectionLimiter;
    Ticket(std::shared_ptr<ConnectionLimiter> owner, std::string key)
        : owner_(std::move(owner)), key_(std::move(key)) {}
    std::shared_ptr<ConnectionLimiter> owner_;
    std::string key_;
  };

  struct Admission {
    Ticket ticket;        ///< set when admitted
    std::string refusal;  ///< when not: why, naming the cap ("uid:1000 has 32 connections…")
  };

  /// Made through a shared_ptr: tickets keep the limiter alive.
  static std::shared_ptr<ConnectionLimiter> create(Limits limits);

  Admission admit(const std::string& key, bool privileged);

  size_t open() const;  ///< connections open now
  size_t open(const std::string& key) const;
  uint64_t refused() const;  ///< connections refused since the start

 private:
  explicit ConnectionLimiter(Limits limits) : limits_(limits) {}
  void release(const std::string& key);

  Limits limits_;
  std::weak_ptr<ConnectionLimiter> self_;
  mutable base::Mutex mu_;
  // Keys with at least one connection.
  std::unordered_map<std::string, size_t> per_key_ GUARDED_BY(mu_);
  size_t total_ GUARDED_BY(mu_) = 0;
  uint64_t refused_ = 0;
};

}  // namespace lwmi::net
