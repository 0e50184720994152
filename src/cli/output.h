// cli/output.h — lwmic's output formats: table, csv, list, json (JSON Lines).
//
// csv, list and json stream one instance at a time; table buffers to size its columns, as wmic
// does. JSON: one object per line, property names as the schema spells them, integers as
// numbers, NULL as null, DATETIME as its CIM text, embedded objects nested; __CLASS, __PATH and
// __SERVER always, the other system properties with --system-properties.
// Thread safety: a Formatter belongs to one thread.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"

namespace lwmi::cli {

enum class Format { kTable, kCsv, kList, kJson };

/// "table", "csv", "list", "json" (case-insensitive; wmic's "htable" is not supported).
std::optional<Format> parse_format(std::string_view name);

struct OutputOptions {
  Format format = Format::kTable;
  bool system_properties = false;  ///< include every system property
  bool node_column = false;        ///< a Node column in table output, Node= in list (csv: always)
};

class Formatter {
 public:
  virtual ~Formatter() = default;
  /// `columns` are the property names to show, in order (empty: every present property).
  virtual void begin(const std::vector<std::string>& columns) = 0;
  virtual void add(const Instance& instance) = 0;
  virtual void end() = 0;
};

std::unique_ptr<Formatter> make_formatter(const OutputOptions& options, std::ostream& out);

/// RFC 4180 quoting of one CSV field.
std::string csv_field(std::string_view s);

}  // namespace lwmi::cli
