// get, list and query: instances shown as they are found.
#include <iostream>

#include "base/strings.h"
#include "cim/schema.h"
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

std::optional<SortSpec> sort_spec(const GlobalOptions& g, std::string_view cls, int* status) {
  SortSpec spec;
  spec.limit = g.first;
  if (g.sort.empty()) return spec;
  auto keys = parse_sort_keys(g.sort);
  if (!keys.ok()) {
    print_error(keys.error(), g.sort);
    *status = kExitUsage;
    return std::nullopt;
  }
  spec.keys = std::move(*keys);
  // A class lwmi does not know (another server's) is sorted by what its instances hold.
  if (auto decl = cim::Schema::builtin().find(cls)) {
    if (auto ok = validate_sort(spec, *decl); !ok.ok()) {
      print_error(ok.error());
      *status = kExitWbemError;
      return std::nullopt;
    }
  }
  return spec;
}

int run_show(const GlobalOptions& g, const std::string& cls, const std::string& where,
             std::vector<std::string> columns, std::optional<Format> format) {
  int status = kExitOk;
  auto sort = sort_spec(g, cls, &status);
  if (!sort) return status;
  // What is selected: what is shown and what is sorted by (every property when a system
  // property such as __PATH is shown: it needs the keys).
  std::string select;
  for (const auto& p : with_sort_properties(columns, *sort)) {
    if (p.rfind("__", 0) == 0) {
      select.clear();
      break;
    }
    select += (select.empty() ? "" : ",") + p;
  }
  std::string wql = "SELECT " + (select.empty() ? "*" : select) + " FROM " + cls;
  if (!where.empty()) wql += " WHERE " + where;
  if (!query_parses(wql)) return kExitWbemError;
  HostJob job = show_job(wql, std::move(columns));
  job.sort = std::move(*sort);
  job.listing = true;
  job.format = format;
  return run_on_hosts(g, job);
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
  job.listing = true;
  return run_on_hosts(inv.g, job);
}

int run_list(const Invocation& inv) {
  auto props = property_list({inv.a.props});
  // --filter, as Get-CimInstance -Filter, is a query on the class; so is a sorted listing.
  if (!inv.a.filter.empty() || !inv.g.sort.empty() || inv.g.first)
    return run_show(inv.g, inv.a.cls, inv.a.filter, props);
  HostJob job;
  job.op = [cls = inv.a.cls, props](HostContext& h) {
    return emit_all(h, h.services().enumerate_instances(cls, props));
  };
  job.columns = props;
  job.listing = true;
  return run_on_hosts(inv.g, job);
}

int run_query(const Invocation& inv) {
  const std::string& wql = inv.a.wql;
  auto parsed = wql::parse(wql);
  if (!parsed.ok()) {
    print_error(parsed.error(), wql);
    return kExitWbemError;
  }
  int status = kExitOk;
  auto sort = sort_spec(inv.g, parsed->select.class_name, &status);
  if (!sort) return status;
  // The query is the user's own: what it sorts by must be among what it selects.
  if (!parsed->select.select_all) {
    for (const auto& key : sort->keys) {
      bool selected = false;
      for (const auto& p : parsed->select.properties)
        selected = selected || base::iequals(p.text(), key.property);
      if (!selected) {
        print_error(Error{WbemStatus::kInvalidProperty,
                          "cannot sort by '" + key.property +
                              "': the query does not select it (add it to the SELECT list)"});
        return kExitWbemError;
      }
    }
  }
  HostJob job = show_job(wql, select_columns(wql));
  job.sort = std::move(*sort);
  job.listing = true;
  return run_on_hosts(inv.g, job);
}

}  // namespace lwmi::cli
