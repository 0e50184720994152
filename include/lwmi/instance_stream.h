// lwmi/instance_stream.h — a stream of instances, produced one at a time.
//
// Enumerations and queries stream: the next instance is read only when asked for, so a listing
// of thousands of processes holds one at a time. A per-instance problem (a process that vanished
// mid-read) is skipped by the producer; error() reports a failure of the whole stream.
// Thread safety: a stream belongs to one thread at a time.
#pragma once

#include <optional>

#include "lwmi/instance.h"
#include "lwmi/result.h"

namespace lwmi {

class InstanceStream {
 public:
  virtual ~InstanceStream() = default;
  /// Fills *out with the next instance; false at the end of the stream or on error().
  virtual bool next(Instance* out) = 0;
  /// The failure that ended the stream early, if any.
  const std::optional<Error>& error() const { return error_; }

 protected:
  std::optional<Error> error_;
};

}  // namespace lwmi
