#include "security/authenticator.h"

#include <gtest/gtest.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "os/testing/fake_accounts.h"
#include "security/testing/fake_pam.h"

namespace lwmi::security {
namespace {

std::string b64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

TEST(Authenticator, ParseBasicValid) {
  auto p = parse_basic("Basic " + b64("alice:secret"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, "alice");
  EXPECT_EQ(p->second, "secret");
  p = parse_basic("bAsIc   " + b64("bob:x") + "  ");
  ASSERT_TRUE(p) << "scheme is case-insensitive, whitespace tolerated";
  EXPECT_EQ(p->first, "bob");
  EXPECT_EQ(p->second, "x");
  p = parse_basic("Basic " + b64("carol:a:b:c"));
  ASSERT_TRUE(p) << "password may contain ':'";
  EXPECT_EQ(p->first, "carol");
  EXPECT_EQ(p->second, "a:b:c");
  p = parse_basic("Basic " + b64("dave:"));
  ASSERT_TRUE(p) << "an empty password parses (PAM refuses it)";
  EXPECT_EQ(p->second, "");
}

TEST(Authenticator, ParseBasicMalformed) {
  EXPECT_FALSE(parse_basic(""));
  EXPECT_FALSE(parse_basic("Basic"));
  EXPECT_FALSE(parse_basic("Basic "));
  EXPECT_FALSE(parse_basic("Bearer " + b64("alice:secret"))) << "wrong scheme";
  EXPECT_FALSE(parse_basic("Basicx " + b64("alice:secret")));
  EXPECT_FALSE(parse_basic("Basic" + b64("alice:secret"))) << "no space after the scheme";
  EXPECT_FALSE(parse_basic("Basic " + b64("alicesecret"))) << "no colon";
  EXPECT_FALSE(parse_basic("Basic " + b64(":secret"))) << "empty user";
  EXPECT_FALSE(parse_basic("Basic " + b64(std::string("al\0ice:pw", 9)))) << "NUL byte";
  EXPECT_FALSE(parse_basic("Basic YWxpY2U6c2VjcmV0!")) << "bad character";
  EXPECT_FALSE(parse_basic("Basic YWxpY2U6c2VjcmU")) << "unpadded";
  EXPECT_FALSE(parse_basic("Basic YWxp=2U6c2VjcmV0")) << "'=' in the middle";
  EXPECT_FALSE(parse_basic("Basic YWxpY2U6c2VjcmU=="));
  EXPECT_TRUE(parse_basic("Basic YWxpY2U6c2VjcmU=")) << "the padded form of the above";
  EXPECT_FALSE(parse_basic("Basic YR==")) << "non-canonical trailing bits";
  EXPECT_FALSE(parse_basic("Basic YWxp Y2U6c2VjcmV0"));
}

// ---------------------------------------------------------------------------------------------
// Users, groups and a PAM service in a fake account database (os/testing/fake_accounts.h) and a
// fake PAM: no root, no real user, tests run in parallel. Real PAM is tested end to end.

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (::getrandom(b.data(), b.size(), 0) != static_cast<ssize_t>(b.size())) std::abort();
  std::string s;
  for (unsigned char c : b) {
    static constexpr char kHex[] = "0123456789abcdef";
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

class TestEnv {
 public:
  TestEnv() : id_(random_hex(3)) {
    service_ = "lwmi-test-" + id_;
    pam_.add_service(service_);
    remote_group_ = "lwmi-r-" + id_;
    admin_group_ = "lwmi-d-" + id_;
    accounts_.add_group(remote_group_);
    accounts_.add_group(admin_group_);
  }
  TestEnv(const TestEnv&) = delete;
  TestEnv& operator=(const TestEnv&) = delete;

  bool ok() const { return true; }

  config::SecurityConfig config() const {
    config::SecurityConfig c;
    c.remote_group = remote_group_;
    c.admin_group = admin_group_;
    c.pam_service = service_;
    return c;
  }

  // Creates "lwmi-<tag>-<id>" with `password`, member of the given groups.
  std::string add_user(const std::string& tag, const std::string& password, bool remote,
                       bool admin) {
    std::string name = "lwmi-" + tag + "-" + id_;
    accounts_.add_user(name, password, "/usr/sbin/nologin");
    if (remote) accounts_.add_member(remote_group_, name);
    if (admin) accounts_.add_member(admin_group_, name);
    return name;
  }
  void set_password(const std::string& user, const std::string& password) {
    accounts_.set_password(user, password);
  }
  gid_t gid_of(const std::string& group) const {
    return accounts_.group_id(group).value_or(static_cast<gid_t>(-1));
  }

  os::testing::FakeAccounts& accounts() { return accounts_; }
  security::testing::FakePam& pam() { return pam_; }
  const std::string& remote_group() const { return remote_group_; }
  const std::string& admin_group() const { return admin_group_; }

 private:
  std::string id_, service_, remote_group_, admin_group_;
  os::testing::FakeAccounts accounts_;
  security::testing::FakePam pam_{accounts_};
};

// For tests whose attempts never reach PAM (empty passwords): an empty database.
struct NoAccounts {
  os::testing::FakeAccounts accounts;
  security::testing::FakePam pam{accounts};
};

// A fake clock the tests move, shared with the Authenticator.
using Offset = std::shared_ptr<std::atomic<int64_t>>;  // nanoseconds added to steady_clock
Authenticator::Clock clock_with(const Offset& offset) {
  return [offset] { return std::chrono::steady_clock::now() + std::chrono::nanoseconds(*offset); };
}

// authenticate(), letting the fake clock run through the peer's failure delay first, as the
// server's timer does for a request it holds back.
Authenticator::Outcome attempt(Authenticator& auth, const Offset& offset, const std::string& user,
                               const std::string& password, const std::string& peer) {
  for (int i = 0; i < 100000; ++i) {
    auto o = auth.authenticate(user, password, peer);
    if (o.retry_after_ms == 0) return o;
    *offset += int64_t{o.retry_after_ms} * 1000000;
  }
  ADD_FAILURE() << "never admitted";
  return {};
}

// Cheap failures (an empty password never reaches PAM) from ever new addresses: the table of
// peers stays at most kPeersMax, the oldest failures make room, recent ones are still delayed.
TEST(Authenticator, PeerTableStaysBoundedUnderManyAddresses) {
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  NoAccounts none;
  Authenticator auth(config::SecurityConfig{}, none.accounts, none.pam, clock_with(offset));
  const size_t n = 3 * Authenticator::kPeersMax;
  size_t most = 0;
  for (size_t i = 0; i < n; ++i) {
    *offset += 1000000;  // 1 ms apart: all well inside kFailureTtl
    auto o = auth.authenticate("mallory", "", "10.0." + std::to_string(i) + ":1");
    ASSERT_FALSE(o.ok);
    ASSERT_EQ(o.retry_after_ms, 0) << "a new address is checked at once (" << i << ")";
    most = std::max(most, auth.peers_tracked());
  }
  EXPECT_LE(most, Authenticator::kPeersMax);
  EXPECT_GT(auth.peers_tracked(), Authenticator::kPeersMax / 2) << "recent failures are kept";
  // The last address is still inside its delay; the first one was dropped and is checked again.
  EXPECT_GT(auth.authenticate("mallory", "", "10.0." + std::to_string(n - 1) + ":1").retry_after_ms,
            0);
  EXPECT_EQ(auth.authenticate("mallory", "", "10.0.0:1").retry_after_ms, 0);
  EXPECT_EQ(auth.pam_calls(), 0u);
}

TEST(Authenticator, RightPasswordInRemoteGroup) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  const std::string admin = env.add_user("b", "Admin-pw-1", true, true);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));

