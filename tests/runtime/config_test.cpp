#include "runtime/config.hpp"

#include <map>

#include <doctest/doctest.h>

#include "runtime/config_error.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace std::chrono_literals;

namespace {

/// An environment holding exactly the given variables.
env_lookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto i = vars.find(name);
    if (i == vars.end() || i->second.empty())
      return std::nullopt;
    return i->second;
  };
}

config parse(const std::string& text, env_lookup env = fake_env()) {
  return parse_config(text, "test.json", env);
}

/// Parses `text`, expecting a config_error; returns it for inspection.
config_error parse_error(const std::string& text, env_lookup env = fake_env()) {
  try {
    parse(text, std::move(env));
  } catch (const config_error& e) {
    return e;
  }
  FAIL("no config_error for: " << text);
  return config_error{"", "", ""};
}

} // namespace

TEST_SUITE("runtime.config") {

  TEST_CASE("defaults are those of the reference documents") {
    for (auto cfg : {load_config("", fake_env()), parse("{}")}) {
      CHECK(cfg.mesh.address == "127.0.0.1");
      CHECK(cfg.mesh.nic == "eth0");
      CHECK(cfg.mesh.port == 8000);
      CHECK(cfg.mesh.mars_address == "127.0.0.1");
      CHECK(cfg.mesh.mars_port == 6789);
      CHECK(cfg.mesh.mars_address_cache_ttl == 60s);
      CHECK(cfg.mesh.retry_interval == 1000ms);
      CHECK(cfg.mesh.retry_timeout == 3000ms);
      CHECK(cfg.mesh.strict_check_for_external == false);
      CHECK(cfg.mesh.send_interval == 0ms);
      CHECK(cfg.dm.storage_target_node_type == "HTTP");
      CHECK(cfg.dm.storage_ring_size == 300);
      CHECK(cfg.dm.storage_migration == true);
      CHECK(cfg.dm.storage_migration_batch_size == 10);
      CHECK(cfg.dm.storage_migration_interval == 1ms);
      CHECK(cfg.dm.storage_rebuild_window == 2000ms);
      CHECK(cfg.dm.messages_out_per_peer == 64);
      CHECK(cfg.dm.location_hints);
      CHECK(cfg.warnings.empty());
    }
  }

  TEST_CASE("every key is read") {
    auto cfg = parse(R"({
    "address": "127.0.0.2", "port": 9100, "marsAddress": "mars.local",
    "marsPort": 7000, "marsAddressCacheTTL": 5, "retryInterval": 200,
    "retryTimeout": 900, "strictCheckForExternal": true, "sendInterval": 20,
    "storageTargetNodeType": "UDP", "storageRingSize": 64,
    "storageMigration": false, "storageMigrationBatchSize": 50,
    "storageMigrationInterval": 3, "storageRebuildWindow": 500, "linkIdleTimeout": 5000,
    "dmMessagesOutPerPeer": 8, "dmLocationHints": false})");
    CHECK(cfg.mesh.address == "127.0.0.2");
    CHECK(cfg.mesh.link_idle_timeout == 5000ms);
    CHECK(cfg.mesh.port == 9100);
    CHECK(cfg.mesh.mars_address == "mars.local");
    CHECK(cfg.mesh.mars_port == 7000);
    CHECK(cfg.mesh.mars_address_cache_ttl == 5s);
    CHECK(cfg.mesh.retry_interval == 200ms);
    CHECK(cfg.mesh.retry_timeout == 900ms);
    CHECK(cfg.mesh.strict_check_for_external == true);
    CHECK(cfg.mesh.send_interval == 20ms);
    CHECK(cfg.dm.storage_target_node_type == "UDP");
    CHECK(cfg.dm.storage_ring_size == 64);
    CHECK(cfg.dm.storage_migration == false);
    CHECK(cfg.dm.storage_migration_batch_size == 50);
    CHECK(cfg.dm.storage_migration_interval == 3ms);
    CHECK(cfg.dm.storage_rebuild_window == 500ms);
    CHECK(cfg.dm.messages_out_per_peer == 8);
    CHECK_FALSE(cfg.dm.location_hints);
    CHECK(cfg.warnings.empty());
  }

  TEST_CASE("the reference's own mesh example, with ports as strings, loads") {
    // mesh-api.txt's example, with the comma it forgets after strictCheckForExternal
    // and "nic" pointed at the loopback interface that every machine has.
    auto cfg = parse(R"({
    "address": "127.0.0.1", "nic": "lo", "port": "8000",
    "marsAddress": "127.0.0.1", "marsPort": "6789", "marsAddressCacheTTL": 60,
    "retryInterval": 1000, "retryTimeout": 3000,
    "strictCheckForExternal": false, "sendInterval": 0})");
    CHECK(cfg.mesh.port == 8000);
    CHECK(cfg.mesh.mars_port == 6789);
    CHECK(cfg.mesh.nic == "lo");
    REQUIRE(cfg.warnings.size() == 1); // address and nic both given: address wins
    CHECK(cfg.warnings[0].find("nic") != std::string::npos);
  }

  TEST_CASE("nic without address resolves the interface's IPv4 address") {
    auto cfg = parse(R"({"nic": "lo"})");
    CHECK(cfg.mesh.address == "127.0.0.1");
    CHECK(interface_ipv4("lo") == std::optional<std::string>{"127.0.0.1"});
    CHECK(interface_ipv4("no-such-nic0") == std::nullopt);
  }

  TEST_CASE("sendInterval between 1 and 16 is raised to 17 with a warning") {
    for (int ms : {1, 10, 16}) {
      auto cfg = parse(R"({"sendInterval": )" + std::to_string(ms) + "}");
      CHECK(cfg.mesh.send_interval == 17ms);
      REQUIRE(cfg.warnings.size() == 1);
      CHECK(cfg.warnings[0].find("sendInterval") != std::string::npos);
    }
    CHECK(parse(R"({"sendInterval": 0})").mesh.send_interval == 0ms);
    CHECK(parse(R"({"sendInterval": 17})").mesh.send_interval == 17ms);
    CHECK(parse(R"({"sendInterval": 17})").warnings.empty());
  }

  TEST_CASE("a retryTimeout below retryInterval is accepted with a warning") {
    auto cfg = parse(R"({"retryInterval": 500, "retryTimeout": 100})");
    REQUIRE(cfg.warnings.size() == 1);
    CHECK(cfg.warnings[0].find("retryTimeout") != std::string::npos);
  }

  TEST_CASE("environment overrides the MARS address") {
    auto text = R"({"marsAddress": "10.1.1.1", "marsPort": 1111})";
    SUBCASE("MESH_ variables") {
      auto cfg
        = parse(text, fake_env({{"MESH_MARS_ADDR", "127.0.0.9"}, {"MESH_MARS_PORT", "7001"}}));
      CHECK(cfg.mesh.mars_address == "127.0.0.9");
      CHECK(cfg.mesh.mars_port == 7001);
    }
    SUBCASE("the reference's DIARKIS_ variables") {
      auto cfg = parse(
        text, fake_env({{"DIARKIS_MARS_ADDR", "127.0.0.8"}, {"DIARKIS_MARS_PORT", "7002"}}));
      CHECK(cfg.mesh.mars_address == "127.0.0.8");
      CHECK(cfg.mesh.mars_port == 7002);
    }
    SUBCASE("MESH_ wins over DIARKIS_") {
      auto cfg = parse(text, fake_env({{"MESH_MARS_ADDR", "127.0.0.9"},
                                       {"DIARKIS_MARS_ADDR", "127.0.0.8"},
                                       {"MESH_MARS_PORT", "7001"},
                                       {"DIARKIS_MARS_PORT", "7002"}}));
      CHECK(cfg.mesh.mars_address == "127.0.0.9");
      CHECK(cfg.mesh.mars_port == 7001);
    }
    SUBCASE("without a file too") {
      auto cfg = load_config("", fake_env({{"MESH_MARS_PORT", "7003"}}));
      CHECK(cfg.mesh.mars_port == 7003);
    }
    SUBCASE("an empty variable counts as unset") {
      auto cfg = parse(text, fake_env({{"MESH_MARS_ADDR", ""}}));
      CHECK(cfg.mesh.mars_address == "10.1.1.1");
    }
    SUBCASE("a bad port in the environment names the variable") {
      for (const char* var : {"MESH_MARS_PORT", "DIARKIS_MARS_PORT"}) {
        auto e = parse_error("{}", fake_env({{var, "70000"}}));
        CHECK(e.key() == var);
        CHECK(e.source() == "environment");
        CHECK(std::string{e.what()}
              == std::string{"config error: environment: variable '"} + var
                   + "': expected a port number from 1 to 65535, got \"70000\"");
      }
    }
  }

  TEST_CASE("load_config reads a file and names it in errors") {
    test::temp_dir dir;
    auto good = dir.write("good.json", R"({"port": "8100", "storageRingSize": 500})");
    auto cfg = load_config(good, fake_env());
    CHECK(cfg.mesh.port == 8100);
    CHECK(cfg.dm.storage_ring_size == 500);

    auto bad = dir.write("bad.json", R"({"port": "x"})");
    try {
      load_config(bad, fake_env());
      FAIL("expected a config_error");
    } catch (const config_error& e) {
      CHECK(e.source() == bad);
      CHECK(std::string{e.what()}.rfind("config error: " + bad + ": key 'port': ", 0) == 0);
    }
  }

  TEST_CASE("an unreadable file is one clear error") {
    try {
      load_config("/nonexistent/meshrt.json", fake_env());
      FAIL("expected a config_error");
    } catch (const config_error& e) {
      CHECK(e.key().empty());
      CHECK(
        std::string{e.what()}
        == "config error: /nonexistent/meshrt.json: cannot read file: No such file or directory");
    }
  }

  TEST_CASE("invalid JSON reports where") {
    auto e = parse_error("{\n  \"port\": 8000,\n  oops\n}");
    CHECK(e.key().empty());
    std::string what = e.what();
    CHECK(what.rfind("config error: test.json: invalid JSON: ", 0) == 0);
    CHECK(what.find("line 3") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
    CHECK(std::string{parse_error("[1, 2]").what()}.find("expected a JSON object")
          != std::string::npos);
  }

  TEST_CASE("an unknown key is named, with the known ones") {
    auto e = parse_error(R"({"port": 8000, "retryIntervall": 10})");
    CHECK(e.key() == "retryIntervall");
    CHECK(std::string{e.what()}.find("unknown key (known keys: address, nic, port,")
          != std::string::npos);
  }

  TEST_CASE("a wrong type names the key and what it expected") {
    struct bad_case {
      const char* json;
      const char* key;
      const char* expected;
    };
    const bad_case cases[] = {
      {R"({"address": 127})", "address", "expected a non-empty string, got 127"},
      {R"({"address": "localhost"})", "address", "expected an IPv4 address"},
      {R"({"address": ""})", "address", "expected a non-empty string"},
      {R"({"nic": false})", "nic", "expected a non-empty string, got false"},
      {R"({"port": true})", "port", "expected a port number from 1 to 65535"},
      {R"({"port": 8000.5})", "port", "expected a port number"},
      {R"({"marsAddress": ["a"]})", "marsAddress", "expected a non-empty string"},
      {R"({"marsPort": "67a9"})", "marsPort", "got \"67a9\""},
      {R"({"marsAddressCacheTTL": "60"})", "marsAddressCacheTTL",
       "expected an integer from 0 to 86400 (seconds), got \"60\""},
      {R"({"retryInterval": 0})", "retryInterval", "expected an integer from 1 to"},
      {R"({"retryTimeout": 1.5})", "retryTimeout", "(milliseconds), got 1.5"},
      {R"({"strictCheckForExternal": "yes"})", "strictCheckForExternal",
       "expected true or false, got \"yes\""},
      {R"({"sendInterval": -1})", "sendInterval", "expected an integer from 0 to 60000"},
      {R"({"storageTargetNodeType": null})", "storageTargetNodeType", "got null"},
      {R"({"storageRingSize": 1})", "storageRingSize", "expected an integer from 2 to 65534"},
      {R"({"storageRingSize": 70000})", "storageRingSize", "expected an integer from 2 to 65534"},
      {R"({"storageMigration": 1})", "storageMigration", "expected true or false, got 1"},
      {R"({"storageMigrationBatchSize": 0})", "storageMigrationBatchSize", "from 1 to 100000"},
      {R"({"storageMigrationInterval": {}})", "storageMigrationInterval", "got {}"},
      {R"({"dmMessagesOutPerPeer": 0})", "dmMessagesOutPerPeer", "from 1 to 4096 (messages)"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.json);
      auto e = parse_error(c.json);
      CHECK(e.key() == c.key);
      std::string what = e.what();
      CHECK(what.rfind(std::string{"config error: test.json: key '"} + c.key + "': ", 0) == 0);
      CHECK(what.find(c.expected) != std::string::npos);
    }
  }

  TEST_CASE("ports out of range are rejected as numbers and as strings") {
    for (const char* value :
         {"0", "65536", "-1", "\"0\"", "\"65536\"", "\"\"", "\" 80\"", "18446744073709551615"}) {
      CAPTURE(value);
      for (const char* key : {"port", "marsPort"}) {
        auto e = parse_error(std::string{"{\""} + key + "\": " + value + "}");
        CHECK(e.key() == key);
      }
    }
    CHECK(parse(R"({"port": 1})").mesh.port == 1);
    CHECK(parse(R"({"port": "65535"})").mesh.port == 65535);
  }

  TEST_CASE("an unknown interface is one clear error naming nic") {
    auto e = parse_error(R"({"nic": "no-such-nic0"})");
    CHECK(e.key() == "nic");
    std::string what = e.what();
    CHECK(what.find("expected a network interface with an IPv4 address (available: ")
          != std::string::npos);
    CHECK(what.find("lo") != std::string::npos);
    CHECK(what.find("got \"no-such-nic0\"") != std::string::npos);
  }

  TEST_CASE("to_json prints every key with the reference's names and round-trips") {
    auto original = parse(R"({"port": 9000, "sendInterval": 30, "storageRingSize": 77,
                            "strictCheckForExternal": true})");
    auto text = to_json(original);
    // clang-format off
    const char* keys[] = {
      "address", "nic", "port", "marsAddress", "marsPort", "marsAddressCacheTTL",
      "retryInterval", "retryTimeout", "linkIdleTimeout", "strictCheckForExternal",
      "sendInterval", "dmEnabled", "dmMessagesOutPerPeer", "dmLocationHints",
      "storageTargetNodeType", "storageRingSize", "storageMigration",
      "storageMigrationBatchSize", "storageMigrationInterval", "storageRebuildWindow"};
    // clang-format on
    for (const char* key : keys)
      CHECK(text.find(std::string{"\""} + key + "\"") != std::string::npos);
    // The printed config is itself a valid config (nic resolves: drop it).
    auto again = parse(text.replace(text.find("\"nic\": \"eth0\","), 14, ""));
    CHECK(again.mesh.port == 9000);
    CHECK(again.mesh.send_interval == 30ms);
    CHECK(again.dm.storage_ring_size == 77);
    CHECK(again.dm.enabled);
    CHECK_FALSE(parse(R"({"dmEnabled": false})").dm.enabled);
    auto gw = parse(R"({"clientPort": "7000", "exposeCommands": false, "clientMaxFrameSize": 4096,
                        "clientSendQueueBytes": 65536, "clientPendingSendBytes": 32768,
                        "clientLoginTimeout": 2500,
                        "clientMaxConnections": 300})");
    CHECK(gw.dm.gateway.port == 7000);
    CHECK_FALSE(gw.dm.gateway.expose_commands);
    CHECK(gw.dm.gateway.max_frame_size == 4096);
    CHECK(gw.dm.gateway.send_queue_bytes == 65536);
    CHECK(gw.dm.gateway.pending_send_bytes == 32768);
    CHECK(parse("{}").dm.gateway.pending_send_bytes == 4 * 1024 * 1024);
    CHECK(gw.dm.gateway.login_timeout == 2500ms);
    CHECK(gw.dm.gateway.max_connections == 300);
    CHECK(parse("{}").dm.gateway.max_connections == 10000);
    CHECK(parse(to_json(gw).replace(to_json(gw).find("\"nic\": \"eth0\","), 14, "")).dm.gateway.port
          == 7000);
    CHECK(again.mesh.strict_check_for_external);
    // metricsPort: none by default, a port when set, printed back.
    CHECK(again.metrics_port == 0);
    auto metrics = parse(R"({"metricsPort": 9100})");
    CHECK(metrics.metrics_port == 9100);
    CHECK(to_json(metrics).find("\"metricsPort\": 9100") != std::string::npos);
    CHECK_THROWS_AS(parse(R"({"metricsPort": 0})"), config_error);
  }

  TEST_CASE("key file keys read their key at once, and a bad file is their error") {
    test::temp_dir dir;
    auto path = dir.write("token.key", "0123456789abcdef0123456789abcdef\n");
    CHECK_FALSE(parse("{}").dm.gateway.token_key);
    auto cfg = parse(R"({"clientTokenKeyFile": ")" + path + R"("})");
    REQUIRE(cfg.dm.gateway.token_key);
    CHECK(cfg.dm.gateway.token_key->bytes == load_secret_key(path).bytes);
    CHECK(to_json(cfg).find("\"clientTokenKeyFile\": \"" + path + "\"") != std::string::npos);
    auto e = parse_error(R"({"clientTokenKeyFile": ")" + dir.path() + R"(/none"})");
    CHECK(e.key() == "clientTokenKeyFile");
    CHECK(std::string{e.what()}.find("/none: cannot read") != std::string::npos);
    // clusterKeyFile the same way, for the mesh
    auto mesh = parse(R"({"clusterKeyFile": ")" + path + R"("})");
    REQUIRE(mesh.mesh.cluster_key);
    CHECK(to_json(mesh).find("\"clusterKeyFile\": \"" + path + "\"") != std::string::npos);
    CHECK(parse_error(R"({"clusterKeyFile": 3})").key() == "clusterKeyFile");
    e = parse_error(R"({"clientTokenKeyFile": ")" + dir.write("short", "abc") + R"("})");
    CHECK(std::string{e.what()}.find("3 bytes; a key file holds at least 16") != std::string::npos);
  }

} // TEST_SUITE
