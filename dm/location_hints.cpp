#include "dm/location_hints.hpp"

#include "dm/hash_ring.hpp"

namespace meshrt {

namespace {

constexpr uint64_t key_mask = ~uint64_t{0xFFFF};

} // namespace

uint64_t location_hints::key_of(std::string_view uid) {
  auto key = stable_hash(uid) & key_mask;
  return key != 0 ? key : uint64_t{1} << 16;
}

size_t location_hints::probe(uint64_t key) const {
  auto mask = slots_.size() - 1;
  for (auto i = home(key);; i = (i + 1) & mask)
    if (slots_[i] == 0 || (slots_[i] & key_mask) == key)
      return i;
}

const std::string* location_hints::find(std::string_view uid) const {
  if (size_ == 0)
    return nullptr;
  auto slot = slots_[probe(key_of(uid))];
  return slot != 0 ? &nodes_[node_of(slot)] : nullptr;
}

uint16_t location_hints::number_of(const std::string& node) {
  if (auto i = numbers_.find(node); i != numbers_.end())
    return i->second;
  uint16_t number = 0;
  if (!free_.empty()) {
    number = free_.back();
    free_.pop_back();
    nodes_[number] = node;
  } else if (nodes_.size() < max_nodes) {
    number = static_cast<uint16_t>(nodes_.size());
    nodes_.push_back(node);
    uses_.push_back(0);
  } else {
    return max_nodes;
  }
  numbers_.emplace(node, number);
  return number;
}

void location_hints::release(uint16_t number) {
  if (--uses_[number] > 0)
    return;
  numbers_.erase(nodes_[number]);
  nodes_[number].clear();
  free_.push_back(number);
}

void location_hints::set(std::string_view uid, const std::string& node) {
  auto number = number_of(node);
  if (number == max_nodes)
    return;
  if ((size_ + 1) * 4 > slots_.size() * 3)
    grow();
  auto key = key_of(uid);
  auto i = probe(key);
  if (slots_[i] != 0) {
    if (node_of(slots_[i]) == number)
      return;
    release(node_of(slots_[i]));
  } else {
    ++size_;
  }
  slots_[i] = key | number;
  ++uses_[number];
}

void location_hints::remove(std::string_view uid, const std::string& node) {
  auto n = numbers_.find(node);
  if (n == numbers_.end() || size_ == 0)
    return;
  auto i = probe(key_of(uid));
  if (slots_[i] != 0 && node_of(slots_[i]) == n->second)
    erase_at(i);
}

void location_hints::drop_node(const std::string& node) {
  auto n = numbers_.find(node);
  if (n == numbers_.end())
    return;
  auto number = n->second;
  auto old = std::move(slots_);
  slots_.assign(old.size(), 0);
  size_ = 0;
  for (auto slot : old) {
    if (slot == 0)
      continue;
    if (node_of(slot) == number) {
      release(number);
      continue;
    }
    slots_[probe(slot & key_mask)] = slot;
    ++size_;
  }
}

void location_hints::erase_at(size_t i) {
  release(node_of(slots_[i]));
  --size_;
  auto mask = slots_.size() - 1;
  // Backward shift: a later hint whose home is not between the hole and
  // itself (cyclically) moves into the hole, which moves on to it.
  for (auto j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    auto h = home(slots_[j]);
    bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays)
      continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = 0;
}

void location_hints::grow() {
  auto old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
  for (auto slot : old)
    if (slot != 0)
      slots_[probe(slot & key_mask)] = slot;
}

} // namespace meshrt
