#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/command.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt {

/// The types a TransportData property may have (the reference's td.String,
/// td.Int, td.Uint32Array, td.Bytes, td.BytesArray, ...).
enum class property_type : uint8_t {
  string,
  int64,
  uint64,
  float64,
  boolean,
  bytes,
  uint32_array,
  string_array,
  bytes_array,
};

/// One named, typed property (td.Property).
struct property {
  std::string name;
  property_type type;
};

class transport_data;

/// A TransportData schema (td.DefineTransportData): the properties, in
/// order. Define it once and make instances with `make()` (New()).
class transport_data_schema {
public:
  /// Throws std::invalid_argument on an empty or repeated name.
  explicit transport_data_schema(std::vector<property> properties);

  transport_data make() const;

  const std::vector<property>& properties() const {
    return *properties_;
  }

  /// The index of `name`, or -1.
  int index_of(const std::string& name) const;

private:
  std::shared_ptr<const std::vector<property>> properties_;
};

/// An instance of a schema: SetAs* / GetAs*, Pack / Unpack. Packed, it is
/// a msgpack array with one element per property in schema order (nil when
/// unset), so both sides must use the same schema, as in the reference.
///
/// Every setter and getter names the property: an unknown name or a value
/// of another type than the property's is a meshrt invalid_argument error,
/// a property that was never set an invalid_data error; `has` tells first.
class transport_data {
public:
  explicit transport_data(transport_data_schema schema);

  caf::error set_as_string(const std::string& name, std::string value);
  caf::error set_as_int(const std::string& name, int64_t value);
  caf::error set_as_uint(const std::string& name, uint64_t value);
  caf::error set_as_float64(const std::string& name, double value);
  caf::error set_as_bool(const std::string& name, bool value);
  caf::error set_as_bytes(const std::string& name, byte_buffer value);
  caf::error set_as_uint32_array(const std::string& name, std::vector<uint32_t> value);
  caf::error set_as_string_array(const std::string& name, std::vector<std::string> value);
  caf::error set_as_bytes_array(const std::string& name, std::vector<byte_buffer> value);

  caf::expected<std::string> get_as_string(const std::string& name) const;
  caf::expected<int64_t> get_as_int(const std::string& name) const;
  caf::expected<uint64_t> get_as_uint(const std::string& name) const;
  caf::expected<double> get_as_float64(const std::string& name) const;
  caf::expected<bool> get_as_bool(const std::string& name) const;
  caf::expected<byte_buffer> get_as_bytes(const std::string& name) const;
  caf::expected<std::vector<uint32_t>> get_as_uint32_array(const std::string& name) const;
  caf::expected<std::vector<std::string>> get_as_string_array(const std::string& name) const;
  caf::expected<std::vector<byte_buffer>> get_as_bytes_array(const std::string& name) const;

  /// Whether `name` is a property of the schema and has been set.
  bool has(const std::string& name) const;

  /// Unsets every property.
  void clear();

  byte_buffer pack() const;

  /// Replaces every value with those of `bytes`; on a meshrt invalid_data
  /// error (not this schema's shape, a value of the wrong type) the
  /// instance is left cleared.
  caf::error unpack(const byte_buffer& bytes);

  const transport_data_schema& schema() const {
    return schema_;
  }

private:
  using value
    = std::variant<std::monostate, std::string, int64_t, uint64_t, double, bool, byte_buffer,
                   std::vector<uint32_t>, std::vector<std::string>, std::vector<byte_buffer>>;

  /// The index of property `name` if it has type `type`; else the error
  /// the setters and getters return.
  caf::expected<size_t> slot(const std::string& name, property_type type) const;

  template<class T>
  caf::error set(const std::string& name, property_type type, T&& x);

  template<class T>
  caf::expected<T> get(const std::string& name, property_type type) const;

  transport_data_schema schema_;
  std::vector<value> values_;
};

} // namespace meshrt
