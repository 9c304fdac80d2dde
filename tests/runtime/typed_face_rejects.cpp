// Must not compile: a handler of the wrong type for a node query. Built by
// tests/check_typed_face.sh, which expects the compiler to refuse it with the
// reply's own message.
#include <caf/all.hpp>

#include <meshrt/meshrt.hpp>

void wrong(caf::scoped_actor& self, const meshrt::node& n) {
  // GetNodeAddressesByType answers a list of addresses, not a record.
  meshrt::node_addresses_by_type(self, n, "HTTP")
    .receive([](meshrt::node_record&) {}, [](caf::error&) {});
}
