#include "lwmi/method.h"

namespace lwmi {

const char* return_value_text(uint32_t value) {
  switch (value) {
    case 0:
      return "Successful completion";
    case 2:
      return "Access denied";
    case 3:
      return "Insufficient privilege";
    case 8:
      return "Unknown failure";
    case 9:
      return "Path not found";
    case 21:
      return "Invalid parameter";
    default:
      return "Other";
  }
}

}  // namespace lwmi
