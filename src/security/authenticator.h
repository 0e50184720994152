// security/authenticator.h — remote authentication: HTTP Basic credentials checked by PAM.
//
// DESIGN.md decisions 2 and 3. A remote request needs an identity: the user and password of a
// "Basic" Authorization header are checked with pam_authenticate + pam_acct_mgmt (service name
// from [security] pam_service), then the account must be a member of [security] remote_group.
// The result is a Caller with remote = true and every held privilege enabled (as WMI does for a
// remote caller); SeDebugPrivilege and SeIncreaseBasePriorityPrivilege are held by uid 0 and by
// members of [security] admin_group.
//
// authenticate() blocks (a yescrypt check costs ~24 ms): call it from a worker, never from an I/O
// thread. At most kMaxConcurrentPam PAM transactions run at once, whatever the number of callers.
//
// Cache: a success is remembered for kCacheTtl as (user, SHA-256(per-process random salt ‖ user ‖
// NUL ‖ password)) → Caller, so keep-alive requests don't pay the hash check each time. An entry is
// used only when the hash matches (constant-time compare) and /etc/passwd, /etc/shadow and
// /etc/group are unchanged (os::Accounts::stamp()) since it was stored; any change drops the whole
// cache. A failure is never stored. At most kCacheMax entries.
//
// Failure delay: every refusal (wrong password, unknown user, locked account, not in the group)
// counts as a failure of the peer address and of the user name tried. The n-th consecutive
// failure of one key returns delay_ms = min(100 · 2^(n-1), 8000); the server delays the 401 by the
// peer's delay on its own timer (pam_unix's own ~2 s sleep is switched off with a PAM_FAIL_DELAY
// callback). A success from the address resets the address's count; a count is forgotten
// kFailureTtl after the key's last failure. Every loopback address (127.0.0.0/8, ::1, and their
// IPv4-mapped forms) is one peer, "loopback": a local user cannot get fresh delays by moving to
// 127.0.0.2, 127.0.0.3…; likewise every IPv6 address of one /64 is one peer. At most kPeersMax
// addresses and kPeersMax user names are tracked (expired ones first, then the oldest are dropped,
// an eighth of the table at a time; while every entry is busy a new key is asked to retry).
//
// Parallel attempts: an address may not try again before the delay of its last failure has
// passed, and at most one attempt per address is checked at a time. An attempt that comes too
// early is not checked at all: authenticate() returns retry_after_ms, and the server holds the
// request on a timer (no worker, no PAM slot) and asks again. So one address gets at most one
// guess per delay, however many connections it opens, and uses at most one of the
// kMaxConcurrentPam PAM slots: other peers are not slowed down.
//
// User-name delay: an attempt from an address that has failures of its own is also held while
// the user name is inside the delay of its last failure (from any address), and at most one such
// attempt per user name is checked at a time. An attempt from an address without failures is
// checked at once, whatever the user name's count: the owner logging in from a clean address is
// never held back (nor locked out) by an attacker's guesses, while the attacker's addresses, once
// each has failed, share one guess per user delay. A success does not reset the user name's
// count (else the owner's logins would give the attacker fresh delays); it is forgotten
// kFailureTtl after its last failure.
//
// Thread safety: authenticate() may be called from any number of threads at once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/mutex.h"
#include "config/config.h"
#include "os/accounts.h"
#include "security/caller.h"
#include "security/pam.h"

namespace lwmi::security {

/// The key a peer address's login failures are counted under: "loopback" for every loopback
/// address (127.0.0.0/8, ::1, ::ffff:127.x.y.z), an IPv6 address's /64 ("2001:db8::/64"), else
/// the address itself.
std::string failure_key_for_address(const std::string& address);

/// Parses an Authorization header value "Basic <base64(user:password)>": the scheme is
/// case-insensitive, the base64 strict (standard alphabet, padded, canonical), the user non-empty;
/// the password is everything after the first ':' (it may contain ':'). nullopt when anything is
/// malformed, or when the decoded text contains a NUL byte.
std::optional<std::pair<std::string, std::string>> parse_basic(
    std::string_view authorization_header);

class Authenticator {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  static constexpr int kMaxConcurrentPam = 2;
  static constexpr std::chrono::seconds kCacheTtl{60};
  static constexpr size_t kCacheMax = 1024;
  static constexpr int kBaseDelayMs = 100;
  static constexpr int kMaxDelayMs = 8000;
  static constexpr std::chrono::minutes kFailureTtl{10};
  static constexpr size_t kPeersMax = 4096;
  /// User names are counted by their first kMaxUserKey bytes (longer names are never real).
  static constexpr size_t kMaxUserKey = 256;

