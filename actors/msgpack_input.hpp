#pragma once

#include <cstddef>
#include <cstdint>

#include <msgpack.hpp>

namespace meshrt {

/// Unpacks one msgpack object from bytes that came off the network. No
/// declared size may exceed what the input could hold (an element takes at
/// least one byte): a few hostile bytes announcing a huge array must not
/// make msgpack allocate gigabytes. Throws msgpack's exceptions (all derived
/// from std::exception) on malformed or truncated input.
msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size);

} // namespace meshrt
