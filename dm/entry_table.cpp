#include "dm/entry_table.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "dm/hash_ring.hpp"

namespace meshrt {

struct entry_table::block {
  int64_t expires_ms;
  uint32_t value_size;
  uint16_t key_size;
  uint16_t owner;
  // key bytes, then value bytes (16 bytes of header in all), then for an
  // owned entry (owner != 0) its version, 8 bytes

  char* bytes() {
    return reinterpret_cast<char*>(this + 1);
  }
  const char* bytes() const {
    return reinterpret_cast<const char*>(this + 1);
  }
};

namespace {

constexpr size_t min_places = 8;

} // namespace

entry_table::entry_table(entry_table&& other) noexcept :
  places_(std::move(other.places_)), size_(other.size_), payload_bytes_(other.payload_bytes_),
  deadlines_(std::move(other.deadlines_)) {
  other.places_.clear();
  other.size_ = 0;
  other.payload_bytes_ = 0;
}

entry_table& entry_table::operator=(entry_table&& other) noexcept {
  if (this != &other) {
    clear();
    places_ = std::move(other.places_);
    size_ = other.size_;
    payload_bytes_ = other.payload_bytes_;
    deadlines_ = std::move(other.deadlines_);
    other.places_.clear();
    other.size_ = 0;
    other.payload_bytes_ = 0;
  }
  return *this;
}

entry_table::~entry_table() {
  clear();
}

void entry_table::clear() {
  for (auto*& e : places_) {
    std::free(e);
    e = nullptr;
  }
  places_.clear();
  size_ = 0;
  payload_bytes_ = 0;
  deadlines_ = {};
}

std::string_view entry_table::key_of(const block* e) {
  return {e->bytes(), e->key_size};
}

entry_value entry_table::value_of(const block* e) {
  entry_value x{std::string_view{e->bytes() + e->key_size, e->value_size}, e->expires_ms, e->owner};
  if (e->owner != 0)
    std::memcpy(&x.version, e->bytes() + e->key_size + e->value_size, sizeof(x.version));
  return x;
}

size_t entry_table::home_of(std::string_view key) const {
  // The slot took the hash's value modulo the ring size; the high bits pick
  // the place here, so the keys of one slot still spread.
  return static_cast<size_t>(stable_hash(key) >> 20) & (places_.size() - 1);
}

size_t entry_table::place_of(std::string_view key) const {
  auto mask = places_.size() - 1;
  auto i = home_of(key);
  while (places_[i] != nullptr && key_of(places_[i]) != key)
    i = (i + 1) & mask;
  return i;
}

std::optional<entry_value> entry_table::find(std::string_view key, int64_t now_ms) const {
  if (size_ == 0)
    return std::nullopt;
  auto* e = places_[place_of(key)];
  if (e == nullptr || (e->expires_ms != 0 && e->expires_ms <= now_ms))
    return std::nullopt;
  return value_of(e);
}

void entry_table::grow() {
  std::vector<block*> old;
  old.swap(places_);
  places_.assign(old.empty() ? min_places : old.size() * 2, nullptr);
  for (auto* e : old)
    if (e != nullptr)
      places_[place_of(key_of(e))] = e;
}

void entry_table::put(std::string_view key, std::string_view value, int64_t expires_ms,
                      uint16_t owner, uint64_t version) {
  if ((size_ + 1) * 4 > places_.size() * 3)
    grow();
  auto i = place_of(key);
  auto tail = owner != 0 ? sizeof(version) : 0;
  auto* e = static_cast<block*>(std::malloc(sizeof(block) + key.size() + value.size() + tail));
  if (e == nullptr)
    throw std::bad_alloc{};
  e->expires_ms = expires_ms;
  e->value_size = static_cast<uint32_t>(value.size());
  e->key_size = static_cast<uint16_t>(key.size());
  e->owner = owner;
  std::memcpy(e->bytes(), key.data(), key.size());
  std::memcpy(e->bytes() + key.size(), value.data(), value.size());
  if (tail != 0)
    std::memcpy(e->bytes() + key.size() + value.size(), &version, tail);
  if (auto* old = places_[i]) {
    payload_bytes_ -= old->key_size + old->value_size;
    std::free(old);
  } else {
    ++size_;
  }
  places_[i] = e;
  payload_bytes_ += key.size() + value.size();
  if (expires_ms != 0)
    deadlines_.emplace(expires_ms, std::string{key});
}

void entry_table::remove_at(size_t i) {
  auto* e = places_[i];
  payload_bytes_ -= e->key_size + e->value_size;
  std::free(e);
  places_[i] = nullptr;
  --size_;
  // Shift back every entry of the run behind `i` that may sit at `i`
  // (its home place is not between the hole and itself).
  auto mask = places_.size() - 1;
  auto hole = i;
  for (auto j = (i + 1) & mask; places_[j] != nullptr; j = (j + 1) & mask) {
    auto home = home_of(key_of(places_[j]));
    bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      places_[hole] = places_[j];
      places_[j] = nullptr;
      hole = j;
    }
  }
}

bool entry_table::erase(std::string_view key, int64_t now_ms) {
  if (size_ == 0)
    return false;
  auto i = place_of(key);
  auto* e = places_[i];
  if (e == nullptr)
    return false;
  bool live = e->expires_ms == 0 || e->expires_ms > now_ms;
  remove_at(i);
  return live;
}

size_t entry_table::expire(int64_t now_ms) {
  size_t removed = 0;
  while (!deadlines_.empty() && deadlines_.top().first <= now_ms) {
    auto [deadline, key] = deadlines_.top();
    deadlines_.pop();
    if (size_ == 0)
      continue;
    auto i = place_of(key);
    if (places_[i] != nullptr && places_[i]->expires_ms == deadline) {
      remove_at(i);
      ++removed;
    }
  }
  return removed;
}

size_t entry_table::erase_owned_by(uint16_t owner) {
  std::vector<std::string> doomed;
  for (auto* e : places_)
    if (e != nullptr && e->owner == owner)
      doomed.emplace_back(key_of(e));
  for (const auto& key : doomed)
    remove_at(place_of(key));
  return doomed.size();
}

std::vector<std::string> entry_table::keys() const {
  std::vector<std::string> result;
  result.reserve(size_);
  for (auto* e : places_)
    if (e != nullptr)
      result.emplace_back(key_of(e));
  return result;
}

} // namespace meshrt
