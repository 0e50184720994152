#include "lwmi/result.h"

#include <cstdio>

namespace lwmi {

std::string_view wbem_status_name(WbemStatus status) {
  switch (status) {
    case WbemStatus::kOk:
      return "WBEM_S_NO_ERROR";
    case WbemStatus::kFailed:
      return "WBEM_E_FAILED";
    case WbemStatus::kNotFound:
      return "WBEM_E_NOT_FOUND";
    case WbemStatus::kAccessDenied:
      return "WBEM_E_ACCESS_DENIED";
    case WbemStatus::kProviderFailure:
      return "WBEM_E_PROVIDER_FAILURE";
    case WbemStatus::kTypeMismatch:
      return "WBEM_E_TYPE_MISMATCH";
    case WbemStatus::kOutOfMemory:
      return "WBEM_E_OUT_OF_MEMORY";
    case WbemStatus::kInvalidParameter:
      return "WBEM_E_INVALID_PARAMETER";
    case WbemStatus::kNotSupported:
      return "WBEM_E_NOT_SUPPORTED";
    case WbemStatus::kInvalidNamespace:
      return "WBEM_E_INVALID_NAMESPACE";
    case WbemStatus::kInvalidClass:
      return "WBEM_E_INVALID_CLASS";
    case WbemStatus::kInvalidQuery:
      return "WBEM_E_INVALID_QUERY";
    case WbemStatus::kInvalidQueryType:
      return "WBEM_E_INVALID_QUERY_TYPE";
    case WbemStatus::kAlreadyExists:
      return "WBEM_E_ALREADY_EXISTS";
    case WbemStatus::kInvalidSyntax:
      return "WBEM_E_INVALID_SYNTAX";
    case WbemStatus::kReadOnly:
      return "WBEM_E_READ_ONLY";
    case WbemStatus::kProviderNotCapable:
      return "WBEM_E_PROVIDER_NOT_CAPABLE";
    case WbemStatus::kInvalidMethod:
      return "WBEM_E_INVALID_METHOD";
    case WbemStatus::kInvalidMethodParameters:
      return "WBEM_E_INVALID_METHOD_PARAMETERS";
    case WbemStatus::kInvalidProperty:
      return "WBEM_E_INVALID_PROPERTY";
    case WbemStatus::kCallCancelled:
      return "WBEM_E_CALL_CANCELLED";
    case WbemStatus::kInvalidObjectPath:
      return "WBEM_E_INVALID_OBJECT_PATH";
    case WbemStatus::kUnparsableQuery:
      return "WBEM_E_UNPARSABLE_QUERY";
    case WbemStatus::kNotEventClass:
      return "WBEM_E_NOT_EVENT_CLASS";
    case WbemStatus::kMissingGroupWithin:
      return "WBEM_E_MISSING_GROUP_WITHIN";
    case WbemStatus::kMissingAggregationList:
      return "WBEM_E_MISSING_AGGREGATION_LIST";
    case WbemStatus::kPropertyNotAnObject:
      return "WBEM_E_PROPERTY_NOT_AN_OBJECT";
    case WbemStatus::kAggregatingByObject:
      return "WBEM_E_AGGREGATING_BY_OBJECT";
    case WbemStatus::kQueueOverflow:
      return "WBEM_E_QUEUE_OVERFLOW";
    case WbemStatus::kPrivilegeNotHeld:
      return "WBEM_E_PRIVILEGE_NOT_HELD";
    case WbemStatus::kInvalidOperator:
      return "WBEM_E_INVALID_OPERATOR";
    case WbemStatus::kLocalCredentials:
      return "WBEM_E_LOCAL_CREDENTIALS";
    case WbemStatus::kTimedOut:
      return "WBEM_E_TIMED_OUT";
    case WbemStatus::kQuotaViolation:
      return "WBEM_E_QUOTA_VIOLATION";
    case WbemStatus::kPropertyNameTooWide:
      return "WBEM_E_PROPERTY_NAME_TOO_WIDE";
    case WbemStatus::kClassNameTooWide:
      return "WBEM_E_CLASS_NAME_TOO_WIDE";
    case WbemStatus::kRegistrationTooBroad:
      return "WBEMESS_E_REGISTRATION_TOO_BROAD";
    case WbemStatus::kRegistrationTooPrecise:
      return "WBEMESS_E_REGISTRATION_TOO_PRECISE";
  }
  return "WBEM_E_FAILED";
}

std::string wbem_status_hex(WbemStatus status) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(status));
  return buf;
}

std::string Error::to_string() const {
  std::string s(wbem_status_name(code));
  s += " (";
  s += wbem_status_hex(code);
  s += "): ";
  s += message;
  return s;
}

}  // namespace lwmi
