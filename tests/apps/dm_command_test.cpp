// Direct messages across processes: `meshrt mars` and four `meshrt node`
// processes (two storage nodes, two UDP nodes with client gateways), users
// on both gateways talking through `meshrt dm send`, `meshrt dm listen` and
// the client library.

#include "apps/dm_command.hpp"

#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "benchmarks/child_process.hpp"
#include "dm/client.hpp"
#include "support/command.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

const std::string cli_path = MESHRT_CLI;
constexpr uint16_t mars_port = 46700;
const std::string mars_flag = "127.0.0.1:46700";

std::unique_ptr<child_process> start_node(const temp_dir& dir, const std::string& type,
                                          uint16_t port, uint16_t client_port = 0) {
  std::vector<std::string> args{cli_path, "node",   "--type", type, "--port", std::to_string(port),
                                "--mars", mars_flag};
  if (client_port != 0) {
    args.push_back("--client-port");
    args.push_back(std::to_string(client_port));
  }
  return std::make_unique<child_process>(args,
                                         dir.path() + "/node" + std::to_string(port) + ".log");
}

/// The client endpoints of the UDP nodes, as `meshrt status --json` shows
/// them (empty until both are there).
std::vector<std::string> client_endpoints() {
  auto r = run_command("timeout 10 " + cli_path + " status --json --mars " + mars_flag);
  if (r.exit_code != 0)
    return {};
  std::vector<std::string> result;
  auto doc = nlohmann::json::parse(r.out);
  for (const auto& n : doc["nodes"])
    if (n["type"] == "UDP" && !n["public_endpoint"].get<std::string>().empty())
      result.push_back(n["public_endpoint"]);
  std::sort(result.begin(), result.end());
  return result;
}

command_result dm_cli(const std::string& args) {
  return run_command("timeout 20 " + cli_path + " dm " + args);
}

} // namespace

