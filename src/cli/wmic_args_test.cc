#include "cli/wmic_args.h"

#include <gtest/gtest.h>

namespace lwmi::cli {

TEST(WmicArgs, TranslatesGlobalSwitches) {
  using V = std::vector<std::string>;
  EXPECT_EQ(translate_wmic_switches({"/format:csv", "list", "Win32_Process"}),
            (V{"--format=csv", "list", "Win32_Process"}));
  EXPECT_EQ(translate_wmic_switches({"/NODE:h1,h2", "/User:admin", "/password:x"}),
            (V{"--node=h1,h2", "--user=admin", "--password=x"}));
  EXPECT_EQ(translate_wmic_switches({"/NAMESPACE:\\\\root\\subscription", "create"}),
            (V{"--namespace=\\\\root\\subscription", "create"}));
}

TEST(WmicArgs, LeavesPathsAlone) {
  using V = std::vector<std::string>;
  EXPECT_EQ(translate_wmic_switches({"get", "//host/root/cimv2:Win32_Process=1"}),
            (V{"get", "//host/root/cimv2:Win32_Process=1"}));
}

TEST(WmicArgs, ValueOutputAppendAndSwitchesWithoutMeaning) {
  using V = std::vector<std::string>;
  std::vector<std::string> notes;
  EXPECT_EQ(translate_wmic_switches(
                {"process", "get", "name", "/VALUE", "/output:x.txt", "/Append:y.txt", "/trace:on",
                 "/INTERACTIVE:off", "/privileges:enable", "/locale:ms_409"},
                &notes),
            (V{"process", "get", "name", "--format=list", "--output=x.txt", "--append=y.txt",
               "--privileges=enable"}));
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0].rfind("/trace:on is accepted and has no effect here: ", 0), 0u) << notes[0];
  EXPECT_EQ(notes[2].rfind("/locale:ms_409 is accepted", 0), 0u) << notes[2];
  // Not a switch: a path, a word that only starts like one.
  notes.clear();
  EXPECT_EQ(translate_wmic_switches({"/tracer", "/values"}, &notes), (V{"/tracer", "/values"}));
  EXPECT_TRUE(notes.empty());
}

TEST(WmicArgs, SplitsPropertyLists) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_list("Name, ProcessId,,x"), (V{"Name", "ProcessId", "x"}));
  EXPECT_EQ(split_list(""), V{});
}

// wmic's comma-separated method arguments, as a shell hands them over.
TEST(WmicArgs, PositionalArgumentListsAreSplitAtTheirCommas) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_wmic_arguments({"sleep 100,/tmp"}), (V{"sleep 100", "/tmp"}));
  EXPECT_EQ(split_wmic_arguments({"\"sleep 100\",\"/tmp\""}), (V{"sleep 100", "/tmp"}));
  EXPECT_EQ(split_wmic_arguments({"\"echo a,b\",\"/tmp\""}), (V{"echo a,b", "/tmp"}));
  EXPECT_EQ(split_wmic_arguments({"sleep 100", "/tmp"}), (V{"sleep 100", "/tmp"}));
  EXPECT_EQ(split_wmic_arguments({"CommandLine=echo a,b", "CurrentDirectory=/tmp"}),
            (V{"CommandLine=echo a,b", "CurrentDirectory=/tmp"}));
  EXPECT_EQ(split_wmic_arguments({"1,"}), (V{"1", ""}));
  EXPECT_EQ(split_wmic_arguments({"\"/opt/x y/prog\" arg"}), (V{"\"/opt/x y/prog\" arg"}));
}

// wmic's `get *`: every property, not a column named "*".
TEST(WmicArgs, AStarMeansEveryProperty) {
  using V = std::vector<std::string>;
  EXPECT_EQ(property_list({"Name,ProcessId", "x"}), (V{"Name", "ProcessId", "x"}));
  EXPECT_EQ(property_list({"*"}), V{});
  EXPECT_EQ(property_list({"Name", "*"}), V{});
  EXPECT_EQ(property_list({" * "}), V{});
}

}  // namespace lwmi::cli
