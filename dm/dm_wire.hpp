#pragma once

// The DM service's messages between nodes, top to bottom. They ride the
// mesh's reliable RUDP stream beside the mesh envelopes and the store's
// messages, and say what they are in their first byte; the transport hands
// these kinds straight to the node's DM service. Integers are little-endian.
//
//   kind 40, deliver (the reference's SendData), to the node the sender
//   believes has the recipient:
//     u8 kind | u64 id | u32 timeout ms | str16 reply to | u64 stream
//     | u32 seq | u32 prev | u8 flags | str16 from | str16 to | u8 ver
//     | u16 cmd | str32 message
//     Answered by one kind 41 with the same id, to `reply to` (the sender's
//     node; empty: the node this came from). The recipient's node caches
//     the reverse channel to the sender's node.
//     `stream`, `seq`, `prev` and `flags` (bit 0: first; bit 1: closes;
//     the others 0) put the message in its sender's stream to the
//     recipient (dm_stream_pos): a sender has several messages to one
//     recipient out at once, and the recipient's session takes each only
//     right after the one it follows. `closes`: ClearCacheByUserID, with
//     its last message or with none (empty: the recipient's on_clear_cache
//     hooks run); the recipient's node forgets the sender's channel after
//     it. Only a deliver that closes has an empty message.
//   kind 43, find (the reference's FindData), the same fields, to the
//     storage node that owns the recipient's location: it looks the
//     location up and hands the message on as a deliver with the same id
//     and reply to, so the recipient's node answers the sender's node
//     itself, or answers at once (unknown_user, lookup_failed).
//   kind 44, find again: a find whose storage node left the view before
//     it answered, sent again with the same id to the slot's new owner,
//     which hands it on as a kind 45.
//   kind 45, deliver again: a deliver that may have reached the
//     recipient's node before (its first find's storage node may have
//     handed it on before it died). That node delivers it only if it has
//     not seen this reply to and id, and else answers what it answered
//     then (nothing while that delivery is still under way).
//   kind 41, delivery answer:
//     u8 kind | u64 id | u8 outcome (dm_outcome) | str16 at
//     `at`: the node the recipient was looked for at (the sender caches it),
//     empty when the store had no location.
//   kind 42, channel closed (one-way):
//     u8 kind | u8 reason | str16 from | str16 to | u8 ver | u16 cmd
//     | str32 message
//     Reason 2 (disconnect): `from` disconnected; the node of `to` forgets
//     `from` in to's channel cache, and a non-empty message (the
//     disconnect message) reaches to's client. ver and cmd are 0 (the
//     tail is a deliver's). Reason 3 (replaced) names a node in `from`:
//     `to` logged in there, and its session on the receiving node ends.
//     (ClearCacheByUserID is a deliver that closes, in its stream, so that
//     what the sender sends after it arrives after it.)
//   kind 46, locations (one-way), the users connected to the sending node,
//     to each node that asked (kind 47):
//     u8 kind | u8 op | u16 count | count x str16 user id
//     op 1 (here): they logged in there; op 2 (left): they left it; op 3
//     (all): the start of its whole list, sent to a node that asked: that
//     node forgets every user it heard of from the sender, then takes these
//     (and those of the op 1 messages that follow) as connected there. The
//     receiver keeps them as hints (location_hints.hpp): a first message to
//     one of them goes straight to the node named, not through the storage
//     node; a hint the node then answers `not_here` to costs that lookup.
//   kind 47, locations wanted (one-way): u8 kind | u64 incarnation.
//     Sent to each node that joins the sender's view: it answers with its
//     whole list (kind 46, op 3 then op 1) and sends every login and logout
//     after it. `incarnation` is random per start of the sender's DM
//     service: one that differs from the last heard from that address is a
//     new process there, which knows nothing of who asked the one before,
//     so the receiver asks it again (a restart quicker than the views).
//
// User ids have 1 to 256 bytes (max_user_id_size).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

enum class dm_kind : uint8_t {
  deliver = 40,
  answer = 41,
  closed = 42,
  find = 43,
  find_again = 44,
  deliver_again = 45,
  locations = 46,
  locations_wanted = 47,
};

/// Every kind: the transport routes them to the node's DM service (or, with
/// DM off, to what stands in for it).
inline constexpr dm_kind all_dm_kinds[] = {
  dm_kind::deliver,    dm_kind::answer,        dm_kind::closed,    dm_kind::find,
  dm_kind::find_again, dm_kind::deliver_again, dm_kind::locations, dm_kind::locations_wanted,
};

/// True for find_again and deliver_again.
bool is_again(dm_kind kind);

