// get, list and query: instances shown as they are found.
#include <iostream>

#include "base/strings.h"
#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/verb_parts.h"
#include "cli/verbs.h"
#include "cli/wmic_args.h"
#include "wql/parser.h"

namespace lwmi::cli {

Result<void> emit_all(HostContext& h, Result<std::unique_ptr<InstanceStream>> stream) {
  if (!stream.ok()) return stream.take_error();
  Instance inst;
  while ((*stream)->next(&inst)) h.emit(std::move(inst));
  if ((*stream)->error()) return *(*stream)->error();
  return {};
}

std::vector<std::string> select_columns(std::string_view wql) {
  std::vector<std::string> cols;
  if (auto parsed = wql::parse(wql); parsed.ok() && !parsed->select.select_all)
    for (const auto& p : parsed->select.properties)
      if (p.path[0].rfind("__", 0) != 0) cols.push_back(p.text());
  return cols;
}

HostJob show_job(const std::string& wql, std::vector<std::string> columns) {
  HostJob job;
  job.op = [wql](HostContext& h) { return emit_all(h, h.services().exec_query(wql)); };
  job.columns = std::move(columns);
  job.input = wql;
  return job;
}

bool query_parses(std::string_view wql) {
  auto parsed = wql::parse(wql);
  if (!parsed.ok()) print_error(parsed.error(), wql);
  return parsed.ok();
}

int run_show(const GlobalOptions& g, const std::string& wql, std::vector<std::string> columns) {
  if (!query_parses(wql)) return kExitWbemError;
  return run_on_hosts(g, show_job(wql, std::move(columns)));
}

int run_get(const Invocation& inv) {
  auto props = property_list({inv.a.props});
  HostJob job;
  job.op = [path = inv.a.path, props](HostContext& h) -> Result<void> {
    auto inst = h.services().get_object(path, props);
    if (!inst.ok()) return inst.take_error();
    h.emit(std::move(*inst));
    return {};
  };
  job.columns = props;
  job.input = inv.a.path;
  return run_on_hosts(inv.g, job);
}

int run_list(const Invocation& inv) {
  auto props = property_list({inv.a.props});
  if (!inv.a.filter.empty()) {
    // --filter, as Get-CimInstance -Filter: a query on the class.
    std::string select;
    for (const auto& p : props) select += (select.empty() ? "" : ",") + p;
    return run_show(inv.g,
                    "SELECT " + (select.empty() ? "*" : select) + " FROM " + inv.a.cls + " WHERE " +
                        inv.a.filter,
                    props);
  }
  HostJob job;
  job.op = [cls = inv.a.cls, props](HostContext& h) {
    return emit_all(h, h.services().enumerate_instances(cls, props));
  };
  job.columns = props;
  return run_on_hosts(inv.g, job);
}

int run_query(const Invocation& inv) {
  return run_show(inv.g, inv.a.wql, select_columns(inv.a.wql));
}

}  // namespace lwmi::cli
