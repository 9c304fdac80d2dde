#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>

#include "transport/byte_buffer.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/packed_messages.hpp"

namespace caf {
class actor;
class event_based_actor;
} // namespace caf

namespace meshrt {

/// What an actor (a node, a correlator) sends to peers by mesh address:
/// the peer link actors it learned from the transport, and the messages it
/// holds until flush(). A message to a known peer goes straight to its
/// link, one hop fewer than through the transport actor. The first message to a peer goes through
/// the transport while its link is asked for. Failures reach the sending
/// actor either way (transport::send_failed_atom).
class mesh_outbox {
public:
  /// Sends `bytes` to `peer` ("a.b.c.d:port") on behalf of `self`. A
  /// non-zero `tag` comes back with the failure of this message
  /// (transport_actor.hpp).
  void send(caf::event_based_actor* self, const caf::actor& transport, const std::string& peer,
            byte_buffer bytes, bool reliable, uint64_t tag = 0);

  /// Holds `bytes` for `peer` until flush(): the messages an actor produces
  /// for one peer while it works through its mailbox leave in one actor
  /// message, packed into one buffer, not one each. Messages to a peer keep
  /// their order across queue() and send(). A failure of a flushed batch
  /// comes back once, untagged.
  void queue(caf::event_based_actor* self, const caf::actor& transport, const std::string& peer,
             byte_view bytes, bool reliable);

  /// queue(), then flush() at once when nothing else waits in the
  /// mailbox; otherwise at the (flush_atom) that `deferred` arranges, so
  /// the messages of one mailbox run leave together.
  void queue_and_flush(caf::event_based_actor* self, const caf::actor& transport,
                       const std::string& peer, byte_view bytes, bool reliable,
                       transport::deferred_flush& deferred);

  /// Sends what queue() holds, one batch per peer.
  void flush(caf::event_based_actor* self, const caf::actor& transport);

  /// Whether queue() holds anything.
  bool queued() const {
    return !held_.empty();
  }

private:
  /// The messages held for one peer, all of one reliability.
  struct held {
    packed_messages batch;
    bool reliable = true;
  };

  /// The peer's link, or an invalid handle: then the message goes through
  /// the transport (the link is being asked for, or ended idle).
  caf::actor link_of(caf::event_based_actor* self, const caf::actor& transport,
                     const std::string& peer);
  void send_batch(caf::event_based_actor* self, const caf::actor& transport,
                  const std::string& peer, held& h);

  /// Known links, held weakly: a link that went idle ends once nobody
  /// holds it (transport/peer_link.hpp); invalid while the transport is
  /// being asked.
  std::unordered_map<std::string, caf::actor_addr> links_;
  std::unordered_map<std::string, held> held_;
};

} // namespace meshrt
