#pragma once

// Typed commands: a 16-bit command id bound to a request and a response
// type, both msgpack-serialisable (MSGPACK_DEFINE or a msgpack adaptor).
//
//   struct greet_request { std::string name; MSGPACK_DEFINE(name); };
//   struct greet_response { std::string text; MSGPACK_DEFINE(text); };
//   constexpr meshrt::command<greet_request, greet_response> greet{100};
//
//   // on the answering node
//   self->send(node, meshrt::handle_atom::value, greet.id,
//              meshrt::spawn_command_handler(sys, greet,
//                [](const greet_request& r, const std::string& sender) {
//                  return greet_response{"hello, " + r.name};
//                }));
//
//   // from any actor, to a node's mesh address, through this process's
//   // node (a meshrt::node, runtime/node.hpp, or the node's actor)
//   meshrt::request(self, node, greet, addr, greet_request{"ann"})
//     .then([](greet_response& r) { ... }, [](caf::error& e) { ... });

#include <chrono>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>
#include <msgpack.hpp>

#include "actors/mesh_error.hpp"
#include "actors/msgpack_codec.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "runtime/handlers.hpp"
#include "runtime/node.hpp"

namespace meshrt {

/// A command id with its request and response types.
template<class Request, class Response>
struct command {
  uint16_t id;
};

// pack(x), the msgpack bytes of x, comes from actors/msgpack_codec.hpp.

/// `bytes` as a T, or a meshrt invalid_data error saying why not.
template<class T>
caf::expected<T> unpack(const byte_buffer& bytes) {
  try {
    auto handle = unpack_untrusted(bytes.data(), bytes.size());
    return handle.get().as<T>();
  } catch (const std::exception& e) {
    return make_error(mesh_errc::invalid_data, "cannot decode " + std::to_string(bytes.size())
                                                 + " bytes as the command's "
                                                 + "type: " + e.what());
  }
}

/// How a command's request or response type becomes bytes and back:
/// msgpack by default (pack / unpack); map-style requests
/// (runtime/request_data.hpp) and TransportData bring their own.
template<class T>
struct codec {
  static byte_buffer encode(const T& x) {
    return pack(x);
  }
  static caf::expected<T> decode(const byte_buffer& bytes) {
    return unpack<T>(bytes);
  }
};

/// A handler function for `cmd` from `f(const Request&, const std::string&
/// sender)`, which returns a Response or a caf::expected<Response>. A
/// request that does not decode as Request is answered with invalid_data;
/// an exception in `f` with handler_error. Register it with (handle_atom,
/// cmd.id, function) to run it inside the node (it must return quickly).
template<class Request, class Response, class F>
handler_function command_function(command<Request, Response>, F f) {
  return [f](const byte_buffer& data, const std::string& sender) -> caf::expected<byte_buffer> {
    auto req = codec<Request>::decode(data);
    if (!req)
      return std::move(req.error());
    caf::expected<Response> resp = f(*req, sender);
    if (!resp)
      return std::move(resp.error());
    return codec<Response>::encode(*resp);
  };
}

/// The same as an actor of its own (spawn_handler): for handlers that may
/// take their time without holding up the node.
template<class Request, class Response, class F>
caf::actor spawn_command_handler(caf::actor_system& sys, command<Request, Response> cmd, F f) {
  return spawn_handler(sys, command_function(cmd, std::move(f)));
}

/// The pending answer of a typed request: `then` (event-based actors) and
/// `receive` (blocking actors) take a handler of Response& and one of
/// caf::error&. A response that does not decode as Response is an
/// invalid_data error.
template<class Handle, class Response>
class typed_response {
public:
  explicit typed_response(Handle h) : handle_(std::move(h)) {}

  template<class OnValue, class OnError>
  void then(OnValue on_value, OnError on_error) {
    handle_.then(decoding(std::move(on_value), on_error), on_error);
  }

  template<class OnValue, class OnError>
  void receive(OnValue on_value, OnError on_error) {
    handle_.receive(decoding(std::move(on_value), on_error), on_error);
  }

private:
  template<class OnValue, class OnError>
  static auto decoding(OnValue on_value, OnError on_error) {
    return [on_value, on_error](byte_buffer& bytes) mutable {
      auto resp = codec<Response>::decode(bytes);
      if (resp)
        on_value(*resp);
      else
        on_error(resp.error());
    };
  }

  Handle handle_;
};

/// Calls `cmd` on the node at `addr` through this process's `node` (or
/// its requester, spawn_node's requester_atom: one actor hop fewer): the
/// typed form of SendRPC / SendRequest. Errors are meshrt errors (see
/// spawn_node's rpc_atom). `self` is any CAF actor, blocking or not (a
/// pointer such as event_based_actor*, or a scoped_actor).
template<class Self, class Request, class Response>
auto request(Self&& self, const caf::actor& node, command<Request, Response> cmd,
             const std::string& addr, const Request& req,
             caf::timespan timeout = default_request_timeout) {
  // No CAF timer: the node's correlator answers every request by `timeout`
  // (or with an error if the node stops), and CAF answers a request to a
  // node that is gone. A timer per request would cost a trip through CAF's
  // clock thread.
  auto handle = self->request(node, caf::infinite, rpc_atom::value, cmd.id, addr,
                              codec<Request>::encode(req), timeout);
  return typed_response<decltype(handle), Response>{std::move(handle)};
}

/// The same on a node handle (runtime/node.hpp): the request goes to the
/// node's correlator, the shortest path, with nothing to know about it.
template<class Self, class Request, class Response>
auto request(Self&& self, const node& n, command<Request, Response> cmd, const std::string& addr,
             const Request& req, caf::timespan timeout = default_request_timeout) {
  return request(self, n.requester(), cmd, addr, req, timeout);
}

} // namespace meshrt
