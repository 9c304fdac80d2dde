#include "actors/node_handlers.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_atoms.hpp"
#include "actors/node_state.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

using handler_chain = std::vector<handler_entry>;

/// The built-in health check's command cannot be taken over by a handler.
caf::error refuse_reserved(uint16_t command) {
  if (command != health_check_command)
    return {};
  return make_error(mesh_errc::invalid_argument,
                    "command " + std::to_string(command)
                      + " is the built-in health check (MeshHealthCheck)");
}

/// Asks the chain from `index` on; functions answer in place, the chain goes
/// on until an actor is asked.
void call_handler(node_actor* self, const std::shared_ptr<const handler_chain>& chain, size_t index,
                  uint16_t command, const std::shared_ptr<const std::string>& sender,
                  const std::shared_ptr<const byte_buffer>& payload,
                  std::chrono::milliseconds timeout, const answer_fn& answer) {
  for (; index < chain->size() && (*chain)[index].fn; ++index) {
    auto result = invoke_handler(*(*chain)[index].fn, *payload, *sender);
    if (!result)
      ++self->state.handlers.failed;
    if (!result || index + 1 == chain->size()) {
      answer(std::move(result));
      return;
    }
  }
  self
    ->request((*chain)[index].actor, timeout, mesh_request_atom::value, command, *sender, *payload)
    .then(
      [=](byte_buffer& out) {
        if (index + 1 < chain->size())
          call_handler(self, chain, index + 1, command, sender, payload, timeout, answer);
        else
          answer(std::move(out));
      },
      [=](caf::error& err) {
        ++self->state.handlers.failed;
        if (err == caf::sec::request_timeout)
          answer(make_error(mesh_errc::request_timeout,
                            "the handler of command " + std::to_string(command)
                              + " did not answer within " + std::to_string(timeout.count())
                              + " ms"));
        else
          answer(std::move(err));
      });
}

} // namespace

caf::error handler_table::add(uint16_t command, caf::actor handler) {
  if (auto err = refuse_reserved(command))
    return err;
  chains[command].push_back({std::move(handler), nullptr});
  return {};
}

caf::error handler_table::add(uint16_t command, handler_function fn) {
  if (auto err = refuse_reserved(command))
    return err;
  chains[command].push_back(
    {caf::actor{}, std::make_shared<const handler_function>(std::move(fn))});
  return {};
}

void handler_table::drop(const caf::actor_addr& gone) {
  for (auto& [command, chain] : chains)
    chain.erase(std::remove_if(chain.begin(), chain.end(),
                               [&](const handler_entry& h) { return h.actor == gone; }),
                chain.end());
}

bool handler_table::has(uint16_t command) const {
  auto i = chains.find(command);
  return command == health_check_command || (i != chains.end() && !i->second.empty());
}

void run_handlers(node_actor* self, uint16_t command, std::string sender, byte_buffer payload,
                  std::chrono::milliseconds timeout, const answer_fn& answer) {
  auto& table = self->state.handlers;
  auto i = table.chains.find(command);
  if (i == table.chains.end() || i->second.empty()) {
    ++table.unhandled;
    // The caller's error names the command and this node.
    answer(make_error(mesh_errc::no_handler, "no handler registered"));
    return;
  }
  const auto& chain = i->second;
  if (std::all_of(chain.begin(), chain.end(), [](const handler_entry& h) { return h.fn; })) {
    // Functions only: the whole chain answers in place, nothing to keep.
    for (size_t k = 0; k < chain.size(); ++k) {
      auto result = invoke_handler(*chain[k].fn, payload, sender);
      if (!result)
        ++table.failed;
      if (!result || k + 1 == chain.size()) {
        answer(std::move(result));
        return;
      }
    }
  }
  call_handler(self, std::make_shared<const handler_chain>(chain), 0, command,
               std::make_shared<const std::string>(std::move(sender)),
               std::make_shared<const byte_buffer>(std::move(payload)), timeout, answer);
}

void deliver(node_actor* self, uint16_t command, const std::string& sender,
             const byte_buffer& payload) {
  auto& table = self->state.handlers;
  auto i = table.chains.find(command);
  if (i == table.chains.end() || i->second.empty()) {
    ++table.unhandled;
    logger("node")->warn("dropped a mesh message from {}: no handler for command {}", sender,
                         command);
    return;
  }
  ++table.delivered;
  for (const auto& h : i->second) {
    if (!h.fn) {
      self->send(h.actor, mesh_message_atom::value, command, sender, payload);
      continue;
    }
    auto result = invoke_handler(*h.fn, payload, sender);
    if (!result) {
      ++table.failed;
      logger("node")->warn("the handler of command {} failed on a message from {}: {}", command,
                           sender, context_of(result.error()));
    }
  }
}

} // namespace meshrt
