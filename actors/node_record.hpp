#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// A node's status (the reference's util.MeshStatus*).
enum class node_status : uint8_t {
  online = 0,  // accepts work
  taken = 1,   // keeps its clients, takes no new ones
  offline = 2, // shutting down (SIGTERM)
};

/// "online", "taken", "offline".
const char* to_string(node_status status);

/// What a node announces about itself to MARS and what others see of it (the
/// reference's mesh.Node, plus public endpoint and status).
struct node_record {
  /// Mesh address, "a.b.c.d:port": the node's identity in the cluster.
  std::string mesh_address;
  /// Where clients reach the node (TCP/UDP servers); may be empty.
  std::string public_endpoint;
  /// Node type: "HTTP", "UDP", "TCP" or a custom one (SetNodeType).
  std::string type;
  /// Node role: HTTP, UDP, TCP or DGS (SetNodeRole).
  std::string role;
  node_status status = node_status::online;
  /// Metadata (SetNodeValue); each value is one msgpack-encoded object.
  std::map<std::string, byte_buffer> values;
  /// The reference's Node.Self: set in a node's answers about itself (its
  /// whoami, or a view query naming its own address); never sent to MARS.
  bool self = false;

  friend bool operator==(const node_record& x, const node_record& y) {
    return x.mesh_address == y.mesh_address && x.public_endpoint == y.public_endpoint
           && x.type == y.type && x.role == y.role && x.status == y.status && x.values == y.values
           && x.self == y.self;
  }
  friend bool operator!=(const node_record& x, const node_record& y) {
    return !(x == y);
  }
};

} // namespace meshrt