  auto o = attempt(auth, offset, alice, "Alice-pw-1", "https:192.0.2.1:5000");
  ASSERT_TRUE(o.ok) << o.reason;
  auto pw = env.accounts().user_named(alice);
  ASSERT_TRUE(pw.has_value());
  EXPECT_EQ(o.caller.uid, pw->uid);
  EXPECT_EQ(o.caller.euid, pw->uid);
  EXPECT_EQ(o.caller.gid, pw->gid);
  EXPECT_EQ(o.caller.user, alice);
  EXPECT_EQ(o.caller.peer, "https:192.0.2.1:5000");
  EXPECT_TRUE(o.caller.remote);
  EXPECT_FALSE(o.caller.embedded);
  auto has = [&](gid_t g) {
    return std::find(o.caller.groups.begin(), o.caller.groups.end(), g) != o.caller.groups.end();
  };
  EXPECT_TRUE(has(env.gid_of(env.remote_group())));
  EXPECT_TRUE(has(pw->gid)) << "primary group included";
  EXPECT_FALSE(has(env.gid_of(env.admin_group())));
  EXPECT_TRUE(o.caller.held.empty());
  EXPECT_FALSE(o.caller.can(Privilege::kDebug));
  EXPECT_FALSE(o.caller.can(Privilege::kIncreaseBasePriority));

