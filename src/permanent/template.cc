// permanent/template.cc — WMI's standard string templates: parsing, lookup, the two expansions.
#include "permanent/template.h"

#include <cstdio>
#include <optional>

namespace lwmi::permanent {
namespace {

/// A template cut into literal text and references (%A.B% as {"A", "B"}); %% is literal text.
struct Piece {
  std::string text;
  std::vector<std::string> path;  ///< empty: `text` is literal
};

bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

Error template_error(std::string message, size_t position) {
  Error e{WbemStatus::kInvalidParameter, std::move(message), position};
  return e;
}

/// Cuts `tmpl`; `base` is its offset in the whole template (for error positions).
Result<std::vector<Piece>> parse(std::string_view tmpl, size_t base) {
  std::vector<Piece> pieces;
  std::string literal;
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '%') {
      literal += tmpl[i++];
      continue;
    }
    size_t close = tmpl.find('%', i + 1);
    if (close == std::string_view::npos)
      return template_error("template: the % at offset " + std::to_string(base + i) +
                                " opens a property reference that is never closed (%% is a "
                                "literal %)",
                            base + i);
    if (close == i + 1) {
      literal += '%';
      i += 2;
      continue;
    }
    std::vector<std::string> path;
    size_t start = i + 1;
    for (size_t j = start; j <= close; ++j) {
      if (j < close && tmpl[j] != '.') continue;
      std::string_view name = tmpl.substr(start, j - start);
      bool good = !name.empty() && name_start(name[0]);
      for (char c : name) good = good && name_char(c);
      if (!good) {
        size_t bad = start;
        while (bad < j && (bad == start ? name_start(tmpl[bad]) : name_char(tmpl[bad]))) ++bad;
        return template_error("template: '" + std::string(tmpl.substr(i, close - i + 1)) +
                                  "' at offset " + std::to_string(base + i) +
                                  " is not a property reference (names of letters, digits and _ "
                                  "joined by dots)",
                              base + bad);
      }
      path.emplace_back(name);
      start = j + 1;
    }
    if (!literal.empty()) pieces.push_back({std::move(literal), {}});
    literal.clear();
    pieces.push_back({"", std::move(path)});
    i = close + 1;
  }
  if (!literal.empty()) pieces.push_back({std::move(literal), {}});
  return pieces;
}

/// The value at `path` in `event` (case-insensitive, through embedded objects); nullopt for a
/// NULL or absent one.
std::optional<Value> lookup(const Instance& event, const std::vector<std::string>& path) {
  if (!event.valid()) return std::nullopt;
  std::optional<Value> v = event.get(path[0]);
  for (size_t k = 1; k < path.size(); ++k) {
    if (!v || v->is_null() || v->is_array() || v->type() != CimType::kObject || !v->as_object())
      return std::nullopt;
    v = v->as_object()->get(path[k]);
  }
  if (!v || v->is_null()) return std::nullopt;
  return v;
}

/// A value's text as lwmic shows it (integers in decimal, TRUE/FALSE, arrays {a,b}, DATETIME as
/// its CIM text); "" for NULL or absent.
std::string value_text(const Instance& event, const std::vector<std::string>& path) {
  auto v = lookup(event, path);
  return v ? v->to_text() : std::string();
}

/// `s` with every control character (C0, DEL, C1 as UTF-8, U+2028/U+2029) and backslash
/// escaped, so that a value can neither end the line nor reach a terminal as a control sequence.
std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned char c) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned char next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    unsigned char third = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      hex(c);
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      hex(c), hex(next), ++i;  // a C1 control (U+0080-U+009F: NEL, CSI …)
    } else if (c == 0xe2 && next == 0x80 && (third == 0xa8 || third == 0xa9)) {
      hex(c), hex(next), hex(third), i += 2;  // the line and paragraph separators
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// Splits a command line as Windows' CommandLineToArgvW does (after its first argument):
/// blanks (space, tab) separate arguments outside double quotes; 2n backslashes and a quote
/// give n backslashes and open or close quoting, 2n+1 and a quote give n backslashes and a
/// literal quote; backslashes not before a quote are literal; inside quotes, "" gives a literal
/// quote (and a third consecutive one another); "" alone is an empty argument.
/// `offsets` receives each argument's first offset in `line`.
std::vector<std::string> split_windows(std::string_view line, std::vector<size_t>* offsets) {
  std::vector<std::string> args;
  size_t i = 0;
  const size_t n = line.size();
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (i < n) {
    while (i < n && blank(line[i])) ++i;
    if (i >= n) break;
    offsets->push_back(i);
    std::string arg;
    int qcount = 0;  // Wine's: 1 while inside quotes
    size_t bcount = 0;
    while (i < n && !(blank(line[i]) && qcount == 0)) {
      char c = line[i];
      if (c == '\\') {
        arg += c;
        ++bcount;
        ++i;
      } else if (c == '"') {
        if (bcount % 2 == 0) {
          arg.resize(arg.size() - bcount / 2);
          ++qcount;
        } else {
          arg.resize(arg.size() - bcount / 2 - 1);
          arg += '"';
        }
        ++i;
        bcount = 0;
        while (i < n && line[i] == '"') {
          if (++qcount == 3) {
            arg += '"';
            qcount = 0;
          }
          ++i;
        }
        if (qcount == 2) qcount = 0;
      } else {
        arg += c;
        bcount = 0;
        ++i;
      }
    }
    args.push_back(std::move(arg));
  }
  return args;
}

}  // namespace

Result<void> check_template(std::string_view tmpl) {
  auto pieces = parse(tmpl, 0);
  if (!pieces.ok()) return pieces.take_error();
  return {};
}

Result<std::string> expand_line(std::string_view tmpl, const Instance& event) {
  auto pieces = parse(tmpl, 0);
  if (!pieces.ok()) return pieces.take_error();
  std::string out;
  for (const Piece& p : *pieces) out += p.path.empty() ? p.text : escape(value_text(event, p.path));
  return out;
}

Result<std::vector<std::string>> expand_arguments(std::string_view tmpl, const Instance& event) {
  // The whole template is checked first, so that an error's offset is the template's.
  if (auto checked = check_template(tmpl); !checked.ok()) return checked.take_error();
  std::vector<size_t> offsets;
  std::vector<std::string> raw = split_windows(tmpl, &offsets);
  std::vector<std::string> args;
  args.reserve(raw.size());
  for (size_t k = 0; k < raw.size(); ++k) {
    auto pieces = parse(raw[k], offsets[k]);
    if (!pieces.ok()) return pieces.take_error();
    std::string arg;
    for (const Piece& p : *pieces) arg += p.path.empty() ? p.text : value_text(event, p.path);
    args.push_back(std::move(arg));
  }
  return args;
}

}  // namespace lwmi::permanent
