// security/authenticator.cc — see authenticator.h.
#include "security/authenticator.h"
#include "base/mutex.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace lwmi::security {

// ---------------------------------------------------------------------------------------------
// parse_basic

namespace {

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 base64: padded to a multiple of 4, '=' only at the end, unused bits zero.
std::optional<std::string> b64_decode_strict(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (in.back() == '=') pad = (in[in.size() - 2] == '=') ? 2 : 1;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const size_t data = last ? 4 - pad : 4;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int d = 0;
      if (j < data) {
        d = b64_value(in[i + j]);
        if (d < 0) return std::nullopt;
      } else if (in[i + j] != '=') {
        return std::nullopt;
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (data >= 3) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (data == 4) out.push_back(static_cast<char>(v & 0xff));
    // Non-canonical encodings (bits set past the last byte) are refused.
    if (data == 2 && (v & 0xffff) != 0) return std::nullopt;
    if (data == 3 && (v & 0xff) != 0) return std::nullopt;
  }
  return out;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<std::pair<std::string, std::string>> parse_basic(std::string_view h) {
  while (!h.empty() && is_ows(h.front())) h.remove_prefix(1);
  while (!h.empty() && is_ows(h.back())) h.remove_suffix(1);
  constexpr std::string_view kScheme = "basic";
  if (h.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = h[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  h.remove_prefix(kScheme.size());
  if (!is_ows(h.front())) return std::nullopt;  // "Basicx…"
  while (!h.empty() && is_ows(h.front())) h.remove_prefix(1);
  auto decoded = b64_decode_strict(h);
  if (!decoded) return std::nullopt;
  if (decoded->find('\0') != std::string::npos) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

std::string failure_key_for_address(const std::string& address) {
  unsigned char a[16];
  if (::inet_pton(AF_INET, address.c_str(), a) == 1) {
    if (a[0] == 127) return "loopback";
  } else if (::inet_pton(AF_INET6, address.c_str(), a) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kLoopback, 16) == 0) return "loopback";
    if (std::memcmp(a, kMapped, 12) == 0) return a[12] == 127 ? "loopback" : address;
    // One host usually holds a whole /64: its addresses are one peer, or each would be fresh.
    std::memset(a + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    if (::inet_ntop(AF_INET6, a, text, sizeof text) != nullptr) return std::string(text) + "/64";
  }
  return address;
}

// ---------------------------------------------------------------------------------------------
// Authenticator

Authenticator::Authenticator(config::SecurityConfig cfg, const os::Accounts& accounts, Pam& pam,
                             Clock clock)
    : cfg_(std::move(cfg)), accounts_(accounts), pam_(pam), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  size_t got = 0;
  while (got < salt_.size()) {
    const ssize_t n = ::getrandom(salt_.data() + got, salt_.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed: " + std::string(std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  cache_stamp_ = accounts_.stamp();
}

size_t Authenticator::peers_tracked() const {
  base::MutexLock lock(mu_);
  return failures_.size();
}

size_t Authenticator::users_tracked() const {
  base::MutexLock lock(mu_);
  return user_failures_.size();
}

size_t Authenticator::cache_size() const {
  base::MutexLock lock(mu_);
  return cache_.size();
}

Authenticator::Hash Authenticator::hash_credential(const std::string& user,
                                                   const std::string& password) const {
  Hash h{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const unsigned char nul = 0;
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, salt_.data(), salt_.size()) == 1 &&
                  EVP_DigestUpdate(ctx, user.data(), user.size()) == 1 &&
                  EVP_DigestUpdate(ctx, &nul, 1) == 1 &&
                  EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, h.data(), &len) == 1 && len == h.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return h;
}

int Authenticator::count_failure(FailureTable& table, const std::string& key, TimePoint now) {
  auto it = table.find(key);
  if (it != table.end() && now - it->second.last > kFailureTtl) it->second.count = 0;
  if (it == table.end()) {
    if (table.size() >= kPeersMax) make_room(table, now);
    // Every entry busy (kPeersMax attempts under way at once): the oldest idle-or-not goes, so
    // that this failure is counted.
    while (table.size() >= kPeersMax) {
      auto oldest = std::min_element(table.begin(), table.end(), [](auto& a, auto& b) {
        return a.second.last < b.second.last;
      });
      table.erase(oldest);
    }
    it = table.emplace(key, Failures{}).first;
  }
  Failures& f = it->second;
  if (f.count < 1000) ++f.count;
  f.last = now;
  // 100, 200, 400, … ms, capped at 8 s (the shift is bounded before it can overflow).
  const uint32_t shift = std::min<uint32_t>(f.count - 1, 16);
  f.delay_ms = static_cast<int>(std::min<int64_t>(int64_t{kBaseDelayMs} << shift, kMaxDelayMs));
  return f.delay_ms;
}

Authenticator::Outcome Authenticator::refuse(std::string reason, const std::string& peer,
                                             const std::string& user) {
  Outcome o;
  o.ok = false;
  o.reason = std::move(reason);
  const TimePoint now = clock_();
  base::MutexLock lock(mu_);
  o.delay_ms = count_failure(failures_, peer, now);
  (void)count_failure(user_failures_, user, now);
  return o;
}

bool Authenticator::make_room(FailureTable& table, TimePoint now) {
  // One sweep frees an eighth of the table at least, so a stream of new keys costs one
  // O(n log n) pass per kPeersMax / 8 of them, not one per key: expired entries first,
  // then the oldest failures. Busy entries (an attempt under way) stay.
  constexpr size_t kTarget = kPeersMax - kPeersMax / 8;
  std::erase_if(
      table, [&](const auto& kv) { return !kv.second.busy && now - kv.second.last > kFailureTtl; });
  if (table.size() > kTarget) {
    std::vector<std::pair<TimePoint, const std::string*>> idle;
    idle.reserve(table.size());
    for (const auto& [key, f] : table)
      if (!f.busy) idle.emplace_back(f.last, &key);
    const size_t drop = std::min(idle.size(), table.size() - kTarget);
    std::nth_element(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(drop), idle.end());
    std::vector<std::string> victims;
    victims.reserve(drop);
    for (size_t i = 0; i < drop; ++i) victims.push_back(*idle[i].second);
    for (const auto& v : victims) table.erase(v);
  }
  return table.size() < kPeersMax;
}

int Authenticator::admit(const std::string& peer, const std::string& user, bool* user_held) {
  *user_held = false;
  const TimePoint now = clock_();
  base::MutexLock lock(mu_);
  // How long until `f`'s delay has passed (0: now).
  auto wait_ms = [&](const Failures& f) -> int {
    if (f.count == 0 || now - f.last > kFailureTtl) return 0;
    const TimePoint until = f.last + std::chrono::milliseconds(f.delay_ms);
    if (now >= until) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    return static_cast<int>(std::max<int64_t>(ms, 1));
  };
  auto it = failures_.find(peer);
  const bool peer_failed =
      it != failures_.end() && it->second.count > 0 && now - it->second.last <= kFailureTtl;
  if (it != failures_.end()) {
    if (it->second.busy) return kBusyRetryMs;
    if (int w = wait_ms(it->second); w > 0) return w;
  }
  // The user name's delay holds back only addresses that have failed themselves: see the header.
  auto u = peer_failed ? user_failures_.find(user) : user_failures_.end();
  if (u != user_failures_.end() && u->second.count > 0 && now - u->second.last <= kFailureTtl) {
    if (u->second.busy) return kBusyRetryMs;
    if (int w = wait_ms(u->second); w > 0) return w;
  } else {
    u = user_failures_.end();
  }
  if (it == failures_.end()) {
    if (failures_.size() >= kPeersMax && !make_room(failures_, now)) return kBusyRetryMs;
    it = failures_.emplace(peer, Failures{}).first;
    it->second.last = now;
  }
  it->second.busy = true;
  if (u != user_failures_.end()) {
    u->second.busy = true;
    *user_held = true;
  }
  return 0;
}

void Authenticator::release(const std::string& peer, const std::string& user, bool user_held) {
  base::MutexLock lock(mu_);
  if (user_held)
    if (auto u = user_failures_.find(user); u != user_failures_.end()) u->second.busy = false;
  auto it = failures_.find(peer);
  if (it == failures_.end()) return;
  it->second.busy = false;
  if (it->second.count == 0) failures_.erase(it);
}

Authenticator::Outcome Authenticator::check_with_pam(const std::string& user,
                                                     const std::string& password,
                                                     const std::string& peer) {
  PamResult pam;
  {
    pam_slots_.acquire();
    struct Release {
      std::counting_semaphore<kMaxConcurrentPam>& s;
      ~Release() { s.release(); }
    } release{pam_slots_};
    ++pam_calls_;
    pam = pam_.authenticate(cfg_.pam_service, user, password, peer);
  }
  Outcome o;
  using Stage = PamResult::Stage;
  if (pam.stage != Stage::kDone) {
    o.ok = false;
    if (pam.stage == Stage::kStart) {
      o.reason = "PAM error (pam_start for service " + cfg_.pam_service + ": " + pam.error + ")";
    } else if (pam.stage == Stage::kAccount) {
      o.reason = "account expired/locked (pam_acct_mgmt: " + pam.error + ")";
    } else if (!accounts_.user_named(user)) {
      o.reason = "unknown user";
    } else if (accounts_.password_locked(user)) {
      o.reason = "account locked (pam_authenticate: " + pam.error + ")";
    } else if (pam.bad_credentials) {
      o.reason = "wrong password";
    } else {
      o.reason = "wrong password or account unusable (pam_authenticate: " + pam.error + ")";
    }
    return o;
  }
  auto account = accounts_.user_named(user);
  if (!account) {
    o.reason = "unknown user (PAM accepted it but it has no passwd entry)";
    return o;
  }
  std::vector<gid_t> groups = accounts_.groups_of(*account);
  auto remote = accounts_.group_id(cfg_.remote_group);
  if (!remote || std::find(groups.begin(), groups.end(), *remote) == groups.end()) {
    o.reason = "not in group " + cfg_.remote_group;
    return o;
  }
  Caller& c = o.caller;
  c.uid = account->uid;
  c.euid = account->uid;
  c.gid = account->gid;
  c.held = held_privileges(accounts_, account->uid, groups, cfg_.admin_group);
  c.groups = std::move(groups);
  c.pid = 0;
  c.user = account->name;
  c.peer = peer;
  c.remote = true;
  c.embedded = false;
  c.enabled = c.held;  // a remote caller gets every held privilege enabled, as in WMI
  o.ok = true;
  return o;
}

Authenticator::Outcome Authenticator::authenticate(const std::string& user,
                                                   const std::string& password,
                                                   const std::string& peer_address) {
  const std::string peer = failure_key_for_address(peer_address);
  const std::string user_key = user.substr(0, std::min(user.size(), kMaxUserKey));
  bool user_held = false;
  if (int wait = admit(peer, user_key, &user_held); wait > 0) {
    Outcome o;
    o.retry_after_ms = wait;
    o.reason = "an earlier attempt from this address (or for this user) failed or is under way";
    return o;
  }
  struct Release {
    Authenticator* self;
    const std::string& peer;
    const std::string& user;
    bool user_held;
    ~Release() { self->release(peer, user, user_held); }
  } release_on_return{this, peer, user_key, user_held};
  if (user.empty()) return refuse("unknown user (empty user name)", peer, user_key);
  if (password.empty()) return refuse("wrong password (empty)", peer, user_key);

  // The stamp is taken before PAM runs: a change made while PAM runs leaves the new entry tied to
  // the old stamp, so the next lookup drops it.
  const os::AccountsStamp stamp = accounts_.stamp();
  const Hash hash = hash_credential(user, password);
  {
    const TimePoint now = clock_();
    base::MutexLock lock(mu_);
    if (stamp != cache_stamp_) {
      cache_.clear();
      cache_stamp_ = stamp;
    }
    auto it = cache_.find(user);
    if (it != cache_.end()) {
      if (now - it->second.stored > kCacheTtl) {
        cache_.erase(it);
      } else if (CRYPTO_memcmp(it->second.hash.data(), hash.data(), hash.size()) == 0) {
        Outcome o;
        o.ok = true;
        o.caller = it->second.caller;
        o.caller.peer = peer_address;
        failures_.erase(peer);
        return o;
      }
    }
  }

  Outcome o = check_with_pam(user, password, peer_address);
  if (!o.ok) return refuse(std::move(o.reason), peer, user_key);

  const TimePoint now = clock_();
  base::MutexLock lock(mu_);
  failures_.erase(peer);
  if (stamp == cache_stamp_) {
    if (cache_.size() >= kCacheMax && !cache_.contains(user)) {
      std::erase_if(cache_, [&](const auto& kv) { return now - kv.second.stored > kCacheTtl; });
      while (cache_.size() >= kCacheMax) {
        auto oldest = std::min_element(cache_.begin(), cache_.end(), [](auto& a, auto& b) {
          return a.second.stored < b.second.stored;
        });
        cache_.erase(oldest);
      }
    }
    cache_[user] = CacheEntry{hash, o.caller, now};
  }
  return o;
}

}  // namespace lwmi::security
