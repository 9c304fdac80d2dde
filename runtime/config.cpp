#include "runtime/config.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dm/store_wire.hpp"
#include "runtime/config_error.hpp"
#include "transport/secret_key.hpp"

namespace meshrt {

namespace {

using json = nlohmann::json;

/// Reads one JSON value for one key and throws a config_error naming both
/// when the value is not what the key needs.
class value_reader {
public:
  value_reader(const std::string& source, const std::string& key, const json& value) :
    source_(source), key_(key), value_(value) {
    // nop
  }

  std::string string() const {
    if (!value_.is_string() || value_.get<std::string>().empty())
      fail("expected a non-empty string");
    return value_.get<std::string>();
  }

  std::string ipv4() const {
    auto text = string();
    in_addr parsed{};
    if (inet_pton(AF_INET, text.c_str(), &parsed) != 1)
      fail("expected an IPv4 address such as \"127.0.0.1\"");
    return text;
  }

  /// The key of the key file this value names (transport/secret_key.hpp),
  /// read now: a missing or short file is this key's error.
  secret_key key_file() const {
    auto path = string();
    try {
      return load_secret_key(path);
    } catch (const std::runtime_error& e) {
      throw config_error(source_, key_, e.what());
    }
  }

  bool boolean() const {
    if (!value_.is_boolean())
      fail("expected true or false");
    return value_.get<bool>();
  }

  int64_t integer(int64_t min, int64_t max, const char* unit) const {
    if (!value_.is_number_integer() || out_of(min, max))
      fail(range_text(min, max, unit));
    return value_.get<int64_t>();
  }

  /// Ports come as numbers or, as in the reference's examples, as strings.
  uint16_t port() const {
    static constexpr const char* expected
      = "expected a port number from 1 to 65535 (number or numeric string)";
    int64_t result = 0;
    if (value_.is_number_integer()) {
      if (out_of(1, 65535))
        fail(expected);
      result = value_.get<int64_t>();
    } else if (value_.is_string()) {
      auto parsed = parse_port(value_.get<std::string>());
      if (!parsed)
        fail(expected);
      result = *parsed;
    } else {
      fail(expected);
    }
    return static_cast<uint16_t>(result);
  }

  [[noreturn]] void fail(const std::string& expected) const {
    auto shown = value_.dump();
    if (shown.size() > 40)
      shown = shown.substr(0, 37) + "...";
    throw config_error(source_, key_, expected + ", got " + shown);
  }

  static std::optional<uint16_t> parse_port(const std::string& text) {
    if (text.empty() || text.size() > 5)
      return std::nullopt;
    uint32_t result = 0;
    for (char c : text) {
      if (c < '0' || c > '9')
        return std::nullopt;
      result = result * 10 + static_cast<uint32_t>(c - '0');
    }
    if (result < 1 || result > 65535)
      return std::nullopt;
    return static_cast<uint16_t>(result);
  }

private:
  bool out_of(int64_t min, int64_t max) const {
    // nlohmann stores non-negative literals as unsigned: compare as such.
    if (value_.is_number_unsigned()) {
      auto x = value_.get<uint64_t>();
      return (min > 0 && x < static_cast<uint64_t>(min)) || x > static_cast<uint64_t>(max);
    }
    auto x = value_.get<int64_t>();
    return x < min || x > max;
  }

