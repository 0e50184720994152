#include "base/budget.h"

#include <gtest/gtest.h>

#include <thread>

namespace lwmi::base {

TEST(Budget, NoBudgetIsNeverSpent) {
  EXPECT_EQ(Budget::current(), nullptr);
  EXPECT_FALSE(Budget::spent());
}

TEST(Budget, SpentOnceItsLimitPassesAndNamesTheSetting) {
  Budget b(std::chrono::milliseconds(0), "[requests] time_limit_ms");
  Budget::Scope scope(&b);
  EXPECT_TRUE(Budget::spent());
  Error e = b.error();
  EXPECT_EQ(e.code, WbemStatus::kQuotaViolation);
  EXPECT_NE(e.message.find("time limit of 0 ms"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("[requests] time_limit_ms"), std::string::npos) << e.message;
}

TEST(Budget, ScopesNestAndBelongToTheirThread) {
  Budget roomy(std::chrono::hours(1), "x");
  Budget spent(std::chrono::milliseconds(0), "y");
  {
    Budget::Scope outer(&roomy);
    EXPECT_FALSE(Budget::spent());
    {
      Budget::Scope inner(&spent);
      EXPECT_TRUE(Budget::spent());
      bool other_thread_spent = true;
      std::thread([&] { other_thread_spent = Budget::spent(); }).join();
      EXPECT_FALSE(other_thread_spent);
    }
    EXPECT_EQ(Budget::current(), &roomy);
  }
  EXPECT_EQ(Budget::current(), nullptr);
}

}  // namespace lwmi::base
