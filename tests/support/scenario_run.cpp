#include "support/scenario_run.hpp"

#include <fstream>

namespace meshrt::test {

double scenario_run::figure(const std::string& metric) const {
  if (doc.is_object())
    for (const auto& f : doc["results"])
      if (f["metric"] == metric)
        return f["value"].get<double>();
  return -1.0;
}

scenario_run run_shipped(const std::string& name, const temp_dir& dir) {
  auto json_path = dir.path() + "/" + name + ".out.json";
  scenario_run out;
  out.cli = run_command("timeout 120 " + std::string{MESHRT_CLI} + " bench scenario "
                        + MESHRT_SCENARIOS_DIR + "/" + name + ".json --json " + json_path
                        + " --log-level error");
  std::ifstream in{json_path};
  out.doc = nlohmann::json::parse(in, nullptr, false);
  return out;
}

} // namespace meshrt::test
