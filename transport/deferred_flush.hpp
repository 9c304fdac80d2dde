#pragma once

namespace caf {
class event_based_actor;
} // namespace caf

namespace meshrt::transport {

/// Coalescing for an actor that sends in batches (a peer link's packets, a
/// correlator's requests, a node's responses): work through everything
/// that waits in the mailbox first, then flush once. When the mailbox is
/// empty the flush happens at once, so a lone message pays no delay.
///
/// Under the I/O scheduler (io_scheduler.hpp) the flush waits for more:
/// until the worker has run every other job waiting (flush_when_idle), so
/// that what those jobs send joins it, such as the reply to a datagram
/// joining the datagram's acknowledgement, or a burst of clients' messages
/// that a dozen actors handle leaving in one packet. When no other job
/// waits, it happens at once as above.
///
/// The actor handles (flush_atom) by calling arrived() and flushing.
class deferred_flush {
public:
  /// True if the actor should flush now (nothing waits in its mailbox, nor
  /// other jobs in an I/O scheduler's worker). Otherwise one (flush_atom)
  /// to itself is arranged for after them, if not arranged already, and
  /// false returned.
  bool now_or_later(caf::event_based_actor* self);

  /// Arranges a (flush_atom) behind what waits, if not queued already.
  void later(caf::event_based_actor* self);

  /// The (flush_atom) arrived.
  void arrived() {
    pending_ = false;
  }

private:
  bool pending_ = false;
};

} // namespace meshrt::transport
