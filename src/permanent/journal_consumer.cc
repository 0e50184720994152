// permanent/journal_consumer.cc — LWMI_JournalEventConsumer: one systemd journal entry per event,
// the analogue of NTEventLogEventConsumer.
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstring>

#include "permanent/consumer_kinds.h"
#include "permanent/template.h"

namespace lwmi::permanent {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

/// WMI's EventType as a syslog priority: error, warning, information, audit success (notice),
/// audit failure (warning); -1 for any other value.
int priority_of(uint32_t event_type) {
  switch (event_type) {
    case 1:
      return 3;
    case 2:
      return 4;
    case 4:
      return 6;
    case 8:
      return 5;
    case 16:
      return 4;
    default:
      return -1;
  }
}

class JournalAction : public ConsumerAction {
 public:
  explicit JournalAction(JournalConsumer spec) : spec_(std::move(spec)) {}

  void deliver(const Instance& event, Delivered done) override {
    std::string message;
    for (size_t i = 0; i < spec_.insertion_string_templates.size(); ++i) {
      auto part = expand_line(spec_.insertion_string_templates[i], event);
      if (!part.ok()) {
        Error e = part.take_error();
        e.message = "LWMI_JournalEventConsumer.InsertionStringTemplates[" + std::to_string(i) +
                    "]: " + e.message;
        return done(std::move(e));
      }
      if (i) message += ' ';
      message += *part;
    }
    // sd_journal_send() succeeds silently when no journald listens: look for its socket first.
    if (::access(kJournalSocket, F_OK) != 0)
      return done(Error{WbemStatus::kFailed, std::string("no systemd journal is running (") +
                                                 kJournalSocket +
                                                 " is absent); entry not written"});
    const std::string cls = event.valid() ? event.class_name() : std::string();
    int r = sd_journal_send("MESSAGE=%s", message.c_str(), "SYSLOG_IDENTIFIER=%s",
                            spec_.source_name.c_str(), "PRIORITY=%d", priority_of(spec_.event_type),
                            "LWMI_EVENT_ID=%u", static_cast<unsigned>(spec_.event_id),
                            "LWMI_EVENT_CLASS=%s", cls.c_str(), nullptr);
    if (r < 0)
      return done(Error{WbemStatus::kFailed,
                        std::string("journal entry not written: ") + std::strerror(-r)});
    done(Result<void>());
  }

 private:
  const JournalConsumer spec_;
};

}  // namespace

Result<void> check_journal(const JournalConsumer& c) {
  if (priority_of(c.event_type) < 0)
    return Error{WbemStatus::kInvalidParameter,
                 "LWMI_JournalEventConsumer.EventType must be 1 (error), 2 (warning), 4 "
                 "(information), 8 (audit success) or 16 (audit failure), not " +
                     std::to_string(c.event_type)};
  bool printable = !c.source_name.empty();
  for (unsigned char ch : c.source_name) printable = printable && ch >= 0x20 && ch != 0x7f;
  if (!printable)
    return Error{WbemStatus::kInvalidParameter,
                 "LWMI_JournalEventConsumer.SourceName must be a non-empty name without control "
                 "characters"};
  for (size_t i = 0; i < c.insertion_string_templates.size(); ++i) {
    if (auto t = check_template(c.insertion_string_templates[i]); !t.ok()) {
      Error e = t.error();
      e.message = "LWMI_JournalEventConsumer.InsertionStringTemplates[" + std::to_string(i) +
                  "]: " + e.message;
      return e;
    }
  }
  return {};
}

std::unique_ptr<ConsumerAction> make_journal_action(const JournalConsumer& c) {
  return std::make_unique<JournalAction>(c);
}

}  // namespace lwmi::permanent
