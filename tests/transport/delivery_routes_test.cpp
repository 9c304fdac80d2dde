#include "transport/delivery_routes.hpp"

#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "support/test_system.hpp"

using namespace meshrt;
using namespace meshrt::transport;

namespace {

// A spawn argument: CAF 0.17 spawning a function of no arguments binds a
// null reference (UBSan reports it).
caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

packed_messages batch_of(const std::vector<std::string>& messages) {
  packed_messages out;
  for (const auto& m : messages)
    out.add(byte_view{reinterpret_cast<const uint8_t*>(m.data()), m.size()});
  return out;
}

std::vector<std::string> texts(const packed_messages& batch) {
  std::vector<std::string> out;
  for (auto m : batch.views())
    out.emplace_back(reinterpret_cast<const char*>(m.data()), m.size());
  return out;
}

} // namespace

TEST_SUITE("transport.delivery_routes") {

  TEST_CASE("messages go by their first byte, each destination in arrival order") {
    caf::actor_system sys{test::test_system_config()};
    auto node = sys.spawn(idle, 0);
    auto correlator = sys.spawn(idle, 0);
    delivery_routes routes{node};
    std::vector<std::pair<caf::actor, std::vector<std::string>>> got;
    auto record
      = [&](const caf::actor& to, packed_messages part) { got.emplace_back(to, texts(part)); };
    // Without routes, everything goes to the receiver, whole.
    routes.deliver(batch_of({"\x03"
                             "a",
                             "\x01"
                             "b"}),
                   record);
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == node);
    CHECK(got[0].second
          == std::vector<std::string>{"\x03"
                                      "a",
                                      "\x01"
                                      "b"});
    got.clear();
    routes.set(3, correlator);
    // A mixed burst is split; an empty message goes to the receiver.
    routes.deliver(batch_of({"\x01"
                             "m1",
                             "\x03"
                             "r1",
                             "",
                             "\x03"
                             "r2",
                             "\x02"
                             "q"}),
                   record);
    REQUIRE(got.size() == 2);
    CHECK(got[0].first == node);
    CHECK(got[0].second
          == std::vector<std::string>{"\x01"
                                      "m1",
                                      "",
                                      "\x02"
                                      "q"});
    CHECK(got[1].first == correlator);
    CHECK(got[1].second
          == std::vector<std::string>{"\x03"
                                      "r1",
                                      "\x03"
                                      "r2"});
    got.clear();
    // A burst of one destination passes whole.
    routes.deliver(batch_of({"\x03"
                             "r3",
                             "\x03"
                             "r4"}),
                   record);
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == correlator);
    got.clear();
    // Setting a route again replaces it; an invalid handle removes it.
    routes.set(3, caf::actor{});
    routes.deliver(batch_of({"\x03"
                             "r5"}),
                   record);
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == node);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(correlator, caf::exit_reason::user_shutdown);
  }

} // TEST_SUITE
