#include "transport/deferred_flush.hpp"

#include <caf/all.hpp>

#include "transport/atoms.hpp"
#include "transport/io_scheduler.hpp"

namespace meshrt::transport {

bool deferred_flush::now_or_later(caf::event_based_actor* self) {
  if (pending_)
    return false;
  if (flush_when_idle(self)) {
    pending_ = true;
    return false;
  }
  if (self->mailbox().empty())
    return true;
  later(self);
  return false;
}

void deferred_flush::later(caf::event_based_actor* self) {
  if (pending_)
    return;
  pending_ = true;
  self->send(self, flush_atom::value);
}

} // namespace meshrt::transport