TEST_SUITE("apps.dm") {
  TEST_CASE("users on two gateways talk through meshrt dm and the client library") {
    temp_dir dir;
    child_process mars{{cli_path, "mars", "--port", std::to_string(mars_port)},
                       dir.path() + "/mars.log"};
    std::vector<std::unique_ptr<child_process>> nodes;
    nodes.push_back(start_node(dir, "HTTP", 46701));
    nodes.push_back(start_node(dir, "HTTP", 46711));
    nodes.push_back(start_node(dir, "UDP", 46721, 46750));
    nodes.push_back(start_node(dir, "UDP", 46731, 46770));
    std::vector<std::string> eps;
    bool both = eventually(
      [&] {
        eps = client_endpoints();
        return eps.size() == 2;
      },
      15s);
    REQUIRE(both);
    // without clientTokenKeyFile a gateway runs open, and says so once
    auto node_log = nodes[2]->log();
    auto open_at = node_log.find("runs open");
    CHECK(open_at != std::string::npos);
    CHECK(node_log.find("runs open", open_at + 1) == std::string::npos);
    // bob listens on the second gateway (a process of its own)
    child_process listener{{cli_path, "dm", "listen", "--node", eps[1], "--user", "bob", "--count",
                            "3", "--timeout", "20", "--json"},
                           dir.path() + "/listen.log"};
    REQUIRE(eventually([&] { return listener.log().find("listening as bob") != std::string::npos; },
                       10s));
    // where bob is: the mesh address of the second UDP node
    auto where = dm_cli("where --mars " + mars_flag + " --user bob --log-level warn");
    CHECK_MESSAGE(where.exit_code == 0, where.err);
    CHECK(where.out == "127.0.0.1:46731\n");
    auto nowhere = dm_cli("where --mars " + mars_flag + " --user nobody --json --log-level warn");
    CHECK(nowhere.exit_code == 1);
    CHECK(nlohmann::json::parse(nowhere.out)
          == nlohmann::json{{"user", "nobody"}, {"node", nullptr}});
    CHECK(nowhere.err.find("nobody is not connected") != std::string::npos);
    // ann sends through the CLI from the first gateway, then disconnects
    auto r = dm_cli("send --node " + eps[0]
                    + " --from ann --to bob --ver 2 --cmd 40 --text "
                      "'hello from ann'");
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "delivered\n");
    // cat sends through the client library
    dm_client cat;
    auto colon = eps[0].rfind(':');
    REQUIRE(!cat.connect(eps[0].substr(0, colon),
                         static_cast<uint16_t>(std::stoi(eps[0].substr(colon + 1)))));
    REQUIRE(!cat.login("cat"));
    auto err = cat.send("bob", 1, 1, "hello from cat");
    CHECK_MESSAGE(!err, err.text);
    // bob saw both messages and ann's disconnect, one JSON line each
    REQUIRE(listener.wait(15s) == 0);
    std::set<std::string> lines;
    for (const auto& line : [&] {
           std::vector<std::string> v;
           std::string log = listener.log();
           size_t at = 0;
           while (at < log.size()) {
             auto end = log.find('\n', at);
             v.push_back(log.substr(at, end - at));
             at = end == std::string::npos ? log.size() : end + 1;
           }
           return v;
         }())
      if (!line.empty() && line[0] == '{')
        lines.insert(nlohmann::json::parse(line).dump());
    CHECK(
      lines.count(nlohmann::json{
        {"event", "message"}, {"from", "ann"}, {"ver", 2}, {"cmd", 40}, {"text", "hello from ann"}}
                    .dump())
      == 1);
    CHECK(
      lines.count(nlohmann::json{
        {"event", "message"}, {"from", "cat"}, {"ver", 1}, {"cmd", 1}, {"text", "hello from cat"}}
                    .dump())
      == 1);
    CHECK(lines.count(nlohmann::json{{"event", "peer_gone"}, {"from", "ann"}, {"text", ""}}.dump())
          == 1);
    // bob is gone now: the sender hears it
    r = dm_cli("send --node " + eps[0] + " --from ann --to bob --text again");
    CHECK(r.exit_code == 1);
    CHECK(r.out == "user_not_found\n");
    CHECK(r.err.find("user_not_found") != std::string::npos);
    // and the errors of bad input are one clear line each
    r = dm_cli("send --node " + eps[0] + " --from ann --to bob --text ''");
    CHECK(r.out == "message_nil\n");
    r = dm_cli("send --node " + eps[0] + " --from '' --to bob --text x");
    CHECK(r.exit_code != 0);
    r = dm_cli("send --node 127.0.0.1:1 --from ann --to bob --text x");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("connect_failed") != std::string::npos);
    r = dm_cli("listen --node nowhere --user bob");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--node") != std::string::npos);
  }

  TEST_CASE("a gateway with clientTokenKeyFile takes meshrt token issue's tokens and no others") {
    temp_dir dir;
    auto key = dir.path() + "/token.key";
    REQUIRE(run_command(cli_path + " keygen --out " + key).exit_code == 0);
    auto token = [&](const std::string& user) {
      auto r
        = run_command(cli_path + " token issue --user " + user + " --ttl 60 --key-file " + key);
      REQUIRE(r.exit_code == 0);
      return r.out.substr(0, r.out.find('\n'));
    };
    auto config = dir.write("node.json", R"({"clientTokenKeyFile": ")" + key + R"("})");
    const std::string mars_at = "127.0.0.1:46800";
    child_process mars{{cli_path, "mars", "--port", "46800"}, dir.path() + "/mars.log"};
    child_process node{{cli_path, "node", "--type", "HTTP", "--port", "46801", "--mars", mars_at,
                        "--client-port", "46850", "--config", config},
                       dir.path() + "/node.log"};
    REQUIRE(node.wait_for_log("client gateway listening on", 15s));
    // The port the gateway took: 46850 or, when something holds that one
    // (an outgoing connection's ephemeral port), one of the next.
    auto log = node.log();
    auto at = log.find("client gateway listening on ") + 28;
    const auto gateway = log.substr(at, log.find_first_of("\n ", at) - at);
    child_process listener{{cli_path, "dm", "listen", "--node", gateway, "--user", "bob", "--token",
                            token("bob"), "--count", "1", "--timeout", "20"},
                           dir.path() + "/listen.log"};
    REQUIRE(listener.wait_for_log("listening as bob", 10s));
    auto send = [&](const std::string& extra) {
      return dm_cli("send --node " + gateway + " --from ann --to bob --text hi " + extra);
    };
    auto r = send("");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("bad_token: login token refused: malformed") != std::string::npos);
    r = send("--token " + token("bob"));
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("login token refused: other_user") != std::string::npos);
    r = send("--token " + token("ann"));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "delivered\n");
    REQUIRE(listener.wait(15s) == 0);
    CHECK(listener.log().find("ann") != std::string::npos);
    // keyed, the gateway does not warn that it runs open
    CHECK(node.log().find("runs open") == std::string::npos);
    // bad token flags are one line each
    r = run_command(cli_path + " token issue --user ann --key-file " + dir.path() + "/none");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot read") != std::string::npos);
    r = run_command(cli_path + " token issue --user ann --ttl 0 --key-file " + key);
    CHECK(r.exit_code == 2);
  }
}
