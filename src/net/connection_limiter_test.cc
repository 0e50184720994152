#include "net/connection_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace lwmi::net {
namespace {

// The attack: one user opens connection after connection and keeps them idle. Past its cap each
// new one is refused and counted; another user still gets in.
TEST(ConnectionLimiter, OneKeyStopsAtItsCapOthersStillGetIn) {
  auto l = ConnectionLimiter::create({.max_total = 100, .max_per_key = 3});
  std::vector<ConnectionLimiter::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    auto a = l->admit("uid:1000", false);
    ASSERT_TRUE(a.ticket) << a.refusal;
    held.push_back(std::move(a.ticket));
  }
  for (int i = 0; i < 5; ++i) {
    auto a = l->admit("uid:1000", false);
    EXPECT_FALSE(a.ticket);
    EXPECT_NE(a.refusal.find("max_connections_per_user = 3"), std::string::npos) << a.refusal;
  }
  EXPECT_EQ(l->refused(), 5u);
  EXPECT_EQ(l->open("uid:1000"), 3u);
  auto other = l->admit("uid:1001", false);
  EXPECT_TRUE(other.ticket) << other.refusal;
  // A closed connection gives its slot back.
  held.pop_back();
  EXPECT_EQ(l->open("uid:1000"), 2u);
  EXPECT_TRUE(l->admit("uid:1000", false).ticket);
}

// Many keys (addresses) fill the total: ordinary callers are refused, root still has a reserve.
TEST(ConnectionLimiter, TotalCapLeavesAReserveForRoot) {
  auto l = ConnectionLimiter::create({.max_total = 4, .max_per_key = 2});
  std::vector<ConnectionLimiter::Ticket> held;
  for (int i = 0; i < 4; ++i) {
    auto a = l->admit("addr:192.0.2." + std::to_string(i), false);
    ASSERT_TRUE(a.ticket) << a.refusal;
    held.push_back(std::move(a.ticket));
  }
  auto refused = l->admit("uid:1000", false);
  EXPECT_FALSE(refused.ticket);
  EXPECT_NE(refused.refusal.find("max_connections = 4"), std::string::npos) << refused.refusal;
  // Root: beyond max_total and beyond the per-key cap, up to the reserve.
  for (size_t i = 0; i < ConnectionLimiter::kReserve; ++i) {
    auto a = l->admit("uid:0", true);
    ASSERT_TRUE(a.ticket) << i << ": " << a.refusal;
    held.push_back(std::move(a.ticket));
  }
  EXPECT_FALSE(l->admit("uid:0", true).ticket) << "the reserve is bounded too";
  EXPECT_EQ(l->open(), 4 + ConnectionLimiter::kReserve);
  held.clear();
  EXPECT_EQ(l->open(), 0u);
  EXPECT_EQ(l->open("uid:0"), 0u);
}

TEST(ConnectionLimiter, MovedTicketReleasesOnce) {
  auto l = ConnectionLimiter::create({.max_total = 2, .max_per_key = 2});
  auto a = l->admit("k", false);
  ConnectionLimiter::Ticket t = std::move(a.ticket);
  ConnectionLimiter::Ticket u;
  u = std::move(t);
  EXPECT_EQ(l->open(), 1u);
  t.reset();
  EXPECT_EQ(l->open(), 1u);
  u.reset();
  u.reset();
  EXPECT_EQ(l->open(), 0u);
}

}  // namespace
}  // namespace lwmi::net
