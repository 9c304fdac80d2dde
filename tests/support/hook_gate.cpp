#include "support/hook_gate.hpp"

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "dm/dm_atoms.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt::test {

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;

} // namespace

// Spawned with an argument: CAF 0.17 binds a null pointer for a function
// actor without one, which UBSan reports.
hook_gate::hook_gate(caf::actor_system& sys) : asked_(std::make_shared<std::atomic<int>>(0)) {
  actor_ = sys.spawn(
    [](caf::event_based_actor* self, std::shared_ptr<std::atomic<int>> asked) -> caf::behavior {
      auto held = std::make_shared<std::vector<caf::response_promise>>();
      auto open = std::make_shared<bool>(false);
      auto release = [held] {
        for (auto& rp : *held)
          rp.deliver(true);
        held->clear();
      };
      return {
        [=](dm_hook_receive_atom, uint8_t, uint16_t, const byte_buffer&, const std::string&,
            const std::string&) -> caf::result<bool> {
          ++*asked;
          if (*open)
            return true;
          held->push_back(self->make_response_promise());
          return caf::delegated<bool>{};
        },
        [=](release_atom) { release(); },
        [=](caf::ok_atom) {
          *open = true;
          release();
        },
      };
    },
    asked_);
}

hook_gate::~hook_gate() {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

void hook_gate::release() {
  caf::anon_send(actor_, release_atom::value);
}

void hook_gate::open() {
  caf::anon_send(actor_, caf::ok_atom::value);
}

} // namespace meshrt::test
