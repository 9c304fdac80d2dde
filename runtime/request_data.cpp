#include "runtime/request_data.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

#include "actors/mesh_error.hpp"

namespace meshrt {

namespace {

const char* type_name(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "bytes";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown";
}

/// The one msgpack object of a value, or an error naming its key.
template<class F>
auto with_object(const std::map<std::string, byte_buffer>& values, const std::string& key, F f)
  -> decltype(f(std::declval<const msgpack::object&>())) {
  auto i = values.find(key);
  if (i == values.end())
    return f(msgpack::object{}); // nil: the zero value
  auto handle = unpack_untrusted(i->second.data(), i->second.size());
  return f(handle.get());
}

} // namespace

std::vector<std::string> request_data::keys() const {
  std::vector<std::string> result;
  result.reserve(values_.size());
  for (const auto& kv : values_)
    result.push_back(kv.first);
  return result;
}

caf::error request_data::wrong_type(const std::string& key, const std::string& why) {
  return make_error(mesh_errc::invalid_data, "key '" + key + "': " + why);
}

caf::expected<bool> request_data::get_bool(const std::string& key) const {
  return with_object(values_, key, [&](const msgpack::object& o) -> caf::expected<bool> {
    if (o.type == msgpack::type::NIL)
      return false;
    if (o.type != msgpack::type::BOOLEAN)
      return wrong_type(key, std::string{"expected bool, got "} + type_name(o.type));
    return o.via.boolean;
  });
}

caf::expected<double> request_data::get_float64(const std::string& key) const {
  return with_object(values_, key, [&](const msgpack::object& o) -> caf::expected<double> {
    switch (o.type) {
      case msgpack::type::NIL:
        return 0.0;
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64:
        return o.via.f64;
      case msgpack::type::POSITIVE_INTEGER:
        return static_cast<double>(o.via.u64);
      case msgpack::type::NEGATIVE_INTEGER:
        return static_cast<double>(o.via.i64);
      default:
        return wrong_type(key, std::string{"expected float64, got "} + type_name(o.type));
    }
  });
}

caf::expected<std::string> request_data::get_string(const std::string& key) const {
  return with_object(values_, key, [&](const msgpack::object& o) -> caf::expected<std::string> {
    switch (o.type) {
      case msgpack::type::NIL:
        return std::string{};
      case msgpack::type::STR:
        return std::string{o.via.str.ptr, o.via.str.size};
      case msgpack::type::BIN:
        return std::string{o.via.bin.ptr, o.via.bin.size};
      default:
        return wrong_type(key, std::string{"expected string, got "} + type_name(o.type));
    }
  });
}

caf::expected<byte_buffer> request_data::get_bytes(const std::string& key) const {
  return with_object(values_, key, [&](const msgpack::object& o) -> caf::expected<byte_buffer> {
    switch (o.type) {
      case msgpack::type::NIL:
        return byte_buffer{};
      case msgpack::type::BIN:
        return byte_buffer(o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size);
      case msgpack::type::STR:
        return byte_buffer(o.via.str.ptr, o.via.str.ptr + o.via.str.size);
      default:
        return wrong_type(key, std::string{"expected bytes, got "} + type_name(o.type));
    }
  });
}

template<class T>
caf::expected<T> request_data::get_integer(const std::string& key) const {
  return with_object(values_, key, [&](const msgpack::object& o) -> caf::expected<T> {
    using limits = std::numeric_limits<T>;
    auto out_of_range = [&](const std::string& value) {
      return wrong_type(key, value + " is out of range for " + (limits::is_signed ? "int" : "uint")
                               + std::to_string(sizeof(T) * 8));
    };
    switch (o.type) {
      case msgpack::type::NIL:
        return T{0};
      case msgpack::type::POSITIVE_INTEGER:
        if (o.via.u64 > static_cast<uint64_t>(limits::max()))
          return out_of_range(std::to_string(o.via.u64));
        return static_cast<T>(o.via.u64);
      case msgpack::type::NEGATIVE_INTEGER:
        if (!limits::is_signed || o.via.i64 < static_cast<int64_t>(limits::min()))
          return out_of_range(std::to_string(o.via.i64));
        return static_cast<T>(o.via.i64);
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64: {
        auto d = o.via.f64;
        if (std::trunc(d) != d)
          return wrong_type(key, "expected an integer, got " + std::to_string(d));
        // The bound above is 2^digits, not max(): a 64-bit max rounds up to
        // it as a double, and converting that value is undefined.
        if (d < static_cast<double>(limits::min()) || d >= std::ldexp(1.0, limits::digits))
          return out_of_range(std::to_string(d));
        return static_cast<T>(d);
      }
      default:
        return wrong_type(key, std::string{"expected an integer, got "} + type_name(o.type));
    }
  });
}

caf::expected<int64_t> request_data::get_int(const std::string& key) const {
  return get_integer<int64_t>(key);
}
caf::expected<int8_t> request_data::get_int8(const std::string& key) const {
  return get_integer<int8_t>(key);
}
caf::expected<int16_t> request_data::get_int16(const std::string& key) const {
  return get_integer<int16_t>(key);
}
caf::expected<int32_t> request_data::get_int32(const std::string& key) const {
  return get_integer<int32_t>(key);
}
caf::expected<int64_t> request_data::get_int64(const std::string& key) const {
  return get_integer<int64_t>(key);
}
caf::expected<uint8_t> request_data::get_uint8(const std::string& key) const {
  return get_integer<uint8_t>(key);
}
caf::expected<uint16_t> request_data::get_uint16(const std::string& key) const {
  return get_integer<uint16_t>(key);
}
caf::expected<uint32_t> request_data::get_uint32(const std::string& key) const {
  return get_integer<uint32_t>(key);
}
caf::expected<uint64_t> request_data::get_uint64(const std::string& key) const {
  return get_integer<uint64_t>(key);
}

byte_buffer request_data::pack_map() const {
  msgpack::sbuffer buf;
  pack_stream out{buf};
  msgpack::packer<pack_stream> pk{out};
  pk.pack_map(static_cast<uint32_t>(values_.size()));
  for (const auto& [key, value] : values_) {
    pk.pack(key);
    buf.write(reinterpret_cast<const char*>(value.data()), value.size());
  }
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

caf::expected<request_data> request_data::unpack_map(const byte_buffer& bytes) {
  try {
    auto handle = unpack_untrusted(bytes.data(), bytes.size());
    const auto& o = handle.get();
    if (o.type != msgpack::type::MAP)
      return make_error(mesh_errc::invalid_data,
                        std::string{"request data must be a map, got "} + type_name(o.type));
    request_data result;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR)
        return make_error(mesh_errc::invalid_data,
                          std::string{"request data keys must be strings, got "}
                            + type_name(kv.key.type));
      result.values_[std::string{kv.key.via.str.ptr, kv.key.via.str.size}] = pack(kv.val);
    }
    return result;
  } catch (const std::exception& e) {
    return make_error(mesh_errc::invalid_data, std::string{"malformed request data: "} + e.what());
  }
}

bool is_valid_request_data(const byte_buffer& bytes) {
  try {
    auto handle = unpack_untrusted(bytes.data(), bytes.size());
    auto t = handle.get().type;
    return t == msgpack::type::ARRAY
           || (t == msgpack::type::MAP && request_data::unpack_map(bytes));
  } catch (const std::exception&) {
    return false;
  }
}

} // namespace meshrt
