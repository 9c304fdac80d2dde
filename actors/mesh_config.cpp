#include "actors/mesh_config.hpp"

namespace meshrt {

namespace {

uint64_t micros(std::chrono::milliseconds ms) {
  return static_cast<uint64_t>(ms.count()) * 1000;
}

} // namespace

transport::transport_config transport_config_of(const mesh_config& mesh) {
  transport::transport_config result;
  result.address = mesh.address;
  result.port = mesh.port;
  result.session.retry_interval_us = micros(mesh.retry_interval);
  result.session.retry_timeout_us = micros(mesh.retry_timeout);
  result.session.send_interval_us = micros(mesh.send_interval);
  result.link_idle_timeout = mesh.link_idle_timeout;
  result.cluster_key = mesh.cluster_key;
  return result;
}

} // namespace meshrt
