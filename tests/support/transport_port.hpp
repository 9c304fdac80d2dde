#pragma once

// What the transport tests (tests/transport/*_test.cpp) ask a transport
// actor they started: the port it bound.

#include <chrono>
#include <cstdint>

#include <caf/all.hpp>

#include "transport/atoms.hpp"

namespace meshrt::test {

/// The UDP port transport `t` bound, asked by `self`; 0 if it did not say
/// within 5 s.
inline uint16_t transport_port(caf::scoped_actor& self, const caf::actor& t) {
  uint16_t port = 0;
  self->request(t, std::chrono::seconds{5}, transport::port_atom::value)
    .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  return port;
}

} // namespace meshrt::test
