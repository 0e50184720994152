#include "base/budget.h"

namespace lwmi::base {
namespace {
thread_local const Budget* current_budget = nullptr;
}  // namespace

Budget::Budget(std::chrono::milliseconds limit, std::string setting)
    : deadline_(std::chrono::steady_clock::now() + limit),
      limit_(limit),
      setting_(std::move(setting)) {}

bool Budget::exhausted() const {
  if (!spent_ && std::chrono::steady_clock::now() >= deadline_) spent_ = true;
  return spent_;
}

Error Budget::error() const {
  return Error{WbemStatus::kQuotaViolation, "the request ran past its time limit of " +
                                                std::to_string(limit_.count()) +
                                                " ms and was ended (" + setting_ + ")"};
}

Budget::Scope::Scope(const Budget* budget) : previous_(current_budget) {
  current_budget = budget;
}

Budget::Scope::~Scope() {
  current_budget = previous_;
}

const Budget* Budget::current() {
  return current_budget;
}

}  // namespace lwmi::base
