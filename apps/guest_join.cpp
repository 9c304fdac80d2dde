#include "apps/guest_join.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>

#include "actors/mesh_config.hpp"
#include "runtime/config.hpp"
#include "runtime/node.hpp"
#include "transport/endpoint.hpp"

namespace meshrt::cli {

void apply_mars_flag(const std::string& value, mesh_config& mesh) {
  auto colon = value.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? 0 : std::stoi(value.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (colon == 0 || port < 1 || port > 65535)
    throw std::invalid_argument("--mars: expected HOST:PORT, got '" + value + "'");
  mesh.mars_address = value.substr(0, colon);
  mesh.mars_port = static_cast<uint16_t>(port);
}

std::optional<secret_key> cluster_key_flag(const std::string& path) {
  if (path.empty())
    return std::nullopt;
  try {
    return load_secret_key(path);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(std::string{"--cluster-key-file: "} + e.what());
  }
}

void apply_cluster_key_flag(const std::string& path, mesh_config& mesh) {
  if (auto key = cluster_key_flag(path)) {
    mesh.cluster_key = key;
    mesh.cluster_key_file = path;
  }
}

node join_as_guest(caf::actor_system& sys, const config& cfg, const std::string& app,
                   bool& member) {
  node_options opts;
  opts.app = app;
  opts.guest = true;
  // A guest left on loopback cannot hear the answers of nodes elsewhere:
  // it binds where the route to MARS leaves from, as a node would with
  // `nic`.
  auto guest_cfg = cfg;
  if (guest_cfg.mesh.address == "127.0.0.1")
    if (auto mars = transport::resolve_ipv4(cfg.mesh.mars_address))
      if (auto local = transport::source_ipv4_towards(*mars))
        guest_cfg.mesh.address = *local;
  auto n = start_node(sys, guest_cfg, opts);
  caf::scoped_actor self{sys};
  member = false;
  for (int i = 0; i < 40 && !member; ++i) {
    is_part_of_cluster(self, n).receive([&](bool m) { member = m; }, [](caf::error&) {});
    if (!member)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return n;
}

} // namespace meshrt::cli
