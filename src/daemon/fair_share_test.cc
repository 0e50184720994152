#include "daemon/fair_share.h"

#include <gtest/gtest.h>

#include <vector>

namespace lwmi::daemon {

TEST(FairShare, OneUserHoldsAtMostItsShareAndOthersStillGetSlots) {
  FairShare share(3);
  std::vector<FairShare::Slot> flood;
  for (int i = 0; i < 3; ++i) {
    auto s = share.try_take(1000);
    ASSERT_TRUE(s.has_value()) << i;
    flood.push_back(std::move(*s));
  }
  EXPECT_FALSE(share.try_take(1000).has_value()) << "a fourth request of the same user waits";
  EXPECT_EQ(share.running(1000), 3u);
  auto other = share.try_take(1001);
  EXPECT_TRUE(other.has_value()) << "another user is served meanwhile";
  auto root = share.try_take(0);
  EXPECT_TRUE(root.has_value());
  flood.pop_back();  // one of the flood's requests ends
  EXPECT_EQ(share.running(1000), 2u);
  EXPECT_TRUE(share.try_take(1000).has_value());
}

TEST(FairShare, SlotsAreReleasedOnceEvenWhenMoved) {
  FairShare share(1);
  {
    auto s = share.try_take(7);
    ASSERT_TRUE(s.has_value());
    FairShare::Slot moved(std::move(*s));
    s.reset();  // the moved-from slot releases nothing
    EXPECT_EQ(share.running(7), 1u);
    EXPECT_FALSE(share.try_take(7).has_value());
  }
  EXPECT_EQ(share.running(7), 0u);
  EXPECT_TRUE(share.try_take(7).has_value());
}

TEST(FairShare, ZeroMeansOne) {
  FairShare share(0);
  EXPECT_EQ(share.per_user(), 1u);
  auto s = share.try_take(5);
  EXPECT_TRUE(s.has_value());
  EXPECT_FALSE(share.try_take(5).has_value());
}

}  // namespace lwmi::daemon
