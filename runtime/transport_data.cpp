#include "runtime/transport_data.hpp"

#include <set>
#include <stdexcept>

#include "actors/mesh_error.hpp"
#include "actors/msgpack_codec.hpp"

namespace meshrt {

namespace {

const char* type_name(property_type t) {
  switch (t) {
    case property_type::string:
      return "string";
    case property_type::int64:
      return "int";
    case property_type::uint64:
      return "uint";
    case property_type::float64:
      return "float64";
    case property_type::boolean:
      return "bool";
    case property_type::bytes:
      return "bytes";
    case property_type::uint32_array:
      return "uint32 array";
    case property_type::string_array:
      return "string array";
    case property_type::bytes_array:
      return "bytes array";
  }
  return "unknown";
}

/// Converts `e` to the alternative of `v` that holds values of type `t`:
/// property_type lists its types in the order of the variant's
/// alternatives after std::monostate. Throws msgpack's type_error.
template<class Variant, size_t I = 1>
void assign(Variant& v, property_type t, const msgpack::object& e) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (static_cast<size_t>(t) + 1 == I)
      v.template emplace<I>(e.as<std::variant_alternative_t<I, Variant>>());
    else
      assign<Variant, I + 1>(v, t, e);
  }
}

} // namespace

transport_data_schema::transport_data_schema(std::vector<property> properties) {
  std::set<std::string> names;
  for (const auto& p : properties) {
    if (p.name.empty())
      throw std::invalid_argument("transport data property with an empty name");
    if (!names.insert(p.name).second)
      throw std::invalid_argument("transport data property '" + p.name + "' defined twice");
  }
  properties_ = std::make_shared<const std::vector<property>>(std::move(properties));
}

transport_data transport_data_schema::make() const {
  return transport_data{*this};
}

int transport_data_schema::index_of(const std::string& name) const {
  for (size_t i = 0; i < properties_->size(); ++i)
    if ((*properties_)[i].name == name)
      return static_cast<int>(i);
  return -1;
}

transport_data::transport_data(transport_data_schema schema) :
  schema_(std::move(schema)), values_(schema_.properties().size()) {}

caf::expected<size_t> transport_data::slot(const std::string& name, property_type type) const {
  auto i = schema_.index_of(name);
  if (i < 0)
    return make_error(mesh_errc::invalid_argument, "no transport data property '" + name + "'");
  auto declared = schema_.properties()[static_cast<size_t>(i)].type;
  if (declared != type)
    return make_error(mesh_errc::invalid_argument, "property '" + name + "' is a "
                                                     + type_name(declared) + ", not a "
                                                     + type_name(type));
  return static_cast<size_t>(i);
}

template<class T>
caf::error transport_data::set(const std::string& name, property_type type, T&& x) {
  auto i = slot(name, type);
  if (!i)
    return std::move(i.error());
  values_[*i] = std::forward<T>(x);
  return {};
}

template<class T>
caf::expected<T> transport_data::get(const std::string& name, property_type type) const {
  auto i = slot(name, type);
  if (!i)
    return std::move(i.error());
  const auto& v = values_[*i];
  if (std::holds_alternative<std::monostate>(v))
    return make_error(mesh_errc::invalid_data, "property '" + name + "' is not set");
  return std::get<T>(v);
}

#define MESHRT_TD_ACCESSORS(suffix, type_tag, T)                                                   \
  caf::error transport_data::set_as_##suffix(const std::string& name, T value) {                   \
    return set(name, property_type::type_tag, std::move(value));                                   \
  }                                                                                                \
  caf::expected<T> transport_data::get_as_##suffix(const std::string& name) const {                \
    return get<T>(name, property_type::type_tag);                                                  \
  }

MESHRT_TD_ACCESSORS(string, string, std::string)
MESHRT_TD_ACCESSORS(int, int64, int64_t)
MESHRT_TD_ACCESSORS(uint, uint64, uint64_t)
MESHRT_TD_ACCESSORS(float64, float64, double)
MESHRT_TD_ACCESSORS(bool, boolean, bool)
MESHRT_TD_ACCESSORS(bytes, bytes, byte_buffer)
MESHRT_TD_ACCESSORS(uint32_array, uint32_array, std::vector<uint32_t>)
MESHRT_TD_ACCESSORS(string_array, string_array, std::vector<std::string>)
MESHRT_TD_ACCESSORS(bytes_array, bytes_array, std::vector<byte_buffer>)

#undef MESHRT_TD_ACCESSORS

bool transport_data::has(const std::string& name) const {
  auto i = schema_.index_of(name);
  return i >= 0 && !std::holds_alternative<std::monostate>(values_[static_cast<size_t>(i)]);
}

void transport_data::clear() {
  for (auto& v : values_)
    v = std::monostate{};
}

byte_buffer transport_data::pack() const {
  msgpack::sbuffer buf;
  pack_stream out{buf};
  msgpack::packer<pack_stream> pk{out};
  pk.pack_array(static_cast<uint32_t>(values_.size()));
  for (const auto& v : values_) {
    std::visit(
      [&](const auto& x) {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>)
          pk.pack_nil();
        else
          pk.pack(x); // byte buffers become msgpack bin, a double a float64
      },
      v);
  }
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

caf::error transport_data::unpack(const byte_buffer& bytes) {
  clear();
  auto fail = [&](const std::string& why) {
    clear();
    return make_error(mesh_errc::invalid_data, "transport data: " + why);
  };
  try {
    auto handle = unpack_untrusted(bytes.data(), bytes.size());
    const auto& o = handle.get();
    if (o.type != msgpack::type::ARRAY)
      return fail("expected an array of properties");
    const auto& props = schema_.properties();
    if (o.via.array.size != props.size())
      return fail(std::to_string(o.via.array.size) + " values for a schema of "
                  + std::to_string(props.size()) + " properties");
    for (size_t i = 0; i < props.size(); ++i) {
      const auto& e = o.via.array.ptr[i];
      if (e.type == msgpack::type::NIL)
        continue;
      try {
        assign(values_[i], props[i].type, e);
      } catch (const std::exception&) {
        return fail("property '" + props[i].name + "' is not a " + type_name(props[i].type));
      }
    }
    return {};
  } catch (const std::exception& e) {
    return fail(std::string{"malformed: "} + e.what());
  }
}

} // namespace meshrt
