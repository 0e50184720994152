#include "base/uuid.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace lwmi::base {

TEST(Uuid, IsVersionFourInUuidForm) {
  static const std::regex kForm(
      "uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 64; ++i) {
    std::string id = new_uuid();
    EXPECT_TRUE(std::regex_match(id, kForm)) << id;
  }
}

TEST(Uuid, NeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(new_uuid()).second);
}

}  // namespace lwmi::base
