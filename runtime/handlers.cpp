#include "runtime/handlers.hpp"

#include <caf/all.hpp>

#include "actors/mesh_error.hpp"
#include "actors/node_atoms.hpp"
#include "runtime/logging.hpp"

#include <spdlog/spdlog.h>

namespace meshrt {

namespace {

caf::behavior function_handler(caf::event_based_actor*, const handler_function& fn) {
  return {
    [fn](mesh_request_atom, uint16_t, const std::string& sender,
         const byte_buffer& data) -> caf::result<byte_buffer> {
      auto result = invoke_handler(fn, data, sender);
      if (!result)
        return std::move(result.error());
      return std::move(*result);
    },
    [fn](mesh_message_atom, uint16_t command, const std::string& sender, const byte_buffer& data) {
      auto result = invoke_handler(fn, data, sender);
      if (!result)
        logger("node")->warn("the handler of command {} failed on a message from {}: {}", command,
                             sender, to_string(result.error()));
    },
  };
}

} // namespace

caf::actor spawn_handler(caf::actor_system& sys, handler_function fn) {
  return sys.spawn(function_handler, std::move(fn));
}

} // namespace meshrt
