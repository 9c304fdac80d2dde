#include "actors/node_requests.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_error.hpp"
#include "actors/node_handlers.hpp"
#include "actors/node_state.hpp"
#include "actors/request_correlator.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

/// How much longer than the caller's timeout a node waits for its handlers.
constexpr uint64_t handler_grace_ms = 1000;

} // namespace

void on_request(node_actor* self, const std::string& peer, envelope&& req) {
  ++self->state.requests.requests_in;
  auto respond = [self, peer, id = req.id](response_status status, byte_buffer payload) {
    envelope resp;
    resp.kind = envelope_kind::response;
    resp.status = status;
    resp.id = id;
    resp.payload = std::move(payload);
    auto& st = self->state;
    st.outbox.queue(self, st.transport, peer, encode_envelope(resp), true);
    if (!st.receiving)
      flush_responses(self);
  };
  if (req.command == health_check_command) {
    respond(response_status::ok, {});
    return;
  }
  // Handlers get the caller's timeout and a grace second: an answer that
  // misses the caller's deadline by a little is dropped and counted there;
  // one later than that is not waited for.
  run_handlers(self, req.command, peer, std::move(req.payload),
               std::chrono::milliseconds{uint64_t{req.timeout_ms} + handler_grace_ms},
               [self, respond](caf::expected<byte_buffer> result) {
                 if (result) {
                   respond(response_status::ok, std::move(*result));
                 } else if (is(result.error(), mesh_errc::request_timeout)) {
                   // The caller has stopped waiting; nothing to answer.
                   ++self->state.requests.handler_timeouts;
                   logger("node")->debug("{}", context_of(result.error()));
                 } else {
                   auto [status, text] = to_response(result.error());
                   respond(status, byte_buffer(text.begin(), text.end()));
                 }
               });
}

caf::result<byte_buffer> call_self(node_actor* self, uint16_t command, byte_buffer& payload,
                                   caf::timespan timeout) {
  auto& st = self->state;
  const auto& addr = st.self_record.mesh_address;
  auto rp = self->make_response_promise<byte_buffer>();
  if (command == health_check_command) {
    rp.deliver(byte_buffer{});
    return rp;
  }
  auto key = st.requests.next_self_call++;
  st.requests.self_calls.emplace(key, rp);
  run_handlers(self, command, addr, std::move(payload),
               std::chrono::milliseconds{wire_timeout_ms(timeout)},
               [self, key, addr, command](caf::expected<byte_buffer> result) {
                 auto& calls = self->state.requests.self_calls;
                 auto i = calls.find(key);
                 if (i == calls.end())
                   return;
                 auto rp = std::move(i->second);
                 calls.erase(i);
                 if (result) {
                   rp.deliver(std::move(*result));
                 } else if (is(result.error(), mesh_errc::request_timeout)) {
                   rp.deliver(std::move(result.error()));
                 } else {
                   auto [status, text] = to_response(result.error());
                   rp.deliver(from_response(status, text, addr, command));
                 }
               });
  return rp;
}

void fail_self_calls(node_actor* self) {
  auto& calls = self->state.requests.self_calls;
  for (auto& [key, rp] : calls)
    rp.deliver(
      make_error(mesh_errc::network_error, "the node stopped while a call to itself was pending"));
  calls.clear();
}

void flush_responses(node_actor* self) {
  auto& st = self->state;
  if (st.outbox.queued() && st.deferred.now_or_later(self))
    st.outbox.flush(self, st.transport);
}

} // namespace meshrt
