// permanent/consumer_kinds.h — each consumer kind's check and action, behind check_consumer and
// make_action (consumers.h). Internal to the permanent layer.
#pragma once

#include <memory>

#include "permanent/consumers.h"

namespace lwmi::permanent {

Result<void> check_command(const CommandLineConsumer& c, const ConsumerSettings& settings);
std::unique_ptr<ConsumerAction> make_command_action(const CommandLineConsumer& c,
                                                    std::shared_ptr<CommandRunner> runner);

Result<void> check_log_file(const LogFileConsumer& c, const ConsumerSettings& settings);
std::unique_ptr<ConsumerAction> make_log_file_action(const LogFileConsumer& c,
                                                     const ConsumerSettings& settings);

Result<void> check_journal(const JournalConsumer& c);
std::unique_ptr<ConsumerAction> make_journal_action(const JournalConsumer& c);

}  // namespace lwmi::permanent
