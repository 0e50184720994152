// provider/process/property_ids.h — Win32_Process property names resolved to schema indices once.
// Thread safety: immutable after construction.
#pragma once

#include <cstddef>
#include <vector>

#include "lwmi/class_decl.h"

namespace lwmi::provider::process {

/// Every Win32_Process property the provider knows how to fill.
enum class Prop : unsigned char {
  kCaption,
  kCommandLine,
  kCreationClassName,
  kCreationDate,
  kCSCreationClassName,
  kCSName,
  kDescription,
  kExecutablePath,
  kExecutionState,
  kHandle,
  kHandleCount,
  kInstallDate,
  kKernelModeTime,
  kMaximumWorkingSetSize,
  kMinimumWorkingSetSize,
  kName,
  kOSCreationClassName,
  kOSName,
  kOtherOperationCount,
  kOtherTransferCount,
  kPageFaults,
  kPageFileUsage,
  kParentProcessId,
  kPeakPageFileUsage,
  kPeakVirtualSize,
  kPeakWorkingSetSize,
  kPriority,
  kPrivatePageCount,
  kProcessId,
  kQuotaNonPagedPoolUsage,
  kQuotaPagedPoolUsage,
  kQuotaPeakNonPagedPoolUsage,
  kQuotaPeakPagedPoolUsage,
  kReadOperationCount,
  kReadTransferCount,
  kSessionId,
  kStatus,
  kTerminationDate,
  kThreadCount,
  kUserModeTime,
  kVirtualSize,
  kWindowsVersion,
  kWorkingSetSize,
  kWriteOperationCount,
  kWriteTransferCount,
  kUnknown,
};

/// The property names, in the order of Prop.
extern const char* const kPropNames[];

class PropertyIds {
 public:
  explicit PropertyIds(const ClassDecl& cls);
  /// The Prop at schema index `i` (kUnknown for a property the provider does not fill).
  Prop at(size_t i) const { return i < by_index_.size() ? by_index_[i] : Prop::kUnknown; }
  /// The schema index of `p`.
  size_t index(Prop p) const { return index_[static_cast<size_t>(p)]; }

 private:
  std::vector<Prop> by_index_;
  std::vector<size_t> index_;
};

}  // namespace lwmi::provider::process
