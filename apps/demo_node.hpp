#pragma once

// What every node of `meshrt demo` runs, whether in the demo's process or as
// a child process of its own (`meshrt demo --processes` starts them as
// `meshrt demo-node`): the application's side of the demo.

#include <cstdint>
#include <string>

#include "runtime/meshrt.hpp"

namespace meshrt::cli {

struct greet_request {
  std::string name;
  MSGPACK_DEFINE(name);
};

struct greet_response {
  std::string text;
  MSGPACK_DEFINE(text);
};

/// A typed request every demo node answers with a greeting.
constexpr command<greet_request, greet_response> greet{100};

/// A SendMany broadcast: each node that hears it tells the sender, with a
/// Send of `heard` carrying "ADDRESS heard from SENDER: TEXT".
constexpr uint16_t news = 200;
constexpr uint16_t heard = 201;

struct shared_query {
  std::string key;
  MSGPACK_DEFINE(key);
};

struct shared_answer {
  bool found = false;
  int16_t value = 0;
  MSGPACK_DEFINE(found, value);
};

/// The value of a shared data key in the answering node's view.
constexpr command<shared_query, shared_answer> read_shared{202};

/// Registers the demo's handlers on `n` (at `address`) and its DM hooks: an
/// on_message hook that masks "noob", an on_user_disconnect message
/// "USER has left the lobby". Returns once all are in place.
void setup_demo_node(caf::actor_system& sys, const node& n, const std::string& address);

} // namespace meshrt::cli
