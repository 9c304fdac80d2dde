#include "actors/mesh_outbox.hpp"

#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "support/test_system.hpp"
#include "transport/atoms.hpp"
#include "transport/byte_buffer.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using meshrt::test::test_system_config;
using transport::mesh_send_atom;
using transport::peer_atom;

namespace {

using next_atom = caf::atom_constant<caf::atom("next")>;

byte_buffer text(const std::string& s) {
  return byte_buffer(s.begin(), s.end());
}

struct sender_state {
  mesh_outbox outbox;
};

} // namespace

TEST_SUITE("actors.mesh_outbox") {
  TEST_CASE("a peer's first messages keep their order when its link becomes known meanwhile") {
    // A transport whose mailbox is busy: it names the link at once but
    // hands what it forwards to the link only 200 ms later. A first message
    // sent through it must still reach the link before the next one, sent
    // after the link is known (the outbox would send that one straight to
    // the link). With the real transport this is a race between two
    // workers; the delay makes it certain.
    caf::actor_system sys{test_system_config()};
    caf::scoped_actor self{sys};
    auto link = sys.spawn(
      [](caf::event_based_actor* link_self, caf::actor observer) {
        return caf::behavior{[=](mesh_send_atom, const byte_buffer& bytes, bool) {
          link_self->send(observer, std::string(bytes.begin(), bytes.end()));
        }};
      },
      caf::actor{self});
    auto transport = sys.spawn(
      [](caf::event_based_actor* t, caf::actor link) {
        return caf::behavior{
          [=](peer_atom, const std::string&) { return link; },
          [=](mesh_send_atom, const std::string&, byte_buffer& bytes, bool reliable) {
            t->delayed_send(link, 200ms, mesh_send_atom::value, std::move(bytes), reliable);
          },
        };
      },
      link);
    auto sender = sys.spawn(
      [](caf::stateful_actor<sender_state>* s, caf::actor transport) {
        s->state.outbox.send(s, transport, "127.0.0.1:9", text("first"), true);
        s->delayed_send(s, 50ms, next_atom::value);
        return caf::behavior{[=](next_atom) {
          s->state.outbox.send(s, transport, "127.0.0.1:9", text("second"), true);
        }};
      },
      transport);
    std::vector<std::string> arrived;
    for (int i = 0; i < 2; ++i)
      self->receive([&](std::string& s) { arrived.push_back(std::move(s)); },
                    caf::after(std::chrono::seconds{2}) >>
                      [&] { FAIL("a message did not arrive"); });
    CHECK(arrived == std::vector<std::string>{"first", "second"});
    self->send_exit(sender, caf::exit_reason::user_shutdown);
    self->send_exit(transport, caf::exit_reason::user_shutdown);
    self->send_exit(link, caf::exit_reason::user_shutdown);
  }
}
