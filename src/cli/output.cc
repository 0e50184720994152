#include "cli/output.h"

#include "base/strings.h"
#include "cim/instance_json.h"

namespace lwmi::cli {
namespace {

std::vector<std::string> columns_for(const Instance& inst, const std::vector<std::string>& cols) {
  if (!cols.empty()) {
    // Column headers as the schema spells the names (a query may say "processid").
    std::vector<std::string> out;
    for (const auto& c : cols) {
      const PropertyDecl* p = inst.cls().property(c);
      out.push_back(p ? p->name : c);
    }
    return out;
  }
  // A class object (SELECT * FROM meta_class) has no values: what describes it is its system
  // properties.
  if (inst.is_class()) return {"__CLASS", "__SUPERCLASS", "__DYNASTY", "__PROPERTY_COUNT"};
  std::vector<std::string> out;
  for (auto& [name, v] : inst.properties()) out.push_back(name);
  return out;
}

/// A property's text as it is (CSV quotes it).
std::string raw_cell(const Instance& inst, const std::string& name) {
  auto v = inst.get(name);
  return v ? v->to_text() : std::string();
}

/// A property's text as table and list show it.
std::string cell(const Instance& inst, const std::string& name) {
  return display_text(raw_cell(inst, name));
}

/// The length of the valid UTF-8 sequence at the start of `s` and its code point; 0 when the
/// first byte does not begin one (overlong forms, surrogates and code points above U+10FFFF are
/// invalid).
size_t utf8_sequence(std::string_view s, uint32_t* cp) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80, *cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800, *cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(i) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return n;
}

/// Characters a terminal acts on rather than shows, or that make text read differently from
/// what it holds (line separators, bidirectional overrides).
bool unprintable(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

class TableFormatter : public Formatter {
 public:
  TableFormatter(std::ostream& out, bool node) : out_(out), node_(node) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    if (!started_) {
      columns_ = columns_for(inst, columns_);
      if (node_) columns_.insert(columns_.begin(), "Node");
      headers_.clear();
      for (const auto& c : columns_) headers_.push_back(display_text(c));
      started_ = true;
    }
    std::vector<std::string> row;
    for (const auto& c : columns_)
      row.push_back(node_ && c == "Node" ? display_text(inst.server()) : cell(inst, c));
    rows_.push_back(std::move(row));
  }
  void end() override {
    if (rows_.empty()) return;
    std::vector<size_t> width(columns_.size());
    for (size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t i = 0; i < r.size(); ++i) {
        s += r[i];
        if (i + 1 < r.size()) s.append(width[i] - r[i].size() + 2, ' ');
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      out_ << s << '\n';
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool node_;
  bool started_ = false;
  std::vector<std::string> columns_;  ///< property names (a server may send any)
  std::vector<std::string> headers_;  ///< as shown
  std::vector<std::vector<std::string>> rows_;
};

class CsvFormatter : public Formatter {
 public:
  explicit CsvFormatter(std::ostream& out) : out_(out) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    if (!started_) {
      columns_ = columns_for(inst, columns_);
      out_ << "Node";
      for (const auto& c : columns_) out_ << ',' << csv_field(c);
      out_ << "\r\n";
      started_ = true;
    }
    out_ << csv_field(inst.server());
    for (const auto& c : columns_) out_ << ',' << csv_field(raw_cell(inst, c));
    out_ << "\r\n";
  }
  void end() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool started_ = false;
  std::vector<std::string> columns_;
};

class ListFormatter : public Formatter {
 public:
  ListFormatter(std::ostream& out, bool node) : out_(out), node_(node) {}
  void begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void add(const Instance& inst) override {
    out_ << "\n\n";
    if (node_) out_ << "Node=" << display_text(inst.server()) << '\n';
    for (const auto& c : columns_for(inst, columns_))
      out_ << display_text(c) << '=' << cell(inst, c) << '\n';
  }
  void end() override {
    out_ << "\n\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool node_;
  std::vector<std::string> columns_;
};

class JsonFormatter : public Formatter {
 public:
  JsonFormatter(std::ostream& out, bool all_system) : out_(out), all_system_(all_system) {}
  void begin(const std::vector<std::string>&) override {}
  void add(const Instance& inst) override { out_ << cim::instance_json(inst, all_system_) << '\n'; }
  void end() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool all_system_;
};

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (base::iequals(name, "table")) return Format::kTable;
  if (base::iequals(name, "csv")) return Format::kCsv;
  if (base::iequals(name, "list")) return Format::kList;
  if (base::iequals(name, "json")) return Format::kJson;
  return std::nullopt;
}

std::string display_text(std::string_view s) {
  bool quote = s.rfind("$'", 0) == 0;
  for (size_t i = 0; i < s.size() && !quote;) {
    uint32_t cp = 0;
    size_t n = utf8_sequence(s.substr(i), &cp);
    if (n == 0 || unprintable(cp)) quote = true;
    i += n;
  }
  if (!quote) return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "$'";
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = utf8_sequence(s.substr(i), &cp);
    if (n == 0) {  // one byte of invalid UTF-8
      hex(static_cast<unsigned char>(s[i++]));
      continue;
    }
    if (cp == '\\' || cp == '\'') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (unprintable(cp)) {
      for (size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '\'';
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::unique_ptr<Formatter> make_formatter(const OutputOptions& o, std::ostream& out) {
  switch (o.format) {
    case Format::kTable:
      return std::make_unique<TableFormatter>(out, o.node_column);
    case Format::kCsv:
      return std::make_unique<CsvFormatter>(out);
    case Format::kList:
      return std::make_unique<ListFormatter>(out, o.node_column);
    case Format::kJson:
      return std::make_unique<JsonFormatter>(out, o.system_properties);
  }
  return nullptr;
}

}  // namespace lwmi::cli