  static std::string range_text(int64_t min, int64_t max, const char* unit) {
    return "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + " ("
           + unit + ")";
  }

  const std::string& source_;
  const std::string& key_;
  const json& value_;
};

constexpr int64_t max_ms = int64_t{24} * 3600 * 1000; // one day bounds every duration

using key_handler = void (*)(const value_reader&, config&);

struct key_spec {
  const char* name;
  key_handler apply;
};

// Every key of mesh-api.txt and dm-api.txt, in the reference's order.
const key_spec known_keys[] = {
  {"address", [](const value_reader& in, config& cfg) { cfg.mesh.address = in.ipv4(); }},
  {"nic", [](const value_reader& in, config& cfg) { cfg.mesh.nic = in.string(); }},
  {"port", [](const value_reader& in, config& cfg) { cfg.mesh.port = in.port(); }},
  {"marsAddress", [](const value_reader& in, config& cfg) { cfg.mesh.mars_address = in.string(); }},
  {"marsPort", [](const value_reader& in, config& cfg) { cfg.mesh.mars_port = in.port(); }},
  {"marsAddressCacheTTL",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.mars_address_cache_ttl = std::chrono::seconds{in.integer(0, 86400, "seconds")};
   }},
  {"retryInterval",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.retry_interval = std::chrono::milliseconds{in.integer(1, max_ms, "milliseconds")};
   }},
  {"retryTimeout",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.retry_timeout = std::chrono::milliseconds{in.integer(1, max_ms, "milliseconds")};
   }},
  {"linkIdleTimeout",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.link_idle_timeout = std::chrono::milliseconds{in.integer(0, max_ms, "milliseconds")};
   }},
  {"strictCheckForExternal",
   [](const value_reader& in, config& cfg) { cfg.mesh.strict_check_for_external = in.boolean(); }},
  {"sendInterval",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.send_interval = std::chrono::milliseconds{in.integer(0, 60000, "milliseconds")};
   }},
  {"clusterKeyFile",
   [](const value_reader& in, config& cfg) {
     cfg.mesh.cluster_key_file = in.string();
     cfg.mesh.cluster_key = in.key_file();
   }},
  {"dmEnabled", [](const value_reader& in, config& cfg) { cfg.dm.enabled = in.boolean(); }},
  {"dmMessagesOutPerPeer",
   [](const value_reader& in, config& cfg) {
     cfg.dm.messages_out_per_peer = static_cast<uint32_t>(in.integer(1, 4096, "messages"));
   }},
  {"dmLocationHints",
   [](const value_reader& in, config& cfg) { cfg.dm.location_hints = in.boolean(); }},
  {"clientPort", [](const value_reader& in, config& cfg) { cfg.dm.gateway.port = in.port(); }},
  {"metricsPort", [](const value_reader& in, config& cfg) { cfg.metrics_port = in.port(); }},
  {"exposeCommands",
   [](const value_reader& in, config& cfg) { cfg.dm.gateway.expose_commands = in.boolean(); }},
  {"clientMaxFrameSize",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.max_frame_size
       = static_cast<uint32_t>(in.integer(64, int64_t{16} * 1024 * 1024, "bytes"));
   }},
  {"clientSendQueueBytes",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.send_queue_bytes
       = static_cast<uint32_t>(in.integer(1024, int64_t{1024} * 1024 * 1024, "bytes"));
   }},
  {"clientPendingSendBytes",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.pending_send_bytes
       = static_cast<uint32_t>(in.integer(1024, int64_t{1024} * 1024 * 1024, "bytes"));
   }},
  {"clientMaxConnections",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.max_connections = static_cast<uint32_t>(in.integer(1, 1000000, "connections"));
   }},
  {"clientLoginTimeout",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.login_timeout
       = std::chrono::milliseconds{in.integer(100, 3600000, "milliseconds")};
   }},
  {"clientTokenKeyFile",
   [](const value_reader& in, config& cfg) {
     cfg.dm.gateway.token_key_file = in.string();
     cfg.dm.gateway.token_key = in.key_file();
   }},
  {"storageTargetNodeType",
   [](const value_reader& in, config& cfg) { cfg.dm.storage_target_node_type = in.string(); }},
  {"storageRingSize",
   [](const value_reader& in, config& cfg) {
     cfg.dm.storage_ring_size = static_cast<uint32_t>(in.integer(2, max_ring_slots, "ring slots"));
   }},
  {"storageMigration",
   [](const value_reader& in, config& cfg) { cfg.dm.storage_migration = in.boolean(); }},
  {"storageMigrationBatchSize",
   [](const value_reader& in, config& cfg) {
     cfg.dm.storage_migration_batch_size
       = static_cast<uint32_t>(in.integer(1, 100000, "keys per batch"));
   }},
  {"storageMigrationInterval",
   [](const value_reader& in, config& cfg) {
     cfg.dm.storage_migration_interval
       = std::chrono::milliseconds{in.integer(0, 60000, "milliseconds")};
   }},
  {"storageRebuildWindow",
   [](const value_reader& in, config& cfg) {
     cfg.dm.storage_rebuild_window
       = std::chrono::milliseconds{in.integer(0, 60000, "milliseconds")};
   }},
};

std::string known_key_list() {
  std::string result;
  for (const auto& spec : known_keys) {
    if (!result.empty())
      result += ", ";
    result += spec.name;
  }
  return result;
}

std::string available_interfaces() {
  std::set<std::string> names;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (auto* i = list; i != nullptr; i = i->ifa_next)
      if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET)
        names.insert(i->ifa_name);
    freeifaddrs(list);
  }
  std::string result;
  for (const auto& name : names)
    result += (result.empty() ? "" : ", ") + name;
  return result.empty() ? "none" : result;
}

/// MESH_* wins over the reference's DIARKIS_* spelling when both are set.
std::optional<std::pair<std::string, std::string>>
first_set(const env_lookup& env, const char* preferred, const char* fallback) {
  for (const char* name : {preferred, fallback})
    if (auto value = env(name))
      return std::make_pair(std::string{name}, *value);
  return std::nullopt;
}

void apply_environment(config& cfg, const env_lookup& env) {
  if (auto addr = first_set(env, "MESH_MARS_ADDR", "DIARKIS_MARS_ADDR"))
    cfg.mesh.mars_address = addr->second;
  if (auto port = first_set(env, "MESH_MARS_PORT", "DIARKIS_MARS_PORT")) {
    auto parsed = value_reader::parse_port(port->second);
    if (!parsed)
      throw config_error("environment", port->first,
                         "expected a port number from 1 to 65535, got \"" + port->second + "\"");
    cfg.mesh.mars_port = *parsed;
  }
}

