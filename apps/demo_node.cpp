#include "apps/demo_node.hpp"

#include <optional>

#include <caf/all.hpp>

namespace meshrt::cli {

namespace {

/// The news handler: tells the sender what this node heard.
caf::behavior news_listener(caf::event_based_actor* self, const node& n,
                            const std::string& address) {
  return {
    [=](mesh_message_atom, uint16_t, const std::string& from, const byte_buffer& text) {
      auto line = address + " heard from " + from + ": " + std::string{text.begin(), text.end()};
      send(self, n, heard, from, byte_buffer{line.begin(), line.end()});
    },
  };
}

/// The read_shared handler: asks its node's view, answers later.
caf::behavior shared_reader(caf::event_based_actor* self, const node& n) {
  return {
    [=](mesh_request_atom, uint16_t, const std::string&,
        const byte_buffer& payload) -> caf::result<byte_buffer> {
      auto query = unpack<shared_query>(payload);
      if (!query)
        return std::move(query.error());
      auto rp = self->make_response_promise<byte_buffer>();
      shared_data(self, n, query->key)
        .then(
          [rp](std::optional<int16_t>& v) mutable {
            rp.deliver(pack(shared_answer{v.has_value(), v.value_or(0)}));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace

void setup_demo_node(caf::actor_system& sys, const node& n, const std::string& address) {
  caf::scoped_actor self{sys};
  auto done = [] {};
  auto failed = [](caf::error&) {};
  handle(self, n, greet.id,
         command_function(greet,
                          [](const greet_request& r, const std::string& from) {
                            return greet_response{"hello, " + r.name + " (asked by " + from + ")"};
                          }))
    .receive(done, failed);
  handle(self, n, news, sys.spawn(news_listener, n, address)).receive(done, failed);
  handle(self, n, read_shared.id, sys.spawn(shared_reader, n)).receive(done, failed);
  if (!n.dm())
    return;
  set_on_message(self, n,
                 [](uint8_t, uint16_t, const byte_buffer& m, const std::string&,
                    const std::string&) -> std::optional<byte_buffer> {
                   std::string text{m.begin(), m.end()};
                   auto at = text.find("noob");
                   if (at == std::string::npos)
                     return std::nullopt; // unchanged
                   text.replace(at, 4, "****");
                   return byte_buffer{text.begin(), text.end()};
                 });
  set_on_user_disconnect(self, n, [](const std::string& who, const std::string&) {
    std::string text = who + " has left the lobby";
    return byte_buffer{text.begin(), text.end()};
  });
  dm_stats(self, n).receive([](std::string&) {}, failed); // answered once the hooks are in
}

} // namespace meshrt::cli