  o = attempt(auth, offset, admin, "Admin-pw-1", "https:192.0.2.2:5000");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_TRUE(o.caller.held.has(Privilege::kDebug));
  EXPECT_TRUE(o.caller.held.has(Privilege::kIncreaseBasePriority));
  EXPECT_TRUE(o.caller.can(Privilege::kDebug)) << "remote callers get held privileges enabled";
  EXPECT_TRUE(o.caller.can(Privilege::kIncreaseBasePriority));
}

TEST(Authenticator, WrongPasswordDelayGrowsPerPeer) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));

  const std::string p1 = "https:192.0.2.1:1", p2 = "https:192.0.2.2:1";
  auto o = attempt(auth, offset, alice, "nope", p1);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("wrong password"), std::string::npos) << o.reason;
  EXPECT_EQ(o.delay_ms, 100);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p1).delay_ms, 200);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p1).delay_ms, 400);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p2).delay_ms, 100) << "another peer is unaffected";
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p1).delay_ms, 800);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p2).delay_ms, 200);

  // A success from p1 resets p1 only.
  EXPECT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", p1).ok);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p1).delay_ms, 100);
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p2).delay_ms, 400);

  // The count is forgotten 10 min after the last failure.
  *offset += int64_t{11} * 60 * 1000000000;
  EXPECT_EQ(attempt(auth, offset, alice, "nope", p2).delay_ms, 100);
  EXPECT_EQ(auth.pam_calls(), 10u) << "failures are never served from the cache";
}

TEST(Authenticator, DelayIsCapped) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  int last = 0;
  for (int i = 0; i < 9; ++i) last = attempt(auth, offset, "lwmi-nobody-zz", "x", "p").delay_ms;
  EXPECT_EQ(last, 8000);
}

TEST(Authenticator, UnknownUserRefused) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  auto o = attempt(auth, offset, "lwmi-nosuchuser-" + random_hex(3), "whatever", "p");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("unknown user"), std::string::npos) << o.reason;
  EXPECT_EQ(o.delay_ms, 100);
}

TEST(Authenticator, NotInRemoteGroupRefused) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string out = env.add_user("o", "Outsider-pw-1", false, true);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  auto o = attempt(auth, offset, out, "Outsider-pw-1", "p");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "not in group " + env.remote_group());
  EXPECT_EQ(o.delay_ms, 100);

  // A remote group that does not exist has no members.
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto cfg = env.config();
  cfg.remote_group = "lwmi-nosuchgroup-zz";
  Authenticator auth2(cfg, env.accounts(), env.pam());
  o = auth2.authenticate(alice, "Alice-pw-1", "p");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "not in group lwmi-nosuchgroup-zz");
}

TEST(Authenticator, LockedAccountRefused) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("l", "Locked-pw-1", true, false);
  env.accounts().lock(alice);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  auto o = attempt(auth, offset, alice, "Locked-pw-1", "p");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("locked"), std::string::npos) << o.reason;

  // An expired account passes pam_authenticate but not pam_acct_mgmt.
  const std::string bob = env.add_user("e", "Expired-pw-1", true, false);
  env.accounts().expire(bob);
  o = attempt(auth, offset, bob, "Expired-pw-1", "p");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("pam_acct_mgmt"), std::string::npos) << o.reason;
}

TEST(Authenticator, CacheServesRepeatsButNotWrongPasswords) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));

  ASSERT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p1").ok);
  EXPECT_EQ(auth.pam_calls(), 1u);
  auto o = attempt(auth, offset, alice, "Alice-pw-1", "p2");
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(auth.pam_calls(), 1u) << "served from the cache";
  EXPECT_EQ(o.caller.peer, "p2") << "the cached Caller gets this request's peer";

  o = attempt(auth, offset, alice, "Alice-pw-2", "p1");
  EXPECT_FALSE(o.ok) << "a wrong password after a cached success";
  EXPECT_EQ(auth.pam_calls(), 2u) << "checked by PAM, not served from the cache";
  EXPECT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p1").ok);
  EXPECT_EQ(auth.pam_calls(), 2u) << "the right one is still cached";

  // Entries expire after 60 s.
  *offset += int64_t{61} * 1000000000;
  EXPECT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p1").ok);
  EXPECT_EQ(auth.pam_calls(), 3u);
}