void finish(config& cfg, const std::string& source, bool has_address, bool has_nic) {
  if (has_nic && !has_address) {
    auto resolved = interface_ipv4(cfg.mesh.nic);
    if (!resolved)
      throw config_error(source, "nic",
                         "expected a network interface with an IPv4 address (available: "
                           + available_interfaces() + "), got \"" + cfg.mesh.nic + "\"");
    cfg.mesh.address = *resolved;
  } else if (has_nic && has_address) {
    cfg.warnings.push_back("both 'address' and 'nic' are set; using address " + cfg.mesh.address
                           + " and ignoring nic " + cfg.mesh.nic);
  }
  auto interval = cfg.mesh.send_interval;
  if (interval.count() > 0 && interval < min_send_interval) {
    cfg.warnings.push_back("sendInterval " + std::to_string(interval.count())
                           + " ms is below the minimum of 17 ms; using 17 ms");
    cfg.mesh.send_interval = min_send_interval;
  }
  if (cfg.mesh.retry_timeout < cfg.mesh.retry_interval)
    cfg.warnings.push_back("retryTimeout (" + std::to_string(cfg.mesh.retry_timeout.count())
                           + " ms) is shorter than retryInterval ("
                           + std::to_string(cfg.mesh.retry_interval.count())
                           + " ms): a lost packet fails before its first retry");
}

} // namespace

env_lookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
      return std::nullopt;
    return std::string{value};
  };
}

config parse_config(std::string_view json_text, const std::string& source, const env_lookup& env) {
  json doc;
  try {
    doc = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    // A syntax error, or a number too large for a double (out_of_range).
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the rest.
    std::string what = e.what();
    auto pos = what.find("] ");
    throw config_error(source, "",
                       "invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  if (!doc.is_object())
    throw config_error(source, "", "expected a JSON object of config keys at the top level");
  config cfg;
  for (const auto& [key, value] : doc.items()) {
    const key_spec* spec = nullptr;
    for (const auto& candidate : known_keys)
      if (key == candidate.name)
        spec = &candidate;
    if (spec == nullptr)
      throw config_error(source, key, "unknown key (known keys: " + known_key_list() + ")");
    spec->apply(value_reader{source, key, value}, cfg);
  }
  apply_environment(cfg, env);
  finish(cfg, source, doc.contains("address"), doc.contains("nic"));
  return cfg;
}

config load_config(const std::string& path, const env_lookup& env) {
  if (path.empty()) {
    config cfg;
    apply_environment(cfg, env);
    finish(cfg, "defaults", false, false);
    return cfg;
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw config_error(path, "", std::string{"cannot read file: "} + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw config_error(path, "", std::string{"cannot read file: "} + std::strerror(errno));
  return parse_config(text.str(), path, env);
}

std::string to_json(const config& cfg) {
  const auto& m = cfg.mesh;
  const auto& d = cfg.dm;
  json out = json::object();
  out["address"] = m.address;
  out["nic"] = m.nic;
  out["port"] = m.port;
  out["marsAddress"] = m.mars_address;
  out["marsPort"] = m.mars_port;
  out["marsAddressCacheTTL"] = m.mars_address_cache_ttl.count();
  out["retryInterval"] = m.retry_interval.count();
  out["retryTimeout"] = m.retry_timeout.count();
  out["linkIdleTimeout"] = m.link_idle_timeout.count();
  out["strictCheckForExternal"] = m.strict_check_for_external;
  out["sendInterval"] = m.send_interval.count();
  if (!m.cluster_key_file.empty())
    out["clusterKeyFile"] = m.cluster_key_file;
  out["dmEnabled"] = d.enabled;
  out["dmMessagesOutPerPeer"] = d.messages_out_per_peer;
  out["dmLocationHints"] = d.location_hints;
  if (d.gateway.port != 0) // none: no gateway
    out["clientPort"] = d.gateway.port;
  if (cfg.metrics_port != 0) // none: no metrics endpoint
    out["metricsPort"] = cfg.metrics_port;
  out["exposeCommands"] = d.gateway.expose_commands;
  out["clientMaxFrameSize"] = d.gateway.max_frame_size;
  out["clientSendQueueBytes"] = d.gateway.send_queue_bytes;
  out["clientPendingSendBytes"] = d.gateway.pending_send_bytes;
  out["clientMaxConnections"] = d.gateway.max_connections;
  out["clientLoginTimeout"] = d.gateway.login_timeout.count();
  if (!d.gateway.token_key_file.empty())
    out["clientTokenKeyFile"] = d.gateway.token_key_file;
  out["storageTargetNodeType"] = d.storage_target_node_type;
  out["storageRingSize"] = d.storage_ring_size;
  out["storageMigration"] = d.storage_migration;
  out["storageMigrationBatchSize"] = d.storage_migration_batch_size;
  out["storageMigrationInterval"] = d.storage_migration_interval.count();
  out["storageRebuildWindow"] = d.storage_rebuild_window.count();
  return out.dump(2);
}

std::optional<std::string> interface_ipv4(const std::string& nic) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return std::nullopt;
  std::optional<std::string> result;
  for (auto* i = list; i != nullptr && !result; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || nic != i->ifa_name)
      continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* addr = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &addr->sin_addr, text, sizeof(text)) != nullptr)
      result = text;
  }
  freeifaddrs(list);
  return result;
}

} // namespace meshrt
