#include "cli/wmic_sets.h"

#include <algorithm>
#include <memory>

#include "base/strings.h"
#include "cim/schema.h"

namespace lwmi::cli {
namespace {

struct NamedSet {
  const char* name;
  std::vector<std::string> properties;  ///< alphabetical, as wmic shows them
};

/// The PROCESS alias's own sets. BRIEF as wmic prints it (its table header is
/// HandleCount Name Priority ProcessId ThreadCount WorkingSetSize); the others from the alias's
/// FORMAT definitions.
const std::vector<NamedSet>& process_sets() {
  static const std::vector<NamedSet> sets = {
      {"brief", {"HandleCount", "Name", "Priority", "ProcessId", "ThreadCount", "WorkingSetSize"}},
      {"io",
       {"Name", "ProcessId", "ReadOperationCount", "ReadTransferCount", "WriteOperationCount",
        "WriteTransferCount"}},
      {"memory",
       {"Handle", "MaximumWorkingSetSize", "MinimumWorkingSetSize", "Name", "PageFaults",
        "PageFileUsage", "PeakPageFileUsage", "PeakVirtualSize", "PeakWorkingSetSize",
        "PrivatePageCount", "QuotaNonPagedPoolUsage", "QuotaPagedPoolUsage",
        "QuotaPeakNonPagedPoolUsage", "QuotaPeakPagedPoolUsage", "VirtualSize", "WorkingSetSize"}},
      {"statistics",
       {"HandleCount",
        "KernelModeTime",
        "MaximumWorkingSetSize",
        "MinimumWorkingSetSize",
        "Name",
        "OtherOperationCount",
        "OtherTransferCount",
        "PageFaults",
        "PageFileUsage",
        "PeakPageFileUsage",
        "PeakVirtualSize",
        "PeakWorkingSetSize",
        "PrivatePageCount",
        "ProcessId",
        "QuotaNonPagedPoolUsage",
        "QuotaPagedPoolUsage",
        "QuotaPeakNonPagedPoolUsage",
        "QuotaPeakPagedPoolUsage",
        "ReadOperationCount",
        "ReadTransferCount",
        "ThreadCount",
        "UserModeTime",
        "VirtualSize",
        "WorkingSetSize",
        "WriteOperationCount",
        "WriteTransferCount"}},
      {"status", {"Name", "ProcessId", "Status"}},
  };
  return sets;
}

bool less_ci(const std::string& a, const std::string& b) {
  return base::icompare(a, b) < 0;
}

/// The class an alias or class name stands for.
std::shared_ptr<const ClassDecl> class_of(std::string_view alias_or_class) {
  if (base::iequals(alias_or_class, "process")) alias_or_class = "Win32_Process";
  return cim::Schema::builtin().find(alias_or_class);
}

bool is_process(const ClassDecl& cls) {
  return base::iequals(cls.name, "Win32_Process");
}

}  // namespace

std::optional<std::vector<std::string>> wmic_list_set(std::string_view alias_or_class,
                                                      std::string_view set) {
  auto cls = class_of(alias_or_class);
  if (!cls) return std::nullopt;
  if (base::iequals(set, "full")) {
    std::vector<std::string> out;
    for (const auto& p : cls->properties) out.push_back(p.name);
    std::sort(out.begin(), out.end(), less_ci);
    return out;
  }
  if (base::iequals(set, "instance")) return std::vector<std::string>{"__PATH"};
  if (base::iequals(set, "system"))
    return std::vector<std::string>{"__CLASS",     "__DERIVATION", "__DYNASTY",        "__GENUS",
                                    "__NAMESPACE", "__PATH",       "__PROPERTY_COUNT", "__RELPATH",
                                    "__SERVER",    "__SUPERCLASS"};
  if (is_process(*cls))
    for (const auto& s : process_sets())
      if (base::iequals(set, s.name)) return s.properties;
  return std::nullopt;
}

std::vector<std::string> wmic_list_set_names(std::string_view alias_or_class) {
  auto cls = class_of(alias_or_class);
  if (!cls) return {};
  std::vector<std::string> out = {"full", "instance", "system"};
  if (is_process(*cls))
    for (const auto& s : process_sets()) out.push_back(s.name);
  std::sort(out.begin(), out.end());
  return out;
}

Format wmic_list_format(std::string_view set) {
  return base::iequals(set, "full") ? Format::kList : Format::kTable;
}

}  // namespace lwmi::cli
