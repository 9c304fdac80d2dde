#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include <caf/response_promise.hpp>
#include <caf/timespan.hpp>

#include "actors/mesh_envelope.hpp"
#include "actors/node_fwd.hpp"

namespace meshrt {

/// The node's part that answers requests: those of peers, through the
/// handlers, and the node's calls to its own address.
struct request_answers {
  /// Calls this node made to itself whose handler actors have not answered
  /// yet, by a key of their own: answered with an error if the node stops.
  std::unordered_map<uint64_t, caf::response_promise> self_calls;
  uint64_t next_self_call = 1;
  uint64_t requests_in = 0;
  uint64_t handler_timeouts = 0;
};

/// A request from `peer`: its handlers' answer (or failure) goes back as a
/// response envelope, with those of the same received batch in one send.
void on_request(node_actor* self, const std::string& peer, envelope&& req);

/// A request to this node's own address (the correlator hands it over):
/// the handlers run here, no network, and the caller gets what a remote
/// caller would.
caf::result<byte_buffer> call_self(node_actor* self, uint16_t command, byte_buffer& payload,
                                   caf::timespan timeout);

/// Answers the calls to itself still pending: the node is stopping.
void fail_self_calls(node_actor* self);

/// Sends the responses queued so far, now or after the waiting messages.
void flush_responses(node_actor* self);

} // namespace meshrt
