#include "dm/hash_ring.hpp"

#include <algorithm>

namespace meshrt {

namespace {

/// MurmurHash3's finaliser: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

const std::string no_owner;

} // namespace

uint64_t stable_hash(std::string_view bytes) {
  // FNV-1a, then a finaliser: FNV alone leaves the low bits (which pick the
  // slot) weak for short keys that differ only at the end.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

hash_ring::hash_ring(uint32_t slots) : owner_of_slot_(std::max<uint32_t>(slots, 1), 0) {}

std::string hash_ring::size_problem(uint32_t slots, size_t nodes) {
  if (slots > nodes)
    return {};
  return "storageRingSize " + std::to_string(slots) + " must be greater than the "
         + std::to_string(nodes) + " storage nodes";
}

std::optional<hash_ring> hash_ring::build(uint32_t slots, std::vector<std::string> nodes,
                                          std::string& error) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  error = size_problem(slots, nodes.size());
  if (!error.empty())
    return std::nullopt;
  hash_ring ring{slots};
  ring.nodes_ = std::move(nodes);
  std::vector<uint64_t> node_hashes;
  node_hashes.reserve(ring.nodes_.size());
  for (const auto& n : ring.nodes_)
    node_hashes.push_back(stable_hash(n));
  for (uint32_t slot = 0; slot < slots; ++slot) {
    auto slot_hash = mix(slot + 0x9e3779b97f4a7c15ULL);
    uint64_t best = 0;
    for (size_t i = 0; i < node_hashes.size(); ++i) {
      auto score = mix(node_hashes[i] ^ slot_hash);
      if (i == 0 || score > best) {
        best = score;
        ring.owner_of_slot_[slot] = static_cast<uint16_t>(i);
      }
    }
  }
  return ring;
}

const std::string& hash_ring::owner(uint32_t slot) const noexcept {
  if (nodes_.empty() || slot >= owner_of_slot_.size())
    return no_owner;
  return nodes_[owner_of_slot_[slot]];
}

std::vector<uint32_t> hash_ring::slots_of(const std::string& node) const {
  std::vector<uint32_t> result;
  for (uint32_t slot = 0; slot < slots(); ++slot)
    if (!nodes_.empty() && nodes_[owner_of_slot_[slot]] == node)
      result.push_back(slot);
  return result;
}

} // namespace meshrt
