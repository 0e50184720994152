// base/strings.h — small string helpers shared by every layer (ASCII case folding, parsing).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::base {

/// ASCII case-insensitive equality (CIM names and WQL strings compare this way).
bool iequals(std::string_view a, std::string_view b);
/// True when `s` begins with `prefix`, ASCII case ignored (resource URIs compare this way).
bool istarts_with(std::string_view s, std::string_view prefix);
/// ASCII lower-case copy.
std::string to_lower(std::string_view s);
/// ASCII case-insensitive ordering: <0, 0, >0.
int icompare(std::string_view a, std::string_view b);
/// Parses a whole decimal unsigned integer; nullopt on any other character or overflow.
std::optional<uint64_t> parse_u64(std::string_view s);
/// Parses a whole decimal signed integer (optional leading '-'); nullopt otherwise.
std::optional<int64_t> parse_i64(std::string_view s);
/// Splits on a delimiter, keeping empty fields.
std::vector<std::string_view> split(std::string_view s, char delim);
/// Trims ASCII whitespace on both ends.
std::string_view trim(std::string_view s);
/// The last component of a path ("/usr/bin/sleep" → "sleep"; no '/' → the whole text).
std::string base_name(std::string_view path);

/// Case-insensitive hash and equality for unordered containers keyed by CIM names.
struct IHash {
  size_t operator()(std::string_view s) const noexcept;
};
struct IEqual {
  bool operator()(std::string_view a, std::string_view b) const noexcept { return iequals(a, b); }
};

}  // namespace lwmi::base
