#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/msgpack_codec.hpp"
#include "runtime/command.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt {

/// The map-style data of HandleCommand / SendRequest: named values of any
/// msgpack type, sent as one msgpack map with string keys
/// (CreateRequestData, CreateSendBytes, CreateReturnBytes).
///
/// The typed accessors mirror the reference's Get* functions: a missing key
/// gives the type's zero value, as there; a key of another type, or a
/// number out of the accessor's range, gives a meshrt invalid_data error
/// naming the key, where the reference panics. Integer accessors take
/// floating-point values that are whole numbers (Go's JSON numbers are
/// float64).
///
/// A map-style command is `command<request_data, request_data>`:
///
///   constexpr meshrt::command<meshrt::request_data, meshrt::request_data> join{7};
///   meshrt::spawn_command_handler(sys, join, [](const request_data& req, const std::string&) {
///     auto room = req.get_string("room");
///     ...
///   });
///   meshrt::request(self, node, join, addr, request_data{}.set("room", "lobby"))
class request_data {
public:
  /// Sets `key` to `value` (anything msgpack packs); returns *this.
  template<class T>
  request_data& set(const std::string& key, const T& value) {
    values_[key] = pack(value);
    return *this;
  }

  /// Whether `key` is present.
  bool has(const std::string& key) const {
    return values_.count(key) > 0;
  }

  /// The keys, sorted.
  std::vector<std::string> keys() const;

  size_t size() const {
    return values_.size();
  }

  caf::expected<bool> get_bool(const std::string& key) const;
  caf::expected<double> get_float64(const std::string& key) const;
  caf::expected<std::string> get_string(const std::string& key) const;
  caf::expected<byte_buffer> get_bytes(const std::string& key) const;
  caf::expected<int64_t> get_int(const std::string& key) const;
  caf::expected<int8_t> get_int8(const std::string& key) const;
  caf::expected<int16_t> get_int16(const std::string& key) const;
  caf::expected<int32_t> get_int32(const std::string& key) const;
  caf::expected<int64_t> get_int64(const std::string& key) const;
  caf::expected<uint8_t> get_uint8(const std::string& key) const;
  caf::expected<uint16_t> get_uint16(const std::string& key) const;
  caf::expected<uint32_t> get_uint32(const std::string& key) const;
  caf::expected<uint64_t> get_uint64(const std::string& key) const;

  /// Any other type T that msgpack converts to; invalid_data if it does not.
  template<class T>
  caf::expected<T> get(const std::string& key) const {
    auto i = values_.find(key);
    if (i == values_.end())
      return T{};
    auto value = unpack<T>(i->second);
    if (!value)
      return wrong_type(key, context_of(value.error()));
    return value;
  }

  /// The msgpack map.
  byte_buffer pack_map() const;

  /// Reads a msgpack map with string keys; invalid_data for anything else
  /// (the reference's "Invalid data type").
  static caf::expected<request_data> unpack_map(const byte_buffer& bytes);

private:
  static caf::error wrong_type(const std::string& key, const std::string& why);

  template<class T>
  caf::expected<T> get_integer(const std::string& key) const;

  /// Each value packed on its own.
  std::map<std::string, byte_buffer> values_;
};

/// ValidateDataType: whether `bytes` are what a map-style request may carry
/// (a msgpack map with string keys, or an array, which is how a struct with
/// MSGPACK_DEFINE packs).
bool is_valid_request_data(const byte_buffer& bytes);

template<>
struct codec<request_data> {
  static byte_buffer encode(const request_data& x) {
    return x.pack_map();
  }
  static caf::expected<request_data> decode(const byte_buffer& bytes) {
    return request_data::unpack_map(bytes);
  }
};

} // namespace meshrt