TEST(Authenticator, PasswordChangeDropsCache) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  ASSERT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p").ok);
  ASSERT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p").ok);
  EXPECT_EQ(auth.pam_calls(), 1u);
  EXPECT_EQ(auth.cache_size(), 1u);

  env.set_password(alice, "Alice-pw-new");
  auto o = attempt(auth, offset, alice, "Alice-pw-1", "p");
  EXPECT_FALSE(o.ok) << "the old password is refused at once";
  EXPECT_EQ(auth.pam_calls(), 2u);
  EXPECT_TRUE(attempt(auth, offset, alice, "Alice-pw-new", "p").ok);
  EXPECT_EQ(auth.pam_calls(), 3u);
}

TEST(Authenticator, GroupChangeDropsCache) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  ASSERT_TRUE(attempt(auth, offset, alice, "Alice-pw-1", "p").ok);
  env.accounts().remove_member(env.remote_group(), alice);
  auto o = attempt(auth, offset, alice, "Alice-pw-1", "p");
  EXPECT_FALSE(o.ok) << "removed from the remote group";
  EXPECT_EQ(o.reason, "not in group " + env.remote_group());
}

TEST(Authenticator, ConcurrentCallers) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto o =
            attempt(auth, offset, alice, (t % 2) ? "Alice-pw-1" : "bad", "p" + std::to_string(t));
        (o.ok ? ok : refused)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(refused.load(), 16);
}

TEST(Authenticator, APeerInItsDelayIsNotCheckedAgainUntilItPasses) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  const std::string bob = env.add_user("b", "Bob-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  auto o = auth.authenticate(alice, "nope", "attacker");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.delay_ms, 100);
  EXPECT_EQ(auth.pam_calls(), 1u);
  // Five more guesses at once: none is checked, each is told to come back when the delay ends.
  for (int i = 0; i < 5; ++i) {
    o = auth.authenticate(alice, "guess-" + std::to_string(i), "attacker");
    EXPECT_FALSE(o.ok);
    EXPECT_GT(o.retry_after_ms, 0);
    EXPECT_LE(o.retry_after_ms, 100);
    EXPECT_EQ(o.delay_ms, 0) << "not a failure: nothing was checked";
  }
  // Not even the right password gets in early (the address is in its delay).
  EXPECT_GT(auth.authenticate(alice, "Alice-pw-1", "attacker").retry_after_ms, 0);
  EXPECT_EQ(auth.pam_calls(), 1u) << "no PAM check for an attempt inside the delay";
  // Another peer is not held back.
  o = auth.authenticate(bob, "Bob-pw-1", "friend");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.retry_after_ms, 0);
  // Once the delay has passed, the next guess is checked and the delay doubles.
  *offset += int64_t{100} * 1000000;
  o = auth.authenticate(alice, "nope", "attacker");
  EXPECT_EQ(o.retry_after_ms, 0);
  EXPECT_EQ(o.delay_ms, 200);
  EXPECT_EQ(auth.pam_calls(), 3u);
}

