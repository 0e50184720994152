// placeholder: being written
#include "lwmi/datetime.h"
namespace lwmi {
Result<DateTime> DateTime::parse(std::string_view) { return Error{WbemStatus::kNotSupported, "todo", {}}; }
DateTime DateTime::from_unix_micros(int64_t, int) { return {}; }
DateTime DateTime::from_unix_micros_local(int64_t) { return {}; }
DateTime DateTime::interval(uint64_t) { return {}; }
std::optional<int64_t> DateTime::unix_micros() const { return {}; }
std::optional<uint64_t> DateTime::interval_micros() const { return {}; }
std::optional<int> DateTime::compare(const DateTime&) const { return {}; }
}
