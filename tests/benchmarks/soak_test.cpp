// The soak as `make soak` runs it, for 60 seconds: steady load, kill -9 and
// restart of nodes and of MARS every few seconds, and at the end no lost or
// duplicated message, and the nodes that ran throughout back where they
// stood after warm-up.

#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/command.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt::test;

TEST_SUITE("benchmarks.soak") {

  TEST_CASE("60 s of load and restarts lose nothing, and leave memory, descriptors and actors") {
    temp_dir dir;
    std::ifstream in{std::string{MESHRT_SCENARIOS_DIR} + "/soak.json"};
    auto soak = nlohmann::json::parse(in);
#if defined(__SANITIZE_ADDRESS__)
    // ASan's quarantine holds freed memory for a while on purpose: resident
    // memory grows under it whatever the program does.
    soak["resources"]["rss_growth_percent"] = 1000;
#endif
    auto path = dir.write("soak.json", soak.dump());
    auto r = run_command("timeout 300 " + std::string{MESHRT_CLI} + " bench scenario " + path
                         + " --duration 60 --log-level error");
    INFO(r.out);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("reliable messages lost: 0, duplicated: 0") != std::string::npos);
    // Nodes 0, 1, 3 and 5 ran throughout; 2 and 4 were restarted again and
    // again, MARS too.
    std::istringstream lines{r.out};
    int sampled = 0;
    for (std::string line; std::getline(lines, line);)
      if (line.find(": rss ") != std::string::npos) {
        ++sampled;
        CHECK_MESSAGE(line.find("NOT BACK") == std::string::npos, line);
      }
    CHECK(sampled == 4);
    CHECK(r.out.find("restart") != std::string::npos);
    CHECK(r.out.find("mars_restart") != std::string::npos);
  }

} // TEST_SUITE