/// What became of a delivery, as the recipient's node answers it.
enum class dm_outcome : uint8_t {
  /// Handed to the recipient's client.
  delivered = 1,
  /// The recipient is not connected to that node (the sender's cache was
  /// stale, or the user left).
  not_here = 2,
  /// An on_receive_message hook returned false.
  declined = 3,
  /// An on_message hook returned an empty message: nothing to hand on.
  dropped = 4,
  /// (find) The store has no location for the recipient.
  unknown_user = 5,
  /// (find) The storage node could not look the location up.
  lookup_failed = 6,
  /// The recipient's session did not take the message: it does not follow
  /// the last message of its stream that the session took (one before it
  /// was not taken). The sender sends it again after the ones before it.
  out_of_order = 7,
};

/// Where a message stands in its sender's stream to one recipient. A
/// session numbers the messages it sends; those to one recipient form a
/// stream, and several of them can be out at once. The recipient's session
/// takes a message only when it follows the last one of the stream it
/// took (`prev`), or when it is `first` (every earlier message of the
/// stream was answered) and numbered after that one: so messages in
/// flight together reach the user in the order sent, even when one of
/// them is refused (the user moved) and the rest arrive anyway.
struct dm_stream_pos {
  /// The sending session's stream id, unique in the cluster; 0: no order
  /// (the message is taken as it comes).
  uint64_t stream = 0;
  /// This message's number: numbers grow along a session's messages.
  uint32_t seq = 0;
  /// The number of the message sent before it to the same recipient,
  /// unless `first`.
  uint32_t prev = 0;
  /// No earlier message of the stream waits for its answer.
  bool first = true;
  /// ClearCacheByUserID: the channel closes after this message (its last
  /// one, or an empty one when the clear has none).
  bool closes = false;
};

/// Whether a deliver is ClearCacheByUserID without a last message (the
/// only deliver with an empty message): a clear, not a message.
template<class Bytes>
bool is_bare_clear(const dm_stream_pos& pos, const Bytes& message) {
  return pos.closes && message.empty();
}

/// True when stream number `a` comes after `b` (serial number arithmetic:
/// numbers wrap around).
inline bool seq_after(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) > 0;
}

/// What a kind 42 says. (1 is not used: it was ClearCacheByUserID, which
/// now goes in its stream as a deliver that `closes`.)
enum class close_reason : uint8_t {
  /// The user disconnected (or its connection dropped).
  disconnect = 2,
  /// `to` logged in on node `from`: its session on the receiving node ends
  /// (no message; ver and cmd are 0).
  replaced = 3,
};

/// The longest user id (the gateway refuses longer ones at login).
constexpr size_t max_user_id_size = 256;

/// True for a user id of 1 to 256 bytes.
inline bool valid_user_id(const std::string& uid) {
  return !uid.empty() && uid.size() <= max_user_id_size;
}

/// The store key of a user's location (value: the mesh address of the node
/// the user is connected to), in the store's internal namespace
/// (dm/store_error.hpp), so no application key meets it.
inline std::string location_key(const std::string& uid) {
  return std::string{"\0dm.loc:", 8} + uid;
}

/// A deliver (kind 40), a find (kind 43), or one of them again (44, 45).
struct dm_deliver {
  uint64_t id = 0;
  uint32_t timeout_ms = 0;
  std::string from;
  std::string to;
  uint8_t ver = 0;
  uint16_t cmd = 0;
  byte_buffer message;
  std::string reply_to;
  dm_kind kind = dm_kind::deliver;
  dm_stream_pos pos = {};
};

struct dm_answer {
  uint64_t id = 0;
  dm_outcome outcome = dm_outcome::delivered;
  std::string at;
};

struct dm_closed {
  close_reason reason = close_reason::disconnect;
  std::string from;
  std::string to;
  uint8_t ver = 0;
  uint16_t cmd = 0;
  byte_buffer message;
};

/// What a kind 46 says of its users.
enum class locations_op : uint8_t {
  here = 1,
  left = 2,
  /// The start of the sender's whole list.
  all = 3,
};

/// A kind 46: at most 65,535 users.
struct dm_locations {
  locations_op op = locations_op::here;
  std::vector<std::string> users;
};

byte_buffer encode(const dm_deliver& x);
byte_buffer encode(const dm_answer& x);
byte_buffer encode(const dm_closed& x);
byte_buffer encode(const dm_locations& x);
/// A kind 47 from the DM service started as `incarnation`.
byte_buffer encode_locations_wanted(uint64_t incarnation);

/// Decoders (decode_dm_deliver takes the four kinds with its fields): nullopt for another kind, a
/// truncated message, an unknown outcome, reason or flag, a user id that is empty or too long, or
/// bytes after the end.
std::optional<dm_deliver> decode_dm_deliver(byte_view bytes);
std::optional<dm_answer> decode_dm_answer(byte_view bytes);
std::optional<dm_closed> decode_dm_closed(byte_view bytes);
std::optional<dm_locations> decode_dm_locations(byte_view bytes);
/// The incarnation of a well-formed kind 47, else nullopt.
std::optional<uint64_t> decode_locations_wanted(byte_view bytes);

/// "delivered", "not_here", ...
const char* to_string(dm_outcome x);

} // namespace meshrt
