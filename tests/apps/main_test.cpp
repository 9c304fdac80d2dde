// The meshrt program as a user runs it: real process, real exit codes.

#include <algorithm>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "runtime/version.hpp"
#include "support/command.hpp"
#include "support/temp_dir.hpp"

using meshrt::test::run_command;

namespace {

std::string cli(const std::string& args) {
  return std::string{"timeout 20 "} + MESHRT_CLI + " " + args;
}

} // namespace

TEST_SUITE("apps.meshrt") {

  TEST_CASE("--version prints meshrt's and CAF's versions") {
    auto r = run_command(cli("--version"));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "meshrt " + meshrt::version() + " (CAF 0.17.6)\n");
  }

  TEST_CASE("--help lists the subcommands, and each has --help and --log-level") {
    auto r = run_command(cli("--help"));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("config") != std::string::npos);
    for (const char* sub :
         {"config --help", "config check --help", "mars --help", "status --help", "bench --help"}) {
      CAPTURE(sub);
      auto h = run_command(cli(sub));
      CHECK(h.exit_code == 0);
      CHECK(h.out.find("--log-level") != std::string::npos);
    }
  }

  TEST_CASE("config check prints the effective config") {
    meshrt::test::temp_dir dir;
    auto path = dir.write("node.json", R"({"port": "8100", "sendInterval": 5})");
    auto r = run_command("MESH_MARS_PORT=7777 " + cli("config check " + path));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\"port\": 8100") != std::string::npos);
    CHECK(r.out.find("\"marsPort\": 7777") != std::string::npos);
    CHECK(r.out.find("\"sendInterval\": 17") != std::string::npos);
    CHECK(r.out.find("\"storageRingSize\": 300") != std::string::npos);
    // The raised sendInterval is reported on stderr, stdout stays pure JSON.
    CHECK(r.err.find("sendInterval 5 ms is below the minimum") != std::string::npos);
  }

  TEST_CASE("config check on a bad file prints one line and exits 2") {
    meshrt::test::temp_dir dir;
    auto path = dir.write("bad.json", R"({"marsPort": "seventy"})");
    auto r = run_command(cli("config check " + path));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err
          == "meshrt: config error: " + path
               + ": key 'marsPort': expected a port number from 1 to 65535 (number or "
                 "numeric string), got \"seventy\"\n");
  }

  TEST_CASE("meshrt mars serves until SIGTERM, meshrt status asks it") {
    // 2.2 s: an ASan build starts in about 0.5 s, then the first metrics line
    // comes a second later.
    auto r = run_command("(" + cli("mars --port 47870 --metrics-interval 1")
                         + " & pid=$!; sleep 2.2; kill -TERM $pid; wait $pid; echo exit=$?)");
    CHECK(r.out == "exit=0\n");
    CHECK(r.err.find("MARS listening on 127.0.0.1:") != std::string::npos);
    CHECK(r.err.find("metrics: apps=0 nodes=0") != std::string::npos);
    CHECK(r.err.find("stopping on signal 15") != std::string::npos);
    // status against a live MARS, then against nothing, then with a bad address.
    auto st = run_command("(" + cli("mars --port 47890 --log-level warn") + " & pid=$!; sleep 0.5; "
                          + cli("status --mars 127.0.0.1:47890 --json")
                          + "; echo status=$?; kill -TERM $pid; wait $pid)");
    REQUIRE(st.out.size() > 9);
    CHECK(st.out.substr(st.out.size() - 9) == "status=0\n");
    auto doc = nlohmann::json::parse(st.out.substr(0, st.out.size() - 9));
    CHECK(doc["nodes"] == nlohmann::json::array());
    CHECK(doc["shared_data"] == nlohmann::json::object());
    CHECK(doc["mars"]["messages_in"] == 1); // this very request
    CHECK(doc["mars"]["bytes_in"] > 0);
    auto none = run_command(cli("status --mars 127.0.0.1:47999"));
    CHECK(none.exit_code == 1);
    CHECK(none.err
          == "meshrt: cannot reach MARS at 127.0.0.1:47999: nothing listens on that port (ICMP "
             "port unreachable)\n");
    auto malformed = run_command(cli("status --mars nope"));
    CHECK(malformed.exit_code == 2);
    CHECK(malformed.err == "meshrt: --mars: expected a.b.c.d:port, got 'nope'\n");
    auto bad = run_command(cli("mars --address not-an-ip"));
    CHECK(bad.exit_code != 0);
    CHECK(bad.err == "meshrt: cannot bind mesh socket: 'not-an-ip' is not an IPv4 address\n");
  }

  TEST_CASE("usage errors are one line and a non-zero exit") {
    for (const char* args :
         {"", "no-such-command", "config check", "--log-level loud config check x"}) {
      CAPTURE(args);
      auto r = run_command(cli(args));
      CHECK(r.exit_code == 2);
      CHECK(r.err.rfind("meshrt: ", 0) == 0);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    auto r = run_command(cli("config check /tmp/x.json --log-level loud"));
    CHECK(r.err.find("invalid log level 'loud'") != std::string::npos);
    // a scheduling mode is checked before anything starts, the same way
    // for a node and for every bench
    for (const char* args : {"node --scheduling fast", "bench dm --scheduling fast"}) {
      CAPTURE(args);
      auto s = run_command(cli(args));
      CHECK(s.exit_code == 2);
      CHECK(s.err.find("expected a scheduling mode (latency, efficiency or auto), got 'fast'")
            != std::string::npos);
      CHECK(std::count(s.err.begin(), s.err.end(), '\n') == 1);
    }
    // bench dm's rounds and warm-up are checked the same way
    for (const char* args : {"bench dm --latency-rounds 0", "bench dm --warmup -1"}) {
      CAPTURE(args);
      auto s = run_command(cli(args));
      CHECK(s.exit_code == 2);
      CHECK(s.err.find("not in range") != std::string::npos);
      CHECK(std::count(s.err.begin(), s.err.end(), '\n') == 1);
    }
  }

} // TEST_SUITE
