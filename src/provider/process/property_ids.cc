#include "provider/process/property_ids.h"

#include "base/strings.h"

namespace lwmi::provider::process {

const char* const kPropNames[] = {
    "Caption",
    "CommandLine",
    "CreationClassName",
    "CreationDate",
    "CSCreationClassName",
    "CSName",
    "Description",
    "ExecutablePath",
    "ExecutionState",
    "Handle",
    "HandleCount",
    "InstallDate",
    "KernelModeTime",
    "MaximumWorkingSetSize",
    "MinimumWorkingSetSize",
    "Name",
    "OSCreationClassName",
    "OSName",
    "OtherOperationCount",
    "OtherTransferCount",
    "PageFaults",
    "PageFileUsage",
    "ParentProcessId",
    "PeakPageFileUsage",
    "PeakVirtualSize",
    "PeakWorkingSetSize",
    "Priority",
    "PrivatePageCount",
    "ProcessId",
    "QuotaNonPagedPoolUsage",
    "QuotaPagedPoolUsage",
    "QuotaPeakNonPagedPoolUsage",
    "QuotaPeakPagedPoolUsage",
    "ReadOperationCount",
    "ReadTransferCount",
    "SessionId",
    "Status",
    "TerminationDate",
    "ThreadCount",
    "UserModeTime",
    "VirtualSize",
    "WindowsVersion",
    "WorkingSetSize",
    "WriteOperationCount",
    "WriteTransferCount",
};

PropertyIds::PropertyIds(const ClassDecl& cls) {
  constexpr size_t n = static_cast<size_t>(Prop::kUnknown);
  index_.assign(n, SIZE_MAX);
  by_index_.assign(cls.properties.size(), Prop::kUnknown);
  for (size_t p = 0; p < n; ++p) {
    if (auto i = cls.property_index(kPropNames[p])) {
      index_[p] = *i;
      by_index_[*i] = static_cast<Prop>(p);
    }
  }
}

}  // namespace lwmi::provider::process