  /// `accounts` and `pam` (os::SystemAccounts and SystemPam in lwmid; fakes in tests) must
  /// outlive the Authenticator. `clock` defaults to std::chrono::steady_clock::now (tests pass
  /// their own).
  Authenticator(config::SecurityConfig cfg, const os::Accounts& accounts, Pam& pam,
                Clock clock = {});

  struct Outcome {
    bool ok = false;
    Caller caller;       ///< meaningful when ok
    std::string reason;  ///< for the log: "unknown user", "wrong password", "not in group lwmi"…
    int delay_ms = 0;    ///< when !ok: how long to delay the 401 for this peer
    /// When > 0 the credentials were NOT checked: the peer is inside its failure delay or has
    /// another attempt under way; ask again after this long (no failure is counted).
    int retry_after_ms = 0;
  };
  static constexpr int kBusyRetryMs = 50;  ///< retry_after_ms while another attempt runs

  /// Checks `user`/`password` for a request from `peer_address` (also the Caller's peer and PAM's
  /// PAM_RHOST). Blocking: call from a worker.
  Outcome authenticate(const std::string& user, const std::string& password,
                       const std::string& peer_address);

  /// Test hooks: how many times PAM was run (pam_authenticate), and the cache size.
  uint64_t pam_calls() const { return pam_calls_.load(); }
  size_t cache_size() const;
  /// Test hooks: how many peer addresses and user names are tracked (at most kPeersMax each).
  size_t peers_tracked() const;
  size_t users_tracked() const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Hash = std::array<unsigned char, 32>;

  struct CacheEntry {
    Hash hash{};
    Caller caller;
    TimePoint stored;
  };
  struct Failures {
    uint32_t count = 0;
    TimePoint last;
    int delay_ms = 0;   // of the last failure: no new attempt before last + delay_ms
    bool busy = false;  // an attempt of this key is being checked
  };
  using FailureTable = std::unordered_map<std::string, Failures>;
  // 0 and marks the peer busy (and the user, when `*user_held`) when it may try now; else how
  // long to wait (ms). `peer` is a failure key (failure_key_for_address).
  int admit(const std::string& peer, const std::string& user, bool* user_held);
  void release(const std::string& peer, const std::string& user, bool user_held);
  // With `table` full: drops expired entries, then the oldest idle ones, down to 7/8 of
  // kPeersMax; false when the table is still full (every entry busy). mu_ held.
  static bool make_room(FailureTable& table, TimePoint now);
  // Counts a failure of `key` in `table`; returns its delay (ms). mu_ held.
  static int count_failure(FailureTable& table, const std::string& key, TimePoint now);

  Hash hash_credential(const std::string& user, const std::string& password) const;
  // Runs PAM and the account/group checks; no locks held.
  Outcome check_with_pam(const std::string& user, const std::string& password,
                         const std::string& peer_address);
  Outcome refuse(std::string reason, const std::string& peer, const std::string& user);

  config::SecurityConfig cfg_;
  const os::Accounts& accounts_;
  Pam& pam_;
  Clock clock_;
  std::array<unsigned char, 32> salt_{};
  std::counting_semaphore<kMaxConcurrentPam> pam_slots_{kMaxConcurrentPam};
  std::atomic<uint64_t> pam_calls_{0};

  mutable base::Mutex mu_;  // guards everything below
  os::AccountsStamp cache_stamp_ GUARDED_BY(mu_){};
  std::unordered_map<std::string, CacheEntry> cache_ GUARDED_BY(mu_);
  FailureTable failures_ GUARDED_BY(mu_);       // by failure_key_for_address
  FailureTable user_failures_ GUARDED_BY(mu_);  // by user name (clipped to kMaxUserKey bytes)
};

}  // namespace lwmi::security
