// cli/exit_status.h — lwmic's exit statuses (DESIGN, "Interfaces that several issues share").
#pragma once

namespace lwmi::cli {

enum ExitStatus : int {
  kExitOk = 0,            ///< done (zero matches included)
  kExitMethodFailed = 1,  ///< some method returned a non-zero ReturnValue
  kExitUsage = 2,         ///< usage error
  kExitWbemError = 3,     ///< a WBEM error
  kExitConnection = 4,    ///< connection or authentication failure
};

}  // namespace lwmi::cli
