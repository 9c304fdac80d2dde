#pragma once

// The floor under `meshrt bench dm`'s latencies on this machine: a server
// that does the least a messaging server can do, run in the shapes of the
// systems compared. One floor server is NATS's shape (client -> server ->
// client: two processes wake); four that hand a message for a user of
// another server over UDP are meshrt's between nodes (client -> server ->
// server -> client: three). No reliability, no lookup beyond a hash map,
// no framework: what a system takes above its shape's floor is what its
// own work costs; the floors' difference is what the extra process costs.
//
// The wire, little-endian, each connection one user:
//   client -> server   'H' u8 n, user id (n bytes)        -> 'R' (ready)
//                      'P' u8 n, user id, u16 m, payload   (publish)
//   server -> client   'M' u16 m, payload                  (a message)
//   server -> server   u8 n, user id, payload              (one UDP datagram)
// A user lives on the server numbered (the number its id ends in) modulo
// the server count, as the bench's driver places users round robin.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/child_process.hpp"

namespace meshrt::bench {

/// Serves clients on TCP `port` of 127.0.0.1 until killed (or its parent
/// ends); it is server `index` of `udp_ports.size()` (at least 1), reached
/// by the others at udp_ports[index]. Returns 1 (with a line on stderr) if
/// it cannot start.
int run_floor_server(uint16_t port, const std::vector<uint16_t>& udp_ports, size_t index);

/// Floor servers running as `meshrt bench-floor` processes.
struct floor_processes {
  std::vector<std::unique_ptr<child_process>> procs;
  /// "127.0.0.1:PORT" of each, in index order.
  std::vector<std::string> endpoints;
};

/// Starts `count` floor servers of the meshrt program `exe` on free
/// loopback ports, each logging to `log_prefix`, its index and ".log", and
/// returns once each takes connections (throws if one does not).
floor_processes start_floor_servers(const std::string& exe, size_t count,
                                    const std::string& log_prefix);

} // namespace meshrt::bench
