#pragma once

#include <cstdint>

namespace meshrt::cli {

/// `meshrt demo [--port P] [--processes]`: a cluster on loopback, MARS on
/// port P and five nodes of three types from P + 1 upward, in this process
/// or (`processes`) MARS and four of the nodes as child processes, their
/// logs in a temporary directory. It shows, step by step and in plain
/// lines on stdout, what the mesh does: the shared view, a typed request
/// and its round trip, an error kind, a SendMany broadcast, shared data,
/// direct messages between users of two client gateways, a hook, a storage
/// node killed and the users' locations healing, a disconnect message, a
/// node leaving, and a table of what it measured. Returns 0 when every step
/// worked, 1 otherwise.
int run_demo(uint16_t port, bool processes = false);

} // namespace meshrt::cli
