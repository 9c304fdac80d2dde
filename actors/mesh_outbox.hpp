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
/// link, one hop fewer than through the transport actor. Messages to a peer
/// whose link is being asked for wait here and go to the link, in order,
/// once it is known: sent through the transport meanwhile, they could reach
/// the link after the direct ones that follow them. If the transport cannot
/// name a link (a malformed address), they and all later ones go through
/// it, which reports the failure. Failures reach the sending actor either
/// way (transport::send_failed_atom).
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

  /// A message that waits for its peer's link: a batch, or one message
  /// with its tag.
  struct waiting {
    packed_messages batch;
    byte_buffer bytes;
    bool is_batch = true;
    bool reliable = true;
    uint64_t tag = 0;
  };

  /// The peer's link, or an invalid handle: then the message waits
  /// (`asking` is set: the link is being asked for, which this call starts
  /// if the link is unknown or ended idle) or goes through the transport.
  caf::actor link_of(caf::event_based_actor* self, const caf::actor& transport,
                     const std::string& peer, bool& asking);
  void send_batch(caf::event_based_actor* self, const caf::actor& transport,
                  const std::string& peer, held& h);
  /// Sends `m` to its peer's link, or holds it while the link is asked
  /// for.
  void post(caf::event_based_actor* self, const caf::actor& transport, const std::string& peer,
            waiting m);
  /// Sends `m` to `link`, or through `transport` if `link` is invalid.
  void deliver(caf::event_based_actor* self, const caf::actor& link, const caf::actor& transport,
               const std::string& peer, waiting& m);

  /// Known links, held weakly: a link that went idle ends once nobody
  /// holds it (transport/peer_link.hpp); invalid while the transport is
  /// being asked, or when it named none.
  std::unordered_map<std::string, caf::actor_addr> links_;
  /// Messages to peers whose link is being asked for, in order (an entry
  /// exactly while asking).
  std::unordered_map<std::string, std::vector<waiting>> waiting_;
  std::unordered_map<std::string, held> held_;
};

} // namespace meshrt
