// cli/output.h — lwmic's output formats: table, csv, list, json (JSON Lines), and wmic's htable,
// xml and rawxml.
//
// csv, list, json, xml and rawxml stream one instance at a time; table buffers to size its
// columns and htable to count each node's instances, as wmic does. JSON: one object per line,
// property names as the schema spells them, integers as numbers, NULL as null, DATETIME as its CIM
// text, embedded objects nested; __CLASS, __PATH and __SERVER always, the other system
// properties with --system-properties. A class object (SELECT * FROM meta_class) shows its
// describing system properties: __CLASS, __SUPERCLASS, __DYNASTY and __PROPERTY_COUNT as
// columns, all of them in JSON.
// Table and list show every text as display_text() does, so that a value (a process name or
// command line anyone can choose) can neither add rows or records nor reach the terminal as a
// control sequence; CSV and JSON have their own quoting.
// htable: one HTML page (as wmic's htable.xsl): per node a header row with the node and the
// instance count, a header of the columns (Node first), one <tr> per instance; every text
// HTML-escaped.
// xml: wmic's /format:xml document: <COMMAND SEQUENCENUM ISSUEDFROM STARTTIME EVERYCOUNT>
// <REQUEST><COMMANDLINE>…</COMMANDLINE></REQUEST>, then per node <RESULTS NODE="…"><CIM> and the
// instances as CIM-XML, </CIM></RESULTS>, </COMMAND>.
// rawxml: the instances alone, one CIM-XML (DMTF DSP0201) <INSTANCE> element per line, each line
// a well-formed XML document (as JSON Lines are for JSON).
// In CIM-XML a NULL is a property without <VALUE>, an array a <VALUE.ARRAY>, DATETIME its CIM
// text, an embedded object (TargetInstance) a string property with EmbeddedObject="instance"
// whose <VALUE> holds the object's <INSTANCE> as escaped text (DSP0201 2.2), a reference a
// <VALUE.REFERENCE><INSTANCENAME> with its key bindings. In every XML and HTML format, invalid
// UTF-8 and the control characters XML 1.0 cannot carry become U+FFFD, so that the output is
// always well-formed whatever a process is named.
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

enum class Format { kTable, kCsv, kList, kJson, kHtable, kXml, kRawXml };

/// "table", "csv", "list", "json", "htable", "xml", "rawxml", case-insensitive; wmic's file
/// names with ".xsl" ("htable.xsl") are accepted too.
std::optional<Format> parse_format(std::string_view name);

struct OutputOptions {
  Format format = Format::kTable;
  bool system_properties = false;  ///< include every system property
  bool node_column = false;        ///< a Node column in table output, Node= in list (csv: always)
  // xml and htable: what the document says about the command (wmic's COMMAND and page title).
  std::string command_line;  ///< the command as typed
  std::string issued_from;   ///< the host lwmic runs on; "" = this host's name
  std::string start_time;    ///< "" = now, as wmic writes it (MM-DD-YYYYThh:mm:ss, local time)
};

class Formatter {
 public:
  virtual ~Formatter() = default;
  /// `columns` are the property names to show, in order (empty: every present property).
  virtual void begin(const std::vector<std::string>& columns) = 0;
  virtual void add(const Instance& instance) = 0;
  virtual void end() = 0;
  /// False once further instances would be dropped (a limit was reached), so that the caller
  /// can stop the enumeration early.
  virtual bool wants_more() const { return true; }
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
