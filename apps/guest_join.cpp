#include "apps/guest_join.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>

#include "actors/mesh_config.hpp"
#include "runtime/config.hpp"
#include "runtime/node.hpp"
#include "runtime/system_config.hpp"
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

namespace {

caf::actor_system_config& with_defaults(caf::actor_system_config& cfg) {
  apply_meshrt_defaults(cfg);
  return cfg;
}

} // namespace

struct guest_node::impl {
  impl() : sys(with_defaults(sys_cfg)) {}
  caf::actor_system_config sys_cfg; // before sys, which keeps a reference
  caf::actor_system sys;
  node n;
  bool member = false;
};

guest_node::guest_node(config cfg, const std::string& mars, const std::string& cluster_key_file,
                       const std::string& app) {
  apply_mars_flag(mars, cfg.mesh);
  apply_cluster_key_flag(cluster_key_file, cfg.mesh);
  impl_ = std::make_unique<impl>();
  node_options opts;
  opts.app = app;
  opts.guest = true;
  // A guest left on loopback cannot hear the answers of nodes elsewhere:
  // it binds where the route to MARS leaves from, as a node would with
  // `nic`.
  if (cfg.mesh.address == "127.0.0.1")
    if (auto at = transport::resolve_ipv4(cfg.mesh.mars_address))
      if (auto local = transport::source_ipv4_towards(*at))
        cfg.mesh.address = *local;
  impl_->n = start_node(impl_->sys, cfg, opts);
  caf::scoped_actor self{impl_->sys};
  for (int i = 0; i < 40 && !impl_->member; ++i) {
    is_part_of_cluster(self, impl_->n)
      .receive([&](bool m) { impl_->member = m; }, [](caf::error&) {});
    if (!impl_->member)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

guest_node::~guest_node() {
  caf::anon_send_exit(impl_->n.actor(), caf::exit_reason::user_shutdown);
}

caf::actor_system& guest_node::system() {
  return impl_->sys;
}

const node& guest_node::get() const {
  return impl_->n;
}

bool guest_node::member() const {
  return impl_->member;
}

} // namespace meshrt::cli
