// `meshrt ping` against real `meshrt mars` and `meshrt node` processes.

#include "apps/ping_command.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/command.hpp"

using namespace meshrt::test;

namespace {

std::string cli(const std::string& args) {
  return std::string{"timeout 20 "} + MESHRT_CLI + " " + args;
}

} // namespace

TEST_SUITE("apps.ping") {

  TEST_CASE("meshrt ping measures health checks, and names each failure's kind") {
    // MARS and a node in the background, pings, then both stop.
    auto r = run_command(
      "(" + cli("mars --port 47950 --log-level warn") + " & m=$!; "
      + cli("node --port 47951 --mars 127.0.0.1:47950 --log-level warn") + " & n=$!; sleep 1.5; "
      + cli("ping --mars 127.0.0.1:47950 --node 127.0.0.1:47951 --count 20 --json --log-level off")
      + "; echo; "
      + cli("ping --mars 127.0.0.1:47950 --node 127.0.0.1:47951 --count 3 --log-level off")
      + "; kill -TERM $n $m; wait)");
    auto first_line = r.out.substr(0, r.out.find('\n'));
    auto doc = nlohmann::json::parse(first_line);
    CHECK(doc["node"] == "127.0.0.1:47951");
    CHECK(doc["count"] == 20);
    CHECK(doc["ok"] == 20);
    CHECK(doc["errors"]["timeout"] == 0);
    CHECK(doc["rtt_us"]["p50"].get<double>() > 0);
    CHECK(doc["rtt_us"]["p99"].get<double>() >= doc["rtt_us"]["p50"].get<double>());
    CHECK(doc["rtt_us"]["max"].get<double>() >= doc["rtt_us"]["p99"].get<double>());
    CHECK(r.out.find("127.0.0.1:47951: seq=3 rtt=") != std::string::npos);
    CHECK(r.out.find("--- 127.0.0.1:47951: 3 sent, 3 answered; rtt p50 ") != std::string::npos);
    // Nobody at that address: each check times out; exit status 1.
    auto dead = run_command(
      cli("ping --mars 127.0.0.1:47959 --node 127.0.0.1:47958 --count 2 --timeout 200 --json "
          "--log-level off"));
    CHECK(dead.exit_code == 1);
    auto d = nlohmann::json::parse(dead.out);
    CHECK(d["ok"] == 0);
    CHECK(d["errors"]["timeout"] == 2);
    // Bad flags: one line, exit 2.
    auto bad = run_command(cli("ping --node nowhere"));
    CHECK(bad.exit_code == 2);
    CHECK(bad.err == "meshrt: --node: 'nowhere' is not a mesh address (a.b.c.d:port)\n");
  }
}
