#pragma once

// The store's messages between nodes, top to bottom. They ride the mesh's
// reliable RUDP stream beside the mesh envelopes (actors/mesh_envelope.hpp)
// and, like them, say what they are in their first byte; the transport
// hands these kinds straight to the node's store service (route_atom), so
// they never pass through the node actor. Integers are little-endian.
//
//   kind 32, store request (from the node an application asked, or
//   forwarded by a node that does not answer for the slot):
//     u8 kind | u8 op | u64 request id | u32 timeout ms | u16 slot | u8 hops
//     | str8 origin | str8 gone | i64 delta | u16 count | count records
//     The answer goes to `origin` (the asking node), whoever forwarded;
//     `hops` counts the forwards (a request forwarded 8 times is refused).
//     `gone`: a storage node the asking node's view lost, which held the
//     slot (the node a read sent again went to first, or for a few seconds
//     after the asking node's ring changed, the slot's holder before);
//     empty otherwise. A node whose ring still gives the slot to it has not
//     seen it leave yet, and holds the request until its ring drops it (or
//     its time is up).
//   kind 33, store response:
//     u8 kind | u8 status | u64 request id | then
//     status 0: i64 number | u64 version | u16 count | count records
//     (`version`: what an owned write of one record stored, else 0)
//     otherwise (a store_errc code): str32 error text
//   kind 34, migration (between the old and the new owner of a slot):
//     u8 kind | u8 step | u16 slot | str8 address | u16 count | count records
//
// A record: str16 key | u8 present | str32 value | u32 ttl ms (0: none)
// | str8 owner (the node that re-asserts it; "" for none) | then, only
// when it has an owner, u64 version.
//
// Versions order the claims of two owners of one key (a user's location,
// written by the node of each login). A write of an owned record carries
// its node's clock (max of the wall clock in us and one more than any
// version the node saw); the holder stores the larger of that and one
// more than the version it replaces, and answers the version stored. When
// the holder is lost and each owner sets its entry again (reassert), the
// claim with the larger version wins, whatever the order of arrival.
//
// What each op carries and answers:
//   get, del: one record (the key) -> get: the record (present or not);
//     del: number 1 if the key was there
//   del_if_equal: one record (the key and the value it must have) -> number
//     1 if the key had that value and is gone
//   set: one record -> nothing
//   swap: one record -> the record it replaced (present or not)
//   set_if_absent: one record -> number 1 if stored, else the record there
//   reassert: one record (its owner and version set) -> number 1 if stored
//     (the key was absent, had that owner, or another owner's older
//     version), else 0 and the record there (with its owner and version)
//   incr: one record (the key), delta -> number, the new value
//   get_many: the keys -> one record per key, in order
//   set_many: the records -> nothing
//   (the asking node splits a get_many / set_many by slot, and the parts
//   for one owner leave in one packed message)
//   stats: nothing -> one record, key "stats", value a JSON object
//
// Migration steps (docs in dm/README.md):
//   pull: "send me this slot" (the new owner asks the old)
//   batch: records of the slot, the old owner's current state of each key
//     (present 0: the key is gone)
//   complete: the last records; from now on the new owner answers
//   redirect: `address` answers for the slot, ask there
//   ack: the receiver applied one batch (the sender's flow control)
//   refuse: the receiver does not take this slot (it does not own it)
//   abort: the old owner sends this slot elsewhere after all
//   leaving: the receiver leaves the ring and takes no slot; the sender
//     keeps it out of its ring until it leaves the view (which may not say
//     so yet: MARS may be gone)

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

enum class store_kind : uint8_t {
  request = 32,
  response = 33,
  migration = 34,
};

enum class store_op : uint8_t {
  get = 1,
  set = 2,
  del = 3,
  set_if_absent = 4,
  incr = 5,
  get_many = 6,
  set_many = 7,
  /// The answering node's store counters (slot service_slot).
  stats = 8,
  /// Removes the key only while its value is the one given (a user's
  /// location, removed by the node the user left, not by one it moved to).
  del_if_equal = 9,
  /// A set that answers the value it replaced (a user's login learns the
  /// node it moves the user from).
  swap = 10,
  /// An owned entry set again by its owner after its holder changed: stored
  /// unless the key is there with another owner (another node wrote it
  /// since, e.g. the user's login on a new node), which it must not undo.
  reassert = 11,
};

/// The slot field of a request for the node's store service itself (stats);
/// rings have fewer slots (storageRingSize is at most max_ring_slots).
constexpr uint16_t service_slot = 0xFFFE;
constexpr uint32_t max_ring_slots = service_slot;

enum class migration_step : uint8_t {
  pull = 1,
  batch = 2,
  complete = 3,
  redirect = 4,
  ack = 5,
  refuse = 6,
  abort = 7,
  leaving = 8,
};

/// Where a request's slot and hop count sit (kind, op, id, timeout come
/// first): a node routes and forwards a request without decoding it.
constexpr size_t request_slot_offset = 1 + 1 + 8 + 4;
constexpr size_t request_hops_offset = request_slot_offset + 2;

/// How many times a request may be forwarded before it is refused.
constexpr uint8_t max_store_hops = 8;

/// Counts one more forward in an encoded request; false (and unchanged) if
/// it was forwarded max_store_hops - 1 times already, or is too short.
bool add_hop(byte_buffer& request);

/// "get", "set", ...
const char* to_string(store_op op);

struct store_record {
  std::string key;
  bool present = true;
  std::string value;
  uint32_t ttl_ms = 0;
  std::string owner;
  /// An owned record's version (above); 0 without an owner.
  uint64_t version = 0;
};

struct store_request {
  store_op op = store_op::get;
  uint64_t id = 0;
  uint32_t timeout_ms = 0;
  uint16_t slot = 0;
  uint8_t hops = 0;
  std::string origin;
  /// The slot's holder that left the asking node's view, if any (above).
  std::string gone;
  int64_t delta = 0;
  std::vector<store_record> records;
};

struct store_response {
  /// 0: ok; otherwise a store_errc code.
  uint8_t status = 0;
  uint64_t id = 0;
  int64_t number = 0;
  /// The version an owned write of one record stored (0 otherwise).
  uint64_t version = 0;
  std::vector<store_record> records;
  /// The error's text (status != 0).
  std::string error;
};

struct migration_message {
  migration_step step = migration_step::pull;
  uint16_t slot = 0;
  std::string address;
  std::vector<store_record> records;
};

byte_buffer encode(const store_request& x);
byte_buffer encode(const store_response& x);
byte_buffer encode(const migration_message& x);

/// The kind of a store message (nullopt: not one of the store's kinds).
std::optional<store_kind> store_kind_of(byte_view bytes);

/// Decoders: nullopt for a truncated message, an unknown op or step, or
/// bytes after the end.
std::optional<store_request> decode_store_request(byte_view bytes);
std::optional<store_response> decode_store_response(byte_view bytes);
std::optional<migration_message> decode_migration(byte_view bytes);

/// The slot a request names, read without decoding it (0 if too short).
uint16_t request_slot(byte_view bytes);

/// How many times a request was forwarded, read without decoding it (0 if
/// too short).
uint8_t request_hops(byte_view bytes);

/// A request's `gone` (empty if it has none or is too short), read without
/// decoding its records.
std::string request_gone(byte_view bytes);

/// The step and slot of a migration message, read without decoding its
/// records; false if it is too short or the step unknown.
bool migration_head(byte_view bytes, migration_step& step, uint16_t& slot);

} // namespace meshrt
