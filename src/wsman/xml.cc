// wsman/xml.cc — shared XML helpers of the WS-Man codecs.
#include "wsman/xml.h"

#include <libxml/parser.h>

#include <cstdint>
#include <mutex>

namespace lwmi::wsman::xml {

void init() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

/// Appends `s` escaped for XML text or a double-quoted attribute. Invalid UTF-8 and characters
/// XML 1.0 cannot carry (C0 controls other than tab/LF/CR) become U+FFFD.
void escape(std::string& out, std::string_view s) {
  static constexpr const char kReplacement[] = "\xEF\xBF\xBD";
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\r':
          out += "&#13;";
          break;
        case '\n':
          out += "&#10;";
          break;
        case '\t':
          out += "&#9;";
          break;
        default:
          if (c < 0x20)
            out += kReplacement;
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (c > 0xF4 || len == 0 || i + len > s.size()) {
      out += kReplacement;
      ++i;
      continue;
    }
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      if ((len == 3 &&
           (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)) ||
          (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        ok = false;
    }
    if (!ok) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(s.data() + i, len);
    i += len;
  }
}

std::string escaped(std::string_view s) {
  std::string out;
  escape(out, s);
  return out;
}

}  // namespace lwmi::wsman::xml