TEST(Authenticator, EveryLoopbackAddressIsOnePeer) {
  EXPECT_EQ(failure_key_for_address("127.0.0.1"), "loopback");
  EXPECT_EQ(failure_key_for_address("127.44.3.2"), "loopback");
  EXPECT_EQ(failure_key_for_address("::1"), "loopback");
  EXPECT_EQ(failure_key_for_address("::ffff:127.0.0.9"), "loopback");
  EXPECT_EQ(failure_key_for_address("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(failure_key_for_address("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
  EXPECT_EQ(failure_key_for_address("2001:db8::1"), "2001:db8::/64");
  EXPECT_EQ(failure_key_for_address("2001:db8:0:7:a:b:c:d"), "2001:db8:0:7::/64")
      << "one host's /64 is one peer";
  EXPECT_EQ(failure_key_for_address("p"), "p") << "not an address: kept as it is";
}

// The attack: a local user guesses from 40 loopback addresses, hoping for 40 fresh delays. Only
// the first guess is checked; every other address is inside the one loopback delay.
TEST(Authenticator, LoopbackAddressesShareOneDelay) {
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  NoAccounts none;
  Authenticator auth(config::SecurityConfig{}, none.accounts, none.pam, clock_with(offset));
  auto o = auth.authenticate("alice", "", "127.0.0.1");  // empty password: refused before PAM
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.delay_ms, 100);
  for (int i = 2; i <= 40; ++i) {
    o = auth.authenticate("alice", "", "127.0.0." + std::to_string(i));
    EXPECT_GT(o.retry_after_ms, 0) << "127.0.0." << i << " is the same peer, inside its delay";
  }
  EXPECT_GT(auth.authenticate("bob", "", "::1").retry_after_ms, 0) << "another user name too";
  EXPECT_GT(auth.authenticate("bob", "", "::ffff:127.3.2.1").retry_after_ms, 0);
  EXPECT_EQ(auth.peers_tracked(), 1u);
  // A remote address is another peer.
  EXPECT_EQ(auth.authenticate("carol", "", "192.0.2.1").retry_after_ms, 0);
}

// The attack: guesses at one user name from many addresses. Once an address has failed, its next
// guess waits for the user name's delay too, which grows with every address's failures.
TEST(Authenticator, UserNameDelayHoldsBackAddressesThatFailed) {
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  NoAccounts none;
  Authenticator auth(config::SecurityConfig{}, none.accounts, none.pam, clock_with(offset));
  for (int i = 1; i <= 4; ++i) {
    auto o = auth.authenticate("alice", "", "192.0.2." + std::to_string(i));
    ASSERT_EQ(o.retry_after_ms, 0) << "an address without failures is checked at once";
    EXPECT_EQ(o.delay_ms, 100) << "each address's own delay";
  }
  EXPECT_EQ(auth.users_tracked(), 1u);
  // Every address is past its own 100 ms, not past alice's 800 ms (4th failure).
  *offset += int64_t{150} * 1000000;
  for (int i = 1; i <= 4; ++i) {
    auto o = auth.authenticate("alice", "", "192.0.2." + std::to_string(i));
    EXPECT_GT(o.retry_after_ms, 0) << "192.0.2." << i;
    EXPECT_LE(o.retry_after_ms, 650);
  }
  // Another user name is not held back by alice's delay.
  EXPECT_EQ(auth.authenticate("bob", "", "192.0.2.1").retry_after_ms, 0);
  // Past alice's delay, one failed address gets one guess; the next waits for the doubled delay.
  *offset += int64_t{700} * 1000000;
  EXPECT_EQ(auth.authenticate("alice", "", "192.0.2.2").retry_after_ms, 0);
  EXPECT_GT(auth.authenticate("alice", "", "192.0.2.3").retry_after_ms, 1000);
}

// The owner logs in from an address without failures while an attacker keeps alice's user-name
// delay at its cap: the right password is checked and accepted at once, and it gives the attacker
// no fresh delay.
TEST(Authenticator, RightPasswordFromACleanAddressIsNotHeldByTheUserDelay) {
  TestEnv env;
  ASSERT_TRUE(env.ok());
  const std::string alice = env.add_user("a", "Alice-pw-1", true, false);
  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  Authenticator auth(env.config(), env.accounts(), env.pam(), clock_with(offset));
  for (int i = 0; i < 8; ++i) (void)attempt(auth, offset, alice, "", "127.0.0.1");
  for (int i = 1; i <= 4; ++i)
    (void)attempt(auth, offset, alice, "", "192.0.2." + std::to_string(i));
  EXPECT_GT(auth.authenticate(alice, "guess", "127.0.0.7").retry_after_ms, 1000);
  auto o = auth.authenticate(alice, "Alice-pw-1", "198.51.100.7");
  EXPECT_EQ(o.retry_after_ms, 0);
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(auth.pam_calls(), 1u) << "only the owner's attempt reached PAM";
  // A wrong password from another clean address is checked at once too (and refused).
  o = auth.authenticate(alice, "guess", "198.51.100.8");
  EXPECT_EQ(o.retry_after_ms, 0);
  EXPECT_FALSE(o.ok);
  // The success reset nothing for the attacker: its failed addresses still wait.
  *offset += int64_t{200} * 1000000;
  EXPECT_GT(auth.authenticate(alice, "guess", "192.0.2.1").retry_after_ms, 1000);
}

}  // namespace
}  // namespace lwmi::security
