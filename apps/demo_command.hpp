#pragma once

#include <cstdint>

namespace meshrt::cli {

/// `meshrt demo [--port P]`: an embedded cluster on loopback, in this
/// process: MARS on port P, four nodes of three types from P + 1 upward.
/// It shows, step by step and in plain lines on stdout, what the mesh does:
/// the shared view, a typed request and its round trip, an error kind, a
/// SendMany broadcast, shared data, and a node leaving. Returns 0 when every
/// step worked, 1 otherwise.
int run_demo(uint16_t port);

} // namespace meshrt::cli
