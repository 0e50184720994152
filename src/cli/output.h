// cli/output.h — lwmic's output formats: table, csv, list, json (JSON Lines).
//
// csv, list and json stream one instance at a time; table buffers to size its columns, as wmic
// does. JSON: one object per line, property names as the schema spells them, integers as
// numbers, NULL as null, DATETIME as its CIM text, embedded objects nested; __CLASS, __PATH and
// __SERVER always, the other system properties with --system-properties. A class object
// (SELECT * FROM meta_class) shows its describing system properties: __CLASS, __SUPERCLASS,
// __DYNASTY and __PROPERTY_COUNT as columns, all of them in JSON.
// Table and list show every text as display_text() does, so that a value (a process name or
// command line anyone can choose) can neither add rows or records nor reach the terminal as a
// control sequence; CSV and JSON have their own quoting.
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

/// Untrusted text as lwmic shows it in table, list and message lines: as it is when every
/// character is printable, else quoted as bash's ANSI-C string $'…' in which \\, \', \n, \r,
/// \t and \xHH (one byte) stand for themselves; \xHH is used for every other C0 or C1 control
/// character, DEL, each byte of invalid UTF-8, the Unicode line and paragraph separators and the
/// bidirectional controls (U+200E/F, U+202A–U+202E, U+2066–U+2069). A printable text that begins
/// with $' is quoted too, so that what is shown always says which of the two it is, and bash
/// decodes a quoted one back to the original bytes.
std::string display_text(std::string_view s);

/// RFC 4180 quoting of one CSV field.
std::string csv_field(std::string_view s);

}  // namespace lwmi::cli
