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
/// The actor handles (flush_atom) by calling arrived() and flushing.
class deferred_flush {
public:
  /// True if the actor should flush now (nothing waits in its mailbox).
  /// Otherwise one (flush_atom) to itself is queued behind what waits, if
  /// not queued already, and false returned.
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
