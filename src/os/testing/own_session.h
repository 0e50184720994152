// Tests only: the calling process's session id, made its own first when it has none.
//
// A process whose ancestors never called setsid() (an init that does not, as in some CI
// runners and containers) is in session 0, which the exec guard never exempts: it is no one's
// login session. A test of the exemption needs a real session, and gets one here.
#pragma once

#include <unistd.h>

#include <cstdint>

namespace lwmi::os::testing {

/// The session of this process (setsid() first when it is 0); 0 when none can be had.
inline uint32_t own_session() {
  if (pid_t sid = ::getsid(0); sid > 0) return static_cast<uint32_t>(sid);
  // setsid() fails only for a process-group leader, which a test binary started by ctest is not.
  if (pid_t sid = ::setsid(); sid > 0) return static_cast<uint32_t>(sid);
  return 0;
}

}  // namespace lwmi::os::testing
